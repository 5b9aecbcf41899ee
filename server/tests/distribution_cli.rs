//! The distribution commands as an operator runs them, through the `jieyue` binary: a
//! hub ingests, publishes and exports a collection to a "disk"; a county enrols over
//! the network and imports the disk; the import is killed with SIGKILL half-way and the
//! re-run copies only the objects the journal had not verified.

#![allow(clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/corpus/zh")
        .join(name)
}

fn jieyue(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jieyue"));
    command
        .env_remove("JIEYUE_CONFIG")
        .env_remove("JIEYUE_DATABASE_URL")
        .env("JIEYUE_DATA_DIR", data)
        .env("JIEYUE_CREATE_KEYS_IF_MISSING", "true")
        .env("JIEYUE_BOOTSTRAP_ADMIN_PASSWORD", "distribution-admin-pass")
        .env("JIEYUE_BIND", "127.0.0.1:0")
        .env("JIEYUE_PASSWORD_HASHING__MEMORY_KIB", "1024")
        .env("JIEYUE_PASSWORD_HASHING__ITERATIONS", "1");
    command
}

/// Runs a command to completion; its standard output if it succeeded.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("run jieyue");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The number just before `marker` in `text` ("12 objects copied" → 12).
fn number_before(text: &str, marker: &str) -> usize {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text:?}"));
    text[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number before {marker:?} in {text:?}"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path) -> (Server, String) {
    let mut child = jieyue(data)
        .args(["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the hub");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let line = lines.next().expect("a line").expect("stdout");
        if let Some(rest) = line.strip_prefix("Jieyue is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
        assert!(Instant::now() < deadline, "the hub did not start");
    };
    std::thread::spawn(move || for _ in lines {});
    (Server(child), base)
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                usize::from(!path.to_string_lossy().contains('#'))
            }
        })
        .sum()
}

fn sqlite_count(data: &Path, table: &str) -> i64 {
    let db = rusqlite::Connection::open(data.join("jieyue.db")).expect("database");
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("count")
}

#[test]
fn an_import_killed_half_way_resumes_without_recopying_what_it_verified() {
    let hub = tempfile::tempdir().expect("hub");
    let county = tempfile::tempdir().expect("county");
    let disk = tempfile::tempdir().expect("disk");

    // The hub: books, a collection, a version.
    let books: Vec<PathBuf> = (1..=8)
        .map(|n| corpus(&format!("quantangshi-{n:03}.epub")))
        .chain([corpus("lunyu.epub"), corpus("mengzi.epub")])
        .collect();
    let ingested = run(jieyue(hub.path()).arg("ingest").arg("--quiet").args(&books));
    assert!(ingested.contains("10 created"), "{ingested}");
    run(jieyue(hub.path()).args([
        "collection",
        "create",
        "jiceng-2026",
        "--name",
        "基层图书馆数字资源提升 2026",
        "--copies",
        "3",
    ]));
    run(jieyue(hub.path()).args(["collection", "titles", "jiceng-2026", "--all"]));
    let published = run(jieyue(hub.path()).args(["collection", "publish", "jiceng-2026"]));
    assert!(published.contains("version 1: 10 titles"), "{published}");

    // The county enrols with the running hub using the code its admin was given.
    let (_server, base) = serve(hub.path());
    let invited =
        run(jieyue(hub.path()).args(["peer", "invite", "淳安县图书馆", "--region", "浙江省"]));
    let code = invited
        .lines()
        .last()
        .map(str::trim)
        .expect("the code")
        .to_owned();
    let enrolled =
        run(jieyue(county.path()).args(["peer", "enrol", "--hub", &base, "--code", &code]));
    assert!(enrolled.contains("Enrolled with hub"), "{enrolled}");

    // Export: then a second run writes nothing.
    let exported = run(jieyue(hub.path())
        .args(["collection", "export", "jiceng-2026", "--quiet", "--to"])
        .arg(disk.path()));
    let total = number_before(&exported, "objects (");
    assert!(total >= 20, "{exported}");
    let again = run(jieyue(hub.path())
        .args(["collection", "export", "jiceng-2026", "--quiet", "--to"])
        .arg(disk.path()));
    assert_eq!(number_before(&again, "objects ("), 0, "{again}");
    assert_eq!(number_before(&again, "already there"), total, "{again}");

    // Import slowly, and kill -9 once some objects are in the store.
    let store = county.path().join("objects/objects");
    let mut import = jieyue(county.path())
        // Slow enough (the bundle is ~200 KB) that a loaded machine still catches it
        // half-way, twice: once for a second import, once for the kill.
        .args(["collection", "import", "--quiet", "--limit-rate", "16k"])
        .arg(disk.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the import");
    let deadline = Instant::now() + Duration::from_secs(120);
    while files_under(&store) < total / 3 {
        assert!(
            import.try_wait().expect("status").is_none(),
            "the import finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "the import made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second import meanwhile is turned away, not run over the first.
    let second = jieyue(county.path())
        .args(["collection", "import", "--quiet"])
        .arg(disk.path())
        .output()
        .expect("second import");
    assert!(
        import.try_wait().expect("status").is_none(),
        "the first import finished before the second could meet it"
    );
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("another import or pull is running"), "{said}");
    import.kill().expect("SIGKILL");
    import.wait().expect("reaped");
    let verified = sqlite_count(county.path(), "local_objects");
    assert!(
        verified > 0 && (verified as usize) < total,
        "{verified} of {total}"
    );
    assert_eq!(
        sqlite_count(county.path(), "titles"),
        0,
        "nothing half-imported is in the catalogue"
    );

    // The re-run copies exactly what the journal had not verified, then publishes.
    let resumed = run(jieyue(county.path())
        .args(["collection", "import", "--quiet"])
        .arg(disk.path()));
    assert_eq!(
        number_before(&resumed, "already verified"),
        verified as usize,
        "{resumed}"
    );
    assert_eq!(
        number_before(&resumed, "objects copied"),
        total - verified as usize,
        "{resumed}"
    );
    assert!(resumed.contains("10 titles published"), "{resumed}");
    assert_eq!(sqlite_count(county.path(), "titles"), 10);
    assert_eq!(sqlite_count(county.path(), "local_objects") as usize, total);
    let twice = run(jieyue(county.path())
        .args(["collection", "import", "--quiet"])
        .arg(disk.path()));
    assert!(twice.contains("is installed already"), "{twice}");
}
