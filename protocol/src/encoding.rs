//! Byte encodings on the wire: unpadded base64url (RFC 4648 §5) everywhere.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; `None` if it is not.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decodes unpadded base64url into exactly `N` bytes.
pub fn unb64_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    unb64(text)?.try_into().ok()
}

/// Lower-case hex.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Serde adapter for `[u8; N]` fields as base64url strings.
pub mod b64_array {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serialises as base64url.
    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64(bytes))
    }

    /// Deserialises from base64url of exactly `N` bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        super::unb64_array(&text)
            .ok_or_else(|| D::Error::custom(format!("expected base64url of {N} bytes")))
    }
}

/// Serde adapter for `Vec<u8>` fields as base64url strings.
pub mod b64_vec {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serialises as base64url.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64(bytes))
    }

    /// Deserialises from base64url.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::unb64(&text).ok_or_else(|| D::Error::custom("expected base64url"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_without_padding() {
        assert_eq!(b64([0xfb, 0xff]), "-_8");
        assert_eq!(unb64("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(unb64("-_8="), None, "padding is refused");
        assert_eq!(unb64_array::<2>("-_8"), Some([0xfb, 0xff]));
        assert_eq!(unb64_array::<3>("-_8"), None);
        assert_eq!(hex([0x00, 0xab]), "00ab");
    }
}
