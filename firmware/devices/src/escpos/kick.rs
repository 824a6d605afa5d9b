//! The cash-drawer port of a printer: which connector pin to pulse and for
//! how long.
//!
//! Owns the pin choice and the pulse limits of `ESC p m t1 t2` (2 ms units,
//! at most 255 units each). Whether a drawer may open is the terminal's
//! decision, never this module's.

/// Pulse length usually enough for a drawer solenoid (`t1` = 25).
pub const DEFAULT_ON_MS: u16 = 50;
/// Pause after the pulse (`t2` = 250).
pub const DEFAULT_OFF_MS: u16 = 500;
/// Longest on or off time `ESC p` can express (255 units of 2 ms).
pub const MAX_PULSE_MS: u16 = 510;

/// The drawer-kick connector pin to pulse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DrawerPin {
    /// Pin 2 (`m` = 0): the first drawer on almost every printer.
    #[default]
    Pin2,
    /// Pin 5 (`m` = 1): a second drawer.
    Pin5,
}

impl DrawerPin {
    /// The `m` byte of `ESC p m t1 t2`.
    pub fn m(self) -> u8 {
        match self {
            DrawerPin::Pin2 => 0,
            DrawerPin::Pin5 => 1,
        }
    }

    /// The pin selected by `m` (0 or 48 for pin 2, 1 or 49 for pin 5).
    pub fn from_m(m: u8) -> Option<DrawerPin> {
        match m {
            0 | 48 => Some(DrawerPin::Pin2),
            1 | 49 => Some(DrawerPin::Pin5),
            _ => None,
        }
    }

    /// The connector pin number (2 or 5).
    pub fn number(self) -> u8 {
        match self {
            DrawerPin::Pin2 => 2,
            DrawerPin::Pin5 => 5,
        }
    }
}
