//! Arbitrary bytes as a licence payload signed by a trusted key: verification may
//! accept or refuse, unwrapping may fail, nothing may panic.
#![no_main]

use jieyue_protocol::{DeviceKey, KeySet, SigningKey, licence};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(key) = SigningKey::from_seed(&[2; 32]) else { return };
    let keys = KeySet::new([key.public_key().clone()]);
    // Sign the fuzzer's bytes as if the server had, to reach the payload parser.
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        let _ = licence::verify(&String::from_utf8_lossy(data), &keys);
        return;
    };
    if let Ok(token) = jieyue_protocol::jws::sign(licence::LICENCE_TYPE, &payload, &key)
        && let Ok(parsed) = licence::verify(&token, &keys)
    {
        let _ = parsed.unwrap_content_key(&DeviceKey::from_bytes([3; 32]));
    }
});
