//! The `keel-kiosk` binary as a process: the demo terminal with its console
//! on stdin/stdout and the UI on the headless backend (the choice printed on
//! stderr with its reason), frames written to `KEEL_UI_FRAME`, the console's
//! end ending the program; a backend this build lacks is refused with the
//! feature to build it with.

use keel_ui::image::Image;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kiosk(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keel-kiosk"));
    c.arg("--demo")
        .arg("--data-dir")
        .arg(data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_LOG", "warn");
    c
}

#[test]
fn headless_with_its_console_writes_frames_and_ends_with_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let frame = dir.path().join("frame.png");
    let mut child = kiosk(&dir.path().join("data"))
        .args(["--size", "1024x768", "--json"])
        .env("KEEL_UI_BACKEND", "headless")
        .env("KEEL_UI_FRAME", &frame)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    // The console answers on stdout, one JSON object per line, while the UI runs.
    writeln!(stdin, "login 1111").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let reply: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!("not a JSON reply ({e}): {line:?}");
    });
    assert_eq!(reply["ok"], true, "{reply}");

    // The UI renders off-screen at the size asked for.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !frame.exists() {
        assert!(Instant::now() < deadline, "no frame written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let image = Image::load_png(&frame).unwrap();
    assert_eq!((image.width(), image.height()), (1024, 768));
    // Not a blank buffer: the status bar is dark, the page behind it light.
    let (bar, page) = (image.pixel(5, 5).unwrap(), image.pixel(5, 400).unwrap());
    assert!(
        u32::from(bar[0]) + u32::from(bar[1]) + u32::from(bar[2])
            < u32::from(page[0]) + u32::from(page[1]) + u32::from(page[2]),
        "status bar {bar:?}, page {page:?}"
    );

    // End of the console's input ends the program, cleanly.
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("keel-kiosk did not end with its console");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(
        err.contains("keel-kiosk: headless backend (KEEL_UI_BACKEND=headless)"),
        "{err}"
    );
}

#[test]
fn a_backend_this_build_lacks_is_refused_with_its_feature() {
    if cfg!(feature = "desktop") {
        return; // this build has winit: nothing to refuse
    }
    let dir = tempfile::tempdir().unwrap();
    let out = kiosk(&dir.path().join("data"))
        .arg("--no-console")
        .env("KEEL_UI_BACKEND", "winit")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("KEEL_UI_BACKEND=winit") && err.contains("--features desktop"),
        "{err}"
    );
    let out = kiosk(&dir.path().join("data"))
        .arg("--no-console")
        .env("KEEL_UI_BACKEND", "x11")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("expected auto, linuxkms, winit or headless"),
        "{err}"
    );
}
