//! Recorded kernel event streams under `tests/recordings/`, replayed through
//! `scanner::source` (the path the terminal's `--scanner-events` uses), from
//! a regular file and through a FIFO. The recordings are made by
//! `recordings()` below; `recordings_match_their_generator` keeps them in
//! step, `regenerate_recordings` (ignored) rewrites them.

use keel_devices::scanner::record::{Recorder, Timing};
use keel_devices::scanner::{
    Layout, RejectReason, ScanOutcome, ScannerConfig, ScannerSource, Terminator,
};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// 2024-06-10 06:13:20 UTC on the event clock, in microseconds.
const T0: i64 = 1_718_000_000_000_000;
const EAN13: &str = "4006381333931";
const EAN8: &str = "96385074";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings")
}

/// One recording: its file name, the bytes, the decoder settings, and the
/// outcomes it must decode to.
struct Recording {
    name: &'static str,
    bytes: Vec<u8>,
    config: ScannerConfig,
    expect: Vec<Expect>,
}

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Code(&'static str),
    TooSlow,
}

fn us() -> ScannerConfig {
    ScannerConfig::default()
}

fn recordings() -> Vec<Recording> {
    let mut v = Vec::new();

    let mut r = Recorder::new(Layout::Us, Timing::scanner(1), T0);
    r.scan(EAN13, Terminator::Enter).unwrap();
    v.push(Recording {
        name: "ean13_us.events",
        bytes: r.to_bytes(),
        config: us(),
        expect: vec![Expect::Code(EAN13)],
    });

    let de = ScannerConfig {
        layout: Layout::German,
        ..us()
    };
    let mut r = Recorder::new(Layout::German, Timing::scanner(2), T0);
    r.scan(EAN13, Terminator::Enter).unwrap();
    v.push(Recording {
        name: "ean13_de.events",
        bytes: r.to_bytes(),
        config: de.clone(),
        expect: vec![Expect::Code(EAN13)],
    });

    // A CODE128 label whose keys differ between layouts: Y/Z, '-', '/'.
    let mut r = Recorder::new(Layout::German, Timing::scanner(3), T0);
    r.scan("ZY-12/yz", Terminator::Enter).unwrap();
    v.push(Recording {
        name: "code128_de.events",
        bytes: r.to_bytes(),
        config: de,
        expect: vec![Expect::Code("ZY-12/yz")],
    });

    let mut r = Recorder::new(Layout::Us, Timing::scanner(4), T0);
    r.scan("]E0{4006381333931}", Terminator::Tab).unwrap();
    v.push(Recording {
        name: "prefix_suffix_tab_us.events",
        bytes: r.to_bytes(),
        config: ScannerConfig {
            prefix: "]E0{".into(),
            suffix: "}".into(),
            terminator: Terminator::Tab,
            ..us()
        },
        expect: vec![Expect::Code(EAN13)],
    });

    let mut r = Recorder::new(Layout::Us, Timing::person(5), T0);
    r.scan(EAN13, Terminator::Enter).unwrap();
    v.push(Recording {
        name: "typed_slowly_us.events",
        bytes: r.to_bytes(),
        config: us(),
        expect: vec![Expect::TooSlow],
    });

    // Letters, both shift keys, and caps lock on for part of it.
    let mut r = Recorder::new(Layout::Us, Timing::scanner(6), T0);
    r.type_text("Keel-SKU_").unwrap();
    r.set_right_shift(true);
    r.type_text("0042A~b").unwrap();
    r.toggle_caps_lock();
    r.type_text("x").unwrap();
    r.toggle_caps_lock();
    r.terminate(Terminator::Enter);
    v.push(Recording {
        name: "code128_shifted_us.events",
        bytes: r.to_bytes(),
        config: us(),
        expect: vec![Expect::Code("Keel-SKU_0042A~bX")],
    });

    let mut r = Recorder::new(Layout::Us, Timing::scanner(7), T0);
    r.scan(EAN13, Terminator::Enter).unwrap();
    r.pause_ms(180);
    r.scan(EAN8, Terminator::Enter).unwrap();
    v.push(Recording {
        name: "two_scans_us.events",
        bytes: r.to_bytes(),
        config: us(),
        expect: vec![Expect::Code(EAN13), Expect::Code(EAN8)],
    });
    v
}

fn check(name: &str, got: &[ScanOutcome], expect: &[Expect]) {
    let got: Vec<Expect> = got
        .iter()
        .map(|o| match o {
            ScanOutcome::Scan { code, .. } => {
                Expect::Code(Box::leak(code.clone().into_boxed_str()))
            }
            ScanOutcome::Rejected {
                reason: RejectReason::TooSlow { .. },
            } => Expect::TooSlow,
            other => panic!("{name}: unexpected {other:?}"),
        })
        .collect();
    assert_eq!(got, expect, "{name}");
}

#[test]
#[ignore = "rewrites tests/recordings; run after changing recordings()"]
fn regenerate_recordings() {
    for r in recordings() {
        std::fs::write(dir().join(r.name), &r.bytes).unwrap();
    }
}

#[test]
fn recordings_match_their_generator() {
    for r in recordings() {
        let on_disk = std::fs::read(dir().join(r.name)).unwrap();
        assert!(
            on_disk == r.bytes,
            "{} differs from recordings(); regenerate",
            r.name
        );
        assert_eq!(on_disk.len() % 24, 0);
    }
}

#[test]
fn each_recording_from_a_regular_file() {
    for r in recordings() {
        let stream = ScannerSource::new(dir().join(r.name), r.config.clone())
            .spawn()
            .unwrap();
        let got: Vec<ScanOutcome> = stream.by_ref_collect();
        check(r.name, &got, &r.expect);
    }
}

/// Collects everything until the stream ends (a regular file's end).
trait Collect {
    fn by_ref_collect(self) -> Vec<ScanOutcome>;
}

impl Collect for keel_devices::scanner::ScanStream {
    fn by_ref_collect(mut self) -> Vec<ScanOutcome> {
        let got: Vec<ScanOutcome> = self.by_ref().collect();
        self.join().unwrap();
        got
    }
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

/// Writes `bytes` into the FIFO in odd-sized pieces (records split across writes).
fn feed_fifo(path: &Path, bytes: &[u8]) {
    let mut w = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for piece in bytes.chunks(7 * 24 + 5) {
        w.write_all(piece).unwrap();
    }
}

fn recv_n(stream: &keel_devices::scanner::ScanStream, n: usize) -> Vec<ScanOutcome> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        if let Ok(o) = stream.recv_timeout(Duration::from_millis(50)) {
            got.push(o);
        }
    }
    got
}

#[test]
fn each_recording_through_a_fifo_which_keeps_being_read() {
    let tmp = tempfile::tempdir().unwrap();
    for r in recordings() {
        let fifo = tmp.path().join(r.name);
        mkfifo(&fifo);
        let stream = ScannerSource::new(&fifo, r.config.clone()).spawn().unwrap();
        // Two writers one after the other: the end of the first is not the end.
        feed_fifo(&fifo, &r.bytes);
        check(r.name, &recv_n(&stream, r.expect.len()), &r.expect);
        feed_fifo(&fifo, &r.bytes);
        check(r.name, &recv_n(&stream, r.expect.len()), &r.expect);
        assert!(stream.is_connected());
        assert!(stream.try_recv().is_err(), "{}: nothing more", r.name);
        stream.stop().unwrap();
    }
}

#[test]
fn the_german_label_read_as_us_is_wrong() {
    // The layout matters: the same events decode differently.
    let bytes = std::fs::read(dir().join("code128_de.events")).unwrap();
    let out = keel_devices::scanner::source::decode_reader(&bytes[..], us()).unwrap();
    assert!(
        matches!(&out[..], [ScanOutcome::Scan { code, .. }] if code == "YZ/12&zy"),
        "{out:?}"
    );
}
