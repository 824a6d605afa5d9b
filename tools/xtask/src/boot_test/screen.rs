//! What the guest's display shows, from qemu's `screendump` (binary PPM):
//! whether the keel UI is up. Pure: bytes in, a verdict out.
//!
//! Before the UI, the display is the kernel's text console (light text on
//! black: a few percent of the pixels lit) or nothing at all. The keel
//! screens paint the whole frame, most of it in light or coloured surfaces.
//! So: the UI is shown when most of the frame is not near-black.

/// A decoded screenshot's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScreenStats {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Share of pixels brighter than near-black (0..=1).
    pub lit: f64,
}

/// Share of lit pixels from which the frame counts as the UI.
pub const UI_LIT_SHARE: f64 = 0.5;

impl ScreenStats {
    /// True when the frame looks like the keel UI rather than a text console.
    pub fn shows_ui(&self) -> bool {
        self.lit >= UI_LIT_SHARE
    }
}

/// Reads a binary PPM (`P6`, maxval 255) and measures it.
pub fn stats(ppm: &[u8]) -> Result<ScreenStats, String> {
    let mut fields = Vec::new();
    let mut pos = 0;
    // Header: magic, width, height, maxval, separated by whitespace (and comments).
    while fields.len() < 4 {
        while pos < ppm.len() && ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos < ppm.len() && ppm[pos] == b'#' {
            while pos < ppm.len() && ppm[pos] != b'\n' {
                pos += 1;
            }
            continue;
        }
        let start = pos;
        while pos < ppm.len() && !ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if start == pos {
            return Err("truncated PPM header".into());
        }
        fields.push(String::from_utf8_lossy(&ppm[start..pos]).into_owned());
    }
    pos += 1; // the single whitespace byte before the pixels
    if fields[0] != "P6" || fields[3] != "255" {
        return Err(format!("not a P6/255 PPM: {} {}", fields[0], fields[3]));
    }
    let width: u32 = fields[1].parse().map_err(|_| "bad PPM width")?;
    let height: u32 = fields[2].parse().map_err(|_| "bad PPM height")?;
    let pixels = width as usize * height as usize;
    let data = ppm
        .get(pos..pos + pixels * 3)
        .ok_or("PPM shorter than its size")?;
    if pixels == 0 {
        return Err("empty screen".into());
    }
    let lit = data
        .chunks_exact(3)
        .filter(|p| p.iter().map(|c| u32::from(*c)).sum::<u32>() > 3 * 24)
        .count();
    Ok(ScreenStats {
        width,
        height,
        lit: lit as f64 / pixels as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ppm(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let mut out = format!("P6\n# test\n{width} {height}\n255\n").into_bytes();
        for y in 0..height {
            for x in 0..width {
                out.extend_from_slice(&pixel(x, y));
            }
        }
        out
    }

    #[test]
    fn a_text_console_is_not_the_ui() {
        // Light text on black: every 8th column lit on every other row.
        let shot = ppm(64, 40, |x, y| {
            if x % 8 == 0 && y % 2 == 0 {
                [200, 200, 200]
            } else {
                [0, 0, 0]
            }
        });
        let s = stats(&shot).unwrap();
        assert_eq!((s.width, s.height), (64, 40));
        assert!(s.lit < 0.1 && !s.shows_ui(), "{s:?}");
    }

    #[test]
    fn a_painted_screen_is_the_ui() {
        // A light surface with a dark top bar.
        let shot = ppm(
            64,
            40,
            |_, y| if y < 8 { [10, 10, 10] } else { [240, 242, 245] },
        );
        let s = stats(&shot).unwrap();
        assert!((s.lit - 0.8).abs() < 1e-9 && s.shows_ui(), "{s:?}");
    }

    #[test]
    fn broken_screenshots_are_errors() {
        assert!(stats(b"P6\n10").is_err());
        assert!(stats(b"P5\n1 1\n255\n\0").is_err());
        assert!(stats(b"P6\n2 2\n255\n\0\0\0").is_err());
    }
}
