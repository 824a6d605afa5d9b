//! A [`PayloadSink`] wrapper that logs an install's progress: where it
//! writes when it begins, a line each [`LOG_EVERY`] bytes written, and the
//! commit, so a slow or stuck slot write shows in the journal.
//!
//! Owns only those log lines; every byte and every decision goes to the
//! wrapped sink unchanged.

use keel_ota::install::PayloadSink;
use keel_ota::manifest::{BundleKind, PayloadEntry};
use keel_ota::verify::VerifiedHeader;
use std::io;

/// A progress line is logged each time this many more bytes are written.
pub const LOG_EVERY: u64 = 64 * 1024 * 1024;

/// Logs the progress of the sink it wraps.
pub struct LoggedSink<S> {
    inner: S,
    what: String,
    total: u64,
    written: u64,
    next_log: u64,
    lines: u32,
}

impl<S: PayloadSink> LoggedSink<S> {
    /// Wraps `inner`; `what` names the destination in the log ("slot B (/dev/vda3)").
    pub fn new(inner: S, what: impl Into<String>) -> LoggedSink<S> {
        LoggedSink {
            inner,
            what: what.into(),
            total: 0,
            written: 0,
            next_log: LOG_EVERY,
            lines: 0,
        }
    }

    /// Progress lines logged so far (besides begin and commit).
    pub fn progress_lines(&self) -> u32 {
        self.lines
    }
}

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

impl<S: PayloadSink> PayloadSink for LoggedSink<S> {
    fn kind(&self) -> BundleKind {
        self.inner.kind()
    }

    fn begin(&mut self, header: &VerifiedHeader) -> io::Result<()> {
        self.total = header.manifest.payloads.iter().map(|p| p.size).sum();
        self.written = 0;
        self.next_log = LOG_EVERY;
        log::info!(
            "ota: writing {} {} into {}: {} MiB",
            header.manifest.kind,
            header.manifest.version,
            self.what,
            mib(self.total)
        );
        self.inner.begin(header)
    }

    fn start_payload(&mut self, entry: &PayloadEntry) -> io::Result<()> {
        self.inner.start_payload(entry)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write(bytes)?;
        self.written += bytes.len() as u64;
        if self.written >= self.next_log {
            log::info!(
                "ota: writing {}: {} of {} MiB",
                self.what,
                mib(self.written),
                mib(self.total)
            );
            self.lines += 1;
            self.next_log += LOG_EVERY;
        }
        Ok(())
    }

    fn finish_payload(&mut self, entry: &PayloadEntry) -> io::Result<()> {
        self.inner.finish_payload(entry)
    }

    fn commit(&mut self) -> io::Result<()> {
        self.inner.commit()?;
        log::info!(
            "ota: {} written and synced ({} MiB)",
            self.what,
            mib(self.written)
        );
        Ok(())
    }

    fn abort(&mut self) {
        log::warn!(
            "ota: writing {} aborted after {} MiB",
            self.what,
            mib(self.written)
        );
        self.inner.abort()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_ota::install::{install_with_progress, Progress, SlotSink};
    use keel_ota::verify::InstallPolicy;
    use keel_ota::version::Version;

    #[test]
    fn the_wrapped_sink_gets_every_byte_and_a_line_per_64_mib() {
        let key = keel_ota::keys::generate(&ring::rand::SystemRandom::new()).unwrap();
        let payload: Vec<u8> = (0..(LOG_EVERY * 2 + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut bundle = Vec::new();
        keel_ota::bundle::write_bundle(
            &mut bundle,
            &key,
            &keel_ota::bundle::BundleSpec {
                kind: BundleKind::Firmware,
                version: Version {
                    major: 2,
                    minor: 0,
                    patch: 0,
                },
                min_version: None,
                boards: vec!["qemu-x86_64".into()],
                created_unix_ms: 0,
            },
            &[keel_ota::bundle::PayloadInput {
                name: "rootfs".into(),
                data: keel_ota::bundle::PayloadData::Bytes(payload.clone()),
            }],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let slot = dir.path().join("slot-b.img");
        let mut sink = LoggedSink::new(SlotSink::new(&slot), "slot B (test)");
        let policy = InstallPolicy {
            board: "qemu-x86_64".into(),
            running: Version {
                major: 1,
                minor: 0,
                patch: 0,
            },
            allow_downgrade: false,
            trusted: vec![key.public_key()],
        };
        let progress = Progress::new();
        install_with_progress(&mut bundle.as_slice(), &policy, &mut sink, &progress).unwrap();
        assert_eq!(sink.progress_lines(), 2);
        assert_eq!(progress.written(), payload.len() as u64);
        assert_eq!(std::fs::read(&slot).unwrap(), payload);
    }
}
