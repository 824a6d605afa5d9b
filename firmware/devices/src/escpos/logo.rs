//! The built-in Keel logo, drawn in code: the word KEEL over a hull with its
//! keel, 192 x 72 dots (fits 58 mm paper).
//!
//! Owns only the drawing; a store's own logo comes in through the layout
//! options as a [`Bitmap`].

use super::bitmap::Bitmap;

/// Width of the built-in logo in dots (a multiple of 8).
pub const LOGO_WIDTH: u32 = 192;
/// Height of the built-in logo in dots.
pub const LOGO_HEIGHT: u32 = 72;

const SCALE: u32 = 6;

/// 5 x 7 glyphs of the letters used, one row per string.
fn glyph(c: char) -> [&'static str; 7] {
    match c {
        'K' => [
            "#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#",
        ],
        'E' => [
            "#####", "#....", "#....", "####.", "#....", "#....", "#####",
        ],
        _ => [
            "#....", "#....", "#....", "#....", "#....", "#....", "#####",
        ],
    }
}

/// The Keel logo.
pub fn keel_logo() -> Bitmap {
    let mut b = Bitmap::clamped(LOGO_WIDTH, LOGO_HEIGHT);
    let word = "KEEL";
    let advance = 6 * SCALE;
    let text_width = 4 * advance - SCALE;
    let left = (LOGO_WIDTH - text_width) / 2;
    for (i, c) in word.chars().enumerate() {
        let x0 = left + i as u32 * advance;
        for (y, row) in glyph(c).iter().enumerate() {
            for (x, dot) in row.chars().enumerate() {
                if dot == '#' {
                    b.fill(
                        x0 + x as u32 * SCALE,
                        2 + y as u32 * SCALE,
                        SCALE,
                        SCALE,
                        true,
                    );
                }
            }
        }
    }
    // The hull: a trapezoid narrowing downwards, then the keel fin below it.
    let (top, bottom) = (50u32, 62u32);
    for y in top..bottom {
        let inset = (y - top) * 3;
        b.fill(16 + inset, y, LOGO_WIDTH - 32 - 2 * inset, 1, true);
    }
    b.fill(LOGO_WIDTH / 2 - 8, bottom, 16, LOGO_HEIGHT - bottom, true);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logo_has_ink_and_fits_58mm() {
        let l = keel_logo();
        assert_eq!((l.width(), l.height()), (LOGO_WIDTH, LOGO_HEIGHT));
        assert!(l.width() <= 384);
        assert!(l.black_dots() > 1000);
    }
}
