//! The server's keys on disk: issuer signing keys (Ed25519) and master keys (AES-256)
//! in one key ring file, `<keys_dir>/keyring.json`, written atomically with mode 0600.
//!
//! - One issuer key is active (it signs); every issuer key in the ring stays valid for
//!   verification and is published at `/.well-known/jieyue/keys`, so rotating does not
//!   invalidate licences already issued. Retire a key by removing it from the ring.
//! - One master key is current (it seals); older ones still open what they sealed.
//!
//! Every replica of a deployment needs the same ring: mount it as a secret.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use jieyue_protocol::encoding::{b64, unb64, unb64_array};
use jieyue_protocol::{KeyError, KeySet, MasterKey, MasterKeyRing, SigningKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Why the key ring could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// There is no key ring yet.
    #[error("no key ring at {0}: run `jieyue keys generate` (or start with --create-keys)")]
    Missing(PathBuf),
    /// The key ring exists already (refusing to overwrite keys).
    #[error("a key ring already exists at {0}; use `jieyue keys rotate` to add a key")]
    Exists(PathBuf),
    /// The file is not a valid key ring.
    #[error("the key ring at {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key could not be made or read.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Reading or writing the file failed.
    #[error("key ring I/O at {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct IssuerEntry {
    kid: String,
    created: DateTime<Utc>,
    active: bool,
    pkcs8: String,
}

#[derive(Serialize, Deserialize)]
struct MasterEntry {
    id: String,
    created: DateTime<Utc>,
    current: bool,
    key: String,
}

#[derive(Serialize, Deserialize, Default)]
struct RingFile {
    issuer: Vec<IssuerEntry>,
    master: Vec<MasterEntry>,
}

/// One key as `jieyue keys list` shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// `issuer` or `master`.
    pub kind: &'static str,
    /// Key id.
    pub id: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// Signing (issuer) or sealing (master) now.
    pub in_use: bool,
}

/// The keys a running server uses.
pub struct ServerKeys {
    /// Signs licences, status documents and enrolment replies.
    pub signing: SigningKey,
    /// Every issuer public key clients may trust (published).
    pub public: KeySet,
    /// The ring's other issuer keys: they sign nothing new, but vouch for the active key
    /// to peers that pinned them before a rotation (distribution's key endorsements).
    pub retired: Vec<SigningKey>,
    /// Seals content and device keys at rest.
    pub master: MasterKeyRing,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys")
            .field("signing", self.signing.key_id())
            .field("master", &self.master.current().id())
            .finish_non_exhaustive()
    }
}

/// The key ring file in `dir`.
pub fn ring_path(dir: &Path) -> PathBuf {
    dir.join("keyring.json")
}

fn invalid(path: &Path, reason: impl Into<String>) -> KeysError {
    KeysError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<RingFile, KeysError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeysError::Missing(path.to_owned()));
        }
        Err(source) => {
            return Err(KeysError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| invalid(path, e.to_string()))
}

/// Writes the ring atomically (temporary file, fsync, rename) and owner-only.
fn write(path: &Path, ring: &RingFile) -> Result<(), KeysError> {
    let io = |source| KeysError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let json =
        Zeroizing::new(serde_json::to_vec_pretty(ring).map_err(|e| invalid(path, e.to_string()))?);
    let temp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io)?;
    Ok(())
}

fn new_issuer(now: DateTime<Utc>) -> Result<IssuerEntry, KeysError> {
    let key = SigningKey::generate()?;
    Ok(IssuerEntry {
        kid: key.key_id().as_str().to_owned(),
        created: now,
        active: true,
        pkcs8: b64(key.to_pkcs8_der()),
    })
}

fn new_master(now: DateTime<Utc>, existing: usize) -> Result<MasterEntry, KeysError> {
    let id = format!("mk-{}-{}", now.format("%Y%m%d"), existing + 1);
    let key = MasterKey::generate(&id)?;
    Ok(MasterEntry {
        id,
        created: now,
        current: true,
        key: b64(key.expose_secret()),
    })
}

/// Creates a new key ring with one issuer key and one master key.
pub fn generate(dir: &Path, now: DateTime<Utc>) -> Result<(), KeysError> {
    let path = ring_path(dir);
    if path.exists() {
        return Err(KeysError::Exists(path));
    }
    let ring = RingFile {
        issuer: vec![new_issuer(now)?],
        master: vec![new_master(now, 0)?],
    };
    write(&path, &ring)
}

/// Adds a new issuer key and makes it the signing key; older keys stay published.
pub fn rotate_issuer(dir: &Path, now: DateTime<Utc>) -> Result<String, KeysError> {
    let path = ring_path(dir);
    let mut ring = read(&path)?;
    ring.issuer.iter_mut().for_each(|k| k.active = false);
    let entry = new_issuer(now)?;
    let kid = entry.kid.clone();
    ring.issuer.push(entry);
    write(&path, &ring)?;
    Ok(kid)
}

/// Adds a new master key for sealing; older ones still open.
pub fn rotate_master(dir: &Path, now: DateTime<Utc>) -> Result<String, KeysError> {
    let path = ring_path(dir);
    let mut ring = read(&path)?;
    ring.master.iter_mut().for_each(|k| k.current = false);
    let entry = new_master(now, ring.master.len())?;
    let id = entry.id.clone();
    ring.master.push(entry);
    write(&path, &ring)?;
    Ok(id)
}

/// Every key, without secrets.
pub fn list(dir: &Path) -> Result<Vec<KeyInfo>, KeysError> {
    let ring = read(&ring_path(dir))?;
    let issuers = ring.issuer.iter().map(|k| KeyInfo {
        kind: "issuer",
        id: k.kid.clone(),
        created: k.created,
        in_use: k.active,
    });
    let masters = ring.master.iter().map(|k| KeyInfo {
        kind: "master",
        id: k.id.clone(),
        created: k.created,
        in_use: k.current,
    });
    Ok(issuers.chain(masters).collect())
}

/// Loads the ring for serving, checking it is coherent.
pub fn load(dir: &Path) -> Result<ServerKeys, KeysError> {
    let path = ring_path(dir);
    let ring = read(&path)?;
    let mut signing = None;
    let mut public = Vec::new();
    let mut retired = Vec::new();
    for entry in &ring.issuer {
        let der = Zeroizing::new(
            unb64(&entry.pkcs8)
                .ok_or_else(|| invalid(&path, format!("issuer {} is not base64url", entry.kid)))?,
        );
        let key = SigningKey::from_pkcs8(&der)?;
        if key.key_id().as_str() != entry.kid {
            return Err(invalid(
                &path,
                format!("issuer {} does not match its key", entry.kid),
            ));
        }
        public.push(key.public_key().clone());
        if entry.active {
            if signing.is_some() {
                return Err(invalid(&path, "more than one active issuer key"));
            }
            signing = Some(key);
        } else {
            retired.push(key);
        }
    }
    let signing = signing.ok_or_else(|| invalid(&path, "no active issuer key"))?;
    let mut current = None;
    let mut older = Vec::new();
    for entry in &ring.master {
        let bytes =
            Zeroizing::new(unb64_array::<32>(&entry.key).ok_or_else(|| {
                invalid(&path, format!("master key {} is not 32 bytes", entry.id))
            })?);
        let key = MasterKey::from_bytes(&entry.id, *bytes)?;
        if entry.current {
            if current.is_some() {
                return Err(invalid(&path, "more than one current master key"));
            }
            current = Some(key);
        } else {
            older.push(key);
        }
    }
    let current = current.ok_or_else(|| invalid(&path, "no current master key"))?;
    Ok(ServerKeys {
        signing,
        public: KeySet::new(public),
        retired,
        master: MasterKeyRing::new(current, older),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_rotate_and_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        assert!(matches!(load(dir.path()), Err(KeysError::Missing(_))));
        generate(dir.path(), now).expect("generate");
        assert!(matches!(
            generate(dir.path(), now),
            Err(KeysError::Exists(_))
        ));
        let first = load(dir.path()).expect("load");
        let sealed = first.master.seal(b"content key", b"pub-1").expect("seal");

        let new_kid = rotate_issuer(dir.path(), now).expect("rotate");
        rotate_master(dir.path(), now).expect("rotate master");
        let second = load(dir.path()).expect("load");
        assert_eq!(second.signing.key_id().as_str(), new_kid);
        assert_eq!(second.public.keys.len(), 2, "the old key stays published");
        assert!(second.public.get(first.signing.key_id().as_str()).is_some());
        assert_ne!(second.master.current().id(), first.master.current().id());
        assert_eq!(
            second
                .master
                .open(&sealed, b"pub-1")
                .expect("old seal opens")
                .as_slice(),
            b"content key"
        );

        let listed = list(dir.path()).expect("list");
        assert_eq!(listed.iter().filter(|k| k.in_use).count(), 2);
        assert_eq!(listed.len(), 4);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ring_path(dir.path()))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key ring is private to its owner");
        }
    }

    #[test]
    fn a_corrupt_ring_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(ring_path(dir.path()), "{\"issuer\": [], \"master\": []}").expect("write");
        let err = load(dir.path()).expect_err("no keys");
        assert!(err.to_string().contains("no active issuer key"), "{err}");
        std::fs::write(ring_path(dir.path()), "not json").expect("write");
        assert!(matches!(load(dir.path()), Err(KeysError::Invalid { .. })));
    }
}
