//! `keel-ui-bench` (`cargo xtask bench ui`): the UI's figures on the sale
//! screen with a 40-line cart at 1280x800, software renderer, no display.
//!
//! - frame: a model change (the screens shown a new view-model) and the full
//!   frame rendered after it, p50/p99 (target under 16 ms, one frame at 60 Hz);
//! - input to frame: a tap's callback (`+` on a cart line) -> the kiosk maps
//!   it and sends it -> the bridge thread runs it on a real demo node (journal
//!   on disk) -> the snapshot comes back and is shown -> the next frame is
//!   rendered, p50/p99 (target under 16 ms);
//! - resident memory (VmRSS) of this process with the terminal's node, the
//!   bridge and the UI up (target under 100 MB).
//!
//! Ends with `BENCH ui frame_p99_ms=… input_to_frame_p99_ms=… rss_mb=…`.
//! Build in release: `cargo run --release -p keel-kiosk --bin keel-ui-bench`;
//! `--frame FILE.png` also writes the last frame measured, to look at.

use keel_kiosk::map::view_model;
use keel_kiosk::{DemoCardTerminal, Kiosk};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{AddSource, UiAction, UiServices, UiSnapshot};
use keel_ui::generated::{Page, UiActions};
use keel_ui::headless::HeadlessUi;
use slint::ComponentHandle;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;
const LINES: usize = 40;
const FRAMES: usize = 300;
const TAPS: usize = 200;
const TARGET_MS: f64 = 16.0;
const TARGET_RSS_MB: f64 = 100.0;
/// Unit-priced demo products the cart is filled with, in turn.
const CODES: &[&str] = &["4006381333931", "CHOC-100", "WATER-15", "MILK-1L"];

type BenchKiosk = Kiosk<HeadlessUi>;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frame_file = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--frame" => Some(std::path::PathBuf::from(path)),
        _ => {
            eprintln!("usage: keel-ui-bench [--frame FILE.png]");
            return ExitCode::from(2);
        }
    };
    match run(frame_file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keel-ui-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Waits (polling the kiosk like its timer does, without sleeping) until the
/// snapshot on screen satisfies `done`.
fn wait_for(
    k: &BenchKiosk,
    what: &str,
    done: impl Fn(&UiSnapshot) -> bool,
) -> Result<UiSnapshot, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        k.poll();
        if let Some(s) = k.snapshot() {
            if done(&s) {
                return Ok(s);
            }
        }
        if Instant::now() > deadline {
            let msg = k.snapshot().and_then(|s| s.message).map(|m| m.text);
            return Err(format!("{what}: no such snapshot within 30 s ({msg:?})"));
        }
        std::thread::yield_now();
    }
}

fn lines(s: &UiSnapshot) -> usize {
    s.cart.as_ref().map_or(0, |c| c.lines.len())
}

fn first_qty(s: &UiSnapshot) -> Option<i64> {
    s.cart.as_ref().and_then(|c| c.lines.first()).map(|l| l.qty)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_mb() -> Result<f64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(kb / 1024.0)
}

fn run(frame_file: Option<std::path::PathBuf>) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir.path(),
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .map_err(|e| format!("demo node: {e}"))?;
    let node = Arc::new(Mutex::new(node));
    let kiosk: BenchKiosk = Kiosk::start(
        node,
        UiServices::default(),
        Some(Box::new(DemoCardTerminal::default())),
        |sink| HeadlessUi::new(WIDTH, HEIGHT, sink),
    )
    .map_err(|e| e.to_string())?;

    // A cashier, a shift and a 40-line sale, through the bridge thread.
    let send = |a: UiAction| kiosk.send(a).map_err(|e| e.to_string());
    send(UiAction::Login { pin: "1111".into() })?;
    send(UiAction::ShiftOpen { float: 10_000 })?;
    send(UiAction::SaleNew)?;
    for i in 0..LINES {
        send(UiAction::AddItem {
            code: CODES[i % CODES.len()].into(),
            qty: None,
            source: AddSource::Scan,
        })?;
    }
    let full = wait_for(&kiosk, "40-line cart", |s| lines(s) == LINES)?;
    let screens = kiosk.screens();
    screens.render().map_err(|e| e.to_string())?;
    if screens.ui().page() != Page::Sale {
        return Err(format!(
            "the sale screen is not up (page {:?})",
            screens.ui().page()
        ));
    }

    // Frame: a model change, then the whole frame. Two real view-models
    // (the first line at two quantities) alternate, so every frame differs.
    let a = view_model(&full);
    let mut b_snap = full.clone();
    let plus = |s: &mut UiSnapshot| {
        if let Some(l) = s.cart.as_mut().and_then(|c| c.lines.first_mut()) {
            l.qty += 1;
            l.qty_text = l.qty.to_string();
        }
    };
    plus(&mut b_snap);
    let b = view_model(&b_snap);
    let mut frame_ms = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let vm = if i % 2 == 0 { b.clone() } else { a.clone() };
        let t = Instant::now();
        screens.ui().show(vm);
        screens.render().map_err(|e| e.to_string())?;
        frame_ms.push(millis(t.elapsed()));
    }
    // Back to what the bridge says.
    screens.ui().show(view_model(&full));

    // Input to frame: `+` and `-` on line 1 through the tap callbacks.
    let window = screens.ui().window().clone_strong();
    let actions = window.global::<UiActions<'_>>();
    let mut input_ms = Vec::with_capacity(TAPS);
    let mut last_frame = None;
    for i in 0..TAPS {
        let before = first_qty(&kiosk.snapshot().unwrap_or_else(|| full.clone()));
        let want = before.map(|q| if i % 2 == 0 { q + 1 } else { q - 1 });
        let t = Instant::now();
        if i % 2 == 0 {
            actions.invoke_line_plus(1);
        } else {
            actions.invoke_line_minus(1);
        }
        wait_for(&kiosk, "the tap's snapshot", |s| first_qty(s) == want)?;
        last_frame = Some(screens.render().map_err(|e| e.to_string())?);
        input_ms.push(millis(t.elapsed()));
    }
    if let (Some(path), Some(frame)) = (&frame_file, &last_frame) {
        frame.save_png(path).map_err(|e| e.to_string())?;
        println!("  last frame: {}", path.display());
    }
    let rss = rss_mb()?;

    frame_ms.sort_by(f64::total_cmp);
    input_ms.sort_by(f64::total_cmp);
    let (f50, f99) = (percentile(&frame_ms, 50.0), percentile(&frame_ms, 99.0));
    let (i50, i99) = (percentile(&input_ms, 50.0), percentile(&input_ms, 99.0));
    let verdict = |v: f64, target: f64| if v < target { "ok" } else { "OVER" };
    println!(
        "ui: sale screen, {LINES}-line cart, {WIDTH}x{HEIGHT}, Slint software renderer (headless), demo node with its journal in a temp dir"
    );
    println!(
        "  frame (model change + full frame):      p50 {f50:.2} ms  p99 {f99:.2} ms  over {FRAMES} frames  target < {TARGET_MS} ms: {}",
        verdict(f99, TARGET_MS)
    );
    println!(
        "  input to frame (tap -> bridge -> node -> snapshot -> frame): p50 {i50:.2} ms  p99 {i99:.2} ms  over {TAPS} taps  target < {TARGET_MS} ms: {}",
        verdict(i99, TARGET_MS)
    );
    println!(
        "  resident memory with the UI up (VmRSS): {rss:.1} MB  target < {TARGET_RSS_MB} MB: {}",
        verdict(rss, TARGET_RSS_MB)
    );
    println!("BENCH ui frame_p99_ms={f99:.3} input_to_frame_p99_ms={i99:.3} rss_mb={rss:.1}");
    Ok(())
}
