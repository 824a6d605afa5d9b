//! The `[ui]` section of the terminal's config: which display backend the
//! touch UI (the `keel-kiosk` binary) uses, which screen set it shows and in
//! which language. This module owns only the parsing and checking of those
//! three words; it must not look at displays, devices or Slint (keel-terminal
//! never depends on Slint; keel-kiosk reads this and decides).

use super::{ConfigError, Locator};
use serde::Deserialize;
use toml::Spanned;

/// Where the UI draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UiBackend {
    /// Chosen at start: a desktop window when a display server is there, the
    /// KMS framebuffer when a DRM card is, headless otherwise.
    #[default]
    Auto,
    /// Fullscreen on the KMS framebuffer, no compositor (the appliance).
    LinuxKms,
    /// A window on an X11 or Wayland desktop.
    Winit,
    /// No display: frames are rendered off-screen by the software renderer.
    Headless,
}

impl UiBackend {
    /// Every accepted word, as the config and `KEEL_UI_BACKEND` spell it.
    pub const NAMES: &'static [&'static str] = &["auto", "linuxkms", "winit", "headless"];

    /// Parses a config or environment word.
    pub fn parse(s: &str) -> Option<UiBackend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(UiBackend::Auto),
            "linuxkms" | "kms" => Some(UiBackend::LinuxKms),
            "winit" | "desktop" => Some(UiBackend::Winit),
            "headless" | "none" => Some(UiBackend::Headless),
            _ => None,
        }
    }

    /// The word for this backend.
    pub fn as_str(self) -> &'static str {
        match self {
            UiBackend::Auto => "auto",
            UiBackend::LinuxKms => "linuxkms",
            UiBackend::Winit => "winit",
            UiBackend::Headless => "headless",
        }
    }
}

/// Which screen set the terminal shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UiMode {
    /// The cashier's sale and tender screens.
    #[default]
    Cashier,
    /// The kitchen display.
    Kitchen,
    /// The customer-facing self-order kiosk.
    SelfOrder,
}

impl UiMode {
    /// Every accepted word.
    pub const NAMES: &'static [&'static str] = &["cashier", "kitchen", "self-order"];

    /// Parses a config word.
    pub fn parse(s: &str) -> Option<UiMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cashier" => Some(UiMode::Cashier),
            "kitchen" => Some(UiMode::Kitchen),
            "self-order" => Some(UiMode::SelfOrder),
            _ => None,
        }
    }

    /// The word for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            UiMode::Cashier => "cashier",
            UiMode::Kitchen => "kitchen",
            UiMode::SelfOrder => "self-order",
        }
    }
}

/// Languages the UI ships translations for.
pub const LANGUAGES: &[&str] = &["en", "id"];

/// The `[ui]` section (every key optional; the defaults are auto, cashier, en).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiConfig {
    /// Display backend.
    pub backend: UiBackend,
    /// Screen set.
    pub mode: UiMode,
    /// Language code, one of [`LANGUAGES`].
    pub language: String,
}

impl Default for UiConfig {
    fn default() -> UiConfig {
        UiConfig {
            backend: UiBackend::Auto,
            mode: UiMode::Cashier,
            language: "en".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUi {
    backend: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
}

fn expected(names: &[&str]) -> String {
    let words: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    format!("expected one of {}", words.join(", "))
}

/// Checks `[ui]`.
pub(super) fn ui(loc: &Locator<'_>, raw: &RawUi) -> Result<UiConfig, ConfigError> {
    let mut c = UiConfig::default();
    if let Some(b) = &raw.backend {
        c.backend = UiBackend::parse(b.get_ref()).ok_or_else(|| {
            loc.bad(
                "ui.backend",
                b,
                format!("{}, got {:?}", expected(UiBackend::NAMES), b.get_ref()),
            )
        })?;
    }
    if let Some(m) = &raw.mode {
        c.mode = UiMode::parse(m.get_ref()).ok_or_else(|| {
            loc.bad(
                "ui.mode",
                m,
                format!("{}, got {:?}", expected(UiMode::NAMES), m.get_ref()),
            )
        })?;
    }
    if let Some(l) = &raw.language {
        let code = l.get_ref().trim().to_ascii_lowercase();
        if !LANGUAGES.contains(&code.as_str()) {
            return Err(loc.bad(
                "ui.language",
                l,
                format!("{}, got {:?}", expected(LANGUAGES), l.get_ref()),
            ));
        }
        c.language = code;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for n in UiBackend::NAMES {
            assert_eq!(UiBackend::parse(n).map(UiBackend::as_str), Some(*n));
        }
        for n in UiMode::NAMES {
            assert_eq!(UiMode::parse(n).map(UiMode::as_str), Some(*n));
        }
        assert_eq!(UiBackend::parse(" WINIT "), Some(UiBackend::Winit));
        assert_eq!(UiBackend::parse("kms"), Some(UiBackend::LinuxKms));
        assert_eq!(UiBackend::parse("x11"), None);
        assert_eq!(UiMode::parse("kiosk"), None);
    }
}
