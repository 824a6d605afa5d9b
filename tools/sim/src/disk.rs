//! A simulated disk for redb: bytes live in memory, and only what was synced
//! survives a power cut. It owns the durable/volatile split and must not
//! interpret the bytes (redb does, through keel-store).
//!
//! Crash model: every write lands in the volatile image; `sync_data` copies the
//! volatile image to the durable one; a power cut throws the volatile image away
//! (all unsynced writes are lost). A torn power cut ([`CrashDisk::arm_power_loss`]
//! then [`CrashDisk::power_cut_torn`]) strikes in the middle of a commit: the
//! disk dies after a few more writes, and of the writes since the last sync a
//! seeded subset survives, some of them only as a prefix cut at a 512-byte
//! sector. A full disk ([`CrashDisk::fill`], or [`CrashDisk::fill_at_next_growth`])
//! refuses with `ENOSPC` any write that needs blocks beyond those already
//! allocated (growing the file with `set_len` is sparse and free, as on
//! ext4), until [`CrashDisk::free`].
//! A test-only switch makes `sync_data` lie (return Ok without making anything
//! durable): the planted bug "acknowledge a sale before its fsync", which the
//! invariants must catch.

use crate::rng::SimRng;
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
    /// Bytes with blocks allocated (the highest end ever written).
    allocated: usize,
    /// While full: writes may not go past this many allocated bytes.
    quota: Option<usize>,
    /// The disk fills up at the next write that needs a new block.
    fill_on_growth: bool,
    /// Writes refused for want of space.
    refused: u64,
    /// Writes left before the power fails (armed torn power cut).
    writes_to_power_loss: Option<u32>,
    /// The power failed: every write and sync fails until the power cut is done.
    dead: bool,
}

/// Linux's `ENOSPC` ("No space left on device"), which keel-store maps to
/// `CommitError::DiskFull`.
const ENOSPC: i32 = 28;

fn power_lost() -> io::Error {
    io::Error::other("simulated power loss: the disk is gone")
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
        i.dead = false;
        i.writes_to_power_loss = None;
    }

    /// The disk fills up: only `slack` more bytes beyond what is allocated can be written.
    pub fn fill(&self, slack: usize) {
        let mut i = self.images();
        i.quota = Some(i.allocated + slack);
    }

    /// No fault left: space back, no armed power loss (a struck one stays
    /// until the power cut).
    pub fn calm(&self) {
        let mut i = self.images();
        i.quota = None;
        i.fill_on_growth = false;
        i.writes_to_power_loss = None;
    }

    /// An armed power loss that has not struck is called off.
    pub fn disarm_power_loss(&self) {
        self.images().writes_to_power_loss = None;
    }

    /// The disk fills up at the next write that needs a new block (that
    /// write is the first refused): a full disk that certainly bites.
    pub fn fill_at_next_growth(&self) {
        self.images().fill_on_growth = true;
    }

    /// Space comes back (and a pending fill is called off).
    pub fn free(&self) {
        let mut i = self.images();
        i.quota = None;
        i.fill_on_growth = false;
    }

    /// True while the disk is full.
    pub fn is_full(&self) -> bool {
        self.images().quota.is_some()
    }

    /// Writes refused with `ENOSPC` so far.
    pub fn refused_writes(&self) -> u64 {
        self.images().refused
    }

    /// Arms a torn power cut: the power fails at the `writes`-th write from now
    /// (that write and all later ones, and syncs, fail and are not applied).
    pub fn arm_power_loss(&self, writes: u32) {
        self.images().writes_to_power_loss = Some(writes);
    }

    /// True once an armed power loss has struck (the terminal must be cut now).
    pub fn power_lost(&self) -> bool {
        self.images().dead
    }

    /// True while a power loss is armed or has struck.
    pub fn power_loss_pending(&self) -> bool {
        let i = self.images();
        i.dead || i.writes_to_power_loss.is_some()
    }

    /// Torn power cut: of the byte ranges written since the last sync, each is
    /// kept whole, dropped, or kept as a prefix cut at a 512-byte sector, as
    /// `rng` draws; everything else reverts to the durable image. Returns how
    /// many ranges survived whole or in part.
    pub fn power_cut_torn(&self, rng: &mut SimRng) -> u64 {
        let mut i = self.images();
        let Images {
            volatile,
            durable,
            unsynced,
            ..
        } = &mut *i;
        let mut image = durable.clone();
        let mut kept = 0;
        for (start, end) in unsynced.drain(..) {
            let end = end.min(volatile.len());
            if start >= end {
                continue;
            }
            let cut = match rng.range(0, 2) {
                0 => continue,
                1 => end,
                _ => (start + (rng.range(0, ((end - start) / 512) as u64) as usize) * 512).min(end),
            };
            if cut <= start {
                continue;
            }
            if image.len() < cut {
                image.resize(cut, 0);
            }
            image[start..cut].copy_from_slice(&volatile[start..cut]);
            kept += 1;
        }
        // What survived is on the platter now: durable and what a reader sees.
        durable.clone_from(&image);
        *volatile = image;
        i.dead = false;
        i.writes_to_power_loss = None;
        kept
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
        if i.dead {
            return Err(power_lost());
        }
        let old = i.volatile.len();
        i.volatile.resize(len, 0);
        i.unsynced.push((old.min(len), old.max(len)));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut i = self.0.images();
        if i.dead {
            return Err(power_lost());
        }
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
        if i.dead {
            return Err(power_lost());
        }
        if let Some(n) = i.writes_to_power_loss {
            if n == 0 {
                i.dead = true;
                i.writes_to_power_loss = None;
                return Err(power_lost());
            }
            i.writes_to_power_loss = Some(n - 1);
        }
        if i.fill_on_growth && end > i.allocated {
            i.fill_on_growth = false;
            i.quota = Some(i.allocated);
        }
        if i.quota.is_some_and(|q| end > q.max(i.allocated)) {
            i.refused += 1;
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        i.allocated = i.allocated.max(end);
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
    fn a_full_disk_refuses_new_blocks_with_enospc_until_freed() {
        let disk = CrashDisk::new(false);
        let b = CrashBackend(disk.clone());
        b.write(0, &[1; 100]).unwrap();
        disk.fill(10);
        b.write(50, &[2; 50]).unwrap(); // allocated blocks: fine
        b.write(100, &[3; 10]).unwrap(); // the slack
        let e = b.write(110, &[4; 1]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(ENOSPC));
        assert_eq!(disk.refused_writes(), 1);
        disk.free();
        b.write(110, &[4; 1]).unwrap();
        disk.fill_at_next_growth();
        assert!(!disk.is_full());
        b.write(0, &[5; 111]).unwrap(); // within what is allocated
        assert!(
            b.write(100, &[6; 12]).is_err(),
            "the first new block fills the disk"
        );
        assert!(disk.is_full());
        b.write(0, &[7; 111]).unwrap();
        disk.free();
        b.write(100, &[6; 12]).unwrap();
    }

    #[test]
    fn a_torn_power_cut_keeps_a_seeded_part_of_the_unsynced_writes() {
        let mut kept_whole = false;
        let mut dropped = false;
        let mut torn = false;
        for seed in 0..64 {
            let disk = CrashDisk::new(false);
            let b = CrashBackend(disk.clone());
            b.write(0, &[1; 2048]).unwrap();
            b.sync_data().unwrap();
            disk.arm_power_loss(1);
            b.write(0, &[2; 2048]).unwrap();
            assert!(b.write(4096, &[3; 8]).is_err(), "the power is gone");
            assert!(b.sync_data().is_err());
            assert!(disk.power_lost());
            disk.power_cut_torn(&mut SimRng::new(seed));
            assert!(!disk.power_lost());
            let mut out = vec![0u8; 2048];
            b.read(0, &mut out).unwrap();
            // Synced bytes never change except where the unsynced write landed;
            // the failed write never lands.
            assert_eq!(b.len().unwrap(), 2048);
            let twos = out.iter().take_while(|x| **x == 2).count();
            assert!(out[twos..].iter().all(|x| *x == 1));
            assert_eq!(twos % 512, 0);
            match twos {
                2048 => kept_whole = true,
                0 => dropped = true,
                _ => torn = true,
            }
        }
        assert!(kept_whole && dropped && torn);
    }

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
