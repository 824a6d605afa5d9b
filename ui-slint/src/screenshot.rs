//! Screenshot comparison against committed reference PNGs, within a
//! tolerance: a pixel differs when any channel differs by more than
//! [`Tolerance::channel`]; the images match when at most
//! [`Tolerance::max_share`] of the pixels differ. A failing check writes
//! `<name>.actual.png` and `<name>.diff.png` beside the reference; setting
//! `KEEL_ACCEPT_SCREENSHOTS=1` makes the actual image the new reference.

use crate::error::UiError;
use crate::image::Image;
use std::path::{Path, PathBuf};

/// The environment variable that accepts new screenshots.
pub const ACCEPT_ENV: &str = "KEEL_ACCEPT_SCREENSHOTS";

/// How different two screenshots may be and still match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Largest per-channel difference (0-255) that does not count.
    pub channel: u8,
    /// Largest share (0.0-1.0) of differing pixels.
    pub max_share: f64,
}

impl Default for Tolerance {
    /// 8 levels per channel, 0.2 % of the pixels: anti-aliasing noise passes,
    /// a changed word or a moved button does not.
    fn default() -> Tolerance {
        Tolerance {
            channel: 8,
            max_share: 0.002,
        }
    }
}

/// How two images compare.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Pixels differing beyond the channel tolerance (all when sizes differ).
    pub differing: u64,
    /// Pixels compared (of the larger image when sizes differ).
    pub total: u64,
    /// Largest per-channel difference seen.
    pub max_delta: u8,
    /// The sizes are equal.
    pub same_size: bool,
}

impl Comparison {
    /// Share of differing pixels.
    pub fn share(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.differing as f64 / self.total as f64
        }
    }

    /// True when within `tol`.
    pub fn within(&self, tol: Tolerance) -> bool {
        self.same_size && self.share() <= tol.max_share
    }
}

/// Compares two images pixel by pixel.
pub fn compare(actual: &Image, reference: &Image, tol: Tolerance) -> Comparison {
    if (actual.width(), actual.height()) != (reference.width(), reference.height()) {
        let total = u64::from(actual.width().max(reference.width()))
            * u64::from(actual.height().max(reference.height()));
        return Comparison {
            differing: total,
            total,
            max_delta: 255,
            same_size: false,
        };
    }
    let mut differing = 0;
    let mut max_delta = 0;
    for (a, b) in actual
        .rgba()
        .chunks_exact(4)
        .zip(reference.rgba().chunks_exact(4))
    {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        max_delta = max_delta.max(d);
        if d > tol.channel {
            differing += 1;
        }
    }
    Comparison {
        differing,
        total: u64::from(actual.width()) * u64::from(actual.height()),
        max_delta,
        same_size: true,
    }
}

/// A picture of the differences: the reference faded to grey, differing
/// pixels in red. Sizes that differ give the actual image's size.
pub fn diff_image(actual: &Image, reference: &Image, tol: Tolerance) -> Image {
    let (w, h) = (actual.width(), actual.height());
    let mut out = Vec::with_capacity(w as usize * h as usize * 4);
    for y in 0..h {
        for x in 0..w {
            let a = actual.pixel(x, y).unwrap_or([0; 4]);
            match reference.pixel(x, y) {
                Some(r) if a.iter().zip(&r).all(|(p, q)| p.abs_diff(*q) <= tol.channel) => {
                    let grey = (u16::from(r[0]) + u16::from(r[1]) + u16::from(r[2])) / 3;
                    let faded = u8::try_from(160 + grey * 95 / 255).unwrap_or(255);
                    out.extend_from_slice(&[faded, faded, faded, 255]);
                }
                _ => out.extend_from_slice(&[255, 0, 0, 255]),
            }
        }
    }
    Image::new(w, h, out)
}

/// The outcome of [`check`].
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Matched the reference.
    Matched(Comparison),
    /// Written as the new reference (accept mode).
    Accepted(PathBuf),
    /// No match (or no reference); the message says what was written and how to accept.
    Failed(String),
}

/// Checks `actual` against `dir/<name>.png`, accepting it instead when
/// [`ACCEPT_ENV`] is `1`; see the module docs.
pub fn check(name: &str, actual: &Image, dir: &Path, tol: Tolerance) -> Result<Outcome, UiError> {
    let accept = std::env::var(ACCEPT_ENV).is_ok_and(|v| v == "1");
    check_with(name, actual, dir, tol, accept)
}

/// [`check`] with accept mode given rather than read from the environment.
pub fn check_with(
    name: &str,
    actual: &Image,
    dir: &Path,
    tol: Tolerance,
    accept: bool,
) -> Result<Outcome, UiError> {
    let reference_path = dir.join(format!("{name}.png"));
    let actual_path = dir.join(format!("{name}.actual.png"));
    let diff_path = dir.join(format!("{name}.diff.png"));
    let remove_debris = || {
        for p in [&actual_path, &diff_path] {
            if p.exists() {
                if let Err(e) = std::fs::remove_file(p) {
                    log::warn!("{}: {e}", p.display());
                }
            }
        }
    };
    if accept {
        std::fs::create_dir_all(dir).map_err(|source| UiError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        actual.save_png(&reference_path)?;
        remove_debris();
        return Ok(Outcome::Accepted(reference_path));
    }
    let how = format!(
        "look at them, then accept with {ACCEPT_ENV}=1 cargo test -p keel-ui --test screenshots"
    );
    if !reference_path.exists() {
        actual.save_png(&actual_path)?;
        return Ok(Outcome::Failed(format!(
            "{}: no reference; wrote {}; {how}",
            reference_path.display(),
            actual_path.display()
        )));
    }
    let reference = Image::load_png(&reference_path)?;
    let c = compare(actual, &reference, tol);
    if c.within(tol) {
        remove_debris();
        return Ok(Outcome::Matched(c));
    }
    actual.save_png(&actual_path)?;
    diff_image(actual, &reference, tol).save_png(&diff_path)?;
    Ok(Outcome::Failed(format!(
        "{}: {} of {} pixels differ ({:.3} %, allowed {:.3} %; max channel difference {}, allowed {}){}; wrote {} and {}; {how}",
        reference_path.display(),
        c.differing,
        c.total,
        c.share() * 100.0,
        tol.max_share * 100.0,
        c.max_delta,
        tol.channel,
        if c.same_size { "" } else { "; sizes differ" },
        actual_path.display(),
        diff_path.display(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, v: u8) -> Image {
        Image::new(w, h, vec![v; (w * h * 4) as usize])
    }

    #[test]
    fn tolerance_per_channel_and_share() {
        let tol = Tolerance {
            channel: 8,
            max_share: 0.25,
        };
        let a = solid(2, 2, 100);
        let mut px = a.rgba().to_vec();
        px[0] = 108; // within channel tolerance
        assert!(compare(&Image::new(2, 2, px.clone()), &a, tol).within(tol));
        px[4] = 120; // one pixel of four: 25 %
        let c = compare(&Image::new(2, 2, px.clone()), &a, tol);
        assert_eq!((c.differing, c.max_delta), (1, 20));
        assert!(c.within(tol));
        px[8] = 0; // two of four
        assert!(!compare(&Image::new(2, 2, px), &a, tol).within(tol));
        assert!(!compare(&solid(2, 3, 100), &a, tol).within(tol));
    }

    #[test]
    fn failing_check_writes_actual_and_diff_then_clears_them() {
        let dir = std::env::temp_dir().join(format!("keel-ui-shot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tol = Tolerance::default();
        let missing = check_with("x", &solid(4, 4, 10), &dir, tol, false).unwrap();
        assert!(matches!(missing, Outcome::Failed(m) if m.contains(ACCEPT_ENV)));
        assert!(dir.join("x.actual.png").exists());
        solid(4, 4, 10).save_png(&dir.join("x.png")).unwrap();
        let failed = check_with("x", &solid(4, 4, 200), &dir, tol, false).unwrap();
        assert!(matches!(failed, Outcome::Failed(_)));
        assert!(dir.join("x.diff.png").exists());
        let ok = check_with("x", &solid(4, 4, 12), &dir, tol, false).unwrap();
        assert!(matches!(ok, Outcome::Matched(_)));
        assert!(!dir.join("x.actual.png").exists() && !dir.join("x.diff.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
