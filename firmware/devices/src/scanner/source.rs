//! Where key events come from: an evdev node (grabbed, hot-plugged) or a
//! recorded stream in a regular file or FIFO, all through one decoder.
//!
//! This module owns the reader thread, opening and reopening the path,
//! the exclusive grab and the end-of-stream rules. It must not interpret
//! keys or timing (that is [`super::decoder`]) nor decide what a scan means
//! to a sale (that is the terminal's).
//!
//! What the path is decides the behaviour (checked at each open):
//!
//! - **character device** (`/dev/input/eventN`, a `/dev/input/by-id/...`
//!   link): grabbed with `EVIOCGRAB`; when it vanishes (`ENODEV`, a hang-up
//!   or any read error) it is closed, the partial entry dropped, and the path
//!   polled every `reconnect_interval` until a device is there again.
//! - **FIFO**: opened read-write so it never reports end of file; it keeps
//!   being read until the stream is stopped. Not grabbed.
//! - **regular file**: read to the end, which ends the stream (a record cut
//!   short at the end is an error). Not grabbed.
//! - **missing**: waited for, like an unplugged scanner.

use super::decoder::{ScanDecoder, ScanOutcome, ScannerConfig};
use super::event::{EventBuffer, EventError, EventReader, EVENT_SIZE};
use super::stream::{ScanStream, Shared};
use super::sys::{self, Readiness};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Errors that end a scanner stream.
#[derive(Debug, Error)]
pub enum SourceError {
    /// A recorded stream (file or FIFO) could not be read or was cut short.
    #[error("scanner events from {path}: {source}")]
    Events {
        /// The configured path.
        path: String,
        /// What went wrong.
        #[source]
        source: EventError,
    },
    /// The path is neither a device, a FIFO nor a regular file.
    #[error("scanner path {path} is a {kind}, not an event device, FIFO or file")]
    NotAnEventSource {
        /// The configured path.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// The reader thread could not be started.
    #[error("cannot start the scanner reader thread: {0}")]
    Spawn(#[source] io::Error),
    /// The reader thread panicked (a bug).
    #[error("the scanner reader thread panicked")]
    Panicked,
}

/// What kind of file an opened path turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Device,
    Fifo,
    Regular,
}

/// How a connection to the path ended.
enum End {
    Stopped,
    Vanished,
    Finished(Result<(), SourceError>),
}

/// A scanner on a path, not yet started.
#[derive(Debug, Clone)]
pub struct ScannerSource {
    path: PathBuf,
    config: ScannerConfig,
    reconnect_interval: Duration,
    poll_interval: Duration,
}

impl ScannerSource {
    /// A source for `path` decoding with `config`; reconnects every 500 ms.
    pub fn new(path: impl Into<PathBuf>, config: ScannerConfig) -> Self {
        ScannerSource {
            path: path.into(),
            config,
            reconnect_interval: Duration::from_millis(500),
            poll_interval: Duration::from_millis(100),
        }
    }

    /// How often a vanished or missing device is looked for.
    pub fn reconnect_interval(mut self, every: Duration) -> Self {
        self.reconnect_interval = every;
        self
    }

    /// How long a read waits before checking the stop flag.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Starts the reader thread. A path that exists but can never be a source
    /// (a directory, a socket) is refused here, before any thread starts; a
    /// missing one is waited for (hot-plug).
    pub fn spawn(self) -> Result<ScanStream, SourceError> {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if let Err(OpenError::Wrong(kind)) = kind_of(&meta.file_type()) {
                return Err(SourceError::NotAnEventSource {
                    path: self.path.display().to_string(),
                    kind,
                });
            }
        }
        ScanStream::spawn("keel-scanner", move |tx, shared| {
            Reader::new(self, tx, shared).run()
        })
    }
}

/// Decodes a whole recorded stream synchronously (tests, tools).
pub fn decode_reader<R: Read>(
    reader: R,
    config: ScannerConfig,
) -> Result<Vec<ScanOutcome>, EventError> {
    let mut decoder = ScanDecoder::new(config);
    let mut out = Vec::new();
    for event in EventReader::new(reader) {
        if let Some(o) = decoder.feed(&event?) {
            out.push(o);
        }
    }
    Ok(out)
}

/// The reader thread's state.
struct Reader {
    source: ScannerSource,
    decoder: ScanDecoder,
    tx: Sender<ScanOutcome>,
    shared: Arc<Shared>,
}

impl Reader {
    fn new(source: ScannerSource, tx: Sender<ScanOutcome>, shared: Arc<Shared>) -> Self {
        Reader {
            decoder: ScanDecoder::new(source.config.clone()),
            source,
            tx,
            shared,
        }
    }

    fn path(&self) -> String {
        self.source.path.display().to_string()
    }

    fn stopped(&self) -> bool {
        self.shared.stopped()
    }

    fn run(mut self) -> Result<(), SourceError> {
        let mut last_open_error: Option<String> = None;
        while !self.stopped() {
            match open(&self.source.path) {
                Ok((file, kind)) => {
                    last_open_error = None;
                    log::info!("scanner: reading {} ({kind:?})", self.path());
                    self.shared.set_connected(true);
                    let end = self.pump(&file, kind);
                    self.shared.set_connected(false);
                    self.decoder.reset();
                    match end {
                        End::Stopped => return Ok(()),
                        End::Finished(result) => return result,
                        End::Vanished => {
                            log::warn!("scanner: {} vanished; waiting for it", self.path())
                        }
                    }
                }
                Err(OpenError::Wrong(kind)) => {
                    return Err(SourceError::NotAnEventSource {
                        path: self.path(),
                        kind,
                    })
                }
                Err(OpenError::Io(e)) => {
                    let text = e.to_string();
                    if last_open_error.as_deref() != Some(text.as_str()) {
                        log::warn!("scanner: cannot open {}: {text}; retrying", self.path());
                        last_open_error = Some(text);
                    }
                }
            }
            self.shared.pause(self.source.reconnect_interval);
        }
        Ok(())
    }

    fn pump(&mut self, file: &File, kind: Kind) -> End {
        if kind == Kind::Device {
            if let Err(e) = sys::grab(file.as_fd()) {
                log::warn!(
                    "scanner: cannot grab {} ({e}); its keys also reach other readers",
                    self.path()
                );
            }
        }
        let mut records = EventBuffer::new();
        let mut buf = [0u8; EVENT_SIZE * 64];
        let mut reader = file;
        loop {
            if self.stopped() {
                return End::Stopped;
            }
            if kind != Kind::Regular {
                match sys::wait_readable(file.as_fd(), self.source.poll_interval) {
                    Ok(Readiness::Readable) => {}
                    Ok(Readiness::Idle) => continue,
                    Ok(Readiness::Gone) => return self.failed(kind, None),
                    Err(e) => return self.failed(kind, Some(e)),
                }
            }
            match reader.read(&mut buf) {
                Ok(0) => {
                    return match kind {
                        Kind::Regular => self.finished(records.finish()),
                        Kind::Device | Kind::Fifo => self.failed(kind, None),
                    }
                }
                Ok(n) => {
                    for event in records.push(buf.get(..n).unwrap_or(&buf)) {
                        if let Some(outcome) = self.decoder.feed(&event) {
                            if self.tx.send(outcome).is_err() {
                                return End::Stopped;
                            }
                        }
                    }
                    self.shared.set_ignored_keys(self.decoder.ignored_keys());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return self.failed(kind, Some(e)),
            }
        }
    }

    fn finished(&self, result: Result<(), EventError>) -> End {
        End::Finished(result.map_err(|source| SourceError::Events {
            path: self.path(),
            source,
        }))
    }

    /// A device that fails has vanished; a FIFO or file that fails is broken.
    fn failed(&self, kind: Kind, error: Option<io::Error>) -> End {
        match (kind, error) {
            (Kind::Device, e) => {
                if let Some(e) = e {
                    log::debug!("scanner: {} read failed: {e}", self.path());
                }
                End::Vanished
            }
            (_, Some(e)) => self.finished(Err(EventError::Io(e))),
            (_, None) => self.finished(Err(EventError::Io(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "hang-up",
            )))),
        }
    }
}

/// Why a path could not be opened.
enum OpenError {
    /// Not there (yet), no permission (yet), ...: try again later.
    Io(io::Error),
    /// Something that can never be a source.
    Wrong(&'static str),
}

/// Opens the path the way its kind needs.
fn open(path: &Path) -> Result<(File, Kind), OpenError> {
    let meta = std::fs::metadata(path).map_err(OpenError::Io)?;
    let kind = kind_of(&meta.file_type())?;
    let file = OpenOptions::new()
        .read(true)
        .write(kind == Kind::Fifo)
        .open(path)
        .map_err(OpenError::Io)?;
    let opened = file.metadata().map_err(OpenError::Io)?;
    let kind = kind_of(&opened.file_type())?;
    Ok((file, kind))
}

fn kind_of(t: &std::fs::FileType) -> Result<Kind, OpenError> {
    if t.is_char_device() {
        Ok(Kind::Device)
    } else if t.is_fifo() {
        Ok(Kind::Fifo)
    } else if t.is_file() {
        Ok(Kind::Regular)
    } else if t.is_dir() {
        Err(OpenError::Wrong("directory"))
    } else if t.is_socket() {
        Err(OpenError::Wrong("socket"))
    } else {
        Err(OpenError::Wrong("block device"))
    }
}
