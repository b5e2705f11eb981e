//! The human-editable settings file: providers, accounts, jobs. Never holds a secret.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything the user configured. A missing file means "nothing configured yet".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The accounts, in the order the user added them (the tray lists them in this order).
    #[serde(default, rename = "account", skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSettings>,
}

/// One OAuth account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// The name the user calls it by (`tokentray token NAME`).
    pub name: String,
    /// The provider it signs in with.
    pub provider: String,
}

/// Why the settings could not be read. Each variant says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file exists but could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The settings file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid; it is left untouched for the user to fix.
    #[error("the settings file {path} is invalid at line {line}, column {column}: {message}. Fix it by hand (Tokentray will not overwrite it)")]
    Invalid {
        /// The settings file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser said.
        message: String,
    },
}

impl Settings {
    /// Reads the settings file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Settings::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(SettingsError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses settings text; `path` only labels errors.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, SettingsError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            SettingsError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_settings() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load(&dir.path().join("nope.toml")).unwrap();
        assert!(s.accounts.is_empty());
    }

    #[test]
    fn accounts_parse_in_order() {
        let text = "[[account]]\nname = \"b\"\nprovider = \"p\"\n\n[[account]]\nname = \"a\"\nprovider = \"p\"\n";
        let s = Settings::parse(text, Path::new("s.toml")).unwrap();
        let names: Vec<_> = s.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn a_broken_file_names_path_line_and_column() {
        let text = "[[account]]\nname = \"a\"\nprovider = = \"p\"\n";
        let err = Settings::parse(text, Path::new("/cfg/settings.toml")).unwrap_err();
        let SettingsError::Invalid { line, column, .. } = &err else {
            panic!("wrong error: {err}");
        };
        assert_eq!((*line, *column), (3, 12));
        let msg = err.to_string();
        assert!(msg.contains("/cfg/settings.toml"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_dropped() {
        let text = "[[account]]\nname = \"a\"\nprovder = \"p\"\n";
        let err = Settings::parse(text, Path::new("s.toml")).unwrap_err();
        assert!(err.to_string().contains("provder"), "{err}");
    }
}
