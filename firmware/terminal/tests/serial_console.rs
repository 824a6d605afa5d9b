//! The console on a serial line: a pseudo-terminal stands in for /dev/ttyS0. The
//! real `keel` binary is started with a TOML config naming the pty's device, and
//! the test drives it from the other end of the pair as a technician's laptop
//! would. Also checks that config errors name the file, line and key.

use std::ffi::CStr;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::io::FromRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Opens a pty pair; returns the master and the slave's device path.
fn open_pty() -> (File, String) {
    // SAFETY: plain libc calls on a descriptor we own; ptsname's buffer is copied at once.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt failed");
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let name = CStr::from_ptr(libc::ptsname(fd))
            .to_string_lossy()
            .into_owned();
        (File::from_raw_fd(fd), name)
    }
}

fn config(device: &str, data_dir: &std::path::Path) -> String {
    format!(
        r#"
[store]
id = "toko-1"
name = "Toko Satu"
currency = "IDR"

[terminal]
id = 1
data_dir = "{}"

[console]
device = "{device}"
baud = 115200

[tax]
mode = "inclusive"
rounding = "half-up"
scope = "per-receipt"
rates = [ {{ class = "standard", percent = "11", label = "A" }} ]

[cards]
offline_per_transaction = "2000000"
offline_total = "10000000"

[[users]]
id = "tech"
name = "Technician"
role = "technician"
pin = "0000"

[[users]]
id = "ani"
name = "Ani"
role = "cashier"
pin = "1111"
"#,
        data_dir.display()
    )
}

#[test]
fn console_runs_on_a_serial_line() {
    let dir = tempfile::tempdir().unwrap();
    let (master, slave) = open_pty();
    let cfg = dir.path().join("terminal.toml");
    std::fs::write(&cfg, config(&slave, &dir.path().join("data"))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--config", cfg.to_str().unwrap(), "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = master.try_clone().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(master);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line.trim_end().to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut ask = |cmd: &str| -> serde_json::Value {
        writer.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        writer.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no reply to {cmd:?} on the serial line"));
            if line.starts_with('{') {
                return serde_json::from_str(&line).unwrap();
            }
        }
    };
    // The binary may still be opening the device; the first command waits for it.
    std::thread::sleep(Duration::from_millis(300));
    let status = ask("status");
    assert_eq!(status["ok"], true, "{status}");
    assert_eq!(status["store"], "toko-1");
    let r = ask("login 0000");
    assert_eq!(r["role"], "technician");
    let r = ask("journal verify");
    assert_eq!(r["ok"], true, "{r}");
    let r = ask("sale new");
    assert_eq!(r["ok"], false);
    assert!(
        r["error"].as_str().unwrap().contains("cashier role needed"),
        "{r}"
    );
    let r = ask("shift open 15000");
    assert!(
        r["error"].as_str().unwrap().contains("cashier role needed"),
        "{r}"
    );
    let r = ask("login 1111");
    assert_eq!(r["ok"], true);
    let r = ask("shift open 150000");
    assert_eq!(r["float"], "150000", "{r}");
    let r = ask("quit");
    assert_eq!(r["ok"], true);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success());
            break;
        }
        assert!(Instant::now() < deadline, "keel did not exit after quit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn config_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("terminal.toml");
    let text = config("/dev/null", &dir.path().join("data"))
        .replace("currency = \"IDR\"", "currency = \"RUPIAH\"");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:5: key `store.currency`", cfg.display())),
        "{err}"
    );
    assert!(err.contains("unknown currency code"), "{err}");
}
