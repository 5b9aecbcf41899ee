use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::KeyError;

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps 32 secret bytes.
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// Reads 32 secret bytes from a slice.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
                let array: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| KeyError::Malformed(concat!(stringify!($name), " must be 32 bytes")))?;
                Ok(Self(array))
            }

            /// A fresh random key.
            pub fn generate() -> Result<Self, KeyError> {
                Self::generate_with(&ring::rand::SystemRandom::new())
            }

            pub(crate) fn generate_with(rng: &dyn ring::rand::SecureRandom) -> Result<Self, KeyError> {
                let mut bytes = [0u8; 32];
                rng.fill(&mut bytes).map_err(|_| KeyError::Random)?;
                Ok(Self(bytes))
            }

            /// The key bytes, for sealing at rest or handing to a secure store. Never log them.
            pub fn expose_secret(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

secret_key!(
    /// A publication's content key: encrypts every protected resource of its package.
    ContentKey
);
secret_key!(
    /// A peer key: agreed when a member server enrols with a hub; seals the content keys
    /// in the key envelopes the hub makes for that member.
    PeerKey
);
secret_key!(
    /// A device key: agreed at enrolment between the server and one device; wraps the
    /// content keys in that device's licences.
    DeviceKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_print_their_bytes_and_compare_by_value() {
        let key = ContentKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{key:?}"), "ContentKey(..)");
        assert_eq!(key, ContentKey::from_bytes([0xab; 32]));
        assert_ne!(key, ContentKey::from_bytes([0xac; 32]));
        assert!(DeviceKey::from_slice(&[1; 31]).is_err());
        assert_ne!(
            ContentKey::generate().expect("rng"),
            ContentKey::generate().expect("rng")
        );
    }
}
