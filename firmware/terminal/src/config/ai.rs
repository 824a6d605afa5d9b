//! The `[ai]` section of the terminal's config: where the on-device models
//! live, which camera feeds product recognition, the time limits of the two
//! models and the store's UTC offset (for the time-of-day risk features).
//! This module owns only the parsing and checking of those keys and the
//! default models directory; it must not open a model, a camera or a file.

use super::{ConfigError, Locator};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Default time limit of one product recognition (ms).
pub const DEFAULT_RECOGNIZE_LIMIT_MS: u64 = 100;
/// Default time limit of one loss-prevention score (ms).
pub const DEFAULT_SCORE_LIMIT_MS: u64 = 20;
/// Longest accepted time limit (ms): a model slower than this is a fault.
pub const MAX_LIMIT_MS: u64 = 10_000;

/// The repository's models directory (the demo's models).
pub const REPOSITORY_MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models");

/// Where product recognition takes a frame from when `model recognize` has no image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CameraSetting {
    /// No camera: `model recognize` needs an image path.
    #[default]
    None,
    /// A V4L2 capture device (e.g. `/dev/video0`).
    V4l2(PathBuf),
    /// A PNG file read afresh on each capture (tests).
    File(PathBuf),
    /// A directory whose PNG pictures are taken in turn, in name order (the demo).
    Dir(PathBuf),
}

impl CameraSetting {
    /// Parses a config word: `none`, `file:<path>`, `dir:<path>` or a device path.
    pub fn parse(s: &str) -> Option<CameraSetting> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") || s.is_empty() {
            return Some(CameraSetting::None);
        }
        if let Some(p) = s.strip_prefix("file:") {
            return (!p.is_empty()).then(|| CameraSetting::File(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("dir:") {
            return (!p.is_empty()).then(|| CameraSetting::Dir(PathBuf::from(p)));
        }
        s.starts_with('/')
            .then(|| CameraSetting::V4l2(PathBuf::from(s)))
    }

    /// The setting as the config spells it.
    pub fn describe(&self) -> String {
        match self {
            CameraSetting::None => "none".into(),
            CameraSetting::V4l2(p) => p.display().to_string(),
            CameraSetting::File(p) => format!("file:{}", p.display()),
            CameraSetting::Dir(p) => format!("dir:{}", p.display()),
        }
    }
}

/// The `[ai]` section (every key optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AiSettings {
    /// The models directory; `None` picks [`default_models_dir`] at start.
    pub models_dir: Option<PathBuf>,
    /// The camera.
    pub camera: CameraSetting,
    /// Time limit of one recognition (ms); `None` is the default.
    pub recognize_limit_ms: Option<u64>,
    /// Time limit of one score (ms); `None` is the default.
    pub score_limit_ms: Option<u64>,
    /// The store's offset from UTC (minutes), for the time-of-day features.
    pub utc_offset_minutes: i32,
}

impl AiSettings {
    /// The models directory to use for a terminal whose data lives in `data_dir`.
    pub fn models_dir_for(&self, data_dir: &Path) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| default_models_dir(data_dir))
    }

    /// The recognition time limit.
    pub fn recognize_limit(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.recognize_limit_ms
                .unwrap_or(DEFAULT_RECOGNIZE_LIMIT_MS),
        )
    }

    /// The scoring time limit.
    pub fn score_limit(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.score_limit_ms.unwrap_or(DEFAULT_SCORE_LIMIT_MS))
    }
}

/// `<data-dir>/models` when it exists, else the repository's models directory (the demo).
pub fn default_models_dir(data_dir: &Path) -> PathBuf {
    let own = data_dir.join("models");
    if own.is_dir() {
        own
    } else {
        PathBuf::from(REPOSITORY_MODELS)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAi {
    models_dir: Option<PathBuf>,
    camera: Option<Spanned<String>>,
    recognize_limit_ms: Option<Spanned<i64>>,
    score_limit_ms: Option<Spanned<i64>>,
    utc_offset_minutes: Option<Spanned<i64>>,
}

fn limit(
    loc: &Locator<'_>,
    key: &str,
    v: &Option<Spanned<i64>>,
) -> Result<Option<u64>, ConfigError> {
    let Some(v) = v else {
        return Ok(None);
    };
    match u64::try_from(*v.get_ref()) {
        Ok(ms) if (1..=MAX_LIMIT_MS).contains(&ms) => Ok(Some(ms)),
        _ => Err(loc.bad(
            key,
            v,
            format!(
                "a time limit in milliseconds from 1 to {MAX_LIMIT_MS}, got {}",
                v.get_ref()
            ),
        )),
    }
}

/// Checks `[ai]`; relative paths resolve with `resolve` (against the config file).
pub(super) fn ai(
    loc: &Locator<'_>,
    raw: &RawAi,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<AiSettings, ConfigError> {
    let camera = match &raw.camera {
        None => CameraSetting::None,
        Some(c) => match CameraSetting::parse(c.get_ref()) {
            Some(CameraSetting::File(p)) => CameraSetting::File(resolve(&p)),
            Some(CameraSetting::Dir(p)) => CameraSetting::Dir(resolve(&p)),
            Some(other) => other,
            None => {
                return Err(loc.bad(
                    "ai.camera",
                    c,
                    format!(
                        "expected \"none\", a V4L2 device path like \"/dev/video0\", \"file:/path/frame.png\" or \"dir:/path/pictures\", got {:?}",
                        c.get_ref()
                    ),
                ))
            }
        },
    };
    let utc_offset_minutes = match &raw.utc_offset_minutes {
        None => 0,
        Some(v) => match i32::try_from(*v.get_ref()) {
            Ok(m) if (-14 * 60..=14 * 60).contains(&m) => m,
            _ => {
                return Err(loc.bad(
                    "ai.utc_offset_minutes",
                    v,
                    format!(
                        "minutes from -840 to 840 (UTC-14 to UTC+14), got {}",
                        v.get_ref()
                    ),
                ))
            }
        },
    };
    Ok(AiSettings {
        models_dir: raw.models_dir.as_ref().map(resolve),
        camera,
        recognize_limit_ms: limit(loc, "ai.recognize_limit_ms", &raw.recognize_limit_ms)?,
        score_limit_ms: limit(loc, "ai.score_limit_ms", &raw.score_limit_ms)?,
        utc_offset_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_words() {
        assert_eq!(CameraSetting::parse("none"), Some(CameraSetting::None));
        assert_eq!(
            CameraSetting::parse("/dev/video0"),
            Some(CameraSetting::V4l2("/dev/video0".into()))
        );
        assert_eq!(
            CameraSetting::parse("file:/tmp/f.png"),
            Some(CameraSetting::File("/tmp/f.png".into()))
        );
        assert_eq!(CameraSetting::parse("file:"), None);
        assert_eq!(
            CameraSetting::parse("dir:/srv/pictures"),
            Some(CameraSetting::Dir("/srv/pictures".into()))
        );
        assert_eq!(CameraSetting::parse("dir:"), None);
        assert_eq!(CameraSetting::Dir("/srv/p".into()).describe(), "dir:/srv/p");
        assert_eq!(CameraSetting::parse("webcam"), None);
    }

    #[test]
    fn the_section_is_optional_and_checked() {
        use crate::config::tests::GOOD;
        let c = crate::config::parse("t.toml", GOOD, Path::new("/etc/keel")).unwrap();
        assert_eq!(c.ai, AiSettings::default());
        assert_eq!(c.ai.recognize_limit().as_millis(), 100);
        assert_eq!(c.ai.score_limit().as_millis(), 20);
        let text = format!(
            "{GOOD}\n[ai]\nmodels_dir = \"models\"\ncamera = \"file:frame.png\"\nrecognize_limit_ms = 250\nscore_limit_ms = 5\nutc_offset_minutes = 420\n"
        );
        let c = crate::config::parse("t.toml", &text, Path::new("/etc/keel")).unwrap();
        assert_eq!(c.ai.models_dir, Some(PathBuf::from("/etc/keel/models")));
        assert_eq!(
            c.ai.camera,
            CameraSetting::File(PathBuf::from("/etc/keel/frame.png"))
        );
        assert_eq!(c.ai.recognize_limit().as_millis(), 250);
        assert_eq!(c.ai.score_limit().as_millis(), 5);
        assert_eq!(c.ai.utc_offset_minutes, 420);
        for (bad, key) in [
            ("camera = \"webcam\"", "ai.camera"),
            ("recognize_limit_ms = 0", "ai.recognize_limit_ms"),
            ("score_limit_ms = -3", "ai.score_limit_ms"),
            ("utc_offset_minutes = 2000", "ai.utc_offset_minutes"),
        ] {
            let text = format!("{GOOD}\n[ai]\n{bad}\n");
            let e = crate::config::parse("t.toml", &text, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("key `{key}`")), "{bad}: {e}");
        }
        let e = crate::config::parse(
            "t.toml",
            &format!("{GOOD}\n[ai]\nmodel_dir = \"x\"\n"),
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("model_dir"), "{e}");
    }

    #[test]
    fn default_models_dir_prefers_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            default_models_dir(dir.path()),
            PathBuf::from(REPOSITORY_MODELS)
        );
        std::fs::create_dir(dir.path().join("models")).unwrap();
        assert_eq!(default_models_dir(dir.path()), dir.path().join("models"));
    }
}
