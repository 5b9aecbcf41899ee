//! Writes seed inputs for the fuzz targets in `protocol/fuzz/` (valid documents and a
//! real package, so fuzzing starts deep in the parsers rather than at "not a ZIP").
//!
//! `cargo run -p jieyue-protocol --example fuzz_seeds -- DIR` writes
//! `DIR/{jws_parse,licence_parse,package_reader}/`; `scripts/fuzz-smoke` uses it.

#![allow(missing_docs, clippy::expect_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use jieyue_protocol::package::encrypt_epub;
use jieyue_protocol::{ContentKey, SigningKey, encoding, jws};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("seed directory");
    std::fs::write(dir.join(name), bytes).expect("seed");
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: fuzz_seeds DIR"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    // jws_parse verifies type "fuzz+jws" under the key from seed [1; 32].
    let key = SigningKey::from_seed(&[1; 32]).expect("key");
    let token = jws::sign(
        "fuzz+jws",
        &serde_json::json!({"id": "x", "n": [1, 2, 3], "s": "借阅"}),
        &key,
    )
    .expect("sign");
    write(&out, "jws_parse", "signed", token.as_bytes());

    // licence_parse signs the fuzzer's bytes as a licence payload: seed with the payload
    // of the known-answer licence.
    let vector: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("tests/vectors/licence.json")).expect("licence vector"),
    )
    .expect("json");
    let licence = vector["jws"].as_str().expect("jws in the vector");
    let payload = licence
        .split('.')
        .nth(1)
        .and_then(encoding::unb64)
        .expect("payload");
    write(&out, "licence_parse", "licence-payload", &payload);
    write(&out, "licence_parse", "licence-token", licence.as_bytes());

    // package_reader opens packages under the content key [4; 32].
    let epub = std::fs::read(root.join("../testdata/corpus/zh/daxue.epub")).expect("corpus");
    let (package, _) = encrypt_epub(
        Cursor::new(epub),
        Cursor::new(Vec::new()),
        &ContentKey::from_bytes([4; 32]),
        &mut |_| {},
    )
    .expect("encrypt");
    write(&out, "package_reader", "daxue", &package.into_inner());
}
