//! Replacing a small state file so that a crash leaves either the old or
//! the new content, never a torn mix: write a temporary file beside it,
//! sync it, rename it over the old one, sync the directory.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably. The file is created
/// with mode 0600 (it may hold counters or secrets).
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// The file's content, or `None` when it does not exist.
pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_reads() {
        let dir = std::env::temp_dir().join(format!("telsec-atomic-{}", std::process::id()));
        let p = dir.join("state");
        assert_eq!(read_if_exists(&p).expect("reads"), None);
        replace(&p, b"one").expect("writes");
        replace(&p, b"two").expect("writes");
        assert_eq!(
            read_if_exists(&p).expect("reads").as_deref(),
            Some(&b"two"[..])
        );
        assert!(!dir.join("state.tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
