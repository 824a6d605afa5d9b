//! Text style: justification and character magnification.
//!
//! Owns the values `ESC a` and `GS !` carry and their limits. Bold and
//! underline are plain on/off switches and need no type.

/// Justification of a line (`ESC a n`): applies from the start of the next line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Align {
    /// Flush left (`n` = 0).
    #[default]
    Left,
    /// Centred (`n` = 1).
    Center,
    /// Flush right (`n` = 2).
    Right,
}

impl Align {
    /// The `n` byte of `ESC a n`.
    pub fn n(self) -> u8 {
        match self {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        }
    }

    /// The justification selected by `n` (0-2 or ASCII '0'-'2').
    pub fn from_n(n: u8) -> Option<Align> {
        match n {
            0 | 48 => Some(Align::Left),
            1 | 49 => Some(Align::Center),
            2 | 50 => Some(Align::Right),
            _ => None,
        }
    }
}

/// Largest character magnification `GS !` can select.
pub const MAX_MAGNIFICATION: u8 = 8;

/// Character magnification (`GS ! n`): 1 to 8 times in each direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TextSize {
    /// Horizontal magnification, 1-8 (2 = double width, half the columns).
    pub width: u8,
    /// Vertical magnification, 1-8 (2 = double height).
    pub height: u8,
}

impl Default for TextSize {
    fn default() -> Self {
        TextSize::NORMAL
    }
}

impl TextSize {
    /// Normal size.
    pub const NORMAL: TextSize = TextSize {
        width: 1,
        height: 1,
    };
    /// Double width and height.
    pub const DOUBLE: TextSize = TextSize {
        width: 2,
        height: 2,
    };
    /// Double height only (the line keeps its columns).
    pub const TALL: TextSize = TextSize {
        width: 1,
        height: 2,
    };
    /// Double width only.
    pub const WIDE: TextSize = TextSize {
        width: 2,
        height: 1,
    };

    /// True when both magnifications are within 1-8.
    pub fn is_valid(self) -> bool {
        (1..=MAX_MAGNIFICATION).contains(&self.width)
            && (1..=MAX_MAGNIFICATION).contains(&self.height)
    }

    /// The `n` byte of `GS ! n` (width in the high nibble, height in the low,
    /// each minus one). Magnifications outside 1-8 are clamped.
    pub fn gs_bang(self) -> u8 {
        let w = self.width.clamp(1, MAX_MAGNIFICATION) - 1;
        let h = self.height.clamp(1, MAX_MAGNIFICATION) - 1;
        (w << 4) | h
    }

    /// The size `GS ! n` selects (nibbles above 7 are clamped to 8 times).
    pub fn from_gs_bang(n: u8) -> TextSize {
        TextSize {
            width: ((n >> 4) & 0x0F).min(7) + 1,
            height: (n & 0x0F).min(7) + 1,
        }
    }

    /// Columns a line holds at this width, out of `columns` at normal width.
    pub fn columns_of(self, columns: usize) -> usize {
        columns / usize::from(self.width.clamp(1, MAX_MAGNIFICATION))
    }
}
