//! A simulated disk for redb: bytes live in memory, and only what was synced
//! survives a power cut. It owns the durable/volatile split and must not
//! interpret the bytes (redb does, through keel-store).
//!
//! Crash model: every write lands in the volatile image; `sync_data` copies the
//! volatile image to the durable one; a power cut throws the volatile image away
//! (all unsynced writes are lost, none are torn). A test-only switch makes
//! `sync_data` lie (return Ok without making anything durable): the planted bug
//! "acknowledge a sale before its fsync", which the invariants must catch.

use keel_store::{BackendOpener, StorageBackend};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Images {
    volatile: Vec<u8>,
    durable: Vec<u8>,
    /// Byte ranges of `volatile` written since the last sync (what a sync copies).
    unsynced: Vec<(usize, usize)>,
    syncs: u64,
    lying_sync: bool,
}

/// One terminal's disk, shared by every backend handle the journal opens on it.
#[derive(Clone, Debug, Default)]
pub struct CrashDisk(Arc<Mutex<Images>>);

/// A redb backend over a [`CrashDisk`].
#[derive(Debug)]
pub struct CrashBackend(CrashDisk);

impl CrashDisk {
    /// An empty disk; with `lying_sync`, syncs make nothing durable (the planted bug).
    pub fn new(lying_sync: bool) -> CrashDisk {
        CrashDisk(Arc::new(Mutex::new(Images {
            lying_sync,
            ..Images::default()
        })))
    }

    fn images(&self) -> MutexGuard<'_, Images> {
        // Invariant: no code holding this lock panics, so it is never poisoned;
        // if it were, the data is still the last consistent image.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Power cut: everything not synced is lost.
    pub fn power_cut(&self) {
        let mut i = self.images();
        i.volatile = i.durable.clone();
        i.unsynced.clear();
    }

    /// Number of syncs done so far.
    pub fn syncs(&self) -> u64 {
        self.images().syncs
    }

    /// An opener for `keel_store::Journal::open_with_backend`.
    pub fn opener(&self) -> BackendOpener {
        let disk = self.clone();
        Box::new(move || Ok(Box::new(CrashBackend(disk.clone())) as Box<dyn StorageBackend>))
    }
}

impl StorageBackend for CrashBackend {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.0.images().volatile.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let i = self.0.images();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        let end = start
            .checked_add(out.len())
            .filter(|e| *e <= i.volatile.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        out.copy_from_slice(&i.volatile[start..end]);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut i = self.0.images();
        let old = i.volatile.len();
        i.volatile.resize(len, 0);
        i.unsynced.push((old.min(len), old.max(len)));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut i = self.0.images();
        i.syncs += 1;
        if !i.lying_sync {
            // Copy only what changed since the last sync: the durable image then
            // equals the volatile one, as if the whole image had been copied.
            let Images {
                volatile,
                durable,
                unsynced,
                ..
            } = &mut *i;
            durable.resize(volatile.len(), 0);
            for (start, end) in unsynced.drain(..) {
                let end = end.min(volatile.len());
                if start < end {
                    durable[start..end].copy_from_slice(&volatile[start..end]);
                }
            }
        }
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut i = self.0.images();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        let end = start + data.len();
        if i.volatile.len() < end {
            i.volatile.resize(end, 0);
        }
        i.volatile[start..end].copy_from_slice(data);
        i.unsynced.push((start, end));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_power_cut_keeps_synced_bytes_and_drops_the_rest() {
        let disk = CrashDisk::new(false);
        let b = CrashBackend(disk.clone());
        b.write(0, b"synced").unwrap();
        b.sync_data().unwrap();
        b.write(6, b"-lost").unwrap();
        disk.power_cut();
        let mut out = vec![0u8; 6];
        b.read(0, &mut out).unwrap();
        assert_eq!(&out, b"synced");
        assert_eq!(b.len().unwrap(), 6);
        assert!(b.read(0, &mut [0u8; 7]).is_err());
    }

    #[test]
    fn a_sync_copies_only_what_changed_yet_leaves_the_whole_image_durable() {
        let disk = CrashDisk::new(false);
        let b = CrashBackend(disk.clone());
        b.write(0, b"abcdefgh").unwrap();
        b.sync_data().unwrap();
        b.set_len(4).unwrap();
        b.set_len(8).unwrap();
        b.write(1, b"X").unwrap();
        b.sync_data().unwrap();
        b.write(2, b"lost").unwrap();
        disk.power_cut();
        let mut out = vec![0u8; 8];
        b.read(0, &mut out).unwrap();
        assert_eq!(&out, b"aXcd\0\0\0\0");
    }

    #[test]
    fn a_lying_sync_makes_nothing_durable() {
        let disk = CrashDisk::new(true);
        let b = CrashBackend(disk.clone());
        b.write(0, b"acked").unwrap();
        b.sync_data().unwrap();
        disk.power_cut();
        assert_eq!(b.len().unwrap(), 0);
        assert_eq!(disk.syncs(), 1);
    }
}
