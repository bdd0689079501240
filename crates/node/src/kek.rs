//! Where the HLR's key-encryption key (KEK) comes from.
//!
//! The environment variable named by `hlr.kek_env` wins; otherwise the key file
//! `hlr.kek_file`. Only `telsec up` (embedded defaults) creates a key file when
//! neither exists, so a forgotten variable in production is an error, not a
//! silently new key that cannot open the existing database.

use std::io::Write;
use std::path::{Path, PathBuf};

use telsec_hlr::Kek;

use crate::config::Config;

/// Why no KEK could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// Neither the variable nor the file exists.
    #[error("no key-encryption key: set ${var} (64 hex digits) or create {file}")]
    Missing {
        /// The environment variable consulted.
        var: String,
        /// The key file consulted.
        file: PathBuf,
    },
    /// The variable or file does not hold 64 hex digits.
    #[error("key-encryption key from {origin} is not 64 hex digits")]
    Malformed {
        /// Where the bad value came from.
        origin: String,
    },
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No randomness for a new key.
    #[error("cannot generate a key: {0}")]
    Random(String),
}

/// What to do when neither source holds a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Fail (every command but `telsec up`).
    Fail,
    /// Create a fresh key file with mode 0600 (`telsec up`).
    Create,
}

/// Load the KEK the config points at.
pub fn load(config: &Config, if_missing: IfMissing) -> Result<Kek, KekError> {
    if let Ok(value) = std::env::var(&config.hlr.kek_env) {
        return Kek::from_hex(value.trim()).map_err(|_| KekError::Malformed {
            origin: format!("${}", config.hlr.kek_env),
        });
    }
    let file = config.in_data_dir(&config.hlr.kek_file);
    match std::fs::read_to_string(&file) {
        Ok(text) => Kek::from_hex(text.trim()).map_err(|_| KekError::Malformed {
            origin: file.display().to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && if_missing == IfMissing::Create => {
            create(&file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(KekError::Missing {
            var: config.hlr.kek_env.clone(),
            file,
        }),
        Err(source) => Err(KekError::Io { path: file, source }),
    }
}

fn create(path: &Path) -> Result<Kek, KekError> {
    let io = |source| KekError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let kek = Kek::generate().map_err(|e| KekError::Random(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(kek.to_hex().as_bytes()).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)?;
    tracing::warn!(path = %path.display(), "created a new key-encryption key file; keep a copy: without it the subscriber secrets cannot be read");
    Ok(kek)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> Config {
        let mut c = Config {
            data_dir: dir.to_owned(),
            ..Config::default()
        };
        // A variable name no test environment sets.
        c.hlr.kek_env = "TELSEC_TEST_KEK_UNSET_6d2f".into();
        c
    }

    #[test]
    fn missing_fails_unless_asked_to_create_then_reloads_same_key() {
        let dir = std::env::temp_dir().join(format!("telsec-kek-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let c = config_in(&dir);
        assert!(matches!(
            load(&c, IfMissing::Fail),
            Err(KekError::Missing { .. })
        ));
        let first = load(&c, IfMissing::Create).unwrap();
        let again = load(&c, IfMissing::Fail).unwrap();
        assert_eq!(*first.to_hex(), *again.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("hlr.kek"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("telsec-kek-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hlr.kek"), "not hex").unwrap();
        let c = config_in(&dir);
        assert!(matches!(
            load(&c, IfMissing::Create),
            Err(KekError::Malformed { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
