//! Search latency on a generated catalogue of 100,000 titles with Chinese (simplified
//! and traditional) and Latin metadata.
//!
//! `cargo run --release -p jieyue-server --example search_latency [TITLES] [QUERIES]`
//! prints indexing time, index size, peak memory, and median / p90 / p99 latency of
//! single-word queries through the same `SearchIndex::search` the API calls.

#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use jieyue_server::domain::{
    Author, Layout, PublicationIdentifier, Title, TitleId, TitleMetadata, sort_key,
};
use jieyue_server::search::{SearchIndex, SearchQuery, Sort};

const ZH_WORDS: &[&str] = &[
    "春秋", "山水", "明月", "江南", "故事", "历史", "诗歌", "长安", "梦想", "花园", "书信", "旅行",
    "科学", "宇宙", "少年", "战争", "和平", "家族", "城市", "乡村", "音乐", "美术", "哲学", "经济",
    "法律", "医学", "天文", "地理", "海洋", "森林", "草原", "沙漠", "黄河", "长江", "秋风", "冬雪",
    "夏日", "春雨", "故乡", "朋友", "老师", "学生", "侦探", "武侠", "神话", "传说", "帝国", "王朝",
    "文明", "思想", "未来", "记忆", "时间", "光明", "黑夜", "星辰",
];
/// Traditional forms of some of the words, used in titles to exercise normalisation.
const ZH_TRADITIONAL: &[&str] = &[
    "歷史", "詩歌", "長安", "夢想", "書信", "旅行", "戰爭", "和平", "城市", "音樂", "經濟", "醫學",
];
const EN_WORDS: &[&str] = &[
    "river", "garden", "history", "ocean", "mountain", "letters", "journey", "science", "empire",
    "dream", "winter", "summer", "city", "village", "music", "stars", "night", "memory", "future",
    "secret", "island", "forest", "voices",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明",
];
const SUBJECTS: &[&str] = &[
    "小说",
    "诗歌",
    "历史",
    "哲学",
    "儿童文学",
    "科普",
    "传记",
    "Fiction",
    "Poetry",
    "History",
];

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

fn title(rng: &mut Rng, n: usize) -> Title {
    let latin = n % 10 < 3;
    let name = if latin {
        format!(
            "The {} of the {} {}",
            rng.pick(EN_WORDS),
            rng.pick(EN_WORDS),
            n % 97
        )
    } else if n % 10 == 3 {
        format!(
            "{}{}（卷{}）",
            rng.pick(ZH_TRADITIONAL),
            rng.pick(ZH_WORDS),
            n % 50
        )
    } else {
        format!("{}{}{}", rng.pick(ZH_WORDS), rng.pick(ZH_WORDS), n % 500)
    };
    let author = if latin {
        format!(
            "{} {}",
            rng.pick(&["Anna", "John", "Mei", "Omar", "Lucía"]),
            rng.pick(&["Smith", "Chen", "Haddad", "Lopez"])
        )
    } else {
        format!(
            "{}{}{}",
            rng.pick(SURNAMES),
            rng.pick(GIVEN),
            rng.pick(GIVEN)
        )
    };
    let description: Vec<&str> = (0..12)
        .map(|_| {
            if latin {
                rng.pick(EN_WORDS)
            } else {
                rng.pick(ZH_WORDS)
            }
        })
        .collect();
    let at = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
        + chrono::Duration::minutes(n as i64);
    Title {
        id: TitleId::new(),
        metadata: TitleMetadata {
            identifier: format!("urn:bench:{n}"),
            sort_title: sort_key(&name),
            title: name,
            subtitle: None,
            authors: vec![Author {
                name: author,
                role: Some("aut".into()),
                file_as: None,
            }],
            language: Some(if latin { "en".into() } else { "zh-Hans".into() }),
            publisher: Some(if latin {
                "Harbour Press".into()
            } else {
                "人民文学出版社".into()
            }),
            published: Some("2020-01-01".into()),
            subjects: vec![rng.pick(SUBJECTS).to_owned()],
            description: Some(description.join(if latin { " " } else { "" })),
            identifiers: vec![PublicationIdentifier {
                scheme: Some("isbn".into()),
                value: format!("978{n:010}"),
            }],
            layout: if n.is_multiple_of(20) {
                Layout::Fixed
            } else {
                Layout::Reflowable
            },
            page_progression: None,
        },
        version: 1,
        content_hash: String::new(),
        source_size: 0,
        package_key: String::new(),
        package_size: 0,
        package_sha256: String::new(),
        content_key_sealed: String::new(),
        cover: None,
        thumbnail_key: None,
        media: jieyue_server::domain::MediaFacts::EPUB,
        suppressed: false,
        created_at: at,
        updated_at: at,
    }
}

fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let titles: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let queries: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let index = SearchIndex::open(dir.path()).expect("index");

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(5_000);
    for n in 0..titles {
        batch.push(title(&mut rng, n));
        if batch.len() == 5_000 {
            index.upsert(&batch).expect("index");
            batch.clear();
        }
    }
    index.upsert(&batch).expect("index");
    let indexing = started.elapsed();
    println!(
        "indexed {} titles in {:.1} s ({:.0} titles/s); index {:.1} MiB on disk",
        index.len(),
        indexing.as_secs_f64(),
        titles as f64 / indexing.as_secs_f64(),
        dir_size(dir.path()) as f64 / 1048576.0
    );
    let (rss, _) = rss_mib();
    println!("resident memory after indexing: {rss:.0} MiB");

    let mut kinds: Vec<(&str, Vec<String>)> = vec![
        (
            "chinese word",
            ZH_WORDS.iter().map(|w| (*w).to_owned()).collect(),
        ),
        (
            "traditional word",
            ZH_TRADITIONAL.iter().map(|w| (*w).to_owned()).collect(),
        ),
        (
            "latin word",
            EN_WORDS.iter().map(|w| w.to_uppercase()).collect(),
        ),
        (
            "author",
            SURNAMES
                .iter()
                .zip(GIVEN)
                .map(|(s, g)| format!("{s}{g}"))
                .collect(),
        ),
    ];
    // Warm the OS cache and the searcher.
    for _ in 0..200 {
        let text = rng.pick(ZH_WORDS).to_owned();
        index
            .search(&SearchQuery {
                text,
                limit: 20,
                ..SearchQuery::default()
            })
            .expect("search");
    }
    let mut all = Vec::new();
    for (kind, words) in &mut kinds {
        let mut latencies = Vec::with_capacity(queries);
        let mut hits = 0usize;
        for i in 0..queries {
            let text = words[i % words.len()].clone();
            let query = SearchQuery {
                text,
                sort: Sort::Relevance,
                limit: 20,
                ..SearchQuery::default()
            };
            let started = Instant::now();
            let page = index.search(&query).expect("search");
            latencies.push(started.elapsed());
            hits += page.total;
        }
        latencies.sort();
        println!(
            "{kind:>17}: median {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({} hits/query on average)",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.9).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().expect("some").as_secs_f64() * 1e3,
            hits / queries
        );
        all.extend(latencies);
    }
    all.sort();
    println!(
        "all single-word queries: median {:.2} ms, p99 {:.2} ms over {} queries",
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.len()
    );
    let (rss, peak) = rss_mib();
    println!("resident memory {rss:.0} MiB, peak {peak:.0} MiB");
}
