//! Streaming installation: verify the header, then stream each payload into
//! a sink while hashing it, with a bounded buffer.
//!
//! Owns the install loop, the [`PayloadSink`] contract and the progress
//! counter. The sink sees nothing until the header is verified; any failure
//! after that calls the sink's `abort`, so a half-written slot or directory
//! is never reported as written. It must not decide when to install or touch
//! the bootloader (the updater does).

mod model_dir_sink;
mod slot_sink;

pub use model_dir_sink::ModelDirSink;
pub use slot_sink::SlotSink;

use crate::keys::{encode_hex, KeyId};
use crate::manifest::{BundleKind, BundleManifest, PayloadEntry};
use crate::verify::{read_header, BundleError, InstallPolicy, Part, VerifiedHeader};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The one buffer payload bytes pass through (the most held in memory).
pub const BUFFER_SIZE: usize = 64 * 1024;

/// Where a verified bundle's payloads go. The install loop calls, in order:
/// `begin`, then per payload `start_payload`, `write`..., `finish_payload`
/// (only once its hash matched), then `commit`; on any failure after
/// `begin`, `abort` instead.
pub trait PayloadSink {
    /// The kind of bundle this sink takes.
    fn kind(&self) -> BundleKind;
    /// The header is verified; prepare the destination.
    fn begin(&mut self, header: &VerifiedHeader) -> io::Result<()>;
    /// A payload starts.
    fn start_payload(&mut self, entry: &PayloadEntry) -> io::Result<()>;
    /// The next bytes of the current payload (at most [`BUFFER_SIZE`]).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The current payload is complete and its hash matched.
    fn finish_payload(&mut self, entry: &PayloadEntry) -> io::Result<()>;
    /// Every payload is written and verified: make it durable (fsync).
    fn commit(&mut self) -> io::Result<()>;
    /// The install failed: drop what was written where possible.
    fn abort(&mut self);
}

/// A shared counter of bytes written out of the total, for `status`.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    /// A counter at 0 of 0.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Payload bytes written so far.
    pub fn written(&self) -> u64 {
        self.0.written.load(Ordering::Relaxed)
    }

    /// Payload bytes in the bundle (known once the header is verified).
    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }

    fn start(&self, total: u64) {
        self.0.written.store(0, Ordering::Relaxed);
        self.0.total.store(total, Ordering::Relaxed);
    }

    fn add(&self, n: u64) {
        self.0.written.fetch_add(n, Ordering::Relaxed);
    }
}

/// What an install wrote.
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The installed bundle's manifest.
    pub manifest: BundleManifest,
    /// The key that signed it.
    pub key_id: KeyId,
    /// Payload bytes written.
    pub bytes_written: u64,
}

/// Verifies a bundle from `reader` against `policy` and streams its payloads
/// into `sink`.
pub fn install(
    reader: &mut impl Read,
    policy: &InstallPolicy,
    sink: &mut dyn PayloadSink,
) -> Result<InstallReport, BundleError> {
    install_with_progress(reader, policy, sink, &Progress::new())
}

/// [`install`], counting bytes written into `progress`.
pub fn install_with_progress(
    reader: &mut impl Read,
    policy: &InstallPolicy,
    sink: &mut dyn PayloadSink,
    progress: &Progress,
) -> Result<InstallReport, BundleError> {
    let header = read_header(reader, policy)?;
    let manifest = &header.manifest;
    if manifest.kind != sink.kind() {
        return Err(BundleError::WrongKind {
            expected: sink.kind(),
            found: manifest.kind,
        });
    }
    let total = manifest.total_size().unwrap_or(u64::MAX);
    progress.start(total);
    log::info!(
        "installing {} bundle {} ({} payloads, {} bytes, key {})",
        manifest.kind,
        manifest.version,
        manifest.payloads.len(),
        total,
        manifest.key_id
    );
    let result = sink
        .begin(&header)
        .map_err(|source| BundleError::Sink {
            what: "the destination".into(),
            source,
        })
        .and_then(|()| stream_payloads(reader, manifest, header.payload_offset, sink, progress))
        .and_then(|()| {
            sink.commit().map_err(|source| BundleError::Sink {
                what: "commit".into(),
                source,
            })
        });
    match result {
        Ok(()) => Ok(InstallReport {
            key_id: header.key.key_id(),
            bytes_written: total,
            manifest: header.manifest,
        }),
        Err(e) => {
            log::warn!("install of {} aborted: {e}", header.manifest.version);
            sink.abort();
            Err(e)
        }
    }
}

/// Checks the payloads that follow a header (hashes, sizes, nothing after)
/// without writing them anywhere; `payload_offset` is where they start.
pub fn verify_payloads(
    reader: &mut impl Read,
    manifest: &BundleManifest,
    payload_offset: u64,
) -> Result<(), BundleError> {
    stream_payloads(
        reader,
        manifest,
        payload_offset,
        &mut Discard(manifest.kind),
        &Progress::new(),
    )
}

/// Streams every payload into `sink`, hashing as it goes, then checks that
/// nothing follows the last one.
fn stream_payloads(
    reader: &mut impl Read,
    manifest: &BundleManifest,
    payload_offset: u64,
    sink: &mut dyn PayloadSink,
    progress: &Progress,
) -> Result<(), BundleError> {
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut offset = payload_offset;
    for entry in &manifest.payloads {
        let what = || format!("payload {:?}", entry.name);
        let sink_error = |source| BundleError::Sink {
            what: what(),
            source,
        };
        sink.start_payload(entry).map_err(sink_error)?;
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        let mut remaining = entry.size;
        while remaining > 0 {
            let want = usize::try_from(remaining).map_or(BUFFER_SIZE, |r| r.min(BUFFER_SIZE));
            let n = match reader.read(&mut buffer[..want]) {
                Ok(0) => {
                    return Err(BundleError::Truncated {
                        part: Part::Payload(entry.name.clone()),
                        offset,
                    })
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(BundleError::Io(e)),
            };
            context.update(&buffer[..n]);
            sink.write(&buffer[..n]).map_err(sink_error)?;
            remaining -= n as u64;
            offset += n as u64;
            progress.add(n as u64);
        }
        let actual = context.finish();
        if actual.as_ref() != entry.sha256 {
            return Err(BundleError::HashMismatch {
                payload: entry.name.clone(),
                expected: encode_hex(&entry.sha256),
                actual: encode_hex(actual.as_ref()),
            });
        }
        sink.finish_payload(entry).map_err(sink_error)?;
    }
    loop {
        match reader.read(&mut buffer[..1]) {
            Ok(0) => return Ok(()),
            Ok(_) => return Err(BundleError::TrailingBytes { offset }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BundleError::Io(e)),
        }
    }
}

/// A sink that drops the bytes (payload checks without a destination).
struct Discard(BundleKind);

impl PayloadSink for Discard {
    fn kind(&self) -> BundleKind {
        self.0
    }
    fn begin(&mut self, _: &VerifiedHeader) -> io::Result<()> {
        Ok(())
    }
    fn start_payload(&mut self, _: &PayloadEntry) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn finish_payload(&mut self, _: &PayloadEntry) -> io::Result<()> {
        Ok(())
    }
    fn commit(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}
