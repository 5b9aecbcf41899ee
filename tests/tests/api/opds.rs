//! Every OPDS feed and publication validates against the official OPDS 2.0 schemas in
//! `testdata/schemas`, resolved locally (no network).

use std::path::PathBuf;

use jieyue_tests::{TestApp, both_backends};
use reqwest::StatusCode;
use serde_json::Value;

struct LocalSchemas {
    root: PathBuf,
}

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let uri = uri.as_str();
        let relative = if let Some(rest) = uri.strip_prefix("https://drafts.opds.io/schema/") {
            format!("opds/{rest}")
        } else if let Some(rest) = uri.strip_prefix("https://readium.org/webpub-manifest/schema/") {
            format!("webpub-manifest/{rest}")
        } else {
            return Err(format!("no local copy of {uri}").into());
        };
        let text = std::fs::read_to_string(
            self.root
                .join(relative.split('#').next().unwrap_or_default()),
        )?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator(schema: &str) -> jsonschema::Validator {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/schemas");
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("opds").join(schema)).expect("schema file"),
    )
    .expect("json");
    jsonschema::options()
        .with_retriever(LocalSchemas { root })
        .should_validate_formats(true)
        .build(&document)
        .expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, document: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid OPDS 2.0: {errors:#?}\n{document:#}"
    );
}

async fn every_feed_and_publication_validates(app: TestApp) {
    let feed = validator("feed.schema.json");
    let publication = validator("publication.schema.json");
    let admin = app.admin_token().await;
    for book in [
        "zh/lunyu.epub",
        "zh/quantangshi-003.epub",
        "epub3/moby-dick.epub",
        "epub3/haruko-jpeg.epub",
        "epub3/regime-anticancer-arabic.epub",
        "epub3/wasteland-otf-obf.epub",
        "epub3/hefty-water.epub",
    ] {
        app.upload_corpus(&admin, book).await;
    }

    let root = app.get("/opds", None).await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(root.headers["content-type"], "application/opds+json");
    assert_valid(&feed, &root.body, "/opds");

    // Copies at the city library, so feeds carry availability.
    let lunyu = app
        .get("/api/v1/catalog?q=%E8%AE%BA%E8%AF%AD", None)
        .await
        .body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let city = app.create_library(&admin, "city", "杭州市图书馆").await;
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&admin),
            serde_json::json!({ "title_id": lunyu, "owner_library_id": city, "copies": 2 }),
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED);

    let mut paths = vec![
        "/opds/publications?library=city".to_owned(),
        "/opds/publications".to_owned(),
        "/opds/publications?sort=title".to_owned(),
        "/opds/publications?language=zh".to_owned(),
        "/opds/search?query=%E8%AE%BA%E8%AF%AD".to_owned(),
        "/opds/search?query=nothing-matches-this".to_owned(),
    ];
    // Follow facet and paging links of the first feed too.
    let first = app.get("/opds/publications", None).await;
    for group in first.body["facets"].as_array().expect("facets") {
        for link in group["links"].as_array().expect("links") {
            paths.push(link["href"].as_str().expect("href").to_owned());
        }
    }
    for path in paths {
        let reply = app.get(&path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_valid(&feed, &reply.body, &path);
        for item in reply.body["publications"].as_array().into_iter().flatten() {
            assert_valid(&publication, item, &format!("a publication in {path}"));
            let own = item["links"][0]["href"].as_str().expect("self link");
            let document = app.get(own, None).await;
            assert_eq!(
                document.headers["content-type"],
                "application/opds-publication+json"
            );
            assert_valid(&publication, &document.body, own);
        }
    }

    let with_availability = app
        .get(&format!("/opds/publications/{lunyu}?library=city"), None)
        .await;
    assert_valid(
        &publication,
        &with_availability.body,
        "a publication with availability",
    );
    assert_eq!(
        with_availability.body["links"][1]["properties"]["availability"]["state"],
        "available"
    );
    assert_eq!(
        with_availability.body["links"][1]["properties"]["copies"]["total"],
        2
    );

    let search = app.get("/opds/search?query=%E8%AE%BA%E8%AF%AD", None).await;
    assert_eq!(search.body["publications"][0]["metadata"]["title"], "论语");
    assert!(
        search.body["publications"][0]["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["rel"] == "http://opds-spec.org/acquisition/borrow"),
        "an acquisition link"
    );
}

#[test]
fn the_validator_rejects_an_invalid_feed() {
    // Guards the test above: a validator that accepts anything proves nothing.
    let feed = validator("feed.schema.json");
    let invalid = serde_json::json!({ "metadata": {}, "links": [] });
    assert!(!feed.is_valid(&invalid));
    let publication = validator("publication.schema.json");
    let no_acquisition = serde_json::json!({ "metadata": { "title": "x" }, "links": [{ "rel": "self", "href": "/x" }] });
    assert!(!publication.is_valid(&no_acquisition));
}

both_backends!(every_feed_and_publication_validates);
