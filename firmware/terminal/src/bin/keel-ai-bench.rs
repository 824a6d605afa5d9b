//! `keel-ai-bench` (`cargo xtask bench ai`): loads the shipped models
//! (models/product-recognition and models/loss-prevention, or the directory
//! given as the first argument) through the terminal's AI runtime and the real
//! TensorFlow Lite library, then measures
//! - recognition: preprocessing of a held-out 320x240 camera frame plus
//!   inference, as `model recognize` runs it (through the runtime's worker
//!   and time limit);
//! - scoring: one loss-prevention score of a feature vector;
//!
//! over many runs (p50/p99), and the process's resident memory with both
//! models loaded. Prints the figures, their ratio to the targets (recognition
//! 30 ms a frame, scoring 1 ms) and ends with
//! `BENCH ai recognize_p99_ms=… score_p99_ms=… rss_mb=…`.

use keel_ai::{AiConfig, AiRuntime, Features, Frame, ModelState};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Recognition target per frame (ms).
const RECOGNIZE_TARGET_MS: f64 = 30.0;
/// Scoring target (ms).
const SCORE_TARGET_MS: f64 = 1.0;
/// Timed recognitions.
const RECOGNIZE_RUNS: usize = 500;
/// Timed scores.
const SCORE_RUNS: usize = 5_000;
/// The camera frame size measured.
const FRAME_W: u32 = 320;
const FRAME_H: u32 = 240;

fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A held-out product picture scaled (nearest neighbour) to 320x240, the camera's frame size.
fn held_out_frame(models: &Path) -> Result<(Frame, PathBuf), String> {
    let holdout = models.join("product-recognition").join("holdout");
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(&holdout)
        .map_err(|e| format!("{}: {e}", holdout.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pngs.sort();
    let path = pngs
        .first()
        .cloned()
        .ok_or_else(|| format!("no held-out PNG in {}", holdout.display()))?;
    let src = Frame::from_png_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if src.width == FRAME_W && src.height == FRAME_H {
        return Ok((src, path));
    }
    let mut rgb = Vec::with_capacity((FRAME_W * FRAME_H * 3) as usize);
    for y in 0..FRAME_H {
        let sy = (y as u64 * src.height as u64 / FRAME_H as u64) as usize;
        for x in 0..FRAME_W {
            let sx = (x as u64 * src.width as u64 / FRAME_W as u64) as usize;
            let i = (sy * src.width as usize + sx) * 3;
            rgb.extend_from_slice(&src.rgb[i..i + 3]);
        }
    }
    Ok((
        Frame {
            width: FRAME_W,
            height: FRAME_H,
            rgb,
        },
        path,
    ))
}

fn run() -> Result<(), String> {
    let models = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(keel_terminal::config::ai::REPOSITORY_MODELS));
    let rss_before = rss_mb();
    let runtime = AiRuntime::start(AiConfig {
        models_dir: models.clone(),
        recognize_limit: Duration::from_secs(5),
        score_limit: Duration::from_secs(5),
    });
    for s in runtime.status() {
        if let ModelState::Fallback { reason } = &s.state {
            return Err(format!(
                "{} is not ready ({reason}): the benchmark measures the real models (build with --features tflite)",
                s.name
            ));
        }
        println!(
            "model {} {} ready",
            s.name,
            s.version.as_deref().unwrap_or("-")
        );
    }
    let (frame, from) = held_out_frame(&models)?;
    println!(
        "frame: {} scaled to {}x{}",
        from.display(),
        frame.width,
        frame.height
    );
    // Warm up (first invocations allocate).
    for _ in 0..20 {
        runtime.recognize(&frame);
    }
    let mut rec = Vec::with_capacity(RECOGNIZE_RUNS);
    let mut last = None;
    for _ in 0..RECOGNIZE_RUNS {
        let t = Instant::now();
        let r = runtime.recognize(&frame);
        rec.push(t.elapsed());
        last = Some(r);
    }
    println!("last recognition: {last:?}");
    // A busy, slightly suspicious cashier's features (varied per run).
    let mut scores = Vec::with_capacity(SCORE_RUNS);
    for _ in 0..200 {
        runtime.score(&Features([0.3, 0.1, 0.2, 0.0, 0.05, 0.1, 0.5, -0.8]));
    }
    for i in 0..SCORE_RUNS {
        let v = (i % 10) as f32 / 10.0;
        let f = Features([v, 0.1, v / 2.0, 0.0, 0.05, v / 3.0, 0.5, -0.8]);
        let t = Instant::now();
        let s = runtime.score(&f);
        scores.push(t.elapsed());
        if !s.score.is_finite() {
            return Err(format!("score {i} is not finite: {s:?}"));
        }
    }
    let rss_after = rss_mb();
    rec.sort();
    scores.sort();
    let (r50, r99) = (percentile(&rec, 0.5), percentile(&rec, 0.99));
    let (s50, s99) = (percentile(&scores, 0.5), percentile(&scores, 0.99));
    println!(
        "recognize ({RECOGNIZE_RUNS} frames, preprocessing + inference): p50 {r50:.3} ms, p99 {r99:.3} ms; target {RECOGNIZE_TARGET_MS} ms: p99 at {:.1}% of it ({:.1}x headroom)",
        100.0 * r99 / RECOGNIZE_TARGET_MS,
        RECOGNIZE_TARGET_MS / r99
    );
    println!(
        "score ({SCORE_RUNS} feature vectors): p50 {s50:.4} ms, p99 {s99:.4} ms; target {SCORE_TARGET_MS} ms: p99 at {:.1}% of it ({:.1}x headroom)",
        100.0 * s99 / SCORE_TARGET_MS,
        SCORE_TARGET_MS / s99
    );
    let rss = rss_after.unwrap_or(f64::NAN);
    println!(
        "resident memory: {rss:.1} MB with both models loaded ({:.1} MB before loading them)",
        rss_before.unwrap_or(f64::NAN)
    );
    for s in runtime.status() {
        println!(
            "model {}: last latency {:?}, last error {:?}",
            s.name, s.last_latency, s.last_error
        );
    }
    println!("BENCH ai recognize_p99_ms={r99:.3} score_p99_ms={s99:.4} rss_mb={rss:.1}");
    Ok(())
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run() {
        eprintln!("keel-ai-bench: {e}");
        std::process::exit(1);
    }
}
