//! Bytes from peripherals: ESC/POS `DLE EOT` status replies through
//! `keel_devices::status::query`, a keyboard-wedge scanner's kernel
//! `input_event` stream through `scanner::source::decode_reader` (event
//! reader and wedge decoder), a serial scanner's lines through
//! `scanner::serial::LineDecoder` and a scale's serial stream through
//! `scale::FrameParser` (Toledo and CAS framing and parsers); a print job
//! file read back from the durable spool (`keel_devices::spool::Spool::open`).
//!
//! Properties: a status is only built from bytes with the reply's fixed bits;
//! a scan is non-empty text with no control character but GS; a stable
//! reading weighs more than zero and, within the range the protocol's encoder
//! writes, a reading re-encoded parses back the same; a job file is either
//! indexed as its job or set aside as corrupt, never lost and never fatal.

use keel_devices::link::Link;
use keel_devices::scale::{cas, toledo, FrameParser, ScaleProtocol, ScaleState};
use keel_devices::scanner::serial::LineDecoder;
use keel_devices::scanner::source::decode_reader;
use keel_devices::scanner::{Layout, ScanOutcome, ScannerConfig, SerialScannerConfig, Terminator};
use keel_devices::status::reply::is_status_byte;
use keel_devices::status::{query, DrawerSensor};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Duration;

/// A printer link that answers with recorded reply bytes, one per read, and
/// times out once they are used up.
struct ReplayLink {
    replies: VecDeque<u8>,
}

impl Read for ReplayLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.replies.pop_front(), buf.first_mut()) {
            (Some(b), Some(slot)) => {
                *slot = b;
                Ok(1)
            }
            (Some(b), None) => {
                self.replies.push_front(b);
                Ok(0)
            }
            (None, _) => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

impl Write for ReplayLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Link for ReplayLink {
    fn device(&self) -> &str {
        "replay"
    }
    fn set_read_timeout(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }
    fn discard_input(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `data` as a printer's replies to successive status queries.
pub fn escpos_status(data: &[u8]) {
    let mut link = ReplayLink {
        replies: data.iter().copied().collect(),
    };
    let sensors = [
        DrawerSensor::OpenWhenHigh,
        DrawerSensor::OpenWhenLow,
        DrawerSensor::Absent,
    ];
    let mut i = 0;
    while !link.replies.is_empty() {
        let before: Vec<u8> = link.replies.iter().take(4).copied().collect();
        let sensor = sensors[i % sensors.len()];
        i += 1;
        if let Ok(status) = query(&mut link, Duration::from_millis(1), sensor) {
            assert!(status.reachable);
            assert!(
                before.iter().all(|&b| is_status_byte(b)),
                "status from {before:02x?}"
            );
            assert_eq!(status.drawer_open.is_none(), sensor == DrawerSensor::Absent);
        }
    }
}

/// The decoder settings the first byte of a scanner input selects.
fn scanner_config(selector: u8) -> ScannerConfig {
    ScannerConfig {
        layout: if selector & 1 == 0 {
            Layout::Us
        } else {
            Layout::German
        },
        terminator: if selector & 2 == 0 {
            Terminator::Enter
        } else {
            Terminator::Tab
        },
        prefix: if selector & 4 == 0 {
            String::new()
        } else {
            "]E0{".into()
        },
        suffix: if selector & 8 == 0 {
            String::new()
        } else {
            "}".into()
        },
        max_gap_ms: if selector & 16 == 0 { 50 } else { 5 },
        min_len: if selector & 32 == 0 { 4 } else { 1 },
    }
}

/// The first byte a seed needs to decode with `config`'s layout and
/// terminator and no prefix or suffix.
pub fn scanner_selector(layout: Layout, terminator: Terminator) -> u8 {
    u8::from(layout == Layout::German) | (u8::from(terminator == Terminator::Tab) << 1)
}

/// Checks a scan the decoders return.
fn check_scan(outcome: &ScanOutcome) {
    if let ScanOutcome::Scan { code, .. } = outcome {
        assert!(!code.is_empty(), "empty scan");
        // GS (0x1d) is the GS1 field separator scanners send inside a code.
        assert!(
            !code.chars().any(|c| c.is_control() && c != '\u{1d}'),
            "control characters in {code:?}"
        );
    }
}

/// `data` as a selector byte and a recorded `input_event` stream.
pub fn scanner_events(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    if let Ok(outcomes) = decode_reader(stream, scanner_config(selector)) {
        outcomes.iter().for_each(check_scan);
    }
}

/// `data` as a selector byte and bytes from a serial scanner, one millisecond apart.
pub fn scanner_serial(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let config = scanner_config(selector);
    let mut decoder = LineDecoder::new(SerialScannerConfig {
        prefix: config.prefix,
        suffix: config.suffix,
        min_len: config.min_len,
    });
    for (i, &b) in stream.iter().enumerate() {
        if let Some(outcome) = decoder.push(b, i as i64) {
            check_scan(&outcome);
        }
    }
}

/// `data` as a protocol selector byte and a scale's serial stream.
pub fn scale_frames(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let protocol = match selector % 4 {
        0 => ScaleProtocol::ToledoContinuous,
        1 => ScaleProtocol::Toledo8217,
        2 => ScaleProtocol::CasContinuous,
        _ => ScaleProtocol::CasRequest,
    };
    let mut parser = FrameParser::new(protocol);
    for &b in stream {
        if let Some(Ok(reading)) = parser.push(b) {
            if reading.state == ScaleState::Stable {
                assert!(reading.grams > 0, "stable reading of {} g", reading.grams);
            }
            if protocol == ScaleProtocol::Toledo8217 {
                // A demand reply's weight field is `NN.NNN` kg.
                assert!(
                    reading.grams <= 99_999,
                    "demand reply of {} g",
                    reading.grams
                );
            }
            let framed = match protocol {
                ScaleProtocol::ToledoContinuous => toledo::encode_continuous(&reading),
                ScaleProtocol::Toledo8217 => toledo::encode_demand(&reading),
                _ => cas::encode(&reading),
            };
            let mut check = FrameParser::new(protocol);
            let back: Vec<_> = framed.iter().filter_map(|&b| check.push(b)).collect();
            if encodable(protocol, &reading) {
                assert_eq!(
                    back,
                    vec![Ok(reading)],
                    "reading does not re-encode: {reading:?}"
                );
            }
        }
    }
}

/// Whether the protocol's encoder (the emulator's) can write `reading` as it
/// is: continuous Toledo and CAS up to 999.999 kg, demand replies 0 to
/// 99.999 kg.
fn encodable(protocol: ScaleProtocol, reading: &keel_devices::scale::ScaleReading) -> bool {
    let g = reading.grams;
    match protocol {
        ScaleProtocol::Toledo8217 => (0..=99_999).contains(&g),
        _ => g.unsigned_abs() <= 999_999,
    }
}

/// Seed bytes for [`scale_frames`]: the selector for `protocol`.
pub fn scale_selector(protocol: ScaleProtocol) -> u8 {
    match protocol {
        ScaleProtocol::ToledoContinuous => 0,
        ScaleProtocol::Toledo8217 => 1,
        ScaleProtocol::CasContinuous => 2,
        ScaleProtocol::CasRequest => 3,
    }
}

/// Magic and header length of a spool job file (`keel_devices::spool`'s
/// record layout: magic, payload length u32 LE, CRC-32 u32 LE).
const JOB_HEADER_LEN: usize = 16;

thread_local! {
    /// Where the spools of this thread's inputs are made (tmpfs when there is one).
    static SPOOL_ROOT: Option<tempfile::TempDir> = {
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() {
            tempfile::tempdir_in(shm).ok()
        } else {
            tempfile::tempdir().ok()
        }
    };
}

/// `data` as a print job file found in the spool's pending area at start:
/// a mode byte (bit 0: make the header's length and CRC right, so the job
/// decoder is reached) and the file's bytes. The spool is opened as the
/// printer worker opens it after a restart.
pub fn print_spool_job(data: &[u8]) {
    use keel_devices::spool::{JobId, Spool};
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let mut file = file.to_vec();
    if mode & 1 == 1 && file.len() >= JOB_HEADER_LEN {
        let payload_len = (file.len() - JOB_HEADER_LEN) as u32;
        let crc = keel_ota::ubootenv::crc32(&file[JOB_HEADER_LEN..]);
        file[8..12].copy_from_slice(&payload_len.to_le_bytes());
        file[12..16].copy_from_slice(&crc.to_le_bytes());
    }
    SPOOL_ROOT.with(|root| {
        let Some(root) = root else {
            return;
        };
        let dir = root.path().join("spool");
        let _ = std::fs::remove_dir_all(&dir);
        let pending = dir.join("pending");
        std::fs::create_dir_all(&pending).expect("creating the spool's pending area");
        let name = "00000000000000000001.job";
        std::fs::write(pending.join(name), &file).expect("writing the job file");
        let spool = Spool::open(&dir).expect("a damaged job file must not stop the spool");
        let set_aside = pending.join(format!("{name}.corrupt")).exists();
        match spool.pending().as_slice() {
            [] => assert!(set_aside, "the job file was neither indexed nor set aside"),
            [meta] => {
                assert!(!set_aside, "indexed and set aside");
                assert_eq!(meta.id, JobId(1), "the job in file 1 has another id");
                let job = spool.get(JobId(1)).expect("an indexed job reads back");
                assert_eq!(job.meta(), *meta);
            }
            more => panic!("one file gave {} jobs", more.len()),
        }
    });
}
