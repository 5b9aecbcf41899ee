//! Just enough EPUB parsing to decide what stays clear and how to treat each resource:
//! `container.xml` (where the OPF is), the OPF manifest (media types, the navigation
//! document, the NCX, the unique identifier) and `encryption.xml` (obfuscated fonts).

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{PackageError, Result};

/// `META-INF/container.xml`.
pub(crate) const CONTAINER_PATH: &str = "META-INF/container.xml";
/// `META-INF/encryption.xml`.
pub(crate) const ENCRYPTION_PATH: &str = "META-INF/encryption.xml";
/// IDPF font obfuscation.
pub(crate) const IDPF_OBFUSCATION: &str = "http://www.idpf.org/2008/embedding";
/// Adobe font obfuscation.
pub(crate) const ADOBE_OBFUSCATION: &str = "http://ns.adobe.com/pdf/enc#RC";

fn invalid(message: impl Into<String>) -> PackageError {
    PackageError::InvalidEpub(message.into())
}

fn attr(element: &BytesStart<'_>, name: &str) -> Result<Option<String>> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| invalid(format!("malformed XML attribute: {e}")))?;
        if attribute.key.local_name().as_ref() == name {
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| invalid(format!("malformed XML attribute value: {e}")))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Calls `visit` with every start or empty element, and collects element text by id.
fn walk(
    xml: &str,
    what: &str,
    mut visit: impl FnMut(&BytesStart<'_>) -> Result<()>,
) -> Result<HashMap<String, String>> {
    let mut reader = Reader::from_str(xml);
    let mut texts = HashMap::new();
    let mut current_id: Option<String> = None;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                visit(&e)?;
                current_id = attr(&e, "id")?;
                text.clear();
            }
            Ok(Event::Empty(e)) => visit(&e)?,
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(t.as_ref()),
            Ok(Event::GeneralRef(r)) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    text.push_str(match r.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    });
                }
            }
            Ok(Event::End(_)) => {
                if let Some(id) = current_id.take() {
                    texts.insert(id, text.trim().to_owned());
                }
                text.clear();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(invalid(format!(
                    "{what} is not well-formed XML (at byte {}): {e}",
                    reader.error_position()
                )));
            }
        }
    }
    Ok(texts)
}

/// Reads `bytes` as UTF-8 XML text (a leading BOM is allowed).
pub(crate) fn xml_text<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| invalid(format!("{what} is not UTF-8")))
}

/// The OPF's path from `container.xml`.
pub(crate) fn rootfile(container: &[u8]) -> Result<String> {
    let mut found = None;
    walk(xml_text(container, CONTAINER_PATH)?, CONTAINER_PATH, |e| {
        if found.is_none() && e.local_name().as_ref() == "rootfile" {
            let media = attr(e, "media-type")?;
            if media
                .as_deref()
                .is_none_or(|m| m == "application/oebps-package+xml")
            {
                found = attr(e, "full-path")?;
            }
        }
        Ok(())
    })?;
    let path = found.ok_or_else(|| invalid("container.xml names no rootfile (OPF)"))?;
    normalize("", &path)
}

/// One manifest item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) path: String,
    pub(crate) media_type: Option<String>,
    pub(crate) properties: Vec<String>,
}

/// What the package writer needs from the OPF.
#[derive(Debug, Clone)]
pub(crate) struct Opf {
    pub(crate) unique_identifier: Option<String>,
    pub(crate) items: Vec<Item>,
    pub(crate) ncx_id: Option<String>,
    pub(crate) item_ids: HashMap<String, usize>,
}

impl Opf {
    /// Paths that must stay clear: the navigation document(s) and the NCX.
    pub(crate) fn navigation_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .items
            .iter()
            .filter(|i| {
                i.properties.iter().any(|p| p == "nav")
                    || i.media_type.as_deref() == Some("application/x-dtbncx+xml")
            })
            .map(|i| i.path.clone())
            .collect();
        if let Some(index) = self.ncx_id.as_ref().and_then(|id| self.item_ids.get(id)) {
            paths.push(self.items[*index].path.clone());
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// The declared media type of the resource at `path`.
    pub(crate) fn media_type(&self, path: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|i| i.path == path)
            .and_then(|i| i.media_type.as_deref())
    }
}

/// Parses the OPF at `opf_path`.
pub(crate) fn opf(bytes: &[u8], opf_path: &str) -> Result<Opf> {
    let base = opf_path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut unique_id_ref = None;
    let mut items = Vec::new();
    let mut item_ids = HashMap::new();
    let mut ncx_id = None;
    let mut saw_package = false;
    let texts = walk(xml_text(bytes, "the OPF")?, "the OPF", |e| {
        match e.local_name().as_ref() {
            "package" => {
                saw_package = true;
                unique_id_ref = attr(e, "unique-identifier")?;
            }
            "item" => {
                let href =
                    attr(e, "href")?.ok_or_else(|| invalid("a manifest item has no href"))?;
                if href.contains("://") {
                    return Ok(()); // A remote resource: nothing in the ZIP to protect.
                }
                let path = normalize(base, &href)?;
                if let Some(id) = attr(e, "id")? {
                    item_ids.insert(id, items.len());
                }
                items.push(Item {
                    path,
                    media_type: attr(e, "media-type")?,
                    properties: attr(e, "properties")?
                        .map(|p| p.split_whitespace().map(str::to_owned).collect())
                        .unwrap_or_default(),
                });
            }
            "spine" => ncx_id = attr(e, "toc")?,
            _ => {}
        }
        Ok(())
    })?;
    if !saw_package {
        return Err(invalid("the OPF has no <package> element"));
    }
    let unique_identifier = unique_id_ref
        .and_then(|id| texts.get(&id).cloned())
        .filter(|v| !v.is_empty());
    Ok(Opf {
        unique_identifier,
        items,
        ncx_id,
        item_ids,
    })
}

/// An `encryption.xml` entry: the algorithm and the resource it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptedEntry {
    pub(crate) algorithm: String,
    pub(crate) path: String,
}

/// Parses `META-INF/encryption.xml` (XML Encryption, as EPUB OCF uses it).
pub(crate) fn encryption(bytes: &[u8]) -> Result<Vec<EncryptedEntry>> {
    let mut entries = Vec::new();
    let mut algorithm: Option<String> = None;
    walk(xml_text(bytes, ENCRYPTION_PATH)?, ENCRYPTION_PATH, |e| {
        match e.local_name().as_ref() {
            "EncryptedData" => algorithm = None,
            "EncryptionMethod" => algorithm = attr(e, "Algorithm")?,
            "CipherReference" => {
                let uri = attr(e, "URI")?.ok_or_else(|| invalid("CipherReference without URI"))?;
                entries.push(EncryptedEntry {
                    algorithm: algorithm.clone().unwrap_or_default(),
                    path: normalize("", &uri)?,
                });
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(entries)
}

fn percent_decode(text: &str) -> Result<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| invalid(format!("{text:?} does not decode to UTF-8")))
}

/// Resolves `href` (URL-encoded, maybe with a fragment) against directory `base` into a
/// normalised path inside the container. Paths that would leave the container are
/// [`PackageError::UnsafePath`].
pub(crate) fn normalize(base: &str, href: &str) -> Result<String> {
    let href = href.split('#').next().unwrap_or_default();
    let decoded = percent_decode(href)?;
    let joined = if decoded.starts_with('/') || base.is_empty() {
        decoded.clone()
    } else {
        format!("{base}/{decoded}")
    };
    if decoded.starts_with('/') || decoded.contains('\\') || decoded.contains('\0') {
        return Err(PackageError::UnsafePath(decoded));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PackageError::UnsafePath(decoded));
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(invalid(format!("empty path {href:?}")));
    }
    Ok(parts.join("/"))
}

/// Checks a ZIP entry name: relative, no `..`, no backslashes or NULs.
pub(crate) fn check_entry_name(name: &str) -> Result<()> {
    let unsafe_name = name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == "..")
        || (name.len() > 1 && name.as_bytes()[1] == b':');
    if unsafe_name {
        Err(PackageError::UnsafePath(name.to_owned()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_resolve_against_the_opf_directory() {
        assert_eq!(
            normalize("OEBPS", "text/ch%201.xhtml#p3").expect("ok"),
            "OEBPS/text/ch 1.xhtml"
        );
        assert_eq!(
            normalize("OEBPS/text", "../images/a.png").expect("ok"),
            "OEBPS/images/a.png"
        );
        assert_eq!(normalize("", "content.opf").expect("ok"), "content.opf");
        assert_eq!(
            normalize("OEBPS", "%E7%AC%AC%E4%B8%80%E7%AB%A0.xhtml").expect("ok"),
            "OEBPS/第一章.xhtml"
        );
        assert!(matches!(
            normalize("OEBPS", "../../etc/passwd"),
            Err(PackageError::UnsafePath(_))
        ));
        assert!(matches!(
            normalize("", "/etc/passwd"),
            Err(PackageError::UnsafePath(_))
        ));
        assert!(normalize("", "%FF%FE.xhtml").is_err(), "not UTF-8");
    }

    #[test]
    fn entry_names_that_escape_are_refused() {
        for bad in ["../x", "a/../../x", "/abs", "C:/x", "a\\b"] {
            assert!(check_entry_name(bad).is_err(), "{bad}");
        }
        assert!(check_entry_name("OEBPS/a..b.xhtml").is_ok());
    }

    #[test]
    fn reads_the_opf_essentials() {
        let opf_xml = br#"<?xml version="1.0"?>
            <package xmlns="http://www.idpf.org/2007/opf" unique-identifier="uid" version="3.0">
              <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
                <dc:identifier id="uid">urn:uuid:12345678-1234-1234-1234-123456789abc</dc:identifier>
                <dc:title>&#35770;&#35821; &amp; more</dc:title>
              </metadata>
              <manifest>
                <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
                <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
                <item id="c1" href="text/c1.xhtml" media-type="application/xhtml+xml"/>
                <item id="remote" href="https://example.org/x.css" media-type="text/css"/>
              </manifest>
              <spine toc="ncx"><itemref idref="c1"/></spine>
            </package>"#;
        let opf = opf(opf_xml, "OEBPS/content.opf").expect("parses");
        assert_eq!(
            opf.unique_identifier.as_deref(),
            Some("urn:uuid:12345678-1234-1234-1234-123456789abc")
        );
        assert_eq!(opf.navigation_paths(), ["OEBPS/nav.xhtml", "OEBPS/toc.ncx"]);
        assert_eq!(
            opf.media_type("OEBPS/text/c1.xhtml"),
            Some("application/xhtml+xml")
        );
        assert_eq!(opf.items.len(), 3);
    }

    #[test]
    fn bad_xml_is_a_clear_error() {
        let err = opf(b"<package><manifest><item href='a'></package>", "a.opf").expect_err("bad");
        assert!(err.to_string().contains("not well-formed"), "{err}");
        assert!(rootfile(b"<container/>").is_err());
    }
}
