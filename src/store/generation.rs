//! A change counter shared by every process that opens the store.
//!
//! The counter is eight bytes at the start of a small file next to the store,
//! mapped into each nginx worker. A worker bumps it after each commit. The
//! gateway check reads it on every request (one atomic load) and drops its
//! cached statuses when it has moved. Because the bump happens before the
//! Admin API responds, a change is honoured by every worker on its very next
//! request.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;

use crate::error::{Error, ErrorKind, Result};

const FILE_SIZE: u64 = 8;

pub struct Generation {
    map: MmapMut,
}

impl Generation {
    /// Maps the counter file, creating it when missing.
    pub fn open(path: &Path) -> Result<Generation> {
        let fail = |action: &str, err: std::io::Error| {
            let hint = if err.kind() == std::io::ErrorKind::PermissionDenied {
                "the file or its folder is read-only for the nginx worker user"
            } else {
                "the nginx worker user must be able to write next to the developer store"
            };
            Error::new(
                ErrorKind::Unavailable,
                format!(
                    "could not {action} the change counter {}: {err} ({hint})",
                    path.display()
                ),
            )
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| fail("open", e))?;
        let len = file.metadata().map_err(|e| fail("read", e))?.len();
        if len < FILE_SIZE {
            file.set_len(FILE_SIZE).map_err(|e| fail("size", e))?;
        }
        // SAFETY: the mapping is only ever accessed through `counter()`, as an
        // AtomicU64 at offset 0; the file is at least 8 bytes and page-aligned.
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| fail("map", e))?;
        Ok(Generation { map })
    }

    /// Returns the path of the counter file for a store file.
    pub fn path_for(store: &Path) -> PathBuf {
        let mut name = store.as_os_str().to_owned();
        name.push("-generation");
        PathBuf::from(name)
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: the map is at least 8 bytes long and mmap returns
        // page-aligned memory, so offset 0 is a valid, aligned u64 that other
        // processes change only through atomic operations.
        unsafe { &*(self.map.as_ptr() as *const AtomicU64) }
    }

    pub fn current(&self) -> u64 {
        self.counter().load(Ordering::Acquire)
    }

    /// Announces a committed change to every process.
    pub fn bump(&self) {
        self.counter().fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_is_seen_through_another_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db-generation");
        let writer = Generation::open(&path).unwrap();
        let reader = Generation::open(&path).unwrap();
        let before = reader.current();
        writer.bump();
        assert_eq!(reader.current(), before + 1);
    }

    #[test]
    fn path_sits_next_to_the_store() {
        assert_eq!(
            Generation::path_for(Path::new("/var/kong/developer_portal.db")),
            PathBuf::from("/var/kong/developer_portal.db-generation")
        );
    }
}
