//! Reading a title's metadata (and cover) from an EPUB with rbook.

use std::path::Path;

use jieyue_protocol::package::{ArchiveFacts, Limits, check_epub};
use rbook::Epub;

use crate::service::thumbnail::MAX_IMAGE_BYTES;

use rbook::ebook::spine::PageDirection;

use crate::domain::{Author, Layout, PublicationIdentifier, TitleMetadata, sort_key};

/// What was read from the EPUB.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// Descriptive metadata.
    pub metadata: TitleMetadata,
    /// The cover image bytes and media type, if the EPUB declares one.
    pub cover: Option<(Vec<u8>, String)>,
}

fn clean(text: &str) -> Option<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// Longest text kept for a description (characters).
const MAX_DESCRIPTION: usize = 10_000;

/// Checks the archive at `path` ([`check_epub`]) and reads its metadata, as ingest does.
pub fn extract_checked(path: &Path, content_hash: &str) -> Result<Extracted, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let facts =
        check_epub(std::io::BufReader::new(file), &Limits::default()).map_err(|e| e.to_string())?;
    extract(path, content_hash, &facts)
}

/// Opens the EPUB at `path`, whose archive passed [`check_epub`] with `facts`, and reads
/// its metadata. Errors name what is wrong.
pub fn extract(path: &Path, content_hash: &str, facts: &ArchiveFacts) -> Result<Extracted, String> {
    // rbook names the file it was given; that path is the server's business, not the
    // uploader's.
    let epub = Epub::open(path).map_err(|e| {
        format!("not a readable EPUB: {e}").replace(&path.display().to_string(), "<file>")
    })?;
    if epub.spine().is_empty() {
        return Err("the OPF spine lists no content documents".to_owned());
    }
    let metadata = epub.metadata();

    let title = metadata
        .title()
        .and_then(|t| clean(t.value()))
        .ok_or_else(|| "the OPF has no title (dc:title)".to_owned())?;
    let subtitle = metadata
        .titles()
        .filter(|t| format!("{:?}", t.kind()).eq_ignore_ascii_case("subtitle"))
        .find_map(|t| clean(t.value()));

    let authors: Vec<Author> = metadata
        .creators()
        .filter_map(|c| {
            Some(Author {
                name: clean(c.value())?,
                role: c.main_role().map(|r| r.code().to_owned()),
                file_as: c.file_as().and_then(clean),
            })
        })
        .collect();

    let identifier = metadata
        .identifier()
        .and_then(|i| clean(i.value()))
        // No identifier: the file's hash is the only stable identity it has.
        .unwrap_or_else(|| format!("urn:sha256:{content_hash}"));
    let identifiers = metadata
        .identifiers()
        .filter_map(|i| {
            let value = clean(i.value())?;
            let scheme = i
                .scheme()
                .map(|s| s.code().to_ascii_lowercase())
                .or_else(|| sniff_scheme(&value));
            Some(PublicationIdentifier { scheme, value })
        })
        .collect();

    let language = metadata.language().and_then(|l| clean(l.value()));
    let publisher = metadata.publishers().find_map(|p| clean(p.value()));
    let published = metadata.published_entry().and_then(|e| clean(e.value()));
    let mut subjects: Vec<String> = metadata.tags().filter_map(|t| clean(t.value())).collect();
    subjects.dedup();
    let description = metadata
        .description()
        .and_then(|d| clean(&strip_tags(d.value())))
        .map(|d| d.chars().take(MAX_DESCRIPTION).collect());

    let fixed = metadata
        .by_property("rendition:layout")
        .any(|m| m.value().trim() == "pre-paginated");
    let page_progression = match epub.spine().page_direction() {
        PageDirection::RightToLeft => Some("rtl".to_owned()),
        PageDirection::LeftToRight => Some("ltr".to_owned()),
        _ => None,
    };

    // The cover is read only if the archive check saw it and it is of a sane size: a
    // huge one would be read whole into memory.
    let cover = epub.manifest().cover_image().and_then(|entry| {
        let href = entry.href().as_str();
        let zip_path = percent_encoding::percent_decode_str(href.trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned();
        let size = facts.sizes.get(&zip_path).copied()?;
        if size > MAX_IMAGE_BYTES {
            tracing::warn!(
                size,
                "cover image ignored: larger than {MAX_IMAGE_BYTES} bytes"
            );
            return None;
        }
        let media_type = entry.media_type().to_owned();
        entry.read_bytes().ok().map(|bytes| (bytes, media_type))
    });

    Ok(Extracted {
        metadata: TitleMetadata {
            identifier,
            sort_title: sort_key(&title),
            title,
            subtitle,
            authors,
            language,
            publisher,
            published,
            subjects,
            description,
            identifiers,
            layout: if fixed {
                Layout::Fixed
            } else {
                Layout::Reflowable
            },
            page_progression,
        },
        cover,
    })
}

fn sniff_scheme(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("urn:uuid:") {
        return Some("uuid".into());
    }
    if lower.starts_with("urn:isbn:") || lower.starts_with("isbn") {
        return Some("isbn".into());
    }
    let digits: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
    ((digits.len() == 13 && (digits.starts_with("978") || digits.starts_with("979")))
        && digits.chars().all(|c| c.is_ascii_digit()))
    .then(|| "isbn".into())
}

/// Descriptions are often HTML: keep the text.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/corpus")
            .join(name)
    }

    use super::extract_checked as checked;

    #[test]
    fn reads_a_chinese_classic() {
        let extracted = checked(&corpus("zh/lunyu.epub"), "h").expect("lunyu");
        let m = extracted.metadata;
        assert_eq!(m.title, "论语");
        assert_eq!(m.language.as_deref(), Some("zh-Hans"));
        assert_eq!(m.layout, Layout::Reflowable);
        assert!(!m.identifier.is_empty());
    }

    #[test]
    fn reads_layout_direction_and_cover() {
        let haruko = checked(&corpus("epub3/haruko-jpeg.epub"), "h").expect("haruko");
        assert_eq!(haruko.metadata.layout, Layout::Fixed);
        let arabic = checked(&corpus("epub3/regime-anticancer-arabic.epub"), "h").expect("arabic");
        assert_eq!(arabic.metadata.page_progression.as_deref(), Some("rtl"));
        let moby = checked(&corpus("epub3/moby-dick.epub"), "h").expect("moby");
        assert_eq!(moby.metadata.title, "Moby-Dick");
        assert!(
            moby.metadata
                .authors
                .iter()
                .any(|a| a.name.contains("Melville"))
        );
        assert!(moby.cover.is_some(), "moby-dick declares a cover image");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.epub");
        std::fs::write(&path, b"PK\x03\x04 not really").expect("write");
        let err = extract(&path, "h", &ArchiveFacts::default()).expect_err("garbage");
        assert!(err.contains("not a readable EPUB"), "{err}");
    }

    #[test]
    fn isbns_are_recognised() {
        assert_eq!(sniff_scheme("9787020002207").as_deref(), Some("isbn"));
        assert_eq!(sniff_scheme("urn:uuid:1234").as_deref(), Some("uuid"));
        assert_eq!(sniff_scheme("abc"), None);
        assert_eq!(
            strip_tags("<p>Call me <i>Ishmael</i> &amp; co.</p>")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            "Call me Ishmael & co."
        );
    }
}
