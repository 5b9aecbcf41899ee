//! The pages' words: Fluent catalogues compiled into the binary, Chinese first. Each
//! area of the site has its own file per language under `server/i18n/<lang>/`; a test
//! checks that every language has the same messages and that every message a template
//! asks for exists.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag (`lang` attribute, cookie, `?lang=`).
    pub const fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language with this exact tag.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }

    /// The other language (the switch in the page header offers it).
    pub const fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }

    /// The language's name in itself.
    pub const fn own_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "中文",
            Lang::En => "English",
        }
    }
}

/// One catalogue file: its name and its text in each language.
struct Source {
    name: &'static str,
    zh_cn: &'static str,
    en: &'static str,
}

macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        [$(Source {
            name: $name,
            zh_cn: include_str!(concat!("../../../i18n/zh-CN/", $name, ".ftl")),
            en: include_str!(concat!("../../../i18n/en/", $name, ".ftl")),
        }),*]
    };
}

const SOURCES: [Source; 13] = sources!(
    "common",
    "console",
    "catalogue",
    "copies",
    "rules",
    "patrons",
    "holds",
    "reports",
    "audit",
    "admin",
    "distribution",
    "reader",
    "reading",
);

/// The messages of one language.
pub struct Catalogue {
    bundle: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue").finish_non_exhaustive()
    }
}

fn build(lang: Lang) -> Catalogue {
    let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks would show up inside HTML attributes and CSV cells.
    bundle.set_use_isolating(false);
    for source in &SOURCES {
        let text = match lang {
            Lang::ZhCn => source.zh_cn,
            Lang::En => source.en,
        };
        let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(res, errs)| {
            tracing::error!(file = source.name, lang = lang.tag(), errors = ?errs,
                "a message catalogue has syntax errors; the broken messages are left out");
            res
        });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(
                file = source.name,
                lang = lang.tag(),
                ?errors,
                "a message catalogue defines a message twice"
            );
        }
    }
    Catalogue { bundle }
}

/// The catalogue of `lang` (built once).
pub fn catalogue(lang: Lang) -> &'static Catalogue {
    static ZH_CN: OnceLock<Catalogue> = OnceLock::new();
    static EN: OnceLock<Catalogue> = OnceLock::new();
    match lang {
        Lang::ZhCn => ZH_CN.get_or_init(|| build(Lang::ZhCn)),
        Lang::En => EN.get_or_init(|| build(Lang::En)),
    }
}

impl Catalogue {
    /// The message `key`, formatted with `args`. A missing message shows its key (and
    /// is logged), so a page never fails to render for want of a word.
    pub fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, "a page asked for a message no catalogue has");
            return key.to_owned();
        };
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, ?errors, "a message could not be formatted fully");
        }
        text.into_owned()
    }

    /// The message `key` with one argument.
    pub fn format1(&self, key: &str, name: &str, value: impl Into<ArgValue>) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), value.into().0);
        self.format(key, Some(&args))
    }

    /// The message `key` with two arguments.
    pub fn format2(
        &self,
        key: &str,
        (name1, value1): (&str, ArgValue),
        (name2, value2): (&str, ArgValue),
    ) -> String {
        let mut args = FluentArgs::new();
        args.set(name1.to_owned(), value1.0);
        args.set(name2.to_owned(), value2.0);
        self.format(key, Some(&args))
    }

    /// Whether the catalogue has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.bundle.has_message(key)
    }
}

/// A message argument: a number (plural rules apply) or text.
pub struct ArgValue(FluentValue<'static>);

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for ArgValue {
            fn from(n: $t) -> Self {
                ArgValue(FluentValue::from(n))
            }
        }
        impl From<&$t> for ArgValue {
            fn from(n: &$t) -> Self {
                ArgValue(FluentValue::from(*n))
            }
        }
    )*};
}
number_arg!(u16, i32, i64, u32, u64, usize);

impl From<String> for ArgValue {
    fn from(s: String) -> Self {
        ArgValue(FluentValue::from(s))
    }
}

impl From<&str> for ArgValue {
    fn from(s: &str) -> Self {
        ArgValue(FluentValue::from(s.to_owned()))
    }
}

impl From<&String> for ArgValue {
    fn from(s: &String) -> Self {
        ArgValue(FluentValue::from(s.clone()))
    }
}

/// The message ids a catalogue file defines (for the consistency tests).
#[cfg(test)]
fn message_ids(text: &str) -> std::collections::BTreeSet<String> {
    use fluent_syntax::ast::Entry;
    let resource = match fluent_syntax::parser::parse(text) {
        Ok(resource) => resource,
        Err((_, errors)) => panic!("catalogue does not parse: {errors:?}"),
    };
    resource
        .body
        .iter()
        .filter_map(|entry| match entry {
            Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_language_has_the_same_messages_in_each_file() {
        for source in &SOURCES {
            let zh = message_ids(source.zh_cn);
            let en = message_ids(source.en);
            let only_zh: Vec<_> = zh.difference(&en).collect();
            let only_en: Vec<_> = en.difference(&zh).collect();
            assert!(
                only_zh.is_empty() && only_en.is_empty(),
                "{}.ftl: only in zh-CN {only_zh:?}, only in en {only_en:?}",
                source.name
            );
        }
    }

    #[test]
    fn no_message_is_defined_in_two_files() {
        let mut seen = BTreeSet::new();
        for source in &SOURCES {
            for id in message_ids(source.zh_cn) {
                assert!(seen.insert(id.clone()), "{id} is defined twice");
            }
        }
    }

    /// Every `t("…")`, `t1("…"`, `t2("…"` in a template or `"…"` message key in the page code
    /// names a message that exists.
    #[test]
    fn every_message_a_template_asks_for_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = vec![dir.clone()];
        let mut asked = BTreeSet::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("templates dir") {
                    files.push(entry.expect("entry").path());
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("template");
            for opener in ["t(\"", "t1(\"", "t2(\""] {
                for (at, _) in text.match_indices(opener) {
                    let rest = &text[at + opener.len()..];
                    if let Some(end) = rest.find('"') {
                        asked.insert(rest[..end].to_owned());
                    }
                }
            }
        }
        assert!(
            asked.len() > 20,
            "the scan found too few messages: {asked:?}"
        );
        for lang in Lang::ALL {
            let missing: Vec<_> = asked.iter().filter(|k| !catalogue(lang).has(k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.tag());
        }
    }

    #[test]
    fn plurals_and_arguments_are_formatted() {
        let en = catalogue(Lang::En);
        assert_eq!(en.format1("common-copies", "count", 1u64), "1 copy");
        assert_eq!(en.format1("common-copies", "count", 3u64), "3 copies");
        assert_eq!(
            catalogue(Lang::ZhCn).format1("common-copies", "count", 3u64),
            "3 册"
        );
        assert_eq!(en.format("no-such-message", None), "no-such-message");
    }
}
