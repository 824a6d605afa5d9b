//! Paper: the two roll widths Keel lays out for and the two cuts.
//!
//! Owns the column and dot counts per width (Font A, 12 x 24 dots, on the
//! usual 203 dpi mechanisms) and the cut kinds. Knows nothing of commands.

use std::fmt;

/// Width of the paper roll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PaperWidth {
    /// 58 mm roll: 32 columns of Font A, 384 dots printable.
    Mm58,
    /// 80 mm roll: 48 columns of Font A, 576 dots printable.
    #[default]
    Mm80,
}

impl PaperWidth {
    /// Characters per line in Font A at normal width.
    pub fn columns(self) -> usize {
        match self {
            PaperWidth::Mm58 => 32,
            PaperWidth::Mm80 => 48,
        }
    }

    /// Printable dots per line (203 dpi).
    pub fn dots(self) -> u32 {
        match self {
            PaperWidth::Mm58 => 384,
            PaperWidth::Mm80 => 576,
        }
    }

    /// The width for a roll of `mm` millimetres (58 or 80).
    pub fn from_mm(mm: u32) -> Option<PaperWidth> {
        match mm {
            58 => Some(PaperWidth::Mm58),
            80 => Some(PaperWidth::Mm80),
            _ => None,
        }
    }

    /// The roll width in millimetres.
    pub fn mm(self) -> u32 {
        match self {
            PaperWidth::Mm58 => 58,
            PaperWidth::Mm80 => 80,
        }
    }
}

impl fmt::Display for PaperWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} mm", self.mm())
    }
}

/// How the auto-cutter cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CutKind {
    /// Cuts right through: the receipt falls.
    Full,
    /// Leaves a point uncut so the receipt hangs until torn off.
    #[default]
    Partial,
}
