//! Property tests: any single-bit change of a signed document or an encrypted chunk is
//! rejected with a typed error, and the parsers never panic on arbitrary input.

use std::io::Cursor;

use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::crypto::{ContentKey, DeviceKey, KeySet, SigningKey};
use crate::encoding::{b64, unb64};
use crate::licence;
use crate::package::{self, PackageReader};
use crate::status::{self, LicenceStatus, StatusDocument};

fn issuer() -> SigningKey {
    SigningKey::from_seed(&[11; 32]).expect("key")
}

fn keys() -> KeySet {
    KeySet::new([issuer().public_key().clone()])
}

fn licence_token() -> String {
    licence::issue(
        licence::tests::terms(),
        &ContentKey::from_bytes([1; 32]),
        &DeviceKey::from_bytes([2; 32]),
        &issuer(),
    )
    .expect("issue")
}

fn status_token() -> String {
    let at = chrono::Utc::now();
    status::sign(
        &StatusDocument {
            licence_id: uuid::Uuid::from_u128(1),
            loan_id: uuid::Uuid::from_u128(2),
            status: LicenceStatus::Active,
            end: at,
            updated: at,
            server_time: at,
        },
        &issuer(),
    )
    .expect("sign")
}

/// Flips bit `bit` of the decoded bytes of part `part` (0 header, 1 payload, 2 signature).
fn flip(token: &str, part: usize, bit: usize) -> String {
    let mut parts: Vec<Vec<u8>> = token.split('.').map(|p| unb64(p).expect("b64")).collect();
    let target = &mut parts[part];
    let bit = bit % (target.len() * 8);
    target[bit / 8] ^= 1 << (bit % 8);
    parts.iter().map(b64).collect::<Vec<_>>().join(".")
}

fn small_package() -> (Vec<u8>, ContentKey) {
    let key = ContentKey::from_bytes([3; 32]);
    let epub = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus/zh/daxue.epub"),
    )
    .expect("corpus book");
    let (out, _) = package::encrypt_epub(
        Cursor::new(epub),
        Cursor::new(Vec::new()),
        &key,
        &mut |_| {},
    )
    .expect("encrypt");
    (out.into_inner(), key)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn any_bit_flip_in_a_licence_is_rejected(part in 0usize..3, bit in 0usize..100_000) {
        let tampered = flip(&licence_token(), part, bit);
        prop_assert!(licence::verify(&tampered, &keys()).is_err());
    }

    #[test]
    fn any_bit_flip_in_a_status_document_is_rejected(part in 0usize..3, bit in 0usize..100_000) {
        let tampered = flip(&status_token(), part, bit);
        prop_assert!(status::verify(&tampered, &keys()).is_err());
    }

    #[test]
    fn arbitrary_text_never_panics_the_jws_parser(text in ".{0,400}") {
        let _ = licence::verify(&text, &keys());
        let _ = status::verify(&text, &keys());
        let _ = crate::jws::peek_key_id(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_package_reader(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = PackageReader::open(Cursor::new(bytes), &ContentKey::from_bytes([0; 32]));
    }
}

/// Every encrypted resource of a real package, one bit flipped at a random place in its
/// stored bytes, fails to decrypt. (The stored entry is located in the ZIP and patched
/// in place, so the ZIP itself stays readable.)
#[test]
fn any_bit_flip_in_an_encrypted_chunk_is_rejected() {
    let (package, key) = small_package();
    let mut archive = zip::ZipArchive::new(Cursor::new(&package)).expect("zip");
    let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
    let resources = reader.manifest().resources.clone();
    assert!(!resources.is_empty());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for resource in resources {
        let entry = archive.by_name(&resource.path).expect("entry");
        let start = entry.data_start().expect("data start");
        drop(entry);
        for _ in 0..32 {
            let bit = (0..resource.encrypted_length * 8)
                .new_tree(&mut runner)
                .expect("bit")
                .current();
            let mut tampered = package.clone();
            tampered[(start + bit / 8) as usize] ^= 1 << (bit % 8);
            let mut reader =
                PackageReader::open(Cursor::new(&tampered), &key).expect("manifest untouched");
            let result = reader.read(&resource.path);
            assert!(
                matches!(result, Err(package::PackageError::Corrupt(_))),
                "{} bit {bit}: {result:?}",
                resource.path
            );
        }
        // Untouched, it still reads.
        reader
            .copy_to(&resource.path, &mut std::io::sink())
            .expect("reads");
    }
}

/// The package with its manifest replaced (every other entry copied raw).
fn with_manifest(package: &[u8], manifest: &package::Manifest) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(package)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).expect("entry");
        if entry.name().ok().as_deref() != Some(package::MANIFEST_PATH) {
            out.raw_copy_file(entry).expect("copy");
        }
    }
    out.start_file(
        package::MANIFEST_PATH,
        zip::write::SimpleFileOptions::default(),
    )
    .expect("manifest");
    std::io::Write::write_all(&mut out, &serde_json::to_vec(manifest).expect("json"))
        .expect("write");
    out.finish().expect("finish").into_inner()
}

/// Lengths a hostile manifest might claim: the real one, near it, zero, and extremes
/// that overflow careless arithmetic.
fn hostile_length(real: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(real),
        Just(real.saturating_add(1)),
        Just(real.saturating_sub(1)),
        Just(0),
        Just(15),
        Just(u64::MAX),
        Just(u64::MAX - 16),
        Just(1 << 40),
        any::<u64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// A manifest that lies about lengths or compression never panics the reader, nor
    /// makes it allocate what the package does not hold; every answer is a value or a
    /// typed error.
    #[test]
    fn hostile_manifests_never_panic_the_reader(
        pick in any::<prop::sample::Index>(),
        original in hostile_length(70_000),
        encrypted in hostile_length(70_016),
        toggle_compression in any::<bool>(),
        start in hostile_length(10),
        end in hostile_length(4_000),
    ) {
        let (package, key) = small_package();
        let reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
        let mut manifest = reader.manifest().clone();
        let index = pick.index(manifest.resources.len());
        let resource = &mut manifest.resources[index];
        resource.original_length = if original == 70_000 { resource.original_length } else { original };
        resource.encrypted_length = if encrypted == 70_016 { resource.encrypted_length } else { encrypted };
        if toggle_compression {
            resource.compression = match resource.compression {
                package::Compression::None => package::Compression::Deflate,
                package::Compression::Deflate => package::Compression::None,
            };
        }
        let path = resource.path.clone();
        let hostile = with_manifest(&package, &manifest);
        if let Ok(mut reader) = PackageReader::open(Cursor::new(&hostile), &key) {
            let _ = reader.length(&path);
            let _ = reader.read_range(&path, start, end);
            let _ = reader.read_range(&path, 0, 16);
            let _ = reader.copy_to(&path, &mut std::io::sink());
            if let Ok(bytes) = reader.read(&path) {
                // Whatever is returned was really stored: no more than the entry's bytes
                // once inflated (text compresses, so allow for that).
                prop_assert!(bytes.len() as u64 <= 64 * package.len() as u64);
            }
        }
    }
}
