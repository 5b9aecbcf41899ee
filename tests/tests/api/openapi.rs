//! The OpenAPI document is generated from the router and names every route.

use std::collections::BTreeSet;

use jieyue_tests::{Backend, TestApp};
use reqwest::StatusCode;

/// Every route the server serves, as `METHOD path`.
const ROUTES: &[&str] = &[
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "GET /.well-known/jieyue/keys",
    "GET /api/v1/openapi.json",
    "GET /api/v1/libraries",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/logout",
    "GET /api/v1/me",
    "POST /api/v1/me/password",
    "POST /api/v1/staff/auth/login",
    "POST /api/v1/staff/auth/logout",
    "GET /api/v1/staff/me",
    "POST /api/v1/staff/me/password",
    "GET /api/v1/admin/libraries",
    "POST /api/v1/admin/libraries",
    "GET /api/v1/admin/libraries/{id}",
    "PATCH /api/v1/admin/libraries/{id}",
    "GET /api/v1/admin/staff",
    "POST /api/v1/admin/staff",
    "GET /api/v1/admin/staff/{id}",
    "PATCH /api/v1/admin/staff/{id}",
    "GET /api/v1/admin/patrons",
    "POST /api/v1/admin/patrons",
    "GET /api/v1/admin/patrons/{id}",
    "PATCH /api/v1/admin/patrons/{id}",
    "POST /api/v1/admin/patrons/{id}/block",
    "POST /api/v1/admin/patrons/{id}/unblock",
    "GET /api/v1/catalog",
    "GET /api/v1/catalog/{id}",
    "GET /api/v1/catalog/{id}/cover",
    "GET /api/v1/catalog/{id}/thumbnail",
    "GET /api/v1/catalog/{id}/package",
    "POST /api/v1/admin/titles",
    "GET /api/v1/admin/titles/{id}",
    "PATCH /api/v1/admin/titles/{id}",
    "PUT /api/v1/admin/titles/{id}/cover",
    "POST /api/v1/me/devices",
    "GET /api/v1/me/devices",
    "DELETE /api/v1/me/devices/{id}",
    "GET /api/v1/me/loans",
    "POST /api/v1/me/loans",
    "GET /api/v1/me/loans/{id}/licence",
    "POST /api/v1/me/loans/{id}/return",
    "POST /api/v1/me/loans/{id}/renew",
    "GET /api/v1/licences/{id}/status",
    "GET /api/v1/me/holds",
    "POST /api/v1/me/holds",
    "DELETE /api/v1/me/holds/{id}",
    "POST /api/v1/me/holds/{id}/suspend",
    "GET /api/v1/me/notifications",
    "PUT /api/v1/me/positions/{id}",
    "GET /api/v1/me/positions/{id}",
    "GET /api/v1/me/positions",
    "POST /api/v1/admin/lots",
    "GET /api/v1/admin/lots",
    "PATCH /api/v1/admin/lots/{id}",
    "GET /api/v1/admin/rules",
    "PUT /api/v1/admin/rules",
    "POST /api/v1/admin/loans/{id}/revoke",
    "GET /api/v1/admin/patrons/{id}/devices",
    "DELETE /api/v1/admin/patrons/{id}/devices/{device_id}",
    "GET /api/v1/admin/reports/loans",
    "GET /api/v1/admin/reports/shared-usage",
    "GET /api/v1/admin/reports/holds-without-copies",
    "GET /opds",
    "GET /opds/publications",
    "GET /opds/search",
    "GET /opds/publications/{id}",
    "GET /api/v1/admin/distribution/members",
    "POST /api/v1/admin/distribution/members",
    "POST /api/v1/admin/distribution/peers/{id}/suspend",
    "POST /api/v1/admin/distribution/peers/{id}/resume",
    "DELETE /api/v1/admin/distribution/peers/{id}",
    "GET /api/v1/admin/distribution/hubs",
    "POST /api/v1/admin/distribution/hubs",
    "GET /api/v1/admin/distribution/collections",
    "POST /api/v1/admin/distribution/collections",
    "PUT /api/v1/admin/distribution/collections/{slug}/titles",
    "POST /api/v1/admin/distribution/collections/{slug}/versions",
    "GET /api/v1/admin/distribution/installed",
    "GET /api/v1/admin/distribution/usage",
    "POST /api/v1/hub/enrol",
    "GET /api/v1/hub/keys",
    "GET /api/v1/hub/collections",
    "GET /api/v1/hub/collections/{slug}/manifest",
    "GET /api/v1/hub/collections/{slug}/versions/{version}/envelope",
    "GET /api/v1/hub/objects/{sha256}",
    "POST /api/v1/hub/usage",
];

#[tokio::test]
async fn openapi_document_parses_and_lists_every_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let reply = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.body;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = ROUTES.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(documented, expected);

    // Each documented route is really served: none answers "no such route".
    for route in ROUTES {
        let (method, path) = route.split_once(' ').expect("METHOD path");
        let path = path
            .replace("{id}", &uuid::Uuid::nil().to_string())
            .replace("{device_id}", &uuid::Uuid::nil().to_string())
            .replace("{slug}", "jiceng-2026")
            .replace("{version}", "1")
            .replace("{sha256}", &"0".repeat(64));
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let reply = app.request(method, &path, None, None).await;
        let is_no_route = reply.status == StatusCode::NOT_FOUND
            && reply.body["detail"].as_str() == Some("no such route");
        assert!(
            !is_no_route && reply.status != StatusCode::METHOD_NOT_ALLOWED,
            "{route}: {reply:?}"
        );
    }

    // Problem documents are described, and the bearer scheme is declared.
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
