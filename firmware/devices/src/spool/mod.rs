//! The durable print spool: every job a printer must print, in a directory,
//! so an acknowledged job survives a crash or a power cut and prints once the
//! printer is back.
//!
//! Layout of a spool directory:
//!
//! ```text
//! DIR/lock                      flock: one worker per spool
//! DIR/pending/00000000000000000042.job    waiting to print, in id order
//! DIR/printed/00000000000000000041.job    printed, kept for reprints (the last N)
//! ```
//!
//! A job file is written as `NNN.tmp`, fsynced, renamed to `NNN.job` and the
//! directory fsynced before [`Spool::enqueue`] returns. At open, leftover
//! `.tmp` files (a crash mid-write, never acknowledged) are deleted and
//! damaged `.job` files are renamed `.job.corrupt` and skipped with a log
//! line. Ids come from the highest id on disk, and the newest printed job is
//! always kept, so ids never go back across restarts.
//!
//! This module owns the files and the ids. It must not talk to a printer,
//! decide what to print, or block on anything but the local disk; it is not
//! synchronized (the printer worker shares it behind a mutex).

mod durable;
mod error;
mod job;
mod record;

pub use error::SpoolError;
pub use job::{Job, JobId, JobKind, JobMeta};

use record::JobRef;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many printed jobs a spool keeps for reprints unless told otherwise.
pub const DEFAULT_KEEP_PRINTED: usize = 100;

/// Spool settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Printed jobs kept for reprints (the newest; at least 1 is always kept
    /// so ids stay monotonic).
    pub keep_printed: usize,
}

impl Default for SpoolOptions {
    fn default() -> Self {
        SpoolOptions {
            keep_printed: DEFAULT_KEEP_PRINTED,
        }
    }
}

/// An open spool directory (holds its lock until dropped).
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    pending: BTreeMap<JobId, JobMeta>,
    printed: BTreeMap<JobId, JobMeta>,
    next_id: u64,
    keep_printed: usize,
    _lock: File,
}

const PENDING: &str = "pending";
const PRINTED: &str = "printed";

impl Spool {
    /// Opens (creating) the spool in `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Spool, SpoolError> {
        Spool::open_with(dir, SpoolOptions::default())
    }

    /// Opens (creating) the spool in `dir`: takes its lock, deletes unfinished
    /// temporary files, sets damaged job files aside and indexes the rest.
    pub fn open_with(dir: impl AsRef<Path>, options: SpoolOptions) -> Result<Spool, SpoolError> {
        let dir = dir.as_ref().to_path_buf();
        for sub in [dir.clone(), dir.join(PENDING), dir.join(PRINTED)] {
            fs::create_dir_all(&sub).map_err(SpoolError::io(&sub))?;
        }
        // The areas' own directory entries must be durable before the first
        // job in them is acknowledged.
        durable::sync_dir(&dir).map_err(SpoolError::io(&dir))?;
        if let Err(e) = durable::sync_parent(&dir) {
            log::debug!("cannot sync the parent of {}: {e}", dir.display());
        }
        let lock_path = dir.join("lock");
        let lock = match durable::try_lock(&lock_path).map_err(SpoolError::io(&lock_path))? {
            Some(lock) => lock,
            None => return Err(SpoolError::Locked { dir }),
        };
        let mut max_id = 0;
        let mut pending = scan(&dir.join(PENDING), &mut max_id)?;
        let printed = scan(&dir.join(PRINTED), &mut max_id)?;
        // A crash between the two directory syncs of a move cannot leave a job
        // in both places (rename is atomic), but a restored backup could.
        let both: Vec<JobId> = pending
            .keys()
            .filter(|id| printed.contains_key(id))
            .copied()
            .collect();
        for id in both {
            log::warn!("print job {id} is both pending and printed; treating it as printed");
            pending.remove(&id);
            let _ = fs::remove_file(dir.join(PENDING).join(file_name(id)));
        }
        let mut spool = Spool {
            dir,
            pending,
            printed,
            next_id: max_id + 1,
            keep_printed: options.keep_printed.max(1),
            _lock: lock,
        };
        spool.prune();
        if !spool.pending.is_empty() {
            log::info!(
                "print spool {}: {} job(s) pending from before",
                spool.dir.display(),
                spool.pending.len()
            );
        }
        Ok(spool)
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores a job durably and returns its id. When this returns `Ok` the job
    /// is on disk (file and directory fsynced) and will print after a crash or
    /// power cut.
    pub fn enqueue(
        &mut self,
        kind: JobKind,
        label: &str,
        bytes: &[u8],
    ) -> Result<JobId, SpoolError> {
        let id = JobId(self.next_id);
        // The id is spent even if the write fails: a half-done write must never
        // be overwritten by a later job under the same name.
        self.next_id += 1;
        let job = JobRef {
            id,
            kind,
            label,
            created_ms: now_ms(),
            bytes,
        };
        let data = record::encode(job).map_err(SpoolError::Encode)?;
        let pending = self.dir.join(PENDING);
        let dest = pending.join(file_name(id));
        let tmp = pending.join(format!("{:020}.tmp", id.0));
        durable::write_file(&tmp, &dest, &data).map_err(SpoolError::io(&dest))?;
        self.pending.insert(
            id,
            JobMeta {
                id,
                kind,
                label: label.to_string(),
                created_ms: job.created_ms,
                len: bytes.len(),
            },
        );
        log::debug!(
            "print job {id} ({kind}, {label}) spooled, {} bytes",
            bytes.len()
        );
        Ok(id)
    }

    /// The jobs waiting to print, oldest (lowest id) first.
    pub fn pending(&self) -> Vec<JobMeta> {
        self.pending.values().cloned().collect()
    }

    /// The oldest job waiting to print.
    pub fn next_pending(&self) -> Option<JobMeta> {
        self.pending.values().next().cloned()
    }

    /// How many jobs wait to print.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The printed jobs kept for reprints, oldest first.
    pub fn printed(&self) -> Vec<JobMeta> {
        self.printed.values().cloned().collect()
    }

    /// Whether `id` waits to print.
    pub fn is_pending(&self, id: JobId) -> bool {
        self.pending.contains_key(&id)
    }

    /// A pending or kept printed job, with its bytes.
    pub fn get(&self, id: JobId) -> Result<Job, SpoolError> {
        let path = self.path_of(id).ok_or(SpoolError::NotFound(id))?;
        let data = fs::read(&path).map_err(SpoolError::io(&path))?;
        let job = record::decode(&data).map_err(|reason| SpoolError::Corrupt {
            path: path.clone(),
            reason,
        })?;
        if job.id != id {
            return Err(SpoolError::Corrupt {
                path,
                reason: format!("holds job {} instead", job.id),
            });
        }
        Ok(job)
    }

    /// Moves a pending job to the printed history (durably) and drops the
    /// oldest printed jobs beyond the number kept. Marking a job already
    /// printed again is a no-op.
    pub fn mark_printed(&mut self, id: JobId) -> Result<(), SpoolError> {
        if self.printed.contains_key(&id) {
            return Ok(());
        }
        let meta = self
            .pending
            .get(&id)
            .cloned()
            .ok_or(SpoolError::NotFound(id))?;
        let from = self.dir.join(PENDING).join(file_name(id));
        let to = self.dir.join(PRINTED).join(file_name(id));
        durable::move_file(&from, &to).map_err(SpoolError::io(&from))?;
        self.pending.remove(&id);
        self.printed.insert(id, meta);
        self.prune();
        Ok(())
    }

    /// Takes a pending job whose file turned out damaged out of the queue: the
    /// file is renamed `.job.corrupt` for the technician and never printed.
    pub fn set_aside(&mut self, id: JobId) -> Result<(), SpoolError> {
        if self.pending.remove(&id).is_none() {
            return Err(SpoolError::NotFound(id));
        }
        let path = self.dir.join(PENDING).join(file_name(id));
        set_aside(&path);
        Ok(())
    }

    fn path_of(&self, id: JobId) -> Option<PathBuf> {
        if self.pending.contains_key(&id) {
            Some(self.dir.join(PENDING).join(file_name(id)))
        } else if self.printed.contains_key(&id) {
            Some(self.dir.join(PRINTED).join(file_name(id)))
        } else {
            None
        }
    }

    /// Deletes the oldest printed jobs beyond `keep_printed` (best effort: a
    /// failure only leaves an extra file behind).
    fn prune(&mut self) {
        let printed_dir = self.dir.join(PRINTED);
        let mut removed = false;
        while self.printed.len() > self.keep_printed {
            let Some((&oldest, _)) = self.printed.iter().next() else {
                break;
            };
            self.printed.remove(&oldest);
            let path = printed_dir.join(file_name(oldest));
            if let Err(e) = fs::remove_file(&path) {
                log::warn!("cannot delete old printed job {}: {e}", path.display());
            }
            removed = true;
        }
        if removed {
            if let Err(e) = durable::sync_dir(&printed_dir) {
                log::warn!("cannot sync {}: {e}", printed_dir.display());
            }
        }
    }
}

/// `00000000000000000042.job`: zero-padded so names sort like ids.
fn file_name(id: JobId) -> String {
    format!("{:020}.job", id.0)
}

/// The id in a job-like file name (`NNN.job`, `NNN.tmp`, `NNN.job.corrupt`).
fn id_in(name: &str) -> Option<u64> {
    let digits = name.split('.').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Indexes the job files of one area; raises `max_id` to the highest id of any
/// job-like file there (damaged ones included, so their ids are not reissued).
fn scan(dir: &Path, max_id: &mut u64) -> Result<BTreeMap<JobId, JobMeta>, SpoolError> {
    let mut jobs = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(SpoolError::io(dir))? {
        let entry = entry.map_err(SpoolError::io(dir))?;
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let Some(id) = id_in(&name) else {
            log::debug!("print spool: ignoring {}", path.display());
            continue;
        };
        if name.ends_with(".tmp") {
            log::info!(
                "print spool: removing unfinished job file {} (never acknowledged)",
                path.display()
            );
            let _ = fs::remove_file(&path);
            continue;
        }
        *max_id = (*max_id).max(id);
        if !name.ends_with(".job") {
            continue;
        }
        let job = fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|data| record::decode(&data))
            .and_then(|job| {
                if job.id.0 == id {
                    Ok(job)
                } else {
                    Err(format!("holds job {} instead", job.id))
                }
            });
        match job {
            Ok(job) => {
                jobs.insert(job.id, job.meta());
            }
            Err(reason) => {
                log::warn!(
                    "print spool: skipping damaged job file {}: {reason}",
                    path.display()
                );
                set_aside(&path);
            }
        }
    }
    Ok(jobs)
}

/// Renames a damaged job file to `….corrupt` (best effort).
fn set_aside(path: &Path) {
    let mut target = path.as_os_str().to_owned();
    target.push(".corrupt");
    if let Err(e) = fs::rename(path, &target) {
        log::warn!("cannot set aside {}: {e}", path.display());
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_names() {
        assert_eq!(id_in("00000000000000000042.job"), Some(42));
        assert_eq!(id_in("00000000000000000042.job.corrupt"), Some(42));
        assert_eq!(id_in("00000000000000000042.tmp"), Some(42));
        assert_eq!(id_in("lock"), None);
        assert_eq!(id_in(".job"), None);
    }

    #[test]
    fn mark_printed_keeps_the_last_n_and_ids_stay_monotonic() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open_with(dir.path(), SpoolOptions { keep_printed: 2 }).unwrap();
        let ids: Vec<JobId> = (0..4)
            .map(|i| {
                spool
                    .enqueue(JobKind::Receipt, &format!("r{i}"), b"x")
                    .unwrap()
            })
            .collect();
        for &id in &ids {
            spool.mark_printed(id).unwrap();
        }
        assert_eq!(spool.pending_count(), 0);
        let kept: Vec<JobId> = spool.printed().iter().map(|m| m.id).collect();
        assert_eq!(kept, ids[2..].to_vec());
        assert!(matches!(spool.get(ids[0]), Err(SpoolError::NotFound(_))));
        assert_eq!(spool.get(ids[3]).unwrap().label, "r3");
        drop(spool);
        let mut spool = Spool::open_with(dir.path(), SpoolOptions { keep_printed: 2 }).unwrap();
        let next = spool.enqueue(JobKind::Test, "t", b"y").unwrap();
        assert!(next > ids[3]);
    }

    #[test]
    fn a_second_open_of_the_same_spool_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Spool::open(dir.path()).unwrap();
        assert!(matches!(
            Spool::open(dir.path()),
            Err(SpoolError::Locked { .. })
        ));
    }
}
