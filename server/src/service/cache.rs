//! What the borrow path reads on every loan but that changes rarely, kept in memory:
//! the rules matrix, the lending facts of a title (with its content key unsealed), the
//! lots of a title (ownership, shares, status, expiry: not the copies out, which only
//! the database knows) and enrolled devices' keys.
//!
//! Each entry lives at most [`TTL`]; this replica forgets an entry at once when it
//! changes it, and another replica's change is seen within [`TTL`]. Nothing cached
//! can break an invariant: taking a copy re-checks the lot in the database, and a
//! licence row refers to its device by foreign key. A cached title with no lot the
//! reader's library may lend is read again before the reader is refused; a lot bought
//! through another replica is offered within [`TTL`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jieyue_protocol::{ContentKey, DeviceKey};

use super::rules::RulesMatrix;
use crate::domain::{DeviceId, Lot, PatronId, TitleId};

/// How long a cached entry is trusted.
pub const TTL: Duration = Duration::from_secs(5);

/// Entries kept per map before it is emptied (a bound on memory, not an LRU).
const MAX_ENTRIES: usize = 50_000;

/// A small map whose entries expire.
#[derive(Debug)]
struct Expiring<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Expiring<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    fn forget(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The lending facts of a title.
#[derive(Clone)]
pub struct LendableTitle {
    /// The title.
    pub id: TitleId,
    /// Hidden from readers: not lent.
    pub suppressed: bool,
    /// Its kind (a rules cell may set the loan length per kind).
    pub kind: crate::domain::PublicationKind,
    /// SHA-256 of the encrypted package (hex), named in licences.
    pub package_sha256: String,
    /// The content key, unsealed (zeroized when the last copy is dropped).
    pub content_key: Arc<ContentKey>,
}

/// An enrolled device's key, unsealed.
#[derive(Clone)]
pub struct DeviceKeyEntry {
    /// Whose device it is.
    pub patron_id: PatronId,
    /// The device key (zeroized when the last copy is dropped).
    pub key: Arc<DeviceKey>,
}

/// The lending cache (see the module documentation). Cheap to share.
pub struct LendingCache {
    rules: Expiring<(), Arc<RulesMatrix>>,
    titles: Expiring<TitleId, LendableTitle>,
    lots: Expiring<TitleId, Arc<Vec<Lot>>>,
    devices: Expiring<DeviceId, DeviceKeyEntry>,
}

impl std::fmt::Debug for LendingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LendingCache(..)")
    }
}

impl Default for LendingCache {
    fn default() -> Self {
        Self {
            rules: Expiring::new(),
            titles: Expiring::new(),
            lots: Expiring::new(),
            devices: Expiring::new(),
        }
    }
}

impl LendingCache {
    pub(crate) fn rules(&self) -> Option<Arc<RulesMatrix>> {
        self.rules.get(&())
    }

    pub(crate) fn put_rules(&self, matrix: Arc<RulesMatrix>) {
        self.rules.put((), matrix);
    }

    /// Forgets the rules matrix (after a change).
    pub fn forget_rules(&self) {
        self.rules.clear();
    }

    pub(crate) fn title(&self, id: TitleId) -> Option<LendableTitle> {
        self.titles.get(&id)
    }

    pub(crate) fn put_title(&self, title: LendableTitle) {
        self.titles.put(title.id, title);
    }

    /// Forgets a title (after an edit, a suppression, a removal).
    pub fn forget_title(&self, id: TitleId) {
        self.titles.forget(&id);
        self.lots.forget(&id);
    }

    pub(crate) fn lots(&self, title: TitleId) -> Option<Arc<Vec<Lot>>> {
        self.lots.get(&title)
    }

    pub(crate) fn put_lots(&self, title: TitleId, lots: Arc<Vec<Lot>>) {
        self.lots.put(title, lots);
    }

    /// Forgets a title's lots (after a purchase or a change to a lot).
    pub fn forget_lots(&self, title: TitleId) {
        self.lots.forget(&title);
    }

    pub(crate) fn device(&self, id: DeviceId) -> Option<DeviceKeyEntry> {
        self.devices.get(&id)
    }

    pub(crate) fn put_device(&self, id: DeviceId, entry: DeviceKeyEntry) {
        self.devices.put(id, entry);
    }

    /// Forgets a device (after it is removed or enrolled again).
    pub fn forget_device(&self, id: DeviceId) {
        self.devices.forget(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_forgotten_on_request_and_bounded_in_number() {
        let map: Expiring<u32, u32> = Expiring::new();
        map.put(1, 10);
        assert_eq!(map.get(&1), Some(10));
        map.forget(&1);
        assert_eq!(map.get(&1), None);
        for k in 0..=MAX_ENTRIES as u32 {
            map.put(k, k);
        }
        assert!(map.entries.lock().map(|e| e.len()).unwrap_or(0) <= MAX_ENTRIES);
    }
}
