//! The AI through the real `keel` binary's console (issue 7): `model list`,
//! `model recognize` (a held-out product picture goes into the cart exactly
//! as a scan of it would; an unclear picture gives the top three; without
//! models it is manual entry and selling goes on), `model score` on a staged
//! fraud shift, and the `status` lines. Everything is local: no network.
//! Tests that need the real TensorFlow Lite library check the fallback
//! instead when keel-ai was built without it (the suite runs with
//! `--features keel-ai/tflite`).
mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's models directory (the demo's models).
fn repo_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// The held-out product pictures: (SKU from the file name, path), sorted.
fn holdout() -> Vec<(String, PathBuf)> {
    let dir = repo_models().join("product-recognition/holdout");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no held-out pictures in {}", dir.display());
    out
}

/// `keel console --demo --data-dir DIR --json [--models-dir M]`.
fn start(dir: &Path, models: Option<&Path>) -> Keel {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.arg("console")
        .arg("--demo")
        .arg("--data-dir")
        .arg(dir)
        .arg("--json");
    if let Some(m) = models {
        cmd.arg("--models-dir").arg(m);
    }
    Keel::spawn(cmd, dir)
}

fn open_sale(k: &mut Keel) {
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    k.ok("sale new");
}

fn lines(cart: &Value) -> Vec<Value> {
    cart["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no lines in {cart}"))
        .clone()
}

fn model<'v>(list: &'v Value, name: &str) -> &'v Value {
    list["models"]
        .as_array()
        .unwrap_or_else(|| panic!("no models in {list}"))
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no model {name} in {list}"))
}

/// Writes an RGB PNG (`rgb` is width x height x 3 bytes).
fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(rgb).unwrap();
}

#[test]
fn without_models_recognition_is_manual_entry_and_selling_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut k = start(dir.path(), Some(empty.path()));

    let list = k.ok("model list");
    for name in ["product-recognition", "loss-prevention"] {
        let m = model(&list, name);
        assert_eq!(m["state"], "fallback", "{list}");
        let reason = m["reason"].as_str().unwrap_or_default();
        assert!(!reason.is_empty(), "a fallback says why: {list}");
    }
    let status = k.ok("status");
    let ai = status["ai_models"]
        .as_array()
        .expect("status lists the models");
    assert_eq!(ai.len(), 2, "{status}");
    assert!(ai.iter().all(|m| m["state"] == "fallback"), "{status}");

    open_sale(&mut k);
    let picture = dir.path().join("frame.png");
    write_png(&picture, 80, 60, &[128u8; 80 * 60 * 3]);
    let r = k.ok(&format!("model recognize {}", picture.display()));
    assert_eq!(r["recognition"], "manual", "{r}");
    assert!(!r["reason"].as_str().unwrap_or_default().is_empty(), "{r}");
    let shown = k.ok("sale show");
    assert!(lines(&shown).is_empty(), "nothing added: {shown}");

    // The terminal keeps selling: manual entry, tender, complete.
    let c = k.ok("sale add CHOC-100");
    assert_eq!(lines(&c)[0]["sku"], "CHOC-100", "{c}");
    k.ok("sale tender cash 5.00");
    let done = k.ok("sale complete");
    assert!(done["receipt"].as_u64().is_some(), "{done}");

    // The risk score falls back to the documented rules.
    let s = k.ok("model score");
    assert_eq!(s["source"]["kind"], "rules", "{s}");
    assert!(
        s["source"]["why"].as_str().is_some_and(|w| !w.is_empty()),
        "{s}"
    );

    // No camera configured: `model recognize` without an image says so.
    let e = k.err("model recognize");
    assert!(e.contains("no camera configured"), "{e}");
    // A picture that is not there is a clear error.
    let e = k.err("model recognize /nonexistent/frame.png");
    assert!(e.contains("/nonexistent/frame.png"), "{e}");
    // Reload is for managers and technicians; a bad directory keeps the fallback.
    let e = k.err(&format!(
        "model reload recognition {}",
        empty.path().display()
    ));
    assert!(e.contains("manager") || e.contains("technician"), "{e}");
    k.ok("logout");
    k.ok(&format!("login {TECHNICIAN}"));
    let e = k.err(&format!(
        "model reload recognition {}",
        empty.path().display()
    ));
    assert!(e.contains("previous one stays"), "{e}");
    let e = k.err("model reload vision /tmp");
    assert!(e.contains("usage: model reload"), "{e}");
    k.quit();
}

#[test]
fn help_lists_the_model_commands() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut k = start(dir.path(), Some(empty.path()));
    let help = k.ok("help");
    let commands: Vec<&str> = help["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in [
        "model list",
        "model recognize [image.png]",
        "model score [shift]",
        "model reload <recognition|loss-prevention> <dir>",
    ] {
        assert!(commands.contains(&c), "{c} missing from {help}");
    }
    k.write("json off");
    assert_eq!(k.read_line(), "json off");
    k.write("model list");
    let first = k.read_line();
    assert!(
        first.starts_with("product-recognition") && first.contains("fallback"),
        "{first}"
    );
    let second = k.read_line();
    assert!(second.starts_with("loss-prevention"), "{second}");
    k.write("json on");
    k.read_line();
    k.quit();
}

/// keel-ai was built with the real TensorFlow Lite library (the suite runs
/// with `--features keel-ai/tflite`; a plain `cargo test` does not).
fn library_built() -> bool {
    let dir = repo_models().join("loss-prevention");
    let manifest = keel_ai::manifest::Manifest::load(&dir).expect("the shipped manifest loads");
    !matches!(
        keel_ai::inference::open(&manifest, &dir),
        Err(keel_ai::inference::InferenceError::NotBuilt)
    )
}

/// Without the library the shipped models are in fallback, saying why, and
/// the terminal still answers: what the real-library tests check instead.
fn check_unbuilt(k: &mut Keel) {
    let list = k.ok("model list");
    for name in ["product-recognition", "loss-prevention"] {
        let m = model(&list, name);
        assert_eq!(m["state"], "fallback", "{list}");
        assert!(
            m["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{list}"
        );
    }
    eprintln!("keel-ai built without the TensorFlow Lite library: checked the fallback only");
}

mod with_the_real_library {
    use super::*;

    fn accept_threshold() -> f64 {
        let text = std::fs::read_to_string(repo_models().join("product-recognition/manifest.toml"))
            .unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        v["thresholds"]["accept"].as_float().unwrap()
    }

    #[test]
    fn model_list_shows_both_models_ready() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = start(dir.path(), None);
        if !library_built() {
            return check_unbuilt(&mut k);
        }
        let list = k.ok("model list");
        for name in ["product-recognition", "loss-prevention"] {
            let m = model(&list, name);
            assert_eq!(m["state"], "ready", "{list}");
            assert!(
                m["version"]
                    .as_str()
                    .is_some_and(|v| v.split('.').count() == 3),
                "a semver version: {list}"
            );
        }
        let status = k.ok("status");
        assert!(
            status["ai_models"]
                .as_array()
                .is_some_and(|a| a.iter().all(|m| m["state"] == "ready")),
            "{status}"
        );
        // A technician reloads a model while the terminal runs.
        k.ok(&format!("login {TECHNICIAN}"));
        let dir = repo_models().join("loss-prevention");
        let r = k.ok(&format!("model reload loss-prevention {}", dir.display()));
        assert_eq!(r["reloaded"], "loss-prevention", "{r}");
        assert_eq!(r["model"]["state"], "ready", "{r}");
        assert_eq!(
            r["model"]["version"],
            model(&list, "loss-prevention")["version"]
        );
        // A directory holding the other kind's model is refused; the model stays.
        let wrong = repo_models().join("product-recognition");
        let e = k.err(&format!("model reload loss-prevention {}", wrong.display()));
        assert!(e.contains("previous one stays"), "{e}");
        let after = k.ok("model list");
        assert_eq!(
            model(&after, "loss-prevention")["state"],
            "ready",
            "{after}"
        );
        k.quit();
    }

    #[test]
    fn a_recognized_product_goes_into_the_cart_like_a_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = start(dir.path(), None);
        if !library_built() {
            return check_unbuilt(&mut k);
        }
        open_sale(&mut k);
        let pictures = holdout();
        // A product sold per piece (weighed items need the scale, as a scan of them does).
        let (sku, path) = pictures
            .iter()
            .find(|(s, _)| s == "CHOC-100")
            .or_else(|| pictures.first())
            .cloned()
            .unwrap();
        let r = k.ok(&format!("model recognize {}", path.display()));
        assert_eq!(r["recognition"], "accepted", "{r}");
        assert_eq!(r["recognized"], sku.as_str(), "{r}");
        let conf = r["confidence"].as_f64().unwrap();
        assert!(conf >= accept_threshold() && conf <= 1.0, "{r}");
        let recognized = lines(&r);
        assert_eq!(recognized.len(), 1, "{r}");
        assert_eq!(recognized[0]["sku"], sku.as_str(), "{r}");

        // A scan of the same product in another sale makes the same line.
        k.ok("sale cancel");
        k.ok("sale new");
        let scanned = k.ok(&format!("sale add {sku}"));
        assert_eq!(
            lines(&scanned),
            recognized,
            "recognition = scan: {scanned} vs {r}"
        );
        assert_eq!(scanned["total"], r["total"]);
        k.quit();
    }

    #[test]
    fn held_out_pictures_name_the_right_product() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = start(dir.path(), None);
        if !library_built() {
            return check_unbuilt(&mut k);
        }
        open_sale(&mut k);
        let pictures = holdout();
        let mut wrong = Vec::new();
        for (sku, path) in &pictures {
            let r = k.send(&format!("model recognize {}", path.display()));
            let named = if r["ok"] == true {
                match r["recognition"].as_str() {
                    Some("accepted") => r["recognized"].as_str().map(String::from),
                    Some("choose") => r["candidates"][0]["sku"].as_str().map(String::from),
                    _ => None,
                }
            } else {
                // Accepted but refused by the sale (a weighed item needs its weight,
                // as a scan of it does): the refusal names what was recognized.
                let e = r["error"].as_str().unwrap_or_default();
                assert!(e.contains("not added"), "{r}");
                e.split_whitespace().nth(1).map(String::from)
            };
            if named.as_deref() != Some(sku.as_str()) {
                wrong.push(format!("{sku} -> {named:?}"));
            }
        }
        assert!(
            wrong.len() * 10 <= pictures.len(),
            "{} of {} held-out pictures named wrongly: {wrong:?}",
            wrong.len(),
            pictures.len()
        );
        k.quit();
    }

    #[test]
    fn an_unclear_picture_gives_the_top_three() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = start(dir.path(), None);
        if !library_built() {
            return check_unbuilt(&mut k);
        }
        open_sale(&mut k);
        let threshold = accept_threshold();
        // Blends of two held-out products until the model is unsure of one.
        let pictures = holdout();
        let frames: Vec<keel_ai::Frame> = pictures
            .iter()
            .map(|(_, p)| keel_ai::Frame::from_png_file(p).unwrap())
            .collect();
        let mut found = None;
        'search: for i in 0..frames.len() {
            for j in (i + 1)..frames.len() {
                let (a, b) = (&frames[i], &frames[j]);
                if (a.width, a.height) != (b.width, b.height) {
                    continue;
                }
                let rgb: Vec<u8> = a
                    .rgb
                    .iter()
                    .zip(&b.rgb)
                    .map(|(x, y)| ((*x as u16 + *y as u16) / 2) as u8)
                    .collect();
                let path = dir.path().join(format!("blend-{i}-{j}.png"));
                write_png(&path, a.width, a.height, &rgb);
                let r = k.send(&format!("model recognize {}", path.display()));
                if r["recognition"] == "choose" {
                    found = Some(r);
                    break 'search;
                }
                if r["ok"] == true {
                    // Accepted and added: start over with an empty sale.
                    k.ok("sale cancel");
                    k.ok("sale new");
                } else {
                    // Accepted but a weighed item: refused like a scan of it, nothing added.
                    let e = r["error"].as_str().unwrap_or_default();
                    assert!(e.contains("not added"), "{r}");
                }
            }
        }
        let r = found.expect("some blend of two products is below the threshold");
        let c = r["candidates"].as_array().unwrap();
        assert_eq!(c.len(), 3, "{r}");
        let conf: Vec<f64> = c
            .iter()
            .map(|x| x["confidence"].as_f64().unwrap())
            .collect();
        assert!(conf[0] < threshold, "below the threshold: {r}");
        assert!(conf[0] >= conf[1] && conf[1] >= conf[2], "best first: {r}");
        assert!(c.iter().all(|x| x["name"].as_str().is_some()), "{r}");
        let shown = k.ok("sale show");
        assert!(lines(&shown).is_empty(), "nothing added: {shown}");
        // Picking one is `sale add <SKU>`.
        let pick = c[0]["sku"].as_str().unwrap().to_string();
        // (quantity 1: a unit, or 1 kg of a weighed product)
        let cart = k.ok(&format!("sale add {pick} 1"));
        assert_eq!(lines(&cart)[0]["sku"], pick.as_str(), "{cart}");
        k.quit();
    }

    #[test]
    fn a_staged_fraud_shift_raises_the_score_with_the_right_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = start(dir.path(), None);
        if !library_built() {
            return check_unbuilt(&mut k);
        }
        k.ok(&format!("login {CASHIER}"));
        k.ok("shift open 100.00");
        // An honest start: one ordinary sale.
        k.ok("sale new");
        k.ok("sale add COFFEE-500");
        k.ok("sale add MILK-1L 2");
        k.ok("sale tender cash 20.00");
        k.ok("sale complete");
        let honest = k.ok("model score");
        assert_eq!(honest["source"]["kind"], "model", "{honest}");
        let honest_score = honest["score"].as_f64().unwrap();
        assert_eq!(honest["level"], "low", "{honest}");

        // Drawer skimming: no-sale drawer opens, and cash sales voided afterwards.
        let mut receipts = Vec::new();
        for _ in 0..3 {
            k.ok("sale new");
            k.ok("sale add COFFEE-500");
            k.ok("sale tender cash 20.00");
            let done = k.ok("sale complete");
            receipts.push(done["receipt"].as_u64().unwrap());
        }
        for _ in 0..6 {
            k.ok("drawer open");
        }
        k.ok("logout");
        k.ok(&format!("login {MANAGER}"));
        for r in &receipts {
            k.ok(&format!("void {r}"));
        }
        // The manager reads the cashier's shift.
        let s = k.ok("model score 1");
        assert_eq!(s["cashier"], honest["cashier"], "{s}");
        let score = s["score"].as_f64().unwrap();
        assert!(score > honest_score, "{s} vs {honest}");
        assert_ne!(s["level"], "low", "{s}");
        let reasons: Vec<&str> = s["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(reasons.contains(&"DRAWER_SKIMMING"), "{s}");
        assert!(
            s["features"]["no_sale_opens_per_hour"].as_f64().unwrap() > 0.0,
            "{s}"
        );
        // A cashier may not read another shift's score.
        k.ok("logout");
        k.ok(&format!("login {CASHIER}"));
        let e = k.err("model score 1");
        assert!(e.contains("manager") || e.contains("technician"), "{e}");

        // The same score reaches the card tender (the AI is the node's risk source).
        k.ok("sale new");
        let cart = k.ok("sale add COFFEE-500");
        let total = cart["total"].as_str().unwrap().to_string();
        let r = k.send(&format!("sale tender card {total} tok_4f9a2c 4242 VISA"));
        assert!(r.to_string().contains("DRAWER_SKIMMING"), "{r}");
        if r["ok"] == true {
            assert_ne!(r["risk"]["level"], "low", "{r}");
        } else {
            assert!(r["error"].as_str().unwrap().contains("approval"), "{r}");
        }
        k.quit();
    }
}
