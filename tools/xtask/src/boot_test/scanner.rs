//! The boot test's scanner phase, host side: the virtio-serial port
//! `keel.scanner` (a Unix socket qemu listens on) whose guest end feeds
//! keel-uinput-scan, which types each line written here as a barcode scan
//! on a /dev/uinput keyboard; the terminal reads that keyboard through its
//! evdev path (the node grabbed with EVIOCGRAB). [`scan_into_terminal`]
//! checks a scanned code is decoded by the terminal and handed to the UI's
//! sale.
//!
//! Owns the socket and that check; it must not open or complete the sale.

use crate::error::{Error, Result};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The host end of the scanner port.
pub struct ScannerPort {
    stream: UnixStream,
}

impl ScannerPort {
    /// Connects (retrying until `deadline`). Connecting before the guest
    /// boots matters: the guest's port reads end of file while no host is
    /// connected, which would end keel-uinput-scan.
    pub fn connect(socket: &Path, deadline: Instant) -> std::io::Result<ScannerPort> {
        loop {
            match UnixStream::connect(socket) {
                Ok(stream) => return Ok(ScannerPort { stream }),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends one barcode (a line) to the virtual scanner.
    pub fn scan(&mut self, code: &str) -> std::io::Result<()> {
        self.stream.write_all(format!("{code}\n").as_bytes())?;
        self.stream.flush()
    }
}

/// What the terminal logged of one scan in `log`: the scanner thread's
/// decoded code (`scanner: scanned <code>`) and, once it got there, the
/// UI's answer to it (`ui: sale add ...`, after the scan's line).
pub fn scan_seen(log: &str, code: &str) -> (bool, Option<String>) {
    let needle = format!("scanner: scanned {code}");
    let Some(at) = log.find(&needle) else {
        return (false, None);
    };
    let ui = log[at..]
        .lines()
        .find_map(|l| l.find("ui: sale add").map(|i| l[i..].trim().to_string()));
    (true, ui)
}

/// Scans `barcode` (a sale open on the console) and waits (up to `within`)
/// for the terminal to decode it from the grabbed evdev node and hand it to
/// the UI's sale; returns the seconds that took and the UI's answer. The UI
/// has its own login (its PIN pad), so with no cashier logged in there it
/// refuses the item ("not logged in"); the console's cart is the console's.
pub fn scan_into_terminal(
    log_file: &Path,
    port: &mut ScannerPort,
    barcode: &str,
    within: Duration,
) -> Result<(f64, String)> {
    let start = Instant::now();
    let before = std::fs::read(log_file).map(|b| b.len()).unwrap_or(0);
    port.scan(barcode)
        .map_err(|e| Error::msg(format!("writing to the scanner port: {e}")))?;
    loop {
        let bytes = std::fs::read(log_file).unwrap_or_default();
        let text = String::from_utf8_lossy(bytes.get(before..).unwrap_or_default());
        let (decoded, ui) = scan_seen(&text, barcode);
        if let Some(ui) = ui {
            if !ui.contains("ui: sale add done") {
                return Err(Error::msg(format!(
                    "the UI did not add the scanned {barcode}: {ui}"
                )));
            }
            let took = start.elapsed().as_secs_f64();
            println!("xtask boot-test: scanner: {barcode} decoded by the terminal and given to the UI in {took:.1} s: {ui}");
            return Ok((took, ui));
        }
        if start.elapsed() >= within {
            return Err(Error::msg(if decoded {
                format!("the terminal decoded the scan of {barcode} but the UI never answered it within {} s", within.as_secs())
            } else {
                format!("the scan of {barcode} through /dev/uinput never reached the terminal's scanner within {} s (see keel-uinput-scan and `scanner:` in ttyS1.log)", within.as_secs())
            }));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Where the login screen's keys are on the 1280x800 display (the PIN
/// pad's centres and "Log in", from a screenshot of the dev image).
pub fn pin_pad_key(key: char) -> Option<(u32, u32)> {
    let (col, row) = match key {
        '1'..='9' => {
            let d = key as u32 - '1' as u32;
            (d % 3, d / 3)
        }
        '0' => (1, 3),
        _ => return None,
    };
    Some((518 + col * 122, 314 + row * 93))
}

/// "Log in" on the login screen.
pub const LOG_IN_BUTTON: (u32, u32) = (640, 676);

/// Whether a `sale show` reply lists a line of `sku`.
pub fn cart_has(sale: &str, sku: &str) -> bool {
    sale.contains(&format!("\"sku\":\"{sku}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cart_is_searched_by_sku() {
        let sale = r#"{"lines":[{"amount":"1.49","line":1,"qty":1,"sku":"CHOC-100"}],"ok":true}"#;
        assert!(cart_has(sale, "CHOC-100"));
        assert!(!cart_has(sale, "CHOC-10"));
        assert!(!cart_has(r#"{"lines":[],"ok":true}"#, "CHOC-100"));
    }

    #[test]
    fn the_pin_pad_keys_are_where_the_screenshot_shows_them() {
        assert_eq!(pin_pad_key('1'), Some((518, 314)));
        assert_eq!(pin_pad_key('5'), Some((640, 407)));
        assert_eq!(pin_pad_key('9'), Some((762, 500)));
        assert_eq!(pin_pad_key('0'), Some((640, 593)));
        assert_eq!(pin_pad_key('x'), None);
    }

    #[test]
    fn a_scan_is_seen_decoded_then_answered_by_the_ui() {
        let log = "[ 38.05] keel-kiosk[274]: [.. INFO  keel_terminal::peripherals::scanner] scanner: scanned 4006381333931\n\
[ 38.06] keel-kiosk[274]: [.. INFO  keel_terminal::ui_bridge::exec] ui: sale add refused: not logged in: use `login <pin>` first\n";
        let (decoded, ui) = scan_seen(log, "4006381333931");
        assert!(decoded);
        assert_eq!(
            ui.as_deref(),
            Some("ui: sale add refused: not logged in: use `login <pin>` first")
        );
        assert_eq!(scan_seen(log, "123"), (false, None));
        let first = log.lines().next().unwrap();
        assert_eq!(scan_seen(first, "4006381333931"), (true, None));
    }
}
