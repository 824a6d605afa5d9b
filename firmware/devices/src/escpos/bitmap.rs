//! 1-bit bitmaps for raster printing (`GS v 0`).
//!
//! Owns the bitmap type: rows of bits, most significant bit leftmost, each
//! row padded to whole bytes, 1 = a black dot. Size limits are checked when
//! a bitmap is made, so the encoder never meets one it cannot send. Reading
//! image files is not here (logos come in as bits).

use super::error::EncodeError;

/// Widest bitmap accepted, in dots (well beyond the 576 of 80 mm paper; wider
/// images are clipped by the printer).
pub const MAX_WIDTH: u32 = 2048;
/// Highest bitmap accepted, in dots (the TM-T88 limit for one `GS v 0`).
pub const MAX_HEIGHT: u32 = 2303;

/// A 1-bit image: `height` rows of `width` dots.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bitmap {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

fn size_error(width: u32, height: u32) -> EncodeError {
    EncodeError::ImageSize {
        width,
        height,
        max_width: MAX_WIDTH,
        max_height: MAX_HEIGHT,
    }
}

fn row_bytes(width: u32) -> usize {
    (width as usize).div_ceil(8)
}

impl Bitmap {
    /// A white bitmap of `width` x `height` dots (1-2048 by 1-2303).
    pub fn new(width: u32, height: u32) -> Result<Bitmap, EncodeError> {
        if !(1..=MAX_WIDTH).contains(&width) || !(1..=MAX_HEIGHT).contains(&height) {
            return Err(size_error(width, height));
        }
        Ok(Bitmap {
            width,
            height,
            data: vec![0; row_bytes(width) * height as usize],
        })
    }

    /// A white bitmap with `width` and `height` clamped into 1-2048 by 1-2303
    /// (for sizes fixed in code, which cannot fail).
    pub fn clamped(width: u32, height: u32) -> Bitmap {
        let width = width.clamp(1, MAX_WIDTH);
        let height = height.clamp(1, MAX_HEIGHT);
        Bitmap {
            width,
            height,
            data: vec![0; row_bytes(width) * height as usize],
        }
    }

    /// A bitmap from packed rows (`ceil(width / 8)` bytes per row, MSB leftmost).
    pub fn from_packed(width: u32, height: u32, data: Vec<u8>) -> Result<Bitmap, EncodeError> {
        let mut b = Bitmap::new(width, height)?;
        if data.len() != b.data.len() {
            return Err(EncodeError::BitmapData {
                width,
                height,
                expected: b.data.len(),
                got: data.len(),
            });
        }
        b.data = data;
        b.clear_padding();
        Ok(b)
    }

    /// A bitmap drawn as text: one string per row, `#` or `X` for black, any
    /// other character white; rows shorter than the longest are padded white.
    pub fn from_art(rows: &[&str]) -> Result<Bitmap, EncodeError> {
        let width = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
        let w = u32::try_from(width).unwrap_or(u32::MAX);
        let h = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let mut b = Bitmap::new(w, h)?;
        for (y, row) in rows.iter().enumerate() {
            for (x, c) in row.chars().enumerate() {
                if c == '#' || c == 'X' {
                    b.set(x as u32, y as u32, true);
                }
            }
        }
        Ok(b)
    }

    /// Width in dots.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in dots.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per packed row: `ceil(width / 8)`.
    pub fn bytes_per_row(&self) -> usize {
        row_bytes(self.width)
    }

    /// The packed rows.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    fn index(&self, x: u32, y: u32) -> Option<(usize, u8)> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = y as usize * self.bytes_per_row() + (x / 8) as usize;
        Some((i, 0x80 >> (x % 8)))
    }

    /// True when the dot at (`x`, `y`) is black; false outside the bitmap.
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.index(x, y)
            .and_then(|(i, bit)| self.data.get(i).map(|b| b & bit != 0))
            .unwrap_or(false)
    }

    /// Sets the dot at (`x`, `y`); dots outside the bitmap are ignored.
    pub fn set(&mut self, x: u32, y: u32, black: bool) {
        if let Some((i, bit)) = self.index(x, y) {
            if let Some(b) = self.data.get_mut(i) {
                if black {
                    *b |= bit;
                } else {
                    *b &= !bit;
                }
            }
        }
    }

    /// Fills the rectangle from (`x`, `y`), `w` by `h` dots, clipped to the bitmap.
    pub fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, black: bool) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.set(xx, yy, black);
            }
        }
    }

    /// Number of black dots.
    pub fn black_dots(&self) -> usize {
        self.data.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Clears the pad bits past `width` in each row, so equal images compare equal.
    fn clear_padding(&mut self) {
        let pad = (self.bytes_per_row() * 8) as u32 - self.width;
        if pad == 0 {
            return;
        }
        let mask = 0xFFu8 << pad;
        let per_row = self.bytes_per_row();
        for row in self.data.chunks_mut(per_row) {
            if let Some(last) = row.last_mut() {
                *last &= mask;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_msb_first() {
        let b = Bitmap::from_art(&["#........#", ".#"]).unwrap();
        assert_eq!((b.width(), b.height(), b.bytes_per_row()), (10, 2, 2));
        assert_eq!(b.data(), &[0x80, 0x40, 0x40, 0x00]);
        assert!(b.get(9, 0) && !b.get(10, 0) && !b.get(0, 5));
    }

    #[test]
    fn refuses_bad_sizes() {
        assert!(Bitmap::new(0, 1).is_err());
        assert!(Bitmap::new(MAX_WIDTH + 1, 1).is_err());
        assert!(Bitmap::from_packed(8, 2, vec![0]).is_err());
        let b = Bitmap::from_packed(4, 1, vec![0xFF]).unwrap();
        assert_eq!(b.data(), &[0xF0]);
    }
}
