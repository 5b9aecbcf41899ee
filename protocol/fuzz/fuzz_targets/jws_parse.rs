//! Arbitrary text into the JWS verifier: it must answer with an error, never panic.
#![no_main]

use jieyue_protocol::{KeySet, SigningKey, jws};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let (Ok(text), Ok(key)) = (std::str::from_utf8(data), SigningKey::from_seed(&[1; 32])) {
        let keys = KeySet::new([key.public_key().clone()]);
        let _ = jws::peek_key_id(text);
        let _ = jws::verify::<serde_json::Value>(text, "fuzz+jws", &keys);
    }
});
