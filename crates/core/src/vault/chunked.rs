//! Values larger than one keychain entry may hold, as a set of entries read and written as one.
//!
//! Windows' Credential Manager refuses a secret over 2,560 bytes (1,280 UTF-16 characters), and
//! one account's tokens from Microsoft or Google exceed that. A value that fits is stored as
//! before, in its own entry. A larger one goes into parts of one *generation*, and the entry
//! under the key becomes a manifest naming that generation, the number of parts, the length and
//! a checksum:
//!
//! 1. `KEY#pending` names the new generation (so a crash leaves no unknown orphans);
//! 2. the parts `KEY#GEN#0`, `KEY#GEN#1`, … are written;
//! 3. the manifest under `KEY` is written: the one write that switches readers over;
//! 4. the old generation's parts and `KEY#pending` are deleted.
//!
//! A reader takes the manifest, then its parts, and serves the value only when length and
//! checksum match: a half-written set is never served. Parts a concurrent writer deleted make
//! the reader look again (the manifest has moved on); a set that stays broken is reported
//! damaged, never returned. Writers of one key take turns already (one engine per account, the
//! refresh lock across processes), so this file does not lock.

use std::sync::atomic::{AtomicU64, Ordering};

use super::store::{SecretStore, VaultError};
use crate::secret::Secret;

/// The most characters Tokentray puts in one Credential Manager entry (the limit is 1,280).
pub const WINDOWS_ENTRY_CHARS: usize = 1200;

const MANIFEST: &str = "tokentray-parts:v1:";
/// More parts than any token set needs (64 × 1,200 characters); a manifest asking for more is
/// damaged.
const MAX_PARTS: usize = 64;
const READ_TRIES: usize = 3;

/// A [`SecretStore`] whose entries hold at most `max_chars` characters, holding values of any
/// size.
pub struct ChunkedStore<S> {
    inner: S,
    max_chars: usize,
}

impl<S: SecretStore> ChunkedStore<S> {
    /// `inner`, with values longer than `max_chars` split into parts.
    pub fn new(inner: S, max_chars: usize) -> ChunkedStore<S> {
        ChunkedStore {
            inner,
            max_chars: max_chars.max(MANIFEST.len() + 64),
        }
    }

    fn read_once(&self, key: &str) -> Result<Read, VaultError> {
        let Some(head) = self.inner.get(key)? else {
            return Ok(Read::Value(None));
        };
        let Some(m) = Manifest::parse(head.expose()) else {
            return Ok(Read::Value(Some(head)));
        };
        let m = m.map_err(|()| VaultError::Corrupt(key.to_owned()))?;
        let mut value = String::with_capacity(m.len);
        for i in 0..m.parts {
            match self.inner.get(&part_key(key, &m.generation, i))? {
                Some(p) => value.push_str(p.expose()),
                None => return Ok(Read::Broken),
            }
        }
        if value.len() != m.len || checksum(&value) != m.checksum {
            return Ok(Read::Broken);
        }
        Ok(Read::Value(Some(Secret::new(value))))
    }

    /// The generation named by the manifest under `key`, if there is one.
    fn current_generation(&self, key: &str) -> Result<Option<Manifest>, VaultError> {
        Ok(self
            .inner
            .get(key)?
            .and_then(|head| Manifest::parse(head.expose()).and_then(Result::ok)))
    }

    /// Deletes the parts of `generation`: `count` of them, or, when unknown, until one is missing.
    fn delete_parts(
        &self,
        key: &str,
        generation: &str,
        count: Option<usize>,
    ) -> Result<(), VaultError> {
        for i in 0..count.unwrap_or(MAX_PARTS) {
            let part = part_key(key, generation, i);
            if count.is_none() && self.inner.get(&part)?.is_none() {
                break;
            }
            self.inner.delete(&part)?;
        }
        Ok(())
    }

    /// Parts of a write that died before its manifest: named by `KEY#pending`.
    fn delete_orphans(&self, key: &str, current: Option<&Manifest>) -> Result<(), VaultError> {
        let pending_key = pending_key(key);
        if let Some(pending) = self.inner.get(&pending_key)? {
            if current.is_none_or(|m| m.generation != pending.expose()) {
                self.delete_parts(key, pending.expose(), None)?;
            }
            self.inner.delete(&pending_key)?;
        }
        Ok(())
    }
}

enum Read {
    Value(Option<Secret>),
    /// A part is missing or the whole does not match the manifest.
    Broken,
}

impl<S: SecretStore> SecretStore for ChunkedStore<S> {
    fn get(&self, key: &str) -> Result<Option<Secret>, VaultError> {
        for _ in 0..READ_TRIES {
            if let Read::Value(v) = self.read_once(key)? {
                return Ok(v);
            }
        }
        Err(VaultError::Corrupt(key.to_owned()))
    }

    fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError> {
        let old = self.current_generation(key)?;
        self.delete_orphans(key, old.as_ref())?;
        let text = value.expose();
        if text.chars().count() <= self.max_chars && !text.starts_with(MANIFEST) {
            self.inner.set(key, value)?;
        } else {
            let generation = new_generation();
            self.inner
                .set(&pending_key(key), &Secret::new(generation.clone()))?;
            let parts = split(text, self.max_chars);
            if parts.len() > MAX_PARTS {
                return Err(VaultError::Unavailable(format!(
                    "{key} is {} characters, more than the keychain's {MAX_PARTS} entries of {} hold",
                    text.len(),
                    self.max_chars
                )));
            }
            for (i, part) in parts.iter().enumerate() {
                self.inner
                    .set(&part_key(key, &generation, i), &Secret::new(*part))?;
            }
            let manifest = Manifest {
                generation,
                parts: parts.len(),
                len: text.len(),
                checksum: checksum(text),
            };
            self.inner.set(key, &Secret::new(manifest.render()))?;
            self.inner.delete(&pending_key(key))?;
        }
        if let Some(old) = old {
            // The new value is in place; a failure here leaves only unused parts behind.
            if let Err(e) = self.delete_parts(key, &old.generation, Some(old.parts)) {
                tracing::info!("cannot remove the old parts of {key}: {e}");
            }
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), VaultError> {
        let old = self.current_generation(key)?;
        self.delete_orphans(key, None)?;
        self.inner.delete(key)?;
        if let Some(old) = old {
            self.delete_parts(key, &old.generation, Some(old.parts))?;
        }
        Ok(())
    }
}

/// What the entry under the key says when the value is in parts.
struct Manifest {
    generation: String,
    parts: usize,
    len: usize,
    checksum: u64,
}

impl Manifest {
    /// `None` for a plain value; `Some(Err)` for a manifest that cannot be read.
    fn parse(head: &str) -> Option<Result<Manifest, ()>> {
        let rest = head.strip_prefix(MANIFEST)?;
        let mut fields = rest.split(':');
        let parsed = (|| {
            let generation = fields.next()?.to_owned();
            let parts: usize = fields.next()?.parse().ok()?;
            let len = fields.next()?.parse().ok()?;
            let checksum = u64::from_str_radix(fields.next()?, 16).ok()?;
            let sane = !generation.is_empty()
                && generation.chars().all(|c| c.is_ascii_alphanumeric())
                && (1..=MAX_PARTS).contains(&parts);
            sane.then_some(Manifest {
                generation,
                parts,
                len,
                checksum,
            })
        })();
        Some(parsed.ok_or(()))
    }

    fn render(&self) -> String {
        format!(
            "{MANIFEST}{}:{}:{}:{:016x}",
            self.generation, self.parts, self.len, self.checksum
        )
    }
}

fn part_key(key: &str, generation: &str, i: usize) -> String {
    format!("{key}#{generation}#{i}")
}

fn pending_key(key: &str) -> String {
    format!("{key}#pending")
}

/// Splits at character boundaries into pieces of at most `max_chars` characters.
fn split(text: &str, max_chars: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest
            .char_indices()
            .nth(max_chars)
            .map_or(rest.len(), |(i, _)| i);
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// FNV-1a over the value: catches parts of two writes mixed together, not an adversary (who
/// could write the keychain anyway).
fn checksum(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A generation name no other write uses: the time, the process and a counter. Uniqueness is
/// what matters, not secrecy.
fn new_generation() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = checksum(&format!("{nanos}:{}:{n}", std::process::id()));
    format!("{mixed:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::store::MemoryStore;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A keychain with Windows' rule (no entry over `limit` characters) that can be told to
    /// fail after some number of writes, as a crash or a full disk would.
    struct Limited {
        inner: MemoryStore,
        limit: usize,
        writes_left: AtomicUsize,
    }

    impl Limited {
        fn new(limit: usize) -> Limited {
            Limited {
                inner: MemoryStore::default(),
                limit,
                writes_left: AtomicUsize::new(usize::MAX),
            }
        }
    }

    impl SecretStore for &Limited {
        fn get(&self, key: &str) -> Result<Option<Secret>, VaultError> {
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError> {
            assert!(
                value.expose().chars().count() <= self.limit,
                "{key} is over the limit"
            );
            if self.writes_left.fetch_sub(1, Ordering::SeqCst) == 0 {
                self.writes_left.store(0, Ordering::SeqCst);
                return Err(VaultError::Unavailable("crashed".into()));
            }
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), VaultError> {
            self.inner.delete(key)
        }
    }

    fn entries(store: &Limited) -> usize {
        store.inner.len()
    }

    fn big(n: usize, c: char) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    #[test]
    fn a_large_value_round_trips_in_parts_within_the_limit() {
        let limited = Limited::new(1280);
        let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
        let value = format!(
            "{{\"access\":\"{}\",\"refresh\":\"{}\"}}",
            big(6144, 'a'),
            big(2048, 'r')
        );
        store.set("account:a", &Secret::new(value.clone())).unwrap();
        assert_eq!(store.get("account:a").unwrap().unwrap().expose(), value);
        // A manifest and 7 parts; no pending marker left.
        assert_eq!(
            entries(&limited),
            1 + value.len().div_ceil(WINDOWS_ENTRY_CHARS)
        );
    }

    #[test]
    fn a_small_value_stays_one_plain_entry_and_replaces_parts() {
        let limited = Limited::new(1280);
        let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
        store.set("k", &Secret::new(big(5000, 'x'))).unwrap();
        store.set("k", &Secret::new("small")).unwrap();
        assert_eq!(limited.inner.get("k").unwrap().unwrap().expose(), "small");
        assert_eq!(entries(&limited), 1, "the old parts are gone");
        store.delete("k").unwrap();
        assert_eq!(entries(&limited), 0);
        assert!(store.get("k").unwrap().is_none());
    }

    #[test]
    fn a_rewrite_leaves_only_the_new_generation() {
        let limited = Limited::new(1280);
        let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
        store.set("k", &Secret::new(big(5000, 'x'))).unwrap();
        store.set("k", &Secret::new(big(3000, 'y'))).unwrap();
        assert_eq!(store.get("k").unwrap().unwrap().expose(), big(3000, 'y'));
        assert_eq!(entries(&limited), 1 + 3);
    }

    #[test]
    fn a_write_that_dies_halfway_serves_the_old_value_and_leaves_no_orphans_after_the_next() {
        // The pending marker, 5 parts, the manifest: 7 writes, each one the last in turn.
        for dies_after in 0..7 {
            let limited = Limited::new(1280);
            let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
            store.set("k", &Secret::new(big(5000, 'o'))).unwrap();
            limited.writes_left.store(dies_after, Ordering::SeqCst);
            assert!(store.set("k", &Secret::new(big(6000, 'n'))).is_err());
            limited.writes_left.store(usize::MAX, Ordering::SeqCst);
            assert_eq!(
                store.get("k").unwrap().unwrap().expose(),
                big(5000, 'o'),
                "dying after {dies_after} writes"
            );
            store.set("k", &Secret::new(big(2500, 'z'))).unwrap();
            assert_eq!(store.get("k").unwrap().unwrap().expose(), big(2500, 'z'));
            assert_eq!(entries(&limited), 1 + 3, "dying after {dies_after} writes");
        }
    }

    #[test]
    fn parts_that_do_not_match_their_manifest_are_never_served() {
        let limited = Limited::new(1280);
        let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
        store.set("k", &Secret::new(big(3000, 'x'))).unwrap();
        let head = limited.inner.get("k").unwrap().unwrap();
        let m = Manifest::parse(head.expose()).unwrap().unwrap();
        limited
            .inner
            .set(
                &part_key("k", &m.generation, 1),
                &Secret::new(big(1200, 'y')),
            )
            .unwrap();
        assert!(matches!(store.get("k"), Err(VaultError::Corrupt(_))));
        limited
            .inner
            .delete(&part_key("k", &m.generation, 2))
            .unwrap();
        assert!(matches!(store.get("k"), Err(VaultError::Corrupt(_))));
    }

    #[test]
    fn values_split_at_character_boundaries() {
        let text = "é".repeat(2500);
        let limited = Limited::new(1280);
        let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
        store.set("k", &Secret::new(text.clone())).unwrap();
        assert_eq!(store.get("k").unwrap().unwrap().expose(), text);
    }

    #[test]
    fn a_plain_value_that_looks_like_a_manifest_is_stored_in_parts() {
        let limited = Limited::new(1280);
        let store = ChunkedStore::new(&limited, WINDOWS_ENTRY_CHARS);
        let sneaky = format!("{MANIFEST}abc:1:3:0");
        store.set("k", &Secret::new(sneaky.clone())).unwrap();
        assert_eq!(store.get("k").unwrap().unwrap().expose(), sneaky);
    }

    #[test]
    fn a_reader_beside_a_writer_never_gets_a_mix() {
        // Writers of one key are one at a time (one engine per account, the refresh lock
        // across processes); readers are anyone, any time.
        let limited: &'static Limited = Box::leak(Box::new(Limited::new(1280)));
        let store = Arc::new(ChunkedStore::new(limited, WINDOWS_ENTRY_CHARS));
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let c = if i % 2 == 0 { 'a' } else { 'b' };
                    store.set("k", &Secret::new(big(4000 + i, c))).unwrap();
                }
            })
        };
        let mut served = 0;
        while !writer.is_finished() {
            if let Some(v) = store.get("k").unwrap() {
                let first = v.expose().chars().next().unwrap();
                assert!(
                    v.expose().chars().all(|c| c == first),
                    "a mixed value was served"
                );
                served += 1;
            }
        }
        writer.join().unwrap();
        assert_eq!(store.get("k").unwrap().unwrap().expose(), big(4099, 'b'));
        assert_eq!(entries(limited), 1 + 4);
        assert!(served > 0);
    }
}
