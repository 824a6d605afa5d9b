//! Pictures for the demo catalog, painted procedurally (nothing binary is
//! committed): a "packaging" shape per category (a striped box, a bottle, a
//! fruit, a loaf, a cup, a wedge) in a colour fixed per SKU, with the
//! product's initial from a tiny built-in 5x7 bitmap font. Deterministic:
//! the same SKU always gets the same pixels.
//!
//! `keel-kiosk` writes them into the images dir of a demo terminal
//! ([`write_if_empty`]) when that dir holds no picture; this module must not
//! overwrite pictures someone put there.

use crate::pictures::sku_of;
use keel_ui::image::Image;
use keel_ui::UiError;
use std::path::Path;

/// Side of a demo picture in pixels.
pub const SIDE: u32 = 192;

/// A product to paint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoProduct {
    /// The SKU (the file is `<SKU>.png`).
    pub sku: String,
    /// Its name (the initial is drawn).
    pub name: String,
    /// Its category (the shape).
    pub category: String,
}

/// The demo catalog's products (keel-terminal's demo store).
pub fn demo_products() -> Vec<DemoProduct> {
    keel_terminal::demo::catalog()
        .into_iter()
        .map(|c| DemoProduct {
            sku: c.sku.0,
            name: c.name,
            category: c.category,
        })
        .collect()
}

/// Writes a picture per product into `dir` (created if needed) unless `dir`
/// already holds a picture. Returns how many were written. Each file is
/// written under a temporary name and renamed, so the loader never decodes
/// half a file.
pub fn write_if_empty(dir: &Path, products: &[DemoProduct]) -> Result<usize, UiError> {
    let io = |source| UiError::Io {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let has_picture = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .any(|e| sku_of(&e.path()).is_some());
    if has_picture {
        return Ok(0);
    }
    for p in products {
        let tmp = dir.join(format!(".{}.tmp", p.sku));
        paint(p).save_png(&tmp)?;
        std::fs::rename(&tmp, dir.join(format!("{}.png", p.sku))).map_err(io)?;
    }
    log::info!(
        "demo pictures: {} written to {}",
        products.len(),
        dir.display()
    );
    Ok(products.len())
}

/// Colours a product's packaging can have (fixed per SKU).
const COLOURS: [[u8; 3]; 8] = [
    [192, 57, 43],
    [211, 84, 0],
    [183, 149, 11],
    [30, 132, 73],
    [17, 122, 101],
    [31, 97, 141],
    [108, 52, 131],
    [136, 78, 160],
];

/// The packaging colour of `sku` (FNV-1a: the same on every machine).
pub fn colour(sku: &str) -> [u8; 3] {
    let h = sku.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    COLOURS[(h % COLOURS.len() as u32) as usize]
}

/// Paints the picture of a product: a white card, the category's shape in
/// the SKU's colour, the initial in a dark label.
pub fn paint(p: &DemoProduct) -> Image {
    let mut c = Canvas::new(SIDE);
    let col = colour(&p.sku);
    let dark = col.map(|v| v / 2);
    let light = col.map(|v| v / 2 + 128);
    let s = i32::try_from(SIDE).unwrap_or(192);
    match p.category.to_ascii_lowercase().as_str() {
        "drinks" => {
            // A bottle: neck, cap and body.
            c.rect(s * 5 / 12, s / 12, s / 6, s / 8, dark);
            c.rect(s * 3 / 8, s / 6, s / 4, s / 6, col);
            c.rect(s / 4, s / 3, s / 2, s * 7 / 12, col);
            c.rect(s / 4, s / 2, s / 2, s / 12, light);
        }
        "produce" => {
            // A fruit with a leaf.
            c.circle(s / 2, s * 7 / 12, s * 3 / 8, col);
            c.circle(s * 3 / 8, s * 7 / 16, s / 10, light);
            c.rect(s / 2 - s / 48, s / 8, s / 24, s / 8, dark);
            c.circle(s * 5 / 8, s / 6, s / 12, [46, 139, 87]);
        }
        "bakery" => {
            // A loaf with its scores.
            c.ellipse(s / 2, s * 3 / 5, s * 5 / 12, s / 4, col);
            for i in 0..3 {
                c.rect(s / 3 + i * s / 8, s / 2, s / 24, s / 5, light);
            }
        }
        "cafe" => {
            // A cup on a saucer, steam above.
            c.rect(s / 4, s * 2 / 5, s / 2, s * 2 / 5, col);
            c.circle(s * 3 / 4, s * 3 / 5, s / 8, col);
            c.circle(s * 3 / 4, s * 3 / 5, s / 16, [255, 255, 255]);
            c.rect(s / 6, s * 4 / 5, s * 2 / 3, s / 20, dark);
            for i in 0..3 {
                c.rect(s / 3 + i * s / 8, s / 6, s / 32, s / 6, light);
            }
        }
        "deli" => {
            // A wedge of cheese with holes.
            for y in 0..(s / 2) {
                let w = (s * 3 / 4) * (y + 1) / (s / 2);
                c.rect(s / 8, s / 3 + y, w, 1, col);
            }
            c.circle(s / 2, s * 2 / 3, s / 14, light);
            c.circle(s * 3 / 4, s * 3 / 4, s / 18, light);
        }
        "household" => {
            // A box with diagonal stripes.
            c.rect(s / 6, s / 5, s * 2 / 3, s * 2 / 3, col);
            for y in 0..(s * 2 / 3) {
                for x in 0..(s * 2 / 3) {
                    if (x + y) % (s / 6) < s / 24 {
                        c.rect(s / 6 + x, s / 5 + y, 1, 1, light);
                    }
                }
            }
        }
        _ => {
            // A box with a band (groceries and anything else).
            c.rect(s / 6, s / 8, s * 2 / 3, s * 3 / 4, col);
            c.rect(s / 6, s / 3, s * 2 / 3, s / 10, light);
            c.rect(s / 6, s * 3 / 5, s * 2 / 3, s / 24, dark);
        }
    }
    if let Some(letter) = p.name.chars().find(|ch| ch.is_ascii_alphanumeric()) {
        // The initial in a dark label, lower left.
        let scale = s / 20;
        let (w, h) = (5 * scale + 2 * scale, 7 * scale + 2 * scale);
        let (x, y) = (s / 16, s - h - s / 16);
        c.rect(x, y, w, h, [20, 27, 36]);
        c.glyph(
            letter.to_ascii_uppercase(),
            x + scale,
            y + scale,
            scale,
            [255, 255, 255],
        );
    }
    c.into_image()
}

/// An opaque square of RGB pixels on white.
struct Canvas {
    side: i32,
    rgba: Vec<u8>,
}

impl Canvas {
    fn new(side: u32) -> Canvas {
        Canvas {
            side: i32::try_from(side).unwrap_or(192),
            rgba: vec![255; side as usize * side as usize * 4],
        }
    }

    fn set(&mut self, x: i32, y: i32, c: [u8; 3]) {
        if (0..self.side).contains(&x) && (0..self.side).contains(&y) {
            let i = (y as usize * self.side as usize + x as usize) * 4;
            self.rgba[i..i + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }

    fn ellipse(&mut self, cx: i32, cy: i32, rx: i32, ry: i32, c: [u8; 3]) {
        let (rx2, ry2) = (i64::from(rx * rx).max(1), i64::from(ry * ry).max(1));
        for y in cy - ry..=cy + ry {
            for x in cx - rx..=cx + rx {
                let (dx, dy) = (i64::from(x - cx), i64::from(y - cy));
                if dx * dx * ry2 + dy * dy * rx2 <= rx2 * ry2 {
                    self.set(x, y, c);
                }
            }
        }
    }

    fn circle(&mut self, cx: i32, cy: i32, r: i32, c: [u8; 3]) {
        self.ellipse(cx, cy, r, r, c);
    }

    fn glyph(&mut self, ch: char, x: i32, y: i32, scale: i32, c: [u8; 3]) {
        let Some(rows) = glyph_rows(ch) else { return };
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0b10000 >> col) != 0 {
                    let row = i32::try_from(row).unwrap_or(0);
                    self.rect(x + col * scale, y + row * scale, scale, scale, c);
                }
            }
        }
    }

    fn into_image(self) -> Image {
        let side = u32::try_from(self.side).unwrap_or(0);
        Image::new(side, side, self.rgba)
    }
}

/// The 5x7 bitmap of an upper-case letter or a digit (a row per byte, the
/// leftmost pixel in bit 4).
fn glyph_rows(ch: char) -> Option<[u8; 7]> {
    const LETTERS: [[u8; 7]; 26] = [
        [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], // A
        [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E], // B
        [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], // C
        [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E], // D
        [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], // E
        [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10], // F
        [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], // G
        [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], // H
        [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], // I
        [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C], // J
        [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], // K
        [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F], // L
        [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], // M
        [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11], // N
        [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], // O
        [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10], // P
        [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], // Q
        [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11], // R
        [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], // S
        [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04], // T
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], // U
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04], // V
        [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], // W
        [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11], // X
        [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04], // Y
        [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F], // Z
    ];
    const DIGITS: [[u8; 7]; 10] = [
        [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], // 0
        [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E], // 1
        [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], // 2
        [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E], // 3
        [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], // 4
        [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E], // 5
        [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], // 6
        [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08], // 7
        [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], // 8
        [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C], // 9
    ];
    let b = u8::try_from(ch).ok()?;
    match b {
        b'A'..=b'Z' => Some(LETTERS[usize::from(b - b'A')]),
        b'0'..=b'9' => Some(DIGITS[usize::from(b - b'0')]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(sku: &str, name: &str, category: &str) -> DemoProduct {
        DemoProduct {
            sku: sku.into(),
            name: name.into(),
            category: category.into(),
        }
    }

    #[test]
    fn pictures_are_deterministic_and_differ_per_category() {
        let a = paint(&product("ESPRESSO", "Espresso", "Cafe"));
        assert_eq!(a, paint(&product("ESPRESSO", "Espresso", "Cafe")));
        assert_eq!((a.width(), a.height()), (SIDE, SIDE));
        let b = paint(&product("ESPRESSO", "Espresso", "Drinks"));
        assert_ne!(a, b);
        // The SKU's colour is in the picture; the corner stays white.
        let [r, g, bl] = colour("ESPRESSO");
        let has = |img: &Image| {
            (0..SIDE).any(|y| (0..SIDE).any(|x| img.pixel(x, y) == Some([r, g, bl, 255])))
        };
        assert!(has(&a) && has(&b));
        assert_eq!(a.pixel(SIDE - 1, 0), Some([255, 255, 255, 255]));
        // Every letter and digit has a glyph with pixels on.
        for ch in ('A'..='Z').chain('0'..='9') {
            assert!(
                glyph_rows(ch).is_some_and(|g| g.iter().any(|r| *r != 0)),
                "{ch}"
            );
        }
        assert!(glyph_rows('é').is_none());
    }

    #[test]
    fn demo_pictures_fill_an_empty_dir_only() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        let products = demo_products();
        assert!(products.len() > 10);
        assert_eq!(write_if_empty(&images, &products).unwrap(), products.len());
        for p in &products {
            assert!(images.join(format!("{}.png", p.sku)).is_file(), "{}", p.sku);
        }
        // Not twice, and never over pictures someone put there.
        assert_eq!(write_if_empty(&images, &products).unwrap(), 0);
        let set = crate::pictures::scan(&images);
        assert_eq!(set.len(), products.len());
    }
}
