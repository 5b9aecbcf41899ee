//! `jieyue ingest` over a tree of publications of every kind, as an operator runs it:
//! publication folders are found, an empty one is named in the failures (and the exit
//! status says so), everything else is catalogued once; a second run changes nothing.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn testdata(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(relative)
}

fn jieyue(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jieyue"));
    command
        .env_remove("JIEYUE_CONFIG")
        .env_remove("JIEYUE_DATABASE_URL")
        .env("JIEYUE_DATA_DIR", data)
        .env("JIEYUE_CREATE_KEYS_IF_MISSING", "true")
        .env("JIEYUE_BOOTSTRAP_ADMIN_PASSWORD", "media-admin-pass")
        .env("JIEYUE_PASSWORD_HASHING__MEMORY_KIB", "1024")
        .env("JIEYUE_PASSWORD_HASHING__ITERATIONS", "1");
    command
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn a_tree_of_publications_is_found_checked_and_catalogued_once() {
    let data = tempfile::tempdir().expect("data");
    let tree = tempfile::tempdir().expect("tree");
    let root = tree.path();
    copy_dir(
        &testdata("demo-media/唐诗朗诵"),
        &root.join("audio/唐诗朗诵"),
    );
    copy_dir(
        &testdata("demo-media/中国国家地理-示例"),
        &root.join("journals/2026-01"),
    );
    std::fs::copy(testdata("media/lecture-2.mp4"), root.join("第二讲.mp4")).expect("copy");
    std::fs::copy(testdata("corpus/zh/daxue.epub"), root.join("daxue.epub")).expect("copy");
    // An empty publication folder named on the command line: an error naming it.
    std::fs::create_dir_all(root.join("empty")).expect("mkdir");

    let output = jieyue(data.path())
        .arg("ingest")
        .arg(root)
        .arg(root.join("empty"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "one failure: non-zero exit\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("4 created"), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert!(
        stdout.contains("empty") && stdout.contains("holds no page images"),
        "{stdout}"
    );

    // Again, without the empty folder: nothing changes.
    let again = jieyue(data.path())
        .arg("ingest")
        .arg("--quiet")
        .arg(root.join("audio"))
        .arg(root.join("journals"))
        .arg(root.join("第二讲.mp4"))
        .arg(root.join("daxue.epub"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains("0 created, 0 new versions, 4 unchanged, 0 failed"),
        "{stdout}"
    );
}
