//! XHTML content documents → a flat list of blocks of styled text and images, the
//! model that pagination and search work on.
//!
//! Block elements (`p`, `div`, `h1`–`h6`, `li`, `blockquote`, `pre`, `figure`, table
//! rows ...) start a new block; inline elements (`em`, `i`, `strong`, `b`, `span`,
//! `a`, ...) style runs inside it; `br` is a line break; `img` and SVG `image` become
//! image blocks; `head`, `script`, `style` and ruby annotations (`rt`, `rp`) are
//! skipped. Directions come from `dir` attributes.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// A run of text with one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The text (whitespace collapsed, except in `pre`).
    pub text: String,
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
}

/// What kind of block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// A heading of level 1-6.
    Heading(u8),
    /// A paragraph or any other text block.
    Paragraph,
    /// A list item, with its marker (`•`, `3.`).
    ListItem(String),
    /// Preformatted text (whitespace kept).
    Preformatted,
    /// A quotation (indented).
    Quote,
    /// An image.
    Image {
        /// Path of the image inside the package.
        path: String,
        /// Alternative text.
        alt: String,
    },
}

/// A block of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its kind.
    pub kind: BlockKind,
    /// Its text runs (empty for images).
    pub spans: Vec<Span>,
    /// Right-to-left (`dir="rtl"` on it or an ancestor).
    pub rtl: bool,
    /// Offset of the block's first character in the document's text (see [`Document::text`]).
    pub offset: usize,
}

impl Block {
    /// The block's text.
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Characters (Unicode scalar values) in the block.
    pub fn char_len(&self) -> usize {
        self.spans.iter().map(|s| s.text.chars().count()).sum()
    }
}

/// A parsed content document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// Blocks in reading order.
    pub blocks: Vec<Block>,
    /// The document's language (`xml:lang`/`lang` on the root), if given.
    pub language: Option<String>,
}

impl Document {
    /// A page that is one image: an image (or an SVG document) in the reading order.
    pub fn image_page(path: &str) -> Self {
        Self {
            blocks: vec![Block {
                kind: BlockKind::Image {
                    path: path.to_owned(),
                    alt: String::new(),
                },
                spans: Vec::new(),
                rtl: false,
                offset: 0,
            }],
            language: None,
        }
    }

    /// The plain text of the whole document: blocks joined by `\n`. Block offsets and
    /// search positions count characters in this text.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&block.text());
        }
        text
    }

    /// Characters in [`text`](Self::text).
    pub fn char_len(&self) -> usize {
        let blocks: usize = self.blocks.iter().map(Block::char_len).sum();
        blocks + self.blocks.len().saturating_sub(1)
    }
}

#[derive(Clone, Copy, Default)]
struct Style {
    bold: bool,
    italic: bool,
    pre: bool,
    rtl: Option<bool>,
    skip: bool,
}

fn local_name(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase()
}

fn attribute(element: &BytesStart<'_>, wanted: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| local_name(a.key.local_name().as_ref()) == wanted)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "aside",
    "header",
    "footer",
    "nav",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "tr",
    "caption",
    "hr",
    "table",
    "ul",
    "ol",
    "dl",
    "body",
    "address",
    "center",
];

/// Resolves `href` (relative to the document at `base`) to a package path.
pub fn resolve(base: &str, href: &str) -> String {
    let href = href.split(['#', '?']).next().unwrap_or_default();
    let href = percent_decode(href);
    if let Some(absolute) = href.strip_prefix('/') {
        return normalise(absolute);
    }
    let dir = base.rsplit_once('/').map_or("", |(dir, _)| dir);
    normalise(&format!("{dir}/{href}"))
}

fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Decodes `%XX` escapes (invalid ones are kept as they are, bytes that are not UTF-8
/// become U+FFFD).
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// HTML named entities that XHTML books use without declaring them.
fn entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "nbsp" => "\u{a0}",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "laquo" => "«",
        "raquo" => "»",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "middot" => "·",
        "bull" => "•",
        "deg" => "°",
        "times" => "×",
        "eacute" => "é",
        "egrave" => "è",
        "agrave" => "à",
        "ccedil" => "ç",
        "shy" => "\u{ad}",
        "ensp" => "\u{2002}",
        "emsp" => "\u{2003}",
        "thinsp" => "\u{2009}",
        "zwj" => "\u{200d}",
        "zwnj" => "\u{200c}",
        _ => return None,
    })
}

struct Builder {
    blocks: Vec<Block>,
    spans: Vec<Span>,
    kind: BlockKind,
    rtl: bool,
    offset: usize,
    pending_space: bool,
}

impl Builder {
    fn push_text(&mut self, text: &str, style: Style) {
        if style.skip {
            return;
        }
        let mut out = String::with_capacity(text.len());
        if style.pre {
            out.push_str(text);
        } else {
            for c in text.chars() {
                // XML whitespace collapses; U+3000 and NBSP are content.
                if matches!(c, ' ' | '\t' | '\n' | '\r') {
                    self.pending_space = true;
                } else {
                    if self.pending_space && (!self.spans.is_empty() || !out.is_empty()) {
                        out.push(' ');
                    }
                    self.pending_space = false;
                    out.push(c);
                }
            }
        }
        if out.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if last.bold == style.bold && last.italic == style.italic => {
                last.text.push_str(&out)
            }
            _ => self.spans.push(Span {
                text: out,
                bold: style.bold,
                italic: style.italic,
            }),
        }
    }

    fn line_break(&mut self, style: Style) {
        self.pending_space = false;
        self.push_text("\n", Style { pre: true, ..style });
    }

    /// Ends the current block (if it has text) and starts one of `kind`.
    fn flush(&mut self, kind: BlockKind, rtl: bool) {
        // Trailing line breaks carry nothing.
        while let Some(last) = self.spans.last_mut() {
            let trimmed = last.text.trim_end_matches('\n').len();
            last.text.truncate(trimmed);
            if last.text.is_empty() {
                self.spans.pop();
            } else {
                break;
            }
        }
        if !self.spans.is_empty() {
            let block = Block {
                kind: std::mem::replace(&mut self.kind, kind.clone()),
                spans: std::mem::take(&mut self.spans),
                rtl: self.rtl,
                offset: self.offset,
            };
            self.offset += block.char_len() + 1;
            self.blocks.push(block);
        }
        self.kind = kind;
        self.rtl = rtl;
        self.pending_space = false;
    }

    fn image(&mut self, path: String, alt: String, rtl: bool) {
        let kind = self.kind.clone();
        self.flush(kind.clone(), rtl);
        self.blocks.push(Block {
            kind: BlockKind::Image { path, alt },
            spans: Vec::new(),
            rtl,
            offset: self.offset,
        });
        // An image has no text: it shares its offset with what follows.
        self.kind = kind;
    }
}

/// Parses the XHTML document at package path `path`. Malformed markup ends the parse
/// where it breaks: what came before is kept (a reader shows what it can).
pub fn parse(bytes: &[u8], path: &str) -> Document {
    let xml = String::from_utf8_lossy(bytes);
    let mut reader = Reader::from_str(&xml);
    reader.config_mut().check_end_names = false;
    reader.config_mut().expand_empty_elements = true;
    let mut builder = Builder {
        blocks: Vec::new(),
        spans: Vec::new(),
        kind: BlockKind::Paragraph,
        rtl: false,
        offset: 0,
        pending_space: false,
    };
    let mut stack: Vec<(String, Style, Option<BlockKind>)> = Vec::new();
    let mut style = Style::default();
    let mut language = None;
    let mut list_counters: Vec<Option<u32>> = Vec::new();
    // A parse error ends the document where it breaks.
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(element) => {
                let name = local_name(element.name().as_ref());
                let parent = style;
                let mut next = style;
                if let Some(dir) = attribute(&element, "dir") {
                    next.rtl = Some(dir.eq_ignore_ascii_case("rtl"));
                }
                if name == "html" {
                    language = attribute(&element, "lang");
                }
                match name.as_str() {
                    "head" | "script" | "style" | "rt" | "rp" | "title" => next.skip = true,
                    "b" | "strong" | "th" => next.bold = true,
                    "i" | "em" | "cite" | "var" | "dfn" => next.italic = true,
                    "pre" => next.pre = true,
                    h if h.len() == 2 && h.starts_with('h') && h.as_bytes()[1].is_ascii_digit() => {
                        next.bold = true
                    }
                    _ => {}
                }
                let rtl = next.rtl.unwrap_or(false);
                let mut restore = None;
                if BLOCKS.contains(&name.as_str()) && !next.skip {
                    let kind = match name.as_str() {
                        h if h.len() == 2 && h.starts_with('h') => {
                            BlockKind::Heading(h.as_bytes()[1].saturating_sub(b'0').clamp(1, 6))
                        }
                        "li" => {
                            let marker = match list_counters.last_mut() {
                                Some(Some(n)) => {
                                    *n += 1;
                                    format!("{n}.")
                                }
                                _ => "•".to_owned(),
                            };
                            BlockKind::ListItem(marker)
                        }
                        "pre" => BlockKind::Preformatted,
                        "blockquote" => BlockKind::Quote,
                        _ => match &builder.kind {
                            // A div inside a quote stays a quote.
                            BlockKind::Quote => BlockKind::Quote,
                            _ => BlockKind::Paragraph,
                        },
                    };
                    match name.as_str() {
                        "ol" => list_counters.push(Some(0)),
                        "ul" => list_counters.push(None),
                        _ => {}
                    }
                    restore = Some(builder.kind.clone());
                    builder.flush(kind, rtl);
                }
                if matches!(name.as_str(), "img" | "image") && !next.skip {
                    let src = attribute(&element, "src").or_else(|| attribute(&element, "href"));
                    if let Some(src) = src {
                        builder.image(
                            resolve(path, &src),
                            attribute(&element, "alt").unwrap_or_default(),
                            rtl,
                        );
                    }
                }
                if name == "br" {
                    builder.line_break(next);
                }
                stack.push((name, parent, restore));
                style = next;
            }
            Event::End(_) => {
                if let Some((name, parent, restore)) = stack.pop() {
                    if let Some(kind) = restore {
                        builder.flush(kind, parent.rtl.unwrap_or(false));
                    }
                    if matches!(name.as_str(), "ol" | "ul") {
                        list_counters.pop();
                    }
                    style = parent;
                }
            }
            Event::Text(text) => {
                builder.push_text(&text.xml10_content(), style);
            }
            Event::CData(text) => {
                builder.push_text(text.as_ref(), style);
            }
            Event::GeneralRef(reference) => {
                let resolved = if let Ok(Some(c)) = reference.resolve_char_ref() {
                    Some(c.to_string())
                } else {
                    match reference.as_ref() {
                        "amp" => Some("&".to_owned()),
                        "lt" => Some("<".to_owned()),
                        "gt" => Some(">".to_owned()),
                        "quot" => Some("\"".to_owned()),
                        "apos" => Some("'".to_owned()),
                        other => entity(other).map(str::to_owned),
                    }
                };
                if let Some(text) = resolved {
                    builder.pending_space = false;
                    builder.push_text(&text, Style { pre: true, ..style });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let kind = builder.kind.clone();
    builder.flush(kind, false);
    Document {
        blocks: builder.blocks,
        language,
    }
}

/// The size an SVG document declares on its root element: `width` and `height` (in
/// CSS pixels, or unitless), else the `viewBox`'s.
pub fn svg_size(bytes: &[u8]) -> Option<(f32, f32)> {
    let text = String::from_utf8_lossy(bytes);
    let mut reader = Reader::from_str(&text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(element) | Event::Empty(element) => {
                if local_name(element.name().as_ref()) != "svg" {
                    return None;
                }
                let number = |value: &str| -> Option<f32> {
                    let digits = value.trim().trim_end_matches("px");
                    digits
                        .parse::<f32>()
                        .ok()
                        .filter(|n| n.is_finite() && *n > 0.0)
                };
                let declared = attribute(&element, "width")
                    .and_then(|w| number(&w))
                    .zip(attribute(&element, "height").and_then(|h| number(&h)));
                return declared.or_else(|| {
                    let view_box = attribute(&element, "viewbox")?;
                    let parts: Vec<f32> = view_box
                        .split([' ', ','])
                        .filter(|p| !p.is_empty())
                        .filter_map(|p| p.parse().ok())
                        .collect();
                    match parts.as_slice() {
                        [_, _, w, h] if *w > 0.0 && *h > 0.0 => Some((*w, *h)),
                        _ => None,
                    }
                });
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_styles_and_whitespace() {
        let doc = parse(
            r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" xml:lang="zh"><head><title>T</title><style>p{}</style></head>
            <body><h1>第一章</h1>
            <p>学而时习之，<em>不亦说乎</em>？</p>
            <p>Some   <b>bold</b>
               text&nbsp;&amp; more&#x4E00;</p>
            <ol><li>one</li><li>two</li></ol>
            <p><ruby>漢<rt>kan</rt></ruby>字</p>
            <div><img src="../images/a%20b.png" alt="pic"/></div>
            </body></html>"#
                .as_bytes(),
            "OEBPS/text/ch1.xhtml",
        );
        let kinds: Vec<_> = doc.blocks.iter().map(|b| b.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                BlockKind::Heading(1),
                BlockKind::Paragraph,
                BlockKind::Paragraph,
                BlockKind::ListItem("1.".into()),
                BlockKind::ListItem("2.".into()),
                BlockKind::Paragraph,
                BlockKind::Image {
                    path: "OEBPS/images/a b.png".into(),
                    alt: "pic".into()
                },
            ]
        );
        assert_eq!(doc.language.as_deref(), Some("zh"));
        assert_eq!(doc.blocks[1].text(), "学而时习之，不亦说乎？");
        assert!(doc.blocks[1].spans[1].italic);
        assert_eq!(doc.blocks[2].text(), "Some bold text\u{a0}& more一");
        assert_eq!(doc.blocks[5].text(), "漢字", "ruby annotations are skipped");
        // Offsets count characters of the joined text.
        let text = doc.text();
        for block in &doc.blocks {
            if !block.spans.is_empty() {
                let at: String = text
                    .chars()
                    .skip(block.offset)
                    .take(block.char_len())
                    .collect();
                assert_eq!(at, block.text());
            }
        }
        assert_eq!(doc.char_len(), text.chars().count());
    }

    #[test]
    fn rtl_and_line_breaks() {
        let doc = parse(
            r#"<html><body dir="rtl"><p>سطر<br/>آخر</p><p dir="ltr">x</p></body></html>"#
                .as_bytes(),
            "a.xhtml",
        );
        assert!(doc.blocks[0].rtl);
        assert_eq!(doc.blocks[0].text(), "سطر\nآخر");
        assert!(!doc.blocks[1].rtl);
    }

    #[test]
    fn malformed_markup_keeps_what_came_before() {
        let doc = parse(
            b"<html><body><p>kept</p><p>also <b>kept</p></body",
            "a.xhtml",
        );
        assert_eq!(doc.blocks[0].text(), "kept");
        assert_eq!(doc.blocks.len(), 2, "{doc:?}");
        let doc = parse(b"\xff\xfe garbage <<<", "a.xhtml");
        assert!(doc.blocks.len() <= 1);
    }

    #[test]
    fn paths_resolve_against_the_document() {
        assert_eq!(
            resolve("OEBPS/text/c.xhtml", "../img/x.png#f"),
            "OEBPS/img/x.png"
        );
        assert_eq!(resolve("c.xhtml", "img/x.png"), "img/x.png");
        assert_eq!(resolve("a/b/c.xhtml", "/root.png"), "root.png");
    }
}
