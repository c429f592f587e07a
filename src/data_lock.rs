//! One riposte per data directory (issue 15: a second `riposte up` on the same directory
//! overwrote `sandbox.json` with a dead endpoint before failing on "address in use").
//!
//! `up` and `serve` take an exclusive lock on `{data}/riposte.lock` before they touch anything
//! in the directory, and hold it for as long as they run. The lock is the operating system's
//! (`flock` on Unix), so it disappears with the process however it ends: no stale lock files
//! to clean up after a crash. The file records the holder's pid, for the error message.

use anyhow::{Context, bail};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The held lock; dropping it releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Locks `data_dir` for this process, or fails naming the process that holds it.
pub fn lock(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("riposte.lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
            bail!(
                "the data directory {} is in use by another riposte{who}; stop it, or give this one another \
                 directory with --data",
                data_dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.sync_all()?;
    Ok(DataDirLock { _file: file })
}
