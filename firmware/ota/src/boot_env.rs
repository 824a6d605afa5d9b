//! The A/B boot state the bootloader keeps: the slot order and each slot's
//! tries left, and the one rule the boot scripts apply to it.
//!
//! Owns the pure model of the scheme (like RAUC's U-Boot/GRUB boot-count
//! scheme): [`BootEnv`] and [`select_boot`], which is exactly what
//! `board/common/grub/keel-ab.cfg` and `board/common/u-boot/keel-ab.cmd` do
//! at every boot. It also converts to and from the environment variables
//! (`KEEL_ORDER`, `KEEL_A_LEFT`, `KEEL_B_LEFT`). It must not read or write
//! any file: the bootloader adapters ([`crate::grubenv`],
//! [`crate::ubootenv`]) carry the variables.

use crate::slot::Slot;
use std::collections::BTreeMap;

/// How many boots a slot gets before the bootloader gives up on it.
pub const MAX_TRIES: u8 = 3;

/// Variable holding the boot order, `"A B"` or `"B A"`.
pub const VAR_ORDER: &str = "KEEL_ORDER";
/// Variable holding slot A's tries left, `0` to `3`.
pub const VAR_A_LEFT: &str = "KEEL_A_LEFT";
/// Variable holding slot B's tries left, `0` to `3`.
pub const VAR_B_LEFT: &str = "KEEL_B_LEFT";

/// The boot-relevant part of a bootloader environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BootEnv {
    /// The slot tried first, then the other one.
    pub first: Slot,
    /// Tries left for slot A (0 = not bootable).
    pub a_left: u8,
    /// Tries left for slot B (0 = not bootable).
    pub b_left: u8,
}

/// A bootloader environment whose A/B variables cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootEnvError {
    /// `KEEL_ORDER` is neither `"A B"` nor `"B A"`.
    #[error("{VAR_ORDER}={0:?}: expected \"A B\" or \"B A\"")]
    BadOrder(String),
    /// A tries-left variable is not a number from 0 to 3.
    #[error("{var}={value:?}: expected a number of tries from 0 to {MAX_TRIES}")]
    BadTries {
        /// The variable's name.
        var: &'static str,
        /// Its value as found.
        value: String,
    },
}

impl Default for BootEnv {
    /// A freshly flashed box: A first, both slots with every try left (the
    /// image writes the same system into both). The boot scripts use the same
    /// values for variables that are not set.
    fn default() -> Self {
        BootEnv::fresh(Slot::A)
    }
}

impl BootEnv {
    /// Both slots bootable with every try left, `first` tried first.
    pub fn fresh(first: Slot) -> BootEnv {
        BootEnv {
            first,
            a_left: MAX_TRIES,
            b_left: MAX_TRIES,
        }
    }

    /// The order the bootloader walks: `[first, other]`.
    pub fn order(&self) -> [Slot; 2] {
        [self.first, self.first.other()]
    }

    /// Tries left for `slot`.
    pub fn left(&self, slot: Slot) -> u8 {
        match slot {
            Slot::A => self.a_left,
            Slot::B => self.b_left,
        }
    }

    fn set_left(&mut self, slot: Slot, left: u8) {
        match slot {
            Slot::A => self.a_left = left,
            Slot::B => self.b_left = left,
        }
    }

    /// After writing `slot`: boot it first, with every try left; the other
    /// (the running, good system) keeps every try as the fallback.
    pub fn try_slot(&mut self, slot: Slot) {
        self.first = slot;
        self.set_left(slot, MAX_TRIES);
        self.set_left(slot.other(), MAX_TRIES);
    }

    /// The running system in `slot` passed its health check: all its tries
    /// back. The order is left alone.
    pub fn mark_good(&mut self, slot: Slot) {
        self.set_left(slot, MAX_TRIES);
    }

    /// `slot` must not boot (being written, or failed its tries): no tries
    /// left and at the back of the order.
    pub fn mark_bad(&mut self, slot: Slot) {
        self.set_left(slot, 0);
        if self.first == slot {
            self.first = slot.other();
        }
    }

    /// Reads the A/B variables out of a whole environment. A variable that is
    /// not set takes its [`BootEnv::default`] value, as the scripts do; one
    /// set to something else is an error.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<BootEnv, BootEnvError> {
        let mut env = BootEnv::default();
        if let Some(order) = vars.get(VAR_ORDER) {
            env.first = match order.as_str() {
                "A B" => Slot::A,
                "B A" => Slot::B,
                _ => return Err(BootEnvError::BadOrder(order.clone())),
            };
        }
        for (var, slot) in [(VAR_A_LEFT, Slot::A), (VAR_B_LEFT, Slot::B)] {
            if let Some(value) = vars.get(var) {
                let left = match value.as_str() {
                    "0" => 0,
                    "1" => 1,
                    "2" => 2,
                    "3" => 3,
                    _ => {
                        return Err(BootEnvError::BadTries {
                            var,
                            value: value.clone(),
                        })
                    }
                };
                env.set_left(slot, left);
            }
        }
        Ok(env)
    }

    /// Reads the A/B variables the way the boot scripts do, which never
    /// fail: an unset or empty order is `"A B"` and so is anything but
    /// `"B A"`; an unset or empty tries variable is 3 and anything but `0` to
    /// `3` is 0. The updater uses the strict [`BootEnv::from_vars`]; this one
    /// is the model the script tests compare against.
    pub fn from_vars_as_bootloader(vars: &BTreeMap<String, String>) -> BootEnv {
        let get = |var: &str| vars.get(var).map(String::as_str).unwrap_or("");
        let tries = |var: &str| match get(var) {
            "" | "3" => 3,
            "2" => 2,
            "1" => 1,
            _ => 0,
        };
        BootEnv {
            first: if get(VAR_ORDER) == "B A" {
                Slot::B
            } else {
                Slot::A
            },
            a_left: tries(VAR_A_LEFT),
            b_left: tries(VAR_B_LEFT),
        }
    }

    /// Writes the A/B variables into a whole environment, leaving every
    /// other variable as it is.
    pub fn to_vars(&self, vars: &mut BTreeMap<String, String>) {
        let order = format!("{} {}", self.first, self.first.other());
        vars.insert(VAR_ORDER.to_string(), order);
        vars.insert(VAR_A_LEFT.to_string(), self.a_left.to_string());
        vars.insert(VAR_B_LEFT.to_string(), self.b_left.to_string());
    }
}

/// What the boot scripts do at every boot: walk the order and boot the first
/// slot with a try left, taking that try first. When neither slot has a try
/// left, both get every try back and the walk runs again (a box is never left
/// with nothing to boot). Returns the slot to boot; `env` is what the script
/// saves before booting it.
pub fn select_boot(env: &mut BootEnv) -> Slot {
    for slot in env.order() {
        let left = env.left(slot);
        if left > 0 {
            env.set_left(slot, left - 1);
            return slot;
        }
    }
    env.a_left = MAX_TRIES;
    env.b_left = MAX_TRIES;
    let slot = env.first;
    env.set_left(slot, MAX_TRIES - 1);
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_slot_gets_three_tries_then_the_old_one_boots() {
        let mut env = BootEnv::default();
        env.try_slot(Slot::B);
        let boots: Vec<Slot> = (0..5).map(|_| select_boot(&mut env)).collect();
        assert_eq!(boots, [Slot::B, Slot::B, Slot::B, Slot::A, Slot::A]);
        assert_eq!(env.b_left, 0);
        assert_eq!(env.a_left, 1);
    }

    #[test]
    fn marking_good_keeps_the_slot_booting() {
        let mut env = BootEnv::default();
        env.try_slot(Slot::B);
        for _ in 0..10 {
            assert_eq!(select_boot(&mut env), Slot::B);
            env.mark_good(Slot::B);
        }
    }

    #[test]
    fn nothing_left_resets_both_and_boots_the_first() {
        let mut env = BootEnv {
            first: Slot::B,
            a_left: 0,
            b_left: 0,
        };
        assert_eq!(select_boot(&mut env), Slot::B);
        assert_eq!(
            env,
            BootEnv {
                first: Slot::B,
                a_left: 3,
                b_left: 2
            }
        );
    }

    #[test]
    fn mark_bad_moves_the_slot_to_the_back() {
        let mut env = BootEnv::fresh(Slot::B);
        env.mark_bad(Slot::B);
        assert_eq!(env.order(), [Slot::A, Slot::B]);
        assert_eq!(env.left(Slot::B), 0);
        assert_eq!(select_boot(&mut env), Slot::A);
    }

    #[test]
    fn variables_round_trip_and_bad_values_are_errors() {
        let env = BootEnv {
            first: Slot::B,
            a_left: 0,
            b_left: 2,
        };
        let mut vars = BTreeMap::new();
        vars.insert("other".to_string(), "kept".to_string());
        env.to_vars(&mut vars);
        assert_eq!(vars["KEEL_ORDER"], "B A");
        assert_eq!(vars["other"], "kept");
        assert_eq!(BootEnv::from_vars(&vars), Ok(env));
        assert_eq!(BootEnv::from_vars(&BTreeMap::new()), Ok(BootEnv::default()));
        vars.insert("KEEL_A_LEFT".to_string(), "4".to_string());
        assert!(matches!(
            BootEnv::from_vars(&vars),
            Err(BootEnvError::BadTries { .. })
        ));
        vars.insert("KEEL_A_LEFT".to_string(), "1".to_string());
        vars.insert("KEEL_ORDER".to_string(), "A".to_string());
        assert!(matches!(
            BootEnv::from_vars(&vars),
            Err(BootEnvError::BadOrder(_))
        ));
    }
}
