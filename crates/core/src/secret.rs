//! Secret values (tokens, client secrets) in a type that never prints them.
//!
//! `Secret` has no `Serialize`, no `PartialEq` with strings in logs, and its `Debug`/`Display`
//! print `[redacted]`. The only way to the value is [`Secret::expose`], so every use is greppable.

use std::fmt;

/// A secret string. Its memory is overwritten when dropped.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself. Call it only where the value must leave the process (an HTTP request,
    /// the keychain, a credential helper's stdout) — never for logs or errors.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in constant time, so a comparison leaks nothing through timing.
    pub fn same_as(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort against secrets lingering in freed memory; black_box keeps the compiler
        // from discarding writes to a buffer that is about to be freed.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        for b in bytes.iter_mut() {
            *b = 0;
        }
        std::hint::black_box(&bytes);
    }
}

/// Serde for a `Secret` that must cross the user's own socket (a token handed to a tool, tokens
/// handed in for import): `#[serde(with = "crate::secret::exposed")]` on the field, so every
/// place a secret is written out is named.
pub mod exposed {
    use super::Secret;

    /// Writes the value itself.
    pub fn serialize<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose())
    }

    /// Reads a value into a `Secret`.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let value: String = serde::Deserialize::deserialize(d)?;
        Ok(Secret::new(value))
    }
}

/// [`exposed`] for an optional secret.
pub mod exposed_option {
    use super::Secret;

    /// Writes the value itself, or null.
    pub fn serialize<S: serde::Serializer>(
        secret: &Option<Secret>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match secret {
            Some(secret) => s.serialize_some(secret.expose()),
            None => s.serialize_none(),
        }
    }

    /// Reads a value, or null, into a `Secret`.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        let value: Option<String> = serde::Deserialize::deserialize(d)?;
        Ok(value.map(Secret::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("tok-123-very-secret");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([redacted]))");
        assert_eq!(s.expose(), "tok-123-very-secret");
    }

    #[test]
    fn same_as_compares_values() {
        assert!(Secret::new("a").same_as(&Secret::new("a")));
        assert!(!Secret::new("a").same_as(&Secret::new("b")));
        assert!(!Secret::new("a").same_as(&Secret::new("ab")));
    }
}
