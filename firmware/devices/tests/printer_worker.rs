//! The print worker against emulated printers on real pseudo-terminals and
//! loopback TCP, including their failures: paper out mid-receipt, unplugged
//! mid-job, no status reply, connection refused. Every wait is bounded; a
//! hang fails the test instead of blocking it.

use keel_devices::emulator::{EmulatedPrinter, EmulatedTcpPrinter};
use keel_devices::link::{self, LinkSpec, Timeouts};
use keel_devices::printer::{Printer, PrinterConfig, PrinterHandle, PrinterView};
use keel_devices::spool::JobKind;
use keel_devices::status::{self, DrawerSensor, StatusError};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(8);

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
        ..PrinterConfig::default()
    }
}

fn serial(path: &Path) -> LinkSpec {
    LinkSpec::serial(path, 9600)
}

/// A receipt-like job, unique per `n`, ending with a cut.
fn receipt(n: usize, lines: usize) -> Vec<u8> {
    let mut b = b"\x1b@".to_vec();
    for i in 0..lines {
        b.extend_from_slice(
            format!("receipt {n} line {i:03} ...........................\n").as_bytes(),
        );
    }
    b.extend_from_slice(b"\x1dV\x00");
    b
}

fn wait_view(p: &PrinterHandle, what: &str, done: impl Fn(&PrinterView) -> bool) -> PrinterView {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = p.status();
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last view {v:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn prints_a_job_and_reports_ready() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    let job = receipt(1, 3);
    let id = printer.submit(JobKind::Receipt, "receipt 1", &job).unwrap();
    let v = wait_view(&printer, "the job printed", |v| v.printed_total == 1);
    assert_eq!(v.pending, 0);
    assert!(v.status.ready(), "{v:?}");
    assert_eq!(emu.count_printed(&job), 1);
    let decoded = emu.decoded();
    assert_eq!(
        decoded.lines[0].text,
        "receipt 1 line 000 ..........................."
    );
    assert_eq!(decoded.cuts.len(), 1);
    assert_eq!(printer.printed().last().map(|m| m.id), Some(id));

    // A reprint is a new job with the same bytes.
    let again = printer.reprint(id).unwrap();
    assert!(again > id);
    wait_view(&printer, "the reprint", |v| v.printed_total == 2);
    assert_eq!(emu.count_printed(&job), 2);
    assert_eq!(printer.printed().last().unwrap().kind, JobKind::Reprint);
}

#[test]
fn paper_out_mid_receipt_holds_the_job_and_submit_never_blocks() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    let first = receipt(1, 40);
    emu.paper_out_after(first.len() / 3);
    printer
        .submit(JobKind::Receipt, "receipt 1", &first)
        .unwrap();
    let v = wait_view(&printer, "paper out seen", |v| {
        v.status.paper_out && v.last_error.as_deref().unwrap_or("").contains("paper out")
    });
    assert_eq!(v.pending, 1, "the cut-off job is still pending: {v:?}");
    assert_eq!(v.printed_total, 0);

    // Sales go on: each submit returns once durable, in milliseconds.
    let mut slowest = Duration::ZERO;
    let others: Vec<Vec<u8>> = (2..12).map(|n| receipt(n, 5)).collect();
    for (i, job) in others.iter().enumerate() {
        let t = Instant::now();
        printer
            .submit(JobKind::Receipt, &format!("receipt {}", i + 2), job)
            .unwrap();
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "submit took {slowest:?}"
    );
    thread::sleep(Duration::from_millis(300));
    let v = printer.status();
    assert_eq!((v.pending, v.printed_total), (11, 0), "{v:?}");
    assert_eq!(emu.cuts(), 0);

    emu.set_paper_out(false);
    let v = wait_view(&printer, "everything printed", |v| v.printed_total == 11);
    assert_eq!(v.pending, 0);
    assert_eq!(v.last_error, None);
    // The cut-off receipt printed whole exactly once more, then the others in order.
    assert_eq!(emu.count_printed(&first), 1);
    assert_eq!(emu.cuts(), 11);
    let received = emu.received();
    let mut at = 0;
    for job in std::iter::once(&first).chain(&others) {
        assert_eq!(emu.count_printed(job), 1);
        let pos = find(&received[at..], job).expect("in order") + at;
        at = pos + job.len();
    }
}

#[test]
fn printer_unplugged_mid_job_then_replugged_prints_the_job() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    wait_view(&printer, "first status", |v| v.status.reachable);
    let job = receipt(1, 60);
    emu.unplug_after(700);
    let t = Instant::now();
    printer.submit(JobKind::Receipt, "receipt 1", &job).unwrap();
    assert!(t.elapsed() < Duration::from_millis(500));
    let v = wait_view(&printer, "unreachable", |v| {
        !v.status.reachable && v.last_error.is_some() && v.printing.is_none()
    });
    assert!(!emu.plugged());
    assert_eq!((v.pending, v.printed_total), (1, 0), "{v:?}");
    // Still failing while unplugged, without hanging the handle.
    thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let v = printer.status();
    assert!(t.elapsed() < Duration::from_millis(100));
    assert_eq!(v.pending, 1);

    emu.replug().unwrap();
    wait_view(&printer, "printed after replug", |v| {
        v.printed_total == 1 && v.pending == 0
    });
    assert_eq!(emu.count_printed(&job), 1);
    assert_eq!(emu.cuts(), 1);
}

#[test]
fn a_printer_that_stops_answering_shows_unreachable_and_prints_when_back() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    wait_view(&printer, "first status", |v| v.status.reachable);
    emu.set_silent(true);
    let job = receipt(1, 5);
    let t = Instant::now();
    printer.submit(JobKind::Receipt, "receipt 1", &job).unwrap();
    assert!(t.elapsed() < Duration::from_millis(500));
    let v = wait_view(&printer, "unreachable", |v| {
        !v.status.reachable && v.last_error.as_deref().unwrap_or("").contains("no reply")
    });
    assert_eq!(v.pending, 1);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(
        emu.count_printed(&job),
        0,
        "nothing is sent to a printer that does not answer"
    );

    // Shutting down while it is silent is bounded too.
    let t = Instant::now();
    printer.shutdown();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    drop(printer);

    // The job is still spooled; a new worker prints it once the printer answers.
    emu.set_silent(false);
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    wait_view(&printer, "printed", |v| v.printed_total == 1);
    assert_eq!(emu.count_printed(&job), 1);
}

#[test]
fn jobs_spooled_while_the_printer_is_absent_print_after_a_restart() {
    let spool = tempfile::tempdir().unwrap();
    let absent = spool.path().join("no-such-tty");
    let jobs: Vec<Vec<u8>> = (1..=3).map(|n| receipt(n, 2)).collect();
    {
        let printer = Printer::start(serial(&absent), spool.path(), fast()).unwrap();
        for (i, job) in jobs.iter().enumerate() {
            printer
                .submit(JobKind::Receipt, &format!("r{i}"), job)
                .unwrap();
        }
        let v = wait_view(&printer, "open failure", |v| v.last_error.is_some());
        let err = v.last_error.unwrap();
        assert!(
            err.contains("no-such-tty"),
            "the error names the device: {err}"
        );
        assert_eq!(v.pending, 3);
        // Dropped without shutdown: the process dies.
    }
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    wait_view(&printer, "all printed", |v| v.printed_total == 3);
    let received = emu.received();
    let positions: Vec<usize> = jobs.iter().map(|j| find(&received, j).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in order");
}

#[test]
fn status_query_over_a_pty() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let timeouts = fast().timeouts;
    let mut link = link::open(&serial(&path), timeouts).unwrap();
    let t = Duration::from_millis(300);
    let s = status::query(link.as_mut(), t, DrawerSensor::OpenWhenHigh).unwrap();
    assert!(s.ready() && s.drawer_open == Some(false), "{s:?}");
    emu.set_paper_near_end(true);
    emu.set_cover_open(true);
    emu.set_drawer_open(true);
    let s = status::query(link.as_mut(), t, DrawerSensor::OpenWhenHigh).unwrap();
    assert!(s.reachable && s.cover_open && s.paper_near_end && !s.paper_out);
    assert!(!s.online && !s.ready());
    assert_eq!(s.drawer_open, Some(true));
    assert_eq!(
        status::query(link.as_mut(), t, DrawerSensor::Absent)
            .unwrap()
            .drawer_open,
        None
    );
    emu.set_cover_open(false);
    emu.set_paper_out(true);
    let s = status::query(link.as_mut(), t, DrawerSensor::OpenWhenLow).unwrap();
    assert!(s.paper_out && !s.ready());
    assert_eq!(s.drawer_open, Some(false));
    emu.set_paper_out(false);
    emu.set_paper_near_end(false);
    emu.set_error(true);
    let s = status::query(link.as_mut(), t, DrawerSensor::OpenWhenHigh).unwrap();
    assert!(
        s.reachable && s.error && !s.paper_out && !s.cover_open,
        "{s:?}"
    );
    assert_eq!(s.problem(), Some("printer error"));
    assert_eq!(s.to_string(), "printer error, drawer open");
    emu.set_error(false);
    let s = status::query(link.as_mut(), t, DrawerSensor::OpenWhenHigh).unwrap();
    assert!(s.ready(), "{s:?}");
    emu.set_silent(true);
    let started = Instant::now();
    let e = status::query(link.as_mut(), t, DrawerSensor::OpenWhenHigh).unwrap_err();
    assert!(matches!(e, StatusError::NoReply { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
    emu.set_silent(false);
    emu.unplug();
    let e = status::query(link.as_mut(), t, DrawerSensor::OpenWhenHigh).unwrap_err();
    assert!(matches!(e, StatusError::Io { .. }), "{e}");
    // Opening an unplugged device fails with its name.
    let e = link::open(&serial(&path), timeouts)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
}

#[test]
fn a_printer_reporting_an_error_holds_its_job_until_the_error_clears() {
    let (emu, path) = EmulatedPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = Printer::start(serial(&path), spool.path(), fast()).unwrap();
    wait_view(&printer, "first status", |v| v.status.ready());
    emu.set_error(true);
    wait_view(&printer, "the error seen", |v| v.status.error);
    let job = receipt(1, 3);
    printer.submit(JobKind::Receipt, "receipt 1", &job).unwrap();
    let v = wait_view(&printer, "the job held", |v| {
        v.last_error
            .as_deref()
            .unwrap_or("")
            .contains("printer error")
    });
    assert_eq!((v.pending, v.printed_total), (1, 0), "{v:?}");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        emu.count_printed(&job),
        0,
        "nothing sent to a printer in error"
    );
    emu.set_error(false);
    wait_view(&printer, "printed once the error cleared", |v| {
        v.printed_total == 1
    });
    assert_eq!(emu.count_printed(&job), 1);
}

#[test]
fn hardware_and_software_flow_control_print_too() {
    use keel_devices::link::FlowControl;
    for flow in [FlowControl::Hardware, FlowControl::Software] {
        let (emu, path) = EmulatedPrinter::start().unwrap();
        let spool = tempfile::tempdir().unwrap();
        let spec = LinkSpec::serial(&path, 19200).with_flow(flow);
        let printer = Printer::start(spec, spool.path(), fast()).unwrap();
        let job = receipt(1, 3);
        printer.submit(JobKind::Receipt, "r", &job).unwrap();
        wait_view(&printer, "printed", |v| v.printed_total == 1);
        assert_eq!(emu.count_printed(&job), 1, "{flow:?}");
    }
}

#[test]
fn a_malformed_status_reply_is_an_error() {
    use serialport::{SerialPort, TTYPort};
    use std::io::{Read, Write};
    let (mut master, slave) = TTYPort::pair().unwrap();
    master.set_timeout(Duration::from_secs(2)).unwrap();
    let path = slave.name().unwrap();
    let answer = thread::spawn(move || {
        let mut req = [0u8; 3];
        master.read_exact(&mut req).unwrap();
        assert_eq!(req, [0x10, 0x04, 0x01]);
        master.write_all(&[0xFF]).unwrap();
        master
    });
    let mut link = link::open(&LinkSpec::serial(&path, 9600), fast().timeouts).unwrap();
    let e = status::query(link.as_mut(), Duration::from_secs(1), DrawerSensor::Absent).unwrap_err();
    assert!(
        matches!(e, StatusError::Malformed { byte: 0xFF, .. }),
        "{e}"
    );
    drop(answer.join().unwrap());
    drop(slave);
}

#[test]
fn tcp_printer_gets_its_job_and_a_refused_connection_is_retried() {
    let (emu, addr) = EmulatedTcpPrinter::start().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let printer = Printer::start(LinkSpec::tcp(addr), spool.path(), fast()).unwrap();
    let first = receipt(1, 4);
    printer.submit(JobKind::Kitchen, "table 1", &first).unwrap();
    wait_view(&printer, "delivered", |v| v.printed_total == 1);
    assert_eq!(emu.count_printed(&first), 1);

    // Printer off the network: connection reset, then refused.
    emu.unplug();
    let second = receipt(2, 4);
    printer
        .submit(JobKind::Kitchen, "table 2", &second)
        .unwrap();
    let v = wait_view(&printer, "refused", |v| {
        v.last_error.as_deref().unwrap_or("").contains("refused")
    });
    assert!(v.last_error.unwrap().contains(&addr.to_string()));
    assert_eq!(v.pending, 1);
    emu.replug().unwrap();
    wait_view(&printer, "retried and delivered", |v| v.printed_total == 2);
    assert_eq!(emu.count_printed(&second), 1);

    // Reset mid-job: the job is sent again whole on a new connection.
    let third = receipt(3, 60);
    emu.unplug_after(500);
    printer.submit(JobKind::Kitchen, "table 3", &third).unwrap();
    wait_view(&printer, "reset seen", |v| v.last_error.is_some());
    emu.replug().unwrap();
    wait_view(&printer, "delivered after reset", |v| v.printed_total == 3);
    assert_eq!(emu.count_printed(&third), 1);
    assert!(emu.connections() >= 3);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn the_serial_link_sets_the_configured_baud_8n1_and_flow_control() {
    use keel_devices::link::FlowControl;
    use serialport::{DataBits, Parity, SerialPort, StopBits, TTYPort};
    // The pty's line settings, read from the master side (the kernel answers
    // termios requests on a master with its slave's settings).
    for (baud, flow, want) in [
        (9600, FlowControl::None, serialport::FlowControl::None),
        (
            19200,
            FlowControl::Hardware,
            serialport::FlowControl::Hardware,
        ),
        (
            115200,
            FlowControl::Software,
            serialport::FlowControl::Software,
        ),
    ] {
        let (master, slave) = TTYPort::pair().unwrap();
        let path = slave.name().unwrap();
        drop(slave);
        let spec = LinkSpec::serial(&path, baud).with_flow(flow);
        let link = link::open(&spec, fast().timeouts).unwrap();
        assert_eq!(master.baud_rate().unwrap(), baud, "{flow:?}");
        assert_eq!(master.flow_control().unwrap(), want, "{flow:?}");
        assert_eq!(master.data_bits().unwrap(), DataBits::Eight);
        assert_eq!(master.parity().unwrap(), Parity::None);
        assert_eq!(master.stop_bits().unwrap(), StopBits::One);
        drop(link);
    }
}
