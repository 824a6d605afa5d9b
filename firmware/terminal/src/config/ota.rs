//! The `[ota]` section of the terminal's config: trusted bundle keys, the
//! reboot command, business hours, automatic installs of offered releases,
//! the health check's deadline, and the overrides a test (or an unusual
//! appliance) needs: the running slot, the boot environment and the slot
//! devices instead of the board's. This module owns only parsing and
//! checking those keys; it must not open a key, a device or a file.

use super::{ConfigError, Locator};
use keel_ota::schedule::{OpenPeriod, Weekday};
use keel_ota::slot::Slot;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// Where trusted bundle keys (`*.pub`) live unless `[ota] trusted_keys_dir` says.
pub const DEFAULT_TRUSTED_KEYS_DIR: &str = "/etc/keel/ota-keys";
/// The reboot command unless `[ota] reboot_command` says.
pub const DEFAULT_REBOOT_COMMAND: &[&str] = &["systemctl", "reboot"];
/// Business hours unless `[ota] business_hours` says (every day).
pub const DEFAULT_BUSINESS_HOURS: &str = "08:00-22:00";
/// Seconds a new system has to pass its health check.
pub const DEFAULT_HEALTH_DEADLINE_S: u64 = 120;

/// The `[ota]` section (every key optional).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtaSettings {
    /// Directory of trusted public keys (`NAME.pub`).
    pub trusted_keys_dir: PathBuf,
    /// The command that reboots the terminal (program and arguments).
    pub reboot_command: Vec<String>,
    /// The store's opening periods (an install inside one needs a manager's `--now`).
    pub business_hours: Vec<OpenPeriod>,
    /// The text of `business_hours` as configured (for messages).
    pub business_hours_text: String,
    /// Install an offered firmware release on its own when the schedule allows.
    pub auto_install: bool,
    /// The running slot, instead of the kernel command line's `keel.slot=`.
    pub running_slot: Option<Slot>,
    /// The boot environment file, instead of the board's.
    pub boot_environment: Option<PathBuf>,
    /// Slot A's device (or image file), instead of the board's partition.
    pub slot_a: Option<PathBuf>,
    /// Slot B's device (or image file), instead of the board's partition.
    pub slot_b: Option<PathBuf>,
    /// Seconds a new system has to pass its health check.
    pub health_deadline_s: u64,
    /// The health check waits for the UI even without a kiosk reporting it.
    pub health_requires_ui: bool,
}

impl Default for OtaSettings {
    fn default() -> Self {
        OtaSettings {
            trusted_keys_dir: PathBuf::from(DEFAULT_TRUSTED_KEYS_DIR),
            reboot_command: DEFAULT_REBOOT_COMMAND
                .iter()
                .map(|s| s.to_string())
                .collect(),
            business_hours: every_day(8 * 60, 22 * 60),
            business_hours_text: DEFAULT_BUSINESS_HOURS.to_string(),
            auto_install: true,
            running_slot: None,
            boot_environment: None,
            slot_a: None,
            slot_b: None,
            health_deadline_s: DEFAULT_HEALTH_DEADLINE_S,
            health_requires_ui: false,
        }
    }
}

impl OtaSettings {
    /// The configured device of `slot`, if overridden.
    pub fn slot_override(&self, slot: Slot) -> Option<&PathBuf> {
        match slot {
            Slot::A => self.slot_a.as_ref(),
            Slot::B => self.slot_b.as_ref(),
        }
    }
}

fn every_day(open: u16, close: u16) -> Vec<OpenPeriod> {
    use Weekday::*;
    [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
        .into_iter()
        .map(|day| OpenPeriod { day, open, close })
        .collect()
}

fn hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Parses business hours: `"HH:MM-HH:MM"` (every day; a close before the
/// open runs past midnight) or `"none"` (the store never closes... for
/// installs: no business hours, installs may start any time).
pub fn parse_business_hours(s: &str) -> Option<Vec<OpenPeriod>> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Some(Vec::new());
    }
    let (open, close) = s.split_once('-')?;
    let (open, close) = (hhmm(open)?, hhmm(close)?);
    (open != close).then(|| every_day(open, close))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOta {
    trusted_keys_dir: Option<PathBuf>,
    reboot_command: Option<Spanned<Vec<String>>>,
    business_hours: Option<Spanned<String>>,
    auto_install: Option<bool>,
    running_slot: Option<Spanned<String>>,
    boot_environment: Option<PathBuf>,
    slot_a: Option<PathBuf>,
    slot_b: Option<PathBuf>,
    health_deadline_s: Option<Spanned<i64>>,
    health_requires_ui: Option<bool>,
}

/// Checks `[ota]`; relative paths resolve with `resolve` (against the config file).
pub(super) fn ota(
    loc: &Locator<'_>,
    raw: &RawOta,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<OtaSettings, ConfigError> {
    let d = OtaSettings::default();
    let reboot_command = match &raw.reboot_command {
        None => d.reboot_command,
        Some(c) if c.get_ref().is_empty() || c.get_ref()[0].is_empty() => {
            return Err(loc.bad(
                "ota.reboot_command",
                c,
                "a program and its arguments, like [\"systemctl\", \"reboot\"]",
            ))
        }
        Some(c) => c.get_ref().clone(),
    };
    let (business_hours, business_hours_text) = match &raw.business_hours {
        None => (d.business_hours, d.business_hours_text),
        Some(h) => (
            parse_business_hours(h.get_ref()).ok_or_else(|| {
                loc.bad(
                    "ota.business_hours",
                    h,
                    format!(
                        "expected \"HH:MM-HH:MM\" (store local time) or \"none\", got {:?}",
                        h.get_ref()
                    ),
                )
            })?,
            h.get_ref().clone(),
        ),
    };
    let running_slot = match &raw.running_slot {
        None => None,
        Some(s) => Some(s.get_ref().parse::<Slot>().map_err(|_| {
            loc.bad(
                "ota.running_slot",
                s,
                format!("expected \"A\" or \"B\", got {:?}", s.get_ref()),
            )
        })?),
    };
    let health_deadline_s = match &raw.health_deadline_s {
        None => d.health_deadline_s,
        Some(v) => match u64::try_from(*v.get_ref()) {
            Ok(s) if (1..=3600).contains(&s) => s,
            _ => {
                return Err(loc.bad(
                    "ota.health_deadline_s",
                    v,
                    format!("seconds from 1 to 3600, got {}", v.get_ref()),
                ))
            }
        },
    };
    Ok(OtaSettings {
        trusted_keys_dir: raw
            .trusted_keys_dir
            .as_ref()
            .map(resolve)
            .unwrap_or(d.trusted_keys_dir),
        reboot_command,
        business_hours,
        business_hours_text,
        auto_install: raw.auto_install.unwrap_or(d.auto_install),
        running_slot,
        boot_environment: raw.boot_environment.as_ref().map(resolve),
        slot_a: raw.slot_a.as_ref().map(resolve),
        slot_b: raw.slot_b.as_ref().map(resolve),
        health_deadline_s,
        health_requires_ui: raw.health_requires_ui.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_hours_words() {
        let h = parse_business_hours("08:00-22:00").unwrap();
        assert_eq!(h.len(), 7);
        assert_eq!((h[0].open, h[0].close), (480, 1320));
        let night = parse_business_hours("18:30-02:00").unwrap();
        assert_eq!((night[6].open, night[6].close), (1110, 120));
        assert_eq!(parse_business_hours("none"), Some(Vec::new()));
        for bad in ["8-22", "08:00", "25:00-26:00", "08:00-08:00", "08:60-09:00"] {
            assert_eq!(parse_business_hours(bad), None, "{bad}");
        }
    }
}
