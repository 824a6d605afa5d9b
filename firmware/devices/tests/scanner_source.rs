//! `scanner::source` end to end: hot-plug on a character device (a
//! pseudo-terminal behind a by-id style symlink stands in for the evdev node,
//! which this machine cannot create), a path that appears later, a recording
//! cut short, a path that can never be a source, stop and drop.

use keel_devices::scanner::event::EventError;
use keel_devices::scanner::record::{Recorder, Timing};
use keel_devices::scanner::source::SourceError;
use keel_devices::scanner::{
    Layout, ScanOutcome, ScanStream, ScannerConfig, ScannerSource, Terminator,
};
use serialport::{SerialPort, TTYPort};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn scan_bytes(code: &str, start_us: i64) -> Vec<u8> {
    let mut r = Recorder::new(Layout::Us, Timing::scanner(9), start_us);
    r.scan(code, Terminator::Enter).unwrap();
    r.to_bytes()
}

fn next_code(stream: &ScanStream) -> String {
    match stream.recv_timeout(Duration::from_secs(5)) {
        Ok(ScanOutcome::Scan { code, .. }) => code,
        other => panic!("expected a scan, got {other:?}"),
    }
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn fast(path: &Path) -> ScannerSource {
    ScannerSource::new(path, ScannerConfig::default())
        .reconnect_interval(Duration::from_millis(50))
        .poll_interval(Duration::from_millis(20))
}

/// A "device" the source can open by path: the slave side of a pty pair.
fn plug(link: &Path) -> TTYPort {
    let (master, slave) = TTYPort::pair().unwrap();
    let target = slave.name().unwrap();
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(&target, link).unwrap();
    // The pty keeps its raw settings while the master is open.
    drop(slave);
    master
}

#[test]
fn a_device_that_vanishes_is_reopened_when_it_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("usb-Scanner-event-kbd");
    let mut master = plug(&link);
    let stream = fast(&link).spawn().unwrap();
    wait_until("connected", || stream.is_connected());
    master
        .write_all(&scan_bytes("11112222", 1_000_000))
        .unwrap();
    assert_eq!(next_code(&stream), "11112222");

    // Half a scan, then the cable is pulled: the half is dropped.
    let half = scan_bytes("99999999", 2_000_000);
    master.write_all(&half[..half.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(master);
    wait_until("disconnected", || !stream.is_connected());

    let mut master = plug(&link);
    wait_until("reconnected", || stream.is_connected());
    master
        .write_all(&scan_bytes("33334444", 3_000_000))
        .unwrap();
    assert_eq!(next_code(&stream), "33334444");
    assert!(stream.try_recv().is_err());
    stream.stop().unwrap();
}

#[test]
fn a_missing_path_is_waited_for() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("event7");
    let stream = fast(&fifo).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(120));
    assert!(!stream.is_connected());
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&scan_bytes("55556666", 1_000_000)).unwrap();
    assert_eq!(next_code(&stream), "55556666");
    drop(stream); // drop stops the reader too
}

#[test]
fn a_recording_cut_inside_a_record_decodes_what_it_has_then_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cut.events");
    let mut bytes = scan_bytes("12345678", 1_000_000);
    bytes.extend_from_slice(&[1, 2, 3, 4, 5]);
    std::fs::write(&path, &bytes).unwrap();
    let mut stream = fast(&path).spawn().unwrap();
    let got: Vec<ScanOutcome> = stream.by_ref().collect();
    assert!(matches!(&got[..], [ScanOutcome::Scan { code, .. }] if code == "12345678"));
    match stream.join() {
        Err(SourceError::Events {
            source: EventError::Truncated { trailing: 5, .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directory_is_refused_and_an_empty_file_just_ends() {
    let tmp = tempfile::tempdir().unwrap();
    // Refused at spawn, before any thread starts, so the caller can say so at once.
    assert!(matches!(
        fast(tmp.path()).spawn(),
        Err(SourceError::NotAnEventSource {
            kind: "directory",
            ..
        })
    ));
    let empty = tmp.path().join("empty.events");
    std::fs::write(&empty, b"").unwrap();
    let mut stream = fast(&empty).spawn().unwrap();
    assert_eq!(stream.by_ref().count(), 0);
    stream.join().unwrap();
}
