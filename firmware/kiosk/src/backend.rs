//! Which display backend the kiosk runs on, decided once at start: the
//! `KEEL_UI_BACKEND` environment variable overrides the config's `[ui]
//! backend`; `auto` picks a desktop window (winit) when `DISPLAY` or
//! `WAYLAND_DISPLAY` is set, the KMS framebuffer (linuxkms) when a
//! `/dev/dri/card*` exists and no display server does, and the headless
//! software renderer otherwise. The answer says why, for the log and the
//! console.
//!
//! This module owns that decision only ([`choose`] is pure; [`Probe::detect`]
//! reads the environment and `/dev/dri`). It must not start Slint or open a
//! device; the binary does that with the [`Choice`].

use keel_terminal::config::UiBackend;
use std::path::PathBuf;
use thiserror::Error;

/// The environment variable that overrides the config's backend.
pub const BACKEND_ENV: &str = "KEEL_UI_BACKEND";

/// The environment variable that picks the renderer under linuxkms:
/// `auto` (default: GL where the board has it, else software), `software` or `gl`.
pub const RENDERER_ENV: &str = "KEEL_UI_RENDERER";

/// A backend the kiosk can run on (never `auto`: that is decided here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Fullscreen on the KMS framebuffer (cargo feature `kms`).
    LinuxKms,
    /// A window on an X11 or Wayland desktop (cargo feature `desktop`).
    Winit,
    /// No display: the software renderer draws frames off-screen.
    Headless,
}

impl Backend {
    /// Its name, as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::LinuxKms => "linuxkms",
            Backend::Winit => "winit",
            Backend::Headless => "headless",
        }
    }

    /// The keel-kiosk cargo feature that builds it (`None`: always built).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Backend::LinuxKms => Some("kms"),
            Backend::Winit => Some("desktop"),
            Backend::Headless => None,
        }
    }

    /// Whether this build of keel-kiosk has it.
    pub fn compiled(self) -> bool {
        match self {
            Backend::LinuxKms => cfg!(feature = "kms"),
            Backend::Winit => cfg!(feature = "desktop"),
            Backend::Headless => true,
        }
    }
}

/// What the machine looks like, as far as the choice goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// `KEEL_UI_BACKEND`, when set and not empty.
    pub override_word: Option<String>,
    /// The display server variable that is set (`DISPLAY` or
    /// `WAYLAND_DISPLAY`) and its value.
    pub display: Option<(&'static str, String)>,
    /// The first `/dev/dri/card*`, if any.
    pub dri_card: Option<PathBuf>,
}

impl Probe {
    /// Reads the environment and lists `/dev/dri`.
    pub fn detect() -> Probe {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let display = var("WAYLAND_DISPLAY")
            .map(|v| ("WAYLAND_DISPLAY", v))
            .or_else(|| var("DISPLAY").map(|v| ("DISPLAY", v)));
        let dri_card = std::fs::read_dir("/dev/dri").ok().and_then(|dir| {
            let mut cards: Vec<PathBuf> = dir
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("card"))
                .map(|e| e.path())
                .collect();
            cards.sort();
            cards.into_iter().next()
        });
        Probe {
            override_word: var(BACKEND_ENV),
            display,
            dri_card,
        }
    }
}

/// The backend chosen and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The backend.
    pub backend: Backend,
    /// Why, in one sentence.
    pub why: String,
}

/// A backend cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BackendError {
    /// `KEEL_UI_BACKEND` names no backend.
    #[error("{BACKEND_ENV}={0:?}: expected auto, linuxkms, winit or headless")]
    BadOverride(String),
    /// `KEEL_UI_RENDERER` names no renderer.
    #[error("{RENDERER_ENV}={0:?}: expected auto, software or gl")]
    BadRenderer(String),
    /// The backend asked for is not in this build.
    #[error("the {backend} backend was asked for ({by}) but this keel-kiosk was built without it: rebuild with `--features {feature}`")]
    NotBuilt {
        /// The backend.
        backend: &'static str,
        /// Who asked (the environment or the config).
        by: String,
        /// The feature that builds it.
        feature: &'static str,
    },
}

/// The Slint renderer name to ask `backend` for, given `KEEL_UI_RENDERER`
/// (`None` there means unset). `Ok(None)` lets Slint's linuxkms backend try
/// femtovg over EGL/GBM first and fall back to the software renderer. A
/// desktop window always uses the software renderer (the desktop build has no
/// other), and so does headless.
pub fn renderer(
    backend: Backend,
    word: Option<&str>,
) -> Result<Option<&'static str>, BackendError> {
    let word = word.map(str::trim).unwrap_or("auto");
    let wanted = match word {
        "" | "auto" => None,
        "software" => Some("software"),
        "gl" => Some("femtovg"),
        other => return Err(BackendError::BadRenderer(other.to_string())),
    };
    Ok(match backend {
        Backend::LinuxKms => wanted,
        Backend::Winit | Backend::Headless => Some("software"),
    })
}

/// Decides the backend: the override, else the config's `[ui] backend`, with
/// `auto` decided from the probe. `compiled` says which backends this build
/// has ([`Backend::compiled`] in the binary; tests pass their own).
pub fn choose(
    configured: UiBackend,
    probe: &Probe,
    compiled: impl Fn(Backend) -> bool,
) -> Result<Choice, BackendError> {
    let (asked, by) = match &probe.override_word {
        Some(word) => (
            UiBackend::parse(word).ok_or_else(|| BackendError::BadOverride(word.clone()))?,
            format!("{BACKEND_ENV}={word}"),
        ),
        None => (
            configured,
            format!("[ui] backend = \"{}\"", configured.as_str()),
        ),
    };
    let explicit = |backend: Backend| {
        if compiled(backend) {
            Ok(Choice {
                backend,
                why: by.clone(),
            })
        } else {
            Err(BackendError::NotBuilt {
                backend: backend.as_str(),
                by: by.clone(),
                feature: backend.feature().unwrap_or("none"),
            })
        }
    };
    match asked {
        UiBackend::LinuxKms => explicit(Backend::LinuxKms),
        UiBackend::Winit => explicit(Backend::Winit),
        UiBackend::Headless => explicit(Backend::Headless),
        UiBackend::Auto => Ok(auto(probe, &by, compiled)),
    }
}

fn auto(probe: &Probe, by: &str, compiled: impl Fn(Backend) -> bool) -> Choice {
    let headless = |why: String| Choice {
        backend: Backend::Headless,
        why,
    };
    if let Some((var, value)) = &probe.display {
        return if compiled(Backend::Winit) {
            Choice {
                backend: Backend::Winit,
                why: format!("{by}: {var}={value} is set, so a desktop window"),
            }
        } else {
            headless(format!(
                "{by}: {var}={value} is set but this build has no desktop backend (`--features desktop`), so headless"
            ))
        };
    }
    if let Some(card) = &probe.dri_card {
        return if compiled(Backend::LinuxKms) {
            Choice {
                backend: Backend::LinuxKms,
                why: format!(
                    "{by}: no display server and {} exists, so fullscreen on KMS",
                    card.display()
                ),
            }
        } else {
            headless(format!(
                "{by}: {} exists but this build has no KMS backend (`--features kms`), so headless",
                card.display()
            ))
        };
    }
    headless(format!(
        "{by}: no DISPLAY or WAYLAND_DISPLAY and no /dev/dri/card*, so headless"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: Backend) -> bool {
        true
    }

    #[test]
    fn kms_tries_gl_then_software_unless_told() {
        assert_eq!(renderer(Backend::LinuxKms, None), Ok(None));
        assert_eq!(renderer(Backend::LinuxKms, Some("auto")), Ok(None));
        assert_eq!(
            renderer(Backend::LinuxKms, Some("software")),
            Ok(Some("software"))
        );
        assert_eq!(renderer(Backend::LinuxKms, Some("gl")), Ok(Some("femtovg")));
        assert_eq!(renderer(Backend::Winit, None), Ok(Some("software")));
        assert_eq!(renderer(Backend::Winit, Some("gl")), Ok(Some("software")));
        assert_eq!(
            renderer(Backend::LinuxKms, Some("vulkan")),
            Err(BackendError::BadRenderer("vulkan".into()))
        );
        assert_eq!(
            BackendError::BadRenderer("vulkan".into()).to_string(),
            "KEEL_UI_RENDERER=\"vulkan\": expected auto, software or gl"
        );
    }

    fn only_headless(b: Backend) -> bool {
        b == Backend::Headless
    }

    fn probe(over: Option<&str>, display: bool, card: bool) -> Probe {
        Probe {
            override_word: over.map(String::from),
            display: display.then(|| ("DISPLAY", ":0".to_string())),
            dri_card: card.then(|| PathBuf::from("/dev/dri/card0")),
        }
    }

    #[test]
    fn auto_prefers_a_display_then_kms_then_headless() {
        let c = choose(UiBackend::Auto, &probe(None, true, true), all).unwrap();
        assert_eq!(c.backend, Backend::Winit);
        assert!(c.why.contains("DISPLAY=:0"), "{}", c.why);
        let c = choose(UiBackend::Auto, &probe(None, false, true), all).unwrap();
        assert_eq!(c.backend, Backend::LinuxKms);
        assert!(c.why.contains("/dev/dri/card0"), "{}", c.why);
        let c = choose(UiBackend::Auto, &probe(None, false, false), all).unwrap();
        assert_eq!(c.backend, Backend::Headless);
        assert!(c.why.contains("no DISPLAY"), "{}", c.why);
    }

    #[test]
    fn auto_without_the_feature_falls_back_to_headless_and_says_so() {
        let c = choose(UiBackend::Auto, &probe(None, true, false), only_headless).unwrap();
        assert_eq!(c.backend, Backend::Headless);
        assert!(c.why.contains("--features desktop"), "{}", c.why);
        let c = choose(UiBackend::Auto, &probe(None, false, true), only_headless).unwrap();
        assert_eq!(c.backend, Backend::Headless);
        assert!(c.why.contains("--features kms"), "{}", c.why);
    }

    #[test]
    fn the_environment_overrides_the_config() {
        let c = choose(UiBackend::Winit, &probe(Some("headless"), true, true), all).unwrap();
        assert_eq!(c.backend, Backend::Headless);
        assert_eq!(c.why, "KEEL_UI_BACKEND=headless");
        let c = choose(UiBackend::Headless, &probe(Some("auto"), true, false), all).unwrap();
        assert_eq!(c.backend, Backend::Winit);
        assert!(c.why.starts_with("KEEL_UI_BACKEND=auto"), "{}", c.why);
        let c = choose(UiBackend::LinuxKms, &probe(None, true, false), all).unwrap();
        assert_eq!(c.backend, Backend::LinuxKms, "the config is obeyed");
        assert_eq!(
            choose(UiBackend::Auto, &probe(Some("x11"), false, false), all),
            Err(BackendError::BadOverride("x11".into()))
        );
    }

    #[test]
    fn an_explicit_backend_not_built_is_an_error_naming_the_feature() {
        let e = choose(UiBackend::Winit, &probe(None, true, false), only_headless).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("--features desktop") && text.contains("[ui] backend = \"winit\""),
            "{text}"
        );
        let e = choose(
            UiBackend::Auto,
            &probe(Some("kms"), false, true),
            only_headless,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--features kms"), "{e}");
    }
}
