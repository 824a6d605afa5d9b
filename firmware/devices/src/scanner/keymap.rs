//! Keyboard-wedge decoding: Linux key codes plus modifier state to text.
//!
//! This module owns the layouts (which key gives which character) and the
//! modifier state machine (left and right shift, AltGr, Ctrl and Alt, caps
//! lock). It must not judge timing or framing (that is [`super::decoder`]).
//!
//! Key codes are positions on the keyboard, named after the US layout
//! (`KEY_Y` is the key right of `KEY_T`); on a German keyboard that key types
//! `z`. Scanners send what their configured layout needs, so the decoder must
//! be told the layout the scanner was programmed for.

use serde::{Deserialize, Serialize};

/// `KEY_TAB`.
pub const KEY_TAB: u16 = 15;
/// `KEY_ENTER` (main keyboard).
pub const KEY_ENTER: u16 = 28;
/// `KEY_LEFTCTRL`.
pub const KEY_LEFTCTRL: u16 = 29;
/// `KEY_LEFTSHIFT`.
pub const KEY_LEFTSHIFT: u16 = 42;
/// `KEY_RIGHTSHIFT`.
pub const KEY_RIGHTSHIFT: u16 = 54;
/// `KEY_LEFTALT`.
pub const KEY_LEFTALT: u16 = 56;
/// `KEY_CAPSLOCK`.
pub const KEY_CAPSLOCK: u16 = 58;
/// `KEY_KPENTER` (keypad Enter).
pub const KEY_KPENTER: u16 = 96;
/// `KEY_RIGHTCTRL`.
pub const KEY_RIGHTCTRL: u16 = 97;
/// `KEY_RIGHTALT` (AltGr on ISO layouts).
pub const KEY_RIGHTALT: u16 = 100;

/// The keyboard layout a scanner is programmed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// US English (QWERTY).
    #[default]
    Us,
    /// German (QWERTZ: Y and Z swapped, ß, umlauts, AltGr for `@ { [ ] } \ ~ |`).
    #[serde(alias = "de")]
    German,
}

/// What one key press typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keystroke {
    /// A character.
    Char(char),
    /// Enter (main or keypad).
    Enter,
    /// Tab.
    Tab,
}

/// The key presses that type one character on a layout (for recordings and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    /// The key code.
    pub code: u16,
    /// Shift must be held.
    pub shift: bool,
    /// AltGr (right Alt) must be held.
    pub altgr: bool,
}

/// Plain and shifted character of a key; `None` for dead or absent keys.
type Pair = (Option<char>, Option<char>);

/// The keypad: same character on every layout except the decimal key.
fn keypad(code: u16, layout: Layout) -> Option<char> {
    Some(match code {
        55 => '*',
        71 => '7',
        72 => '8',
        73 => '9',
        74 => '-',
        75 => '4',
        76 => '5',
        77 => '6',
        78 => '+',
        79 => '1',
        80 => '2',
        81 => '3',
        82 => '0',
        83 => match layout {
            Layout::Us => '.',
            Layout::German => ',',
        },
        98 => '/',
        _ => return None,
    })
}

/// Letters and keys shared by both layouts (by position).
fn common(code: u16) -> Option<char> {
    const ROW_Q: &str = "qwertyuiop";
    const ROW_A: &str = "asdfghjkl";
    const ROW_Z: &str = "zxcvbnm";
    let (row, first) = match code {
        16..=25 => (ROW_Q, 16),
        30..=38 => (ROW_A, 30),
        44..=50 => (ROW_Z, 44),
        _ => return None,
    };
    row.chars().nth(usize::from(code - first))
}

fn pair(plain: char, shifted: char) -> Pair {
    (Some(plain), Some(shifted))
}

fn us(code: u16) -> Pair {
    const SHIFTED_DIGITS: &str = "!@#$%^&*()";
    match code {
        2..=11 => {
            let i = usize::from(code - 2);
            ("1234567890".chars().nth(i), SHIFTED_DIGITS.chars().nth(i))
        }
        12 => pair('-', '_'),
        13 => pair('=', '+'),
        26 => pair('[', '{'),
        27 => pair(']', '}'),
        39 => pair(';', ':'),
        40 => pair('\'', '"'),
        41 => pair('`', '~'),
        43 | 86 => pair('\\', '|'),
        51 => pair(',', '<'),
        52 => pair('.', '>'),
        53 => pair('/', '?'),
        57 => pair(' ', ' '),
        _ => letter(common(code)),
    }
}

fn german(code: u16) -> Pair {
    const SHIFTED_DIGITS: &str = "!\"§$%&/()=";
    match code {
        2..=11 => {
            let i = usize::from(code - 2);
            ("1234567890".chars().nth(i), SHIFTED_DIGITS.chars().nth(i))
        }
        12 => pair('ß', '?'),
        13 => (None, None), // dead keys ´ and `
        21 => pair('z', 'Z'),
        44 => pair('y', 'Y'),
        26 => pair('ü', 'Ü'),
        27 => pair('+', '*'),
        39 => pair('ö', 'Ö'),
        40 => pair('ä', 'Ä'),
        41 => (None, Some('°')), // dead ^
        43 => pair('#', '\''),
        51 => pair(',', ';'),
        52 => pair('.', ':'),
        53 => pair('-', '_'),
        57 => pair(' ', ' '),
        86 => pair('<', '>'),
        _ => letter(common(code)),
    }
}

fn letter(c: Option<char>) -> Pair {
    (c, c.map(|c| c.to_ascii_uppercase()))
}

fn german_altgr(code: u16) -> Option<char> {
    Some(match code {
        3 => '²',
        4 => '³',
        8 => '{',
        9 => '[',
        10 => ']',
        11 => '}',
        12 => '\\',
        16 => '@',
        18 => '€',
        27 => '~',
        50 => 'µ',
        86 => '|',
        _ => return None,
    })
}

impl Layout {
    /// The layout for a config name: `us`, or `de` / `german`.
    pub fn from_name(name: &str) -> Option<Layout> {
        match name.trim().to_ascii_lowercase().as_str() {
            "us" => Some(Layout::Us),
            "de" | "german" => Some(Layout::German),
            _ => None,
        }
    }

    fn pair(self, code: u16) -> Pair {
        match self {
            Layout::Us => us(code),
            Layout::German => german(code),
        }
    }

    fn altgr(self, code: u16) -> Option<char> {
        match self {
            Layout::Us => None,
            Layout::German => german_altgr(code),
        }
    }

    /// The character a key types with the given modifiers, if any.
    ///
    /// Caps lock affects only keys whose shifted character is the capital of
    /// the plain one (letters and umlauts, not `ß`); shift with caps lock
    /// gives the small letter again.
    pub fn char_for(self, code: u16, shift: bool, caps_lock: bool, altgr: bool) -> Option<char> {
        if let Some(c) = keypad(code, self) {
            return Some(c);
        }
        if altgr {
            return self.altgr(code);
        }
        let (plain, shifted) = self.pair(code);
        let is_letter = match (plain, shifted) {
            (Some(p), Some(s)) => p != s && p.to_uppercase().eq(std::iter::once(s)),
            _ => false,
        };
        if shift ^ (caps_lock && is_letter) {
            shifted
        } else {
            plain
        }
    }

    /// The keys that type `c` on this layout (main keys preferred over the
    /// keypad); `None` if the layout cannot type it.
    pub fn chord_for(self, c: char) -> Option<Chord> {
        let main = (1u16..=127).filter(|code| keypad(*code, self).is_none());
        for code in main {
            let (plain, shifted) = self.pair(code);
            if plain == Some(c) {
                return Some(Chord {
                    code,
                    shift: false,
                    altgr: false,
                });
            }
            if shifted == Some(c) {
                return Some(Chord {
                    code,
                    shift: true,
                    altgr: false,
                });
            }
            if self.altgr(code) == Some(c) {
                return Some(Chord {
                    code,
                    shift: false,
                    altgr: true,
                });
            }
        }
        (1u16..=127)
            .find(|code| keypad(*code, self) == Some(c))
            .map(|code| Chord {
                code,
                shift: false,
                altgr: false,
            })
    }
}

/// Modifier state plus the layout: turns key events into keystrokes.
#[derive(Debug, Clone)]
pub struct Keyboard {
    layout: Layout,
    left_shift: bool,
    right_shift: bool,
    ctrl: u8,
    alt: bool,
    altgr: bool,
    caps_lock: bool,
    ignored: u64,
}

impl Keyboard {
    /// A keyboard with no modifier held and caps lock off.
    pub fn new(layout: Layout) -> Self {
        Keyboard {
            layout,
            left_shift: false,
            right_shift: false,
            ctrl: 0,
            alt: false,
            altgr: false,
            caps_lock: false,
            ignored: 0,
        }
    }

    /// The layout in use.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Key presses that typed nothing: unknown codes, dead keys, keys pressed
    /// with Ctrl or Alt held, keys the layout has no character for.
    pub fn ignored_keys(&self) -> u64 {
        self.ignored
    }

    /// Forgets held modifiers (after lost events or a reconnect); caps lock
    /// is kept, it is a toggle the device does not repeat.
    pub fn release_all(&mut self) {
        self.left_shift = false;
        self.right_shift = false;
        self.ctrl = 0;
        self.alt = false;
        self.altgr = false;
    }

    /// Caps lock is on.
    pub fn caps_lock(&self) -> bool {
        self.caps_lock
    }

    /// One `EV_KEY` event: `value` 1 press, 0 release, 2 autorepeat (types
    /// nothing here: a scanner never holds a key). Returns what a press typed.
    pub fn key(&mut self, code: u16, value: i32) -> Option<Keystroke> {
        let down = match value {
            0 => false,
            1 => true,
            _ => return None,
        };
        match code {
            KEY_LEFTSHIFT => self.left_shift = down,
            KEY_RIGHTSHIFT => self.right_shift = down,
            KEY_LEFTCTRL => self.set_ctrl(1, down),
            KEY_RIGHTCTRL => self.set_ctrl(2, down),
            KEY_LEFTALT => self.alt = down,
            KEY_RIGHTALT => self.altgr = down,
            KEY_CAPSLOCK => {
                if down {
                    self.caps_lock = !self.caps_lock;
                }
            }
            _ if !down => {}
            KEY_ENTER | KEY_KPENTER => return Some(Keystroke::Enter),
            KEY_TAB => return Some(Keystroke::Tab),
            _ => return self.typed(code),
        }
        None
    }

    fn set_ctrl(&mut self, bit: u8, down: bool) {
        if down {
            self.ctrl |= bit;
        } else {
            self.ctrl &= !bit;
        }
    }

    fn typed(&mut self, code: u16) -> Option<Keystroke> {
        let altgr = self.altgr && self.layout == Layout::German;
        let plain_alt = self.alt || (self.altgr && !altgr);
        let c = if self.ctrl != 0 || plain_alt {
            None
        } else {
            let shift = self.left_shift || self.right_shift;
            self.layout.char_for(code, shift, self.caps_lock, altgr)
        };
        if c.is_none() {
            self.ignored += 1;
        }
        c.map(Keystroke::Char)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_keys(kb: &mut Keyboard, events: &[(u16, i32)]) -> String {
        events
            .iter()
            .filter_map(|(c, v)| match kb.key(*c, *v) {
                Some(Keystroke::Char(c)) => Some(c),
                Some(Keystroke::Enter) => Some('\n'),
                Some(Keystroke::Tab) => Some('\t'),
                None => None,
            })
            .collect()
    }

    #[test]
    fn us_digits_letters_shift_caps() {
        let mut kb = Keyboard::new(Layout::Us);
        let s = type_keys(
            &mut kb,
            &[
                (2, 1),
                (2, 0),
                (11, 1),
                (KEY_LEFTSHIFT, 1),
                (30, 1),
                (3, 1),
                (KEY_LEFTSHIFT, 0),
                (30, 1),
                (KEY_RIGHTSHIFT, 1),
                (12, 1),
                (KEY_RIGHTSHIFT, 0),
                (KEY_CAPSLOCK, 1),
                (KEY_CAPSLOCK, 0),
                (44, 1),
                (2, 1),
                (KEY_LEFTSHIFT, 1),
                (44, 1),
                (KEY_ENTER, 1),
            ],
        );
        assert_eq!(s, "10A@a_Z1z\n");
    }

    #[test]
    fn both_shifts_are_independent() {
        let mut kb = Keyboard::new(Layout::Us);
        let s = type_keys(
            &mut kb,
            &[
                (KEY_LEFTSHIFT, 1),
                (KEY_RIGHTSHIFT, 1),
                (KEY_LEFTSHIFT, 0),
                (30, 1),
                (KEY_RIGHTSHIFT, 0),
                (30, 1),
            ],
        );
        assert_eq!(s, "Aa");
    }

    #[test]
    fn german_layout() {
        let mut kb = Keyboard::new(Layout::German);
        let s = type_keys(
            &mut kb,
            &[
                (21, 1),
                (44, 1),
                (12, 1),
                (26, 1),
                (39, 1),
                (40, 1),
                (KEY_LEFTSHIFT, 1),
                (3, 1),
                (4, 1),
                (8, 1),
                (11, 1),
                (40, 1),
                (KEY_LEFTSHIFT, 0),
                (KEY_RIGHTALT, 1),
                (16, 1),
                (9, 1),
                (KEY_RIGHTALT, 0),
                (53, 1),
                (KEY_CAPSLOCK, 1),
                (26, 1),
                (12, 1),
            ],
        );
        assert_eq!(s, "zyßüöä\"§/=Ä@[-Üß");
    }

    #[test]
    fn unknown_dead_and_ctrl_keys_are_counted() {
        let mut kb = Keyboard::new(Layout::German);
        assert_eq!(kb.key(13, 1), None); // dead accent
        assert_eq!(kb.key(500, 1), None);
        kb.key(KEY_LEFTCTRL, 1);
        assert_eq!(kb.key(30, 1), None);
        kb.key(KEY_LEFTCTRL, 0);
        assert_eq!(kb.key(30, 2), None); // repeat: nothing, not counted
        assert_eq!(kb.key(30, 0), None);
        assert_eq!(kb.ignored_keys(), 3);
        assert_eq!(kb.key(30, 1), Some(Keystroke::Char('a')));
    }

    #[test]
    fn chords_round_trip() {
        for layout in [Layout::Us, Layout::German] {
            let text: &str = match layout {
                Layout::Us => "0123456789 abcXYZ-_=+[]{};:'\",./<>?!@#$%^&*()`~\\|",
                Layout::German => "0123456789 abcXYZ-_+*#',.;:<>!\"§$%&/()=?ßäöüÄÖÜ@{[]}\\~|€",
            };
            for c in text.chars() {
                let chord = layout.chord_for(c).unwrap_or_else(|| panic!("{c}"));
                assert_eq!(
                    layout.char_for(chord.code, chord.shift, false, chord.altgr),
                    Some(c)
                );
            }
        }
        assert_eq!(Layout::Us.chord_for('ß'), None);
        assert_eq!(Layout::from_name(" DE"), Some(Layout::German));
        assert_eq!(Layout::from_name("us"), Some(Layout::Us));
        assert_eq!(Layout::from_name("fr"), None);
    }
}
