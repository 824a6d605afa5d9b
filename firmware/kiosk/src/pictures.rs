//! Product pictures from the terminal's data partition to the screens,
//! without the UI thread ever touching the disk.
//!
//! - Where: `<data-dir>/images/<SKU>.png` ([`images_dir`]), put there by
//!   provisioning, a catalog import or an update; the file's stem is the SKU.
//! - [`scan`]: decodes every picture of the directory (keel-ui's
//!   [`keel_ui::pictures::load_picture`]: size-capped, scaled down to
//!   [`keel_ui::pictures::MAX_SIDE`]); a corrupt, oversized or unreadable
//!   file is logged with its reason and skipped, never a panic.
//! - [`PictureLoader`]: a thread that scans at start and again whenever the
//!   directory changes (polled every few seconds: the directory's and its
//!   files' names, sizes and mtimes), handing each new set over a channel.
//! - [`PictureFeed`]: on the UI thread, a Slint timer that takes the newest
//!   set from the loader (never blocking) and gives it to `Ui::set_pictures`.
//!
//! This module must not decode or read files on the UI thread, nor know
//! which screens show the pictures.

use crate::app::{Kiosk, Screens};
use keel_ui::pictures::{load_picture, PictureBuffers};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How often the loader looks at the directory for changes.
pub const RESCAN_PERIOD: Duration = Duration::from_secs(3);

/// How often the UI thread looks for a new picture set (no hurry: pictures
/// change with a catalog import, not with each sale).
pub const FEED_PERIOD: Duration = Duration::from_millis(250);

/// The most decoded pixel bytes kept (pictures beyond it are logged and
/// skipped): 256 pictures at the full 512x512, many more at demo size.
pub const MAX_TOTAL_BYTES: usize = 256 * 1024 * 1024;

/// The pictures directory of a terminal whose data dir is `data_dir`.
pub fn images_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("images")
}

/// The SKU a picture file is for: `<SKU>.png` (extension in any case).
pub fn sku_of(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if !ext.eq_ignore_ascii_case("png") {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    (!stem.is_empty() && !stem.starts_with('.')).then(|| stem.to_string())
}

/// Decodes every `<SKU>.png` in `dir` (none if it does not exist). Files
/// that cannot be used are logged and skipped.
pub fn scan(dir: &Path) -> PictureBuffers {
    let mut out = PictureBuffers::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            log::warn!("pictures: {}: {e}", dir.display());
            return out;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut total = 0usize;
    for path in paths {
        let Some(sku) = sku_of(&path) else { continue };
        if !path.is_file() {
            continue;
        }
        match load_picture(&path) {
            Ok(b) => {
                let bytes = b.width() as usize * b.height() as usize * 4;
                if total.saturating_add(bytes) > MAX_TOTAL_BYTES {
                    log::warn!(
                        "pictures: {} skipped: over the {} MiB of pictures kept",
                        path.display(),
                        MAX_TOTAL_BYTES / (1024 * 1024)
                    );
                    continue;
                }
                total += bytes;
                out.insert(sku, b);
            }
            Err(e) => log::warn!("pictures: skipped: {e}"),
        }
    }
    log::info!(
        "pictures: {} decoded from {} ({} KiB)",
        out.len(),
        dir.display(),
        total / 1024
    );
    out
}

/// What the loader compares to see a change: the directory's mtime and each
/// entry's name, size and mtime (`None`: no directory).
type Fingerprint = Option<(Option<SystemTime>, Vec<(PathBuf, u64, Option<SystemTime>)>)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let meta = std::fs::metadata(dir).ok()?;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.path(), m.len(), m.modified().ok()))
        })
        .collect();
    files.sort();
    Some((meta.modified().ok(), files))
}

/// The thread that decodes the pictures and rescans on change. Dropping it
/// stops the thread.
pub struct PictureLoader {
    rx: Receiver<PictureBuffers>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl PictureLoader {
    /// Starts the loader on `dir`, looking for changes every `period`. The
    /// first set (possibly empty) is sent once decoded.
    pub fn start(dir: PathBuf, period: Duration) -> std::io::Result<PictureLoader> {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("keel-pictures".into())
            .spawn(move || {
                let mut seen: Option<Fingerprint> = None;
                while !flag.load(Ordering::SeqCst) {
                    let now = fingerprint(&dir);
                    if seen.as_ref() != Some(&now) {
                        let set = scan(&dir);
                        // The fingerprint after the scan: a file still being
                        // written during it is seen as a change next time.
                        seen = Some(now);
                        if tx.send(set).is_err() {
                            return;
                        }
                    }
                    let until = Instant::now() + period;
                    while Instant::now() < until && !flag.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(50).min(period));
                    }
                }
            })?;
        Ok(PictureLoader {
            rx,
            stop,
            handle: Some(handle),
        })
    }

    /// The newest set waiting now, if any. Never blocks.
    pub fn try_take(&self) -> Option<PictureBuffers> {
        let mut newest = None;
        loop {
            match self.rx.try_recv() {
                Ok(set) => newest = Some(set),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return newest,
            }
        }
    }

    /// Waits up to `timeout` for the next set (tests; never on the UI thread).
    pub fn wait(&self, timeout: Duration) -> Option<PictureBuffers> {
        match self.rx.recv_timeout(timeout) {
            Ok(set) => Some(self.try_take().unwrap_or(set)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }
}

impl Drop for PictureLoader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            // The thread checks the flag every 50 ms; a scan in progress finishes first.
            if h.join().is_err() {
                log::warn!("pictures: the loader thread panicked");
            }
        }
    }
}

/// The loader wired to a kiosk's screens on the UI thread.
pub struct PictureFeed {
    _timer: slint::Timer,
    sets: Rc<Cell<u64>>,
}

impl PictureFeed {
    /// Hands each set `loader` decodes to the kiosk's `Ui::set_pictures`,
    /// from a timer on the UI thread (every [`FEED_PERIOD`]).
    pub fn start<S: Screens>(loader: PictureLoader, kiosk: &Kiosk<S>) -> PictureFeed {
        let sets = Rc::new(Cell::new(0));
        let count = Rc::clone(&sets);
        let timer = kiosk.every(FEED_PERIOD, move |screens| {
            if let Some(set) = loader.try_take() {
                screens.ui().set_pictures(set);
                count.set(count.get() + 1);
            }
        });
        PictureFeed {
            _timer: timer,
            sets,
        }
    }

    /// How many sets have been shown (the headless loop renders again when it changes).
    pub fn sets_shown(&self) -> u64 {
        self.sets.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_ui::image::Image;

    fn write_png(dir: &Path, name: &str, w: u32, h: u32, px: [u8; 4]) {
        let rgba = (0..w * h).flat_map(|_| px).collect();
        Image::new(w, h, rgba).save_png(&dir.join(name)).unwrap();
    }

    #[test]
    fn skus_come_from_png_file_names() {
        assert_eq!(
            sku_of(Path::new("/d/ESPRESSO.png")).as_deref(),
            Some("ESPRESSO")
        );
        assert_eq!(sku_of(Path::new("/d/A-1.PNG")).as_deref(), Some("A-1"));
        assert_eq!(sku_of(Path::new("/d/x.jpg")), None);
        assert_eq!(sku_of(Path::new("/d/noext")), None);
        assert_eq!(sku_of(Path::new("/d/.png")), None);
    }

    #[test]
    fn scan_takes_good_pictures_and_skips_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        write_png(dir.path(), "GOOD.png", 16, 8, [1, 2, 3, 255]);
        write_png(dir.path(), "BIG.png", 1000, 500, [9, 9, 9, 255]);
        std::fs::write(
            dir.path().join("BROKEN.png"),
            b"\x89PNG\r\n\x1a\nnot really",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
        let set = scan(dir.path());
        let mut skus: Vec<_> = set.keys().cloned().collect();
        skus.sort();
        assert_eq!(skus, ["BIG", "GOOD"]);
        assert_eq!((set["GOOD"].width(), set["GOOD"].height()), (16, 8));
        // Scaled to fit 512 a side.
        assert_eq!((set["BIG"].width(), set["BIG"].height()), (512, 256));
        assert!(scan(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn the_loader_sees_the_directory_change() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        let loader = PictureLoader::start(images.clone(), Duration::from_millis(50)).unwrap();
        let first = loader.wait(Duration::from_secs(10)).expect("first set");
        assert!(first.is_empty());
        std::fs::create_dir(&images).unwrap();
        write_png(&images, "TEA.png", 4, 4, [0, 200, 0, 255]);
        let mut set = loader
            .wait(Duration::from_secs(10))
            .expect("a set after the change");
        // The directory may be seen between its creation and the file's.
        while !set.contains_key("TEA") {
            set = loader.wait(Duration::from_secs(10)).expect("the picture");
        }
        assert_eq!(set["TEA"].as_slice()[0].g, 200);
        std::fs::remove_file(images.join("TEA.png")).unwrap();
        let set = loader
            .wait(Duration::from_secs(10))
            .expect("a set after removal");
        assert!(set.is_empty());
        // Nothing changes: nothing new is sent.
        assert!(loader.wait(Duration::from_millis(300)).is_none());
    }
}
