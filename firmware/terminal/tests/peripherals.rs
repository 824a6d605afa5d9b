//! The peripherals through the real binary, as the acceptance asks:
//! `keel console --demo --data-dir DIR --printer-port PATH --scanner-events
//! FIFO`, with an emulated ESC/POS printer on the far end of a pseudo-terminal
//! and a recorded keyboard-wedge scanner stream written into a FIFO. A sale
//! prints a correct receipt (decoded back to text), cash kicks the drawer, a
//! scan adds its item to the open sale; and a sale made while the printer is
//! out of paper completes at once and prints once the paper is back.

mod common;

use common::Keel;
use keel_devices::emulator::printer::EmulatedPrinter;
use keel_devices::scanner::record::{Recorder, Timing};
use keel_devices::scanner::{Layout, Terminator};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Waits until the terminal's print worker has the printer answering.
fn wait_reachable(k: &mut Keel) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = k.ok("printer status");
        if s["reachable"] == true {
            return;
        }
        assert!(Instant::now() < deadline, "the printer never answered: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start(dir: &Path, printer: &Path, scanner: Option<&Path>) -> Keel {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.args(["console", "--demo", "--json", "--data-dir"])
        .arg(dir)
        .arg("--printer-port")
        .arg(printer);
    if let Some(s) = scanner {
        cmd.arg("--scanner-events").arg(s);
    }
    Keel::spawn(cmd, dir)
}

#[test]
fn a_sale_prints_its_receipt_kicks_the_drawer_and_a_scan_adds_to_the_cart() {
    let dir = tempfile::tempdir().unwrap();
    let (printer, path) = EmulatedPrinter::start().unwrap();
    let fifo = dir.path().join("scanner.events");
    mkfifo(&fifo);
    let mut k = start(&dir.path().join("data"), &path, Some(&fifo));
    k.ok("login 1111");
    wait_reachable(&mut k);
    k.ok("shift open 100.00");
    // The float goes into the drawer: that opening is journaled and kicks it too.
    assert!(printer.wait_until(Duration::from_secs(20), |m| m.kicks().len() == 1));
    k.ok("sale new");
    // The scanner: EAN-13 of the demo's dark chocolate at scanner speed.
    let mut rec = Recorder::new(Layout::Us, Timing::scanner(7), 1_000_000);
    rec.scan("4006381333931", Terminator::Enter).unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&rec.to_bytes()).unwrap();
    w.flush().unwrap();
    let added = k.read_json();
    assert_eq!(added["ok"], true, "{added}");
    let lines = added["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{added}");
    assert!(added.to_string().contains("Dark Chocolate"), "{added}");
    k.ok("sale tender cash 5.00");
    let done = k.ok("sale complete");
    let code = done["verification"].as_str().unwrap().to_string();
    assert!(
        printer.wait_until(Duration::from_secs(15), |m| m.cuts() >= 1
            && m.kicks().len() >= 2),
        "no receipt or no drawer kick: {} cuts, {} kicks",
        printer.cuts(),
        printer.kicks().len()
    );
    let d = printer.decoded();
    let text = d.text();
    assert!(text.contains("Keel Demo Market"), "{text}");
    assert!(text.contains("Dark Chocolate 100g"), "{text}");
    assert!(text.contains("TOTAL"), "{text}");
    assert!(
        text.contains(&code),
        "the verification code is printed: {text}"
    );
    assert_eq!(d.qr_codes.len(), 1);
    assert!(d.qr_codes[0].contains(&code), "{:?}", d.qr_codes);
    // Exactly one kick for one cash sale.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        printer.kicks().len(),
        2,
        "the drawer opens once per opening"
    );
    let status = k.ok("printer status");
    assert_eq!(status["reachable"], true, "{status}");
    assert_eq!(status["paper_out"], false, "{status}");
    // A card sale prints but does not open the drawer.
    k.ok("sale new");
    k.ok("sale add 4006381333931");
    k.ok("sale tender card 1.49 tok_4242 4242 VISA");
    k.ok("sale complete");
    assert!(printer.wait_until(Duration::from_secs(15), |m| m.cuts() >= 2));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(printer.kicks().len(), 2, "no kick for a card sale");
    k.quit();
}

#[test]
fn a_sale_completes_while_the_printer_is_out_of_paper_and_prints_once_paper_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (printer, path) = EmulatedPrinter::start().unwrap();
    let data = dir.path().join("data");
    let mut k = start(&data, &path, None);
    k.ok("login 1111");
    wait_reachable(&mut k);
    k.ok("shift open 100.00");
    printer.set_paper_out(true);
    k.ok("sale new");
    k.ok("sale add 4006381333931");
    k.ok("sale tender cash 2.00");
    let started = Instant::now();
    let done = k.ok("sale complete");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "printing never holds up a sale: {:?}",
        started.elapsed()
    );
    let code = done["verification"].as_str().unwrap().to_string();
    // The job waits; the status says why.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = k.ok("printer status");
        let overall = k.ok("status");
        if s["paper_out"] == true
            && s["pending"].as_u64() == Some(1)
            && overall["printer"] == "paper out"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status never showed paper out: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !printer.decoded().text().contains(&code),
        "nothing printed without paper"
    );
    // Across a restart too: the job is durable.
    k.kill();
    let mut k = start(&data, &path, None);
    k.ok("login 1111");
    printer.set_paper_out(false);
    assert!(
        printer.wait_until(Duration::from_secs(20), |m| m
            .decoded()
            .text()
            .contains(&code)),
        "the receipt printed once the paper was back"
    );
    std::thread::sleep(Duration::from_secs(1));
    let d = printer.decoded();
    assert_eq!(
        d.qr_codes.iter().filter(|q| q.contains(&code)).count(),
        1,
        "printed exactly once"
    );
    k.quit();
}

/// A provisioned one-terminal store whose config gains `extra` sections.
fn configured(dir: &Path, extra: &str) -> std::path::PathBuf {
    use keel_core::ids::StoreId;
    use keel_terminal::provision::{provision, ProvisionPlan};
    let configs = provision(&ProvisionPlan {
        store: StoreId("devices".into()),
        terminals: 1,
        out: dir.join("store"),
        host: "127.0.0.1".parse().unwrap(),
        base_port: common::free_ports(27_000, 1),
        mdns: false,
        demo_catalog: true,
    })
    .unwrap();
    let text = std::fs::read_to_string(&configs[0]).unwrap();
    std::fs::write(&configs[0], format!("{text}\n{extra}\n")).unwrap();
    configs[0].clone()
}

#[test]
fn scale_read_and_scanner_monitor_through_the_console() {
    use keel_devices::emulator::scale::ScaleEmulator;
    use keel_devices::scale::ScaleProtocol;
    let dir = tempfile::tempdir().unwrap();
    let (scale, _host) = ScaleEmulator::start(ScaleProtocol::CasContinuous).unwrap();
    scale.set_weight(1234);
    let fifo = dir.path().join("scanner.events");
    mkfifo(&fifo);
    let config = configured(
        dir.path(),
        &format!(
            "[scale]\nport = \"{}\"\nprotocol = \"cas\"\nmode = \"continuous\"\n\n[scanner]\nevents = \"{}\"\n",
            scale.path(),
            fifo.display()
        ),
    );
    let mut k = Keel::start_config(&config);
    k.ok("login 1111");
    let r = k.ok("scale read");
    assert_eq!(
        (r["state"].as_str(), r["grams"].as_i64()),
        (Some("stable"), Some(1234)),
        "{r}"
    );
    scale.set_unstable(true);
    let e = k.err("scale read");
    assert!(e.contains("unstable"), "{e}");
    // The monitor shows scans and sells nothing; an empty line ends it.
    k.ok("login 0000");
    k.ok("scanner monitor");
    let mut rec = Recorder::new(Layout::Us, Timing::scanner(3), 1_000_000);
    rec.scan("4006381333931", Terminator::Enter).unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&rec.to_bytes()).unwrap();
    w.flush().unwrap();
    let shown = k.read_json();
    assert_eq!(shown["scan"], "4006381333931", "{shown}");
    let ended = k.send("");
    assert_eq!(ended["monitor"], "ended", "{ended}");
    k.quit();
}

#[test]
fn a_scanner_source_that_is_no_event_stream_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--demo", "--json", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--scanner-events")
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scanner"), "{err}");
}

#[test]
fn printer_test_drawer_test_and_reprint_through_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let (printer, path) = EmulatedPrinter::start().unwrap();
    let mut k = start(&dir.path().join("data"), &path, None);
    k.ok("login 1111");
    wait_reachable(&mut k);

    // `printer test`: the test page, decoded on the far end.
    let queued = k.ok("printer test");
    assert!(queued["job"].as_u64().is_some(), "{queued}");
    assert!(
        printer.wait_until(Duration::from_secs(15), |m| m.cuts() == 1),
        "the test page never printed"
    );
    let d = printer.decoded();
    assert_eq!(d.qr_codes, ["KEEL PRINTER TEST"]);
    assert_eq!(d.barcodes.len(), 2, "EAN-13 and Code 128: {:?}", d.barcodes);
    assert_eq!(d.images.len(), 1, "the raster logo");
    assert!(d.find_line("Bold").is_some_and(|l| l.bold), "{d}");
    assert!(printer.kicks().is_empty(), "a test page opens no drawer");

    // `drawer test`: one kick, journaled as a no-sale, the switch read back.
    // (A no-sale needs an open shift; its float opens the drawer once too.)
    k.ok("shift open 50.00");
    assert!(printer.wait_until(Duration::from_secs(15), |m| m.kicks().len() == 1));
    printer.set_drawer_open(false);
    let kicked = k.ok("drawer test");
    assert_eq!(kicked["drawer"], "kicked", "{kicked}");
    assert_eq!(kicked["open"], true, "the emulated drawer opens: {kicked}");
    assert_eq!(printer.kicks().len(), 2);
    printer.set_drawer_open(false);

    // A technician is not authorised for a no-sale: refused, nothing kicked.
    k.ok("login 0000");
    let refused = k.err("drawer test");
    assert!(refused.contains("no-sale"), "{refused}");
    let tail = k.ok("journal tail 20").to_string();
    assert_eq!(
        tail.matches("drawer-opened").count(),
        2,
        "two journaled openings (float, no-sale): {tail}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(printer.kicks().len(), 2, "a refused no-sale kicks nothing");

    // `printer reprint`: the last receipt again, the same verification code.
    // (A cash sale: right after a no-sale, the loss-prevention model rightly
    // holds a card tender for a manager.)
    k.ok("login 1111");
    k.ok("sale new");
    k.ok("sale add 4006381333931");
    k.ok("sale tender cash 2.00");
    let code = k.ok("sale complete")["verification"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(printer.wait_until(Duration::from_secs(15), |m| m.cuts() == 2));
    assert!(
        printer.wait_until(Duration::from_secs(15), |m| m.kicks().len() == 3),
        "the cash sale opens the drawer"
    );
    let again = k.ok("printer reprint");
    assert!(again["job"].as_u64().is_some(), "{again}");
    assert!(printer.wait_until(Duration::from_secs(15), |m| m.cuts() == 3));
    let d = printer.decoded();
    assert_eq!(
        d.qr_codes.iter().filter(|q| q.contains(&code)).count(),
        2,
        "the receipt and its copy: {:?}",
        d.qr_codes
    );
    let marks = d.lines.iter().filter(|l| l.text == "*** COPY ***").count();
    assert_eq!(marks, 1, "only the reprint says COPY: {d}");
    let missing = k.err("printer reprint 999");
    assert!(missing.contains("999"), "{missing}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(printer.kicks().len(), 3, "no kick for a reprint");
    k.quit();
}

#[test]
fn scale_add_sells_a_weighed_item_at_the_settled_weight() {
    use keel_devices::emulator::scale::ScaleEmulator;
    use keel_devices::scale::ScaleProtocol;
    let dir = tempfile::tempdir().unwrap();
    let (scale, _host) = ScaleEmulator::start(ScaleProtocol::CasRequest).unwrap();
    let config = configured(
        dir.path(),
        &format!(
            "[scale]\nport = \"{}\"\nprotocol = \"cas\"\nmode = \"request\"\n",
            scale.path()
        ),
    );
    let mut k = Keel::start_config(&config);
    k.ok("login 1111");
    k.ok("shift open 0.00");
    let e = k.err("scale add BANANA");
    assert!(e.contains("sale new"), "no open sale: {e}");
    k.ok("sale new");
    // Nothing on the scale: refused, nothing added.
    scale.zero();
    let e = k.err("scale add BANANA");
    assert!(e.contains("zero") && e.contains("nothing added"), "{e}");
    // A load still moving is not sold.
    scale.set_weight(1_234);
    scale.set_unstable(true);
    let e = k.err("scale add BANANA");
    assert!(e.contains("unstable") && e.contains("nothing added"), "{e}");
    // Settled: sold at that weight, priced per kg.
    scale.set_unstable(false);
    let cart = k.ok("scale add BANANA");
    let lines = cart["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{cart}");
    assert_eq!(lines[0]["qty"], 1_234, "grams from the scale: {cart}");
    assert!(cart.to_string().contains("Bananas"), "{cart}");
    // An item sold by the unit is refused before the scale is asked.
    let asked = scale.requests();
    let e = k.err("scale add 4006381333931");
    assert!(e.contains("by the unit"), "{e}");
    assert_eq!(scale.requests(), asked);
    k.err("scale add NO-SUCH-ITEM");
    // Overload: refused.
    scale.set_overload(true);
    let e = k.err("scale add APPLE");
    assert!(e.contains("overload"), "{e}");
    assert_eq!(k.ok("sale show")["lines"].as_array().unwrap().len(), 1);
    k.quit();
}

#[test]
fn kitchen_tickets_go_to_the_tcp_9100_kitchen_printer() {
    use keel_devices::emulator::EmulatedTcpPrinter;
    let dir = tempfile::tempdir().unwrap();
    let (receipts, path) = EmulatedPrinter::start().unwrap();
    let (kitchen, addr) = EmulatedTcpPrinter::start().unwrap();
    let config = configured(
        dir.path(),
        &format!(
            "[printer]\nport = \"{}\"\n\n[kitchen_printer]\ntcp = \"{addr}\"\nwidth_mm = 58\n",
            path.display()
        ),
    );
    let mut k = Keel::start_config(&config);
    k.ok("login 1111");
    wait_reachable(&mut k);
    k.ok("shift open 0.00");
    k.ok("sale new");
    k.ok("sale add ESPRESSO 2");
    k.ok("sale add SANDWICH");
    k.ok("sale add 4006381333931");
    k.ok("sale tender card 11.79 tok_4242 4242 VISA");
    let done = k.ok("sale complete");
    let receipt_no = done["receipt"].as_u64().unwrap();
    // One ticket per station (bar, kitchen), on the kitchen printer only.
    assert!(
        kitchen
            .model()
            .wait_until(Duration::from_secs(15), |m| m.cuts() == 2),
        "kitchen tickets: {} cuts",
        kitchen.model().cuts()
    );
    let t = kitchen.model().decoded();
    assert_eq!(t.unknown, 0, "{t}");
    assert!(t.find_line("BAR").is_some(), "{t}");
    assert!(t.find_line("KITCHEN").is_some(), "{t}");
    assert_eq!(
        t.find_line("2 x Espresso").map(|l| l.double_height),
        Some(true)
    );
    assert!(t.text().contains("Sandwich"), "{t}");
    assert!(
        !t.text().contains("Dark Chocolate"),
        "no station, no ticket: {t}"
    );
    assert!(
        t.find_line(&format!("Receipt {receipt_no}")).is_some(),
        "{t}"
    );
    for l in &t.lines {
        assert!(l.text.chars().count() <= 32, "58 mm: {:?}", l.text);
    }
    // The receipt goes to the receipt printer, no ticket there.
    assert!(receipts.wait_until(Duration::from_secs(15), |m| m.cuts() == 1));
    let r = receipts.decoded();
    assert!(r.text().contains("Dark Chocolate"), "{r}");
    assert!(r.find_line("BAR").is_none(), "{r}");
    k.quit();
}

/// A pseudo-terminal whose slave stands in for a serial scanner's port:
/// returns the master (the scanner's end) and the slave's path.
fn serial_scanner_pty() -> (std::fs::File, std::path::PathBuf) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r
    // writes at most `buf.len()` bytes, NUL-terminated.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()), 0);
        let path = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_str()
            .unwrap()
            .to_string();
        (std::fs::File::from_raw_fd(fd), path.into())
    }
}

#[test]
fn a_serial_scanner_adds_to_the_open_sale() {
    let dir = tempfile::tempdir().unwrap();
    let (mut scanner, port) = serial_scanner_pty();
    let config = configured(
        dir.path(),
        &format!(
            "[scanner]\nport = \"{}\"\nprefix = \"]E0\"\n",
            port.display()
        ),
    );
    let mut k = Keel::start_config(&config);
    k.ok("login 1111");
    k.ok("shift open 0.00");
    k.ok("sale new");
    // The terminal opens the port in its own time: send until a line lands.
    let deadline = Instant::now() + Duration::from_secs(15);
    let added = loop {
        scanner.write_all(b"]E04006381333931\r\n").unwrap();
        match k.try_read_line(Duration::from_millis(500)) {
            Ok(line) => break serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            Err(_) => assert!(Instant::now() < deadline, "no scan arrived"),
        }
    };
    assert_eq!(added["ok"], true, "{added}");
    assert!(added.to_string().contains("Dark Chocolate"), "{added}");
    // Lines sent before the port was open may land too: drain their replies.
    while k.try_read_line(Duration::from_millis(700)).is_ok() {}
    // The prefix is stripped: every line is the chocolate, none failed.
    let shown = k.ok("sale show");
    let lines = shown["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "{shown}");
    assert!(
        lines
            .iter()
            .all(|l| l.to_string().contains("Dark Chocolate")),
        "{shown}"
    );
    k.quit();
}
