//! Arbitrary bytes as a package: opening and reading every listed resource must fail
//! cleanly or succeed, never panic or allocate without bound.
#![no_main]

use std::io::Cursor;

use jieyue_protocol::ContentKey;
use jieyue_protocol::package::PackageReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = ContentKey::from_bytes([4; 32]);
    if let Ok(mut reader) = PackageReader::open(Cursor::new(data), &key) {
        for path in reader.paths() {
            let _ = reader.read_range(&path, 0, 16);
            let _ = reader.copy_to(&path, &mut std::io::sink());
        }
    }
});
