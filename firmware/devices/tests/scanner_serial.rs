//! Serial scanners through a pseudo-terminal: lines in, codes out, and the
//! port reopened after it vanishes (the scanner's end of the pty closes).

use keel_devices::scanner::{ScanOutcome, ScanStream, SerialScannerConfig, SerialScannerSource};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn next(stream: &ScanStream) -> ScanOutcome {
    stream.recv_timeout(Duration::from_secs(5)).unwrap()
}

fn plug(link: &Path) -> TTYPort {
    let (scanner_end, host_end) = TTYPort::pair().unwrap();
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(host_end.name().unwrap(), link).unwrap();
    drop(host_end);
    scanner_end
}

#[test]
fn serial_scanner_lines_and_replug() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("ttyACM-scanner");
    let mut scanner = plug(&link);
    let config = SerialScannerConfig {
        prefix: "]E0".into(),
        suffix: String::new(),
        min_len: 8,
    };
    let stream = SerialScannerSource::new(&link, 9600, config)
        .reconnect_interval(Duration::from_millis(50))
        .spawn()
        .unwrap();
    wait_until("connected", || stream.is_connected());
    scanner
        .write_all(b"]E04006381333931\r\n]E0123\r\n")
        .unwrap();
    assert!(matches!(next(&stream), ScanOutcome::Scan { code, .. } if code == "4006381333931"));
    assert!(matches!(next(&stream), ScanOutcome::Rejected { .. }));

    drop(scanner);
    wait_until("disconnected", || !stream.is_connected());
    let mut scanner = plug(&link);
    wait_until("reconnected", || stream.is_connected());
    scanner.write_all(b"]E096385074\r").unwrap();
    assert!(matches!(next(&stream), ScanOutcome::Scan { code, .. } if code == "96385074"));
    stream.stop().unwrap();
}
