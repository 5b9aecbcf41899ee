//! The catalogue search index (tantivy), kept beside the database and rebuildable from
//! it.
//!
//! Each server replica keeps its own index in its data directory and follows the
//! `catalogue_changes` log: `service::catalogue::sync_search` applies every change after the
//! last sequence number it applied (stored next to the index), so replicas converge
//! without talking to each other, and `jieyue reindex` rebuilds from scratch.

pub mod analysis;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term, doc,
};

use crate::domain::{Title, TitleId};
use analysis::JyTokenizer;

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy reported an error.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be used.
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    /// Another process holds this index's writer (a running server, while a CLI
    /// command works on the same data directory). That process follows the change log,
    /// so nothing is lost.
    #[error("another process is writing this search index")]
    Busy,
    /// A stored document is missing its id.
    #[error("search index is inconsistent: {0}")]
    Corrupt(String),
}

/// Search result.
pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first (newest first when there is no query).
    #[default]
    Relevance,
    /// By title.
    Title,
    /// Newest first.
    Newest,
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Free text (may be empty: browse).
    pub text: String,
    /// Only this language.
    pub language: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this layout (`reflowable`, `fixed`).
    pub layout: Option<String>,
    /// Only this kind (`epub`, `page_images`, `images`, `audiobook`, `video`).
    pub kind: Option<String>,
    /// Order.
    pub sort: Sort,
    /// Skip this many.
    pub offset: usize,
    /// At most this many.
    pub limit: usize,
}

/// Counts of matches per facet value.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Facets {
    /// Per language.
    pub language: Vec<(String, u64)>,
    /// Per subject.
    pub subject: Vec<(String, u64)>,
    /// Per layout.
    pub layout: Vec<(String, u64)>,
    /// Per kind of publication.
    pub kind: Vec<(String, u64)>,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Title ids, in order.
    pub ids: Vec<TitleId>,
    /// How many titles match in all.
    pub total: usize,
    /// Facet counts over all matches.
    pub facets: Facets,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title_words: Field,
    title_grams: Field,
    body_words: Field,
    body_grams: Field,
    facets: Field,
    sort_title: Field,
    created: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        title_words: builder.add_text_field("title_words", text(JyTokenizer::WORDS)),
        title_grams: builder.add_text_field("title_grams", text(JyTokenizer::GRAMS)),
        body_words: builder.add_text_field("body_words", text(JyTokenizer::WORDS)),
        body_grams: builder.add_text_field("body_grams", text(JyTokenizer::GRAMS)),
        facets: builder.add_facet_field("facets", FacetOptions::default()),
        sort_title: builder.add_text_field("sort_title", STRING | FAST),
        created: builder.add_i64_field("created", INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// The search index.
pub struct SearchIndex {
    reader: IndexReader,
    index: Index,
    /// Taken on first write, so read-only users never lock the directory.
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
    seq_file: Option<PathBuf>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("seq_file", &self.seq_file)
            .finish_non_exhaustive()
    }
}

/// Memory for the writer's in-memory segment (tantivy's minimum is 15 MB).
const WRITER_HEAP: usize = 32 * 1024 * 1024;

impl SearchIndex {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
        let index = Index::open_or_create(directory, schema)?;
        Self::with_index(index, fields, Some(dir.join("applied_seq")))
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, None)
    }

    fn with_index(index: Index, fields: Fields, seq_file: Option<PathBuf>) -> Result<Self> {
        index
            .tokenizers()
            .register(JyTokenizer::WORDS, TextAnalyzer::from(JyTokenizer::words()));
        index
            .tokenizers()
            .register(JyTokenizer::GRAMS, TextAnalyzer::from(JyTokenizer::grams()));
        analysis::warm_up();
        // Also pick up commits made by another process in the same directory (a CLI
        // ingest while the server runs, or the other way round).
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(None),
            fields,
            seq_file,
        })
    }

    /// Runs `work` with the index writer (taking the directory lock the first time),
    /// commits, and makes the change visible to searches.
    fn write(&self, work: impl FnOnce(&mut IndexWriter) -> Result<()>) -> Result<()> {
        let mut slot = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            match self.index.writer_with_num_threads(1, WRITER_HEAP) {
                Ok(writer) => *slot = Some(writer),
                Err(tantivy::TantivyError::LockFailure(_, _)) => return Err(SearchError::Busy),
                Err(other) => return Err(other.into()),
            }
        }
        let Some(writer) = slot.as_mut() else {
            return Err(SearchError::Busy);
        };
        work(writer)?;
        writer.commit()?;
        drop(slot);
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces the documents of these titles (suppressed titles are removed), then
    /// commits and makes the change visible.
    pub fn upsert(&self, titles: &[Title]) -> Result<()> {
        self.write(|writer| {
            for title in titles {
                writer.delete_term(Term::from_field_text(self.fields.id, &title.id.to_string()));
                if !title.suppressed {
                    writer.add_document(self.document(title))?;
                }
            }
            Ok(())
        })
    }

    /// Removes titles.
    pub fn remove(&self, ids: &[TitleId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|writer| {
            for id in ids {
                writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
            }
            Ok(())
        })
    }

    /// Empties the index (before a rebuild).
    pub fn clear(&self) -> Result<()> {
        self.write(|writer| {
            writer.delete_all_documents()?;
            Ok(())
        })
    }

    fn document(&self, title: &Title) -> TantivyDocument {
        let f = &self.fields;
        let m = &title.metadata;
        let mut body = String::new();
        for part in m
            .subtitle
            .iter()
            .chain(m.authors.iter().map(|a| &a.name))
            .chain(m.subjects.iter())
            .chain(m.publisher.iter())
            .chain(m.description.iter())
        {
            body.push_str(part);
            body.push('\n');
        }
        let mut document = doc!(
            f.id => title.id.to_string(),
            f.title_words => m.title.clone(),
            f.title_grams => m.title.clone(),
            f.body_words => body.clone(),
            f.body_grams => body,
            f.sort_title => m.sort_title.clone(),
            f.created => title.created_at.timestamp_micros(),
            f.facets => Facet::from_path(["layout", m.layout.as_str()]),
            f.facets => Facet::from_path(["kind", title.media.kind.as_str()]),
        );
        if let Some(language) = &m.language {
            document.add_facet(
                f.facets,
                Facet::from_path(["language", primary_language(language)]),
            );
        }
        for subject in &m.subjects {
            document.add_facet(f.facets, Facet::from_path(["subject", subject.as_str()]));
        }
        document
    }

    fn text_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let term_in = |title: Field, body: Field, term: &str| -> Box<dyn Query> {
            let title_query: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(title, term),
                    IndexRecordOption::WithFreqs,
                )),
                3.0,
            ));
            let body_query: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(body, term),
                IndexRecordOption::WithFreqs,
            ));
            Box::new(BooleanQuery::new(vec![
                (Occur::Should, title_query),
                (Occur::Should, body_query),
            ]))
        };
        let all_of = |terms: Vec<String>, title: Field, body: Field| -> Option<Box<dyn Query>> {
            if terms.is_empty() {
                return None;
            }
            let mut unique = terms;
            unique.sort();
            unique.dedup();
            let clauses = unique
                .iter()
                .map(|t| (Occur::Must, term_in(title, body, t)))
                .collect();
            Some(Box::new(BooleanQuery::new(clauses)))
        };
        let by_grams = all_of(analysis::grams(text, true), f.title_grams, f.body_grams);
        let by_words = all_of(analysis::words(text), f.title_words, f.body_words);
        let either: Vec<(Occur, Box<dyn Query>)> = [by_grams, by_words]
            .into_iter()
            .flatten()
            .map(|q| (Occur::Should, q))
            .collect();
        (!either.is_empty()).then(|| Box::new(BooleanQuery::new(either)) as Box<dyn Query>)
    }

    /// Runs a search.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let has_text = !query.text.trim().is_empty();
        if has_text {
            match self.text_query(&query.text) {
                Some(q) => clauses.push((Occur::Must, q)),
                // Only punctuation: nothing can match.
                None => {
                    return Ok(SearchPage {
                        ids: Vec::new(),
                        total: 0,
                        facets: Facets::default(),
                    });
                }
            }
        }
        for (kind, value) in [
            ("language", query.language.as_deref()),
            ("subject", query.subject.as_deref()),
            ("layout", query.layout.as_deref()),
            ("kind", query.kind.as_deref()),
        ] {
            if let Some(value) = value {
                let facet = Facet::from_path([kind, value]);
                clauses.push((
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_facet(f.facets, &facet),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
        }
        if clauses.is_empty() {
            clauses.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
        }
        let combined = BooleanQuery::new(clauses);

        let searcher = self.reader.searcher();
        let limit = query.limit.max(1);
        let top = TopDocs::with_limit(limit).and_offset(query.offset);
        let mut facet_collector = FacetCollector::for_field("facets");
        for facet in ["/language", "/subject", "/layout", "/kind"] {
            facet_collector.add_facet(facet);
        }
        let sort = if query.sort == Sort::Relevance && !has_text {
            Sort::Newest
        } else {
            query.sort
        };
        let (addresses, total, facet_counts): (Vec<DocAddress>, usize, _) = match sort {
            Sort::Relevance => {
                let (hits, total, facets) =
                    searcher.search(&combined, &(top.order_by_score(), Count, facet_collector))?;
                (hits.into_iter().map(|(_, a)| a).collect(), total, facets)
            }
            Sort::Title => {
                let (hits, total, facets) = searcher.search(
                    &combined,
                    &(
                        top.order_by_string_fast_field("sort_title", Order::Asc),
                        Count,
                        facet_collector,
                    ),
                )?;
                (hits.into_iter().map(|(_, a)| a).collect(), total, facets)
            }
            Sort::Newest => {
                let (hits, total, facets) = searcher.search(
                    &combined,
                    &(
                        top.order_by_fast_field::<i64>("created", Order::Desc),
                        Count,
                        facet_collector,
                    ),
                )?;
                (hits.into_iter().map(|(_, a)| a).collect(), total, facets)
            }
        };

        let mut ids = Vec::with_capacity(addresses.len());
        for address in addresses {
            let document: TantivyDocument = searcher.doc(address)?;
            let id = document
                .get_first(f.id)
                .and_then(|v| v.as_str())
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| SearchError::Corrupt("document without an id".into()))?;
            ids.push(TitleId(id));
        }
        let counts = |root: &str| -> Vec<(String, u64)> {
            let mut out: Vec<(String, u64)> = facet_counts
                .get(root)
                .map(|(facet, count)| {
                    let value = facet
                        .to_path()
                        .last()
                        .map(|s| (*s).to_owned())
                        .unwrap_or_default();
                    (value, count)
                })
                .collect();
            out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            out
        };
        Ok(SearchPage {
            ids,
            total,
            facets: Facets {
                language: counts("/language"),
                subject: counts("/subject"),
                layout: counts("/layout"),
                kind: counts("/kind"),
            },
        })
    }

    /// Makes commits by another process visible now.
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of documents.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last change-log sequence applied.
    pub fn applied_seq(&self) -> i64 {
        self.seq_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Records the last change-log sequence applied.
    pub fn set_applied_seq(&self, seq: i64) -> Result<()> {
        if let Some(path) = &self.seq_file {
            let temp = path.with_extension("tmp");
            std::fs::write(&temp, seq.to_string())?;
            std::fs::rename(&temp, path)?;
        }
        Ok(())
    }
}

/// `zh-Hant-TW` → `zh`: facets group by primary language.
pub fn primary_language(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}
