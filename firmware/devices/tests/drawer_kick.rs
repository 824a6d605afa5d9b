//! The cash drawer through an emulated printer's drawer port and on its own
//! serial port: kicks go out ahead of queued jobs and without paper, the
//! open/closed state comes from DLE EOT, and a drawer that never reports
//! closed ends `wait_closed` with an error, not a hang.

use keel_devices::drawer::{Drawer, DrawerError, SerialDrawer};
use keel_devices::emulator::EmulatedPrinter;
use keel_devices::escpos::DrawerPin;
use keel_devices::link::{LinkSpec, Timeouts};
use keel_devices::printer::{KickError, Printer, PrinterConfig, PrinterHandle};
use keel_devices::spool::JobKind;
use keel_devices::status::DrawerSensor;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

fn fast() -> PrinterConfig {
    PrinterConfig {
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            read: Duration::from_millis(300),
            write: Duration::from_millis(800),
        },
        status_timeout: Duration::from_millis(150),
        retry_min: Duration::from_millis(30),
        retry_max: Duration::from_millis(150),
        idle_status_every: Duration::from_millis(150),
        kick_deadline: Duration::from_millis(800),
        ..PrinterConfig::default()
    }
}

fn start(path: &Path, spool: &Path, cfg: PrinterConfig) -> PrinterHandle {
    Printer::start(LinkSpec::serial(path, 9600), spool, cfg).unwrap()
}

fn wait(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(8);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_kick_goes_out_ahead_of_queued_jobs() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = start(&path, spool.path(), fast());
    // The printer does not answer, so jobs queue up unsent.
    emu.set_silent(true);
    let jobs: Vec<Vec<u8>> = (0..3)
        .map(|n| format!("\x1b@job {n}\n\x1dV\x00").into_bytes())
        .collect();
    for (n, job) in jobs.iter().enumerate() {
        printer
            .submit(JobKind::Receipt, &format!("r{n}"), job)
            .unwrap();
    }
    wait("jobs held", || {
        let v = printer.status();
        v.pending == 3 && !v.status.reachable
    });
    let drawer = Drawer::ViaPrinter(printer.clone(), DrawerPin::Pin2);
    drawer.open().unwrap();
    wait("the kick", || emu.kicks().len() == 1);
    let kicks = emu.kicks();
    assert_eq!(kicks[0].pin, Some(DrawerPin::Pin2));
    assert_eq!((kicks[0].on_ms, kicks[0].off_ms), (50, 500));
    assert_eq!(printer.status().pending, 3);

    emu.set_silent(false);
    wait("jobs printed", || printer.status().printed_total == 3);
    let received = emu.received();
    let kick_at = find(&received, b"\x1bp\x00\x19\xfa").unwrap();
    for job in &jobs {
        assert!(find(&received, job).unwrap() > kick_at);
    }
    assert_eq!(emu.decoded().kicks.len(), 1);
}

#[test]
fn the_drawer_kicks_without_paper_and_reports_open_then_closed() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = start(&path, spool.path(), fast());
    let drawer = Drawer::ViaPrinter(printer.clone(), DrawerPin::Pin5);
    assert_eq!(drawer.status(), Some(false));
    emu.set_paper_out(true);
    drawer.open().unwrap();
    wait("the kick", || emu.kicks().len() == 1);
    let kicks = emu.kicks();
    assert!(kicks[0].while_stopped);
    assert_eq!(kicks[0].pin, Some(DrawerPin::Pin5));
    assert_eq!(drawer.status(), Some(true));
    assert!(matches!(
        drawer.wait_closed(Duration::from_millis(300)),
        Err(DrawerError::NotClosed(_))
    ));
    // The cashier closes it a little later.
    let closer = {
        let model = emu.model();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            model.set_drawer_open(false);
        })
    };
    drawer.wait_closed(Duration::from_secs(5)).unwrap();
    closer.join().unwrap();
    assert_eq!(drawer.status(), Some(false));
    assert!(printer.status().status.drawer_open.is_some());
}

#[test]
fn a_drawer_that_never_reports_closed_times_out() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = start(&path, spool.path(), fast());
    emu.set_drawer_never_closes(true);
    let drawer = Drawer::ViaPrinter(printer, DrawerPin::Pin2);
    drawer.open().unwrap();
    emu.set_drawer_open(false);
    let t = Instant::now();
    let e = drawer.wait_closed(Duration::from_millis(600)).unwrap_err();
    assert!(matches!(e, DrawerError::NotClosed(_)), "{e}");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(2),
        "{took:?}"
    );

    // A printer that goes silent: the state is unknown and the wait still ends.
    emu.set_silent(true);
    assert_eq!(drawer.status(), None);
    assert!(drawer.wait_closed(Duration::from_millis(300)).is_err());
}

#[test]
fn without_a_sensor_the_state_is_unknown() {
    let (_emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let cfg = PrinterConfig {
        drawer_sensor: DrawerSensor::Absent,
        ..fast()
    };
    let drawer = Drawer::ViaPrinter(start(&path, spool.path(), cfg), DrawerPin::Pin2);
    assert!(!drawer.has_sensor());
    assert_eq!(drawer.status(), None);
    assert!(matches!(
        drawer.wait_closed(Duration::from_secs(1)),
        Err(DrawerError::NoSensor)
    ));
}

#[test]
fn a_kick_to_an_absent_printer_is_given_up_not_repeated_later() {
    let spool = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("printer");
    let printer = start(&path, spool.path(), fast());
    let drawer = Drawer::ViaPrinter(printer.clone(), DrawerPin::Pin2);
    let t = Instant::now();
    let e = drawer.open().unwrap_err();
    assert!(matches!(e, DrawerError::Kick(KickError::Expired(_))), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // The printer appears afterwards: the expired kick must not fire.
    let (emu, real) = EmulatedPrinter::start().unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    printer.submit(JobKind::Test, "t", b"\x1b@after\n").unwrap();
    wait("the job printed", || printer.status().printed_total == 1);
    assert!(emu.kicks().is_empty());
}

#[test]
fn a_serial_drawer_gets_its_byte_sequence() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let drawer = Drawer::Serial(SerialDrawer::new(LinkSpec::serial(&path, 9600)));
    drawer.open().unwrap();
    wait("the kick", || emu.kicks().len() == 1);
    assert_eq!(emu.received(), b"\x1bp\x00\x19\xfa");
    assert_eq!(drawer.status(), None);
    assert!(matches!(
        drawer.wait_closed(Duration::from_millis(100)),
        Err(DrawerError::NoSensor)
    ));
    let custom = Drawer::Serial(
        SerialDrawer::new(LinkSpec::serial(&path, 9600)).with_kick(b"\x07".to_vec()),
    );
    custom.open().unwrap();
    wait("the custom bytes", || emu.received().ends_with(b"\x07"));
    emu.unplug();
    assert!(matches!(drawer.open(), Err(DrawerError::Link(_))));
}
