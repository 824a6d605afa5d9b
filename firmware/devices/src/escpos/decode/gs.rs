//! `GS x` commands: size, cuts, barcodes, raster images and the
//! length-framed `GS ( x` family (QR codes among them).

use super::cursor::Cursor;
use super::state::State;
use super::DecodeError;
use crate::escpos::barcode::{hri_text, BarcodeKind};
use crate::escpos::commands::{QR_CN, QR_FN_PRINT, QR_FN_STORE};
use crate::escpos::paper::CutKind;
use crate::escpos::style::TextSize;

const NAME: &str = "GS command";

/// Decodes the command after a `GS` at `start`.
pub(super) fn command(
    cur: &mut Cursor<'_>,
    st: &mut State,
    start: usize,
) -> Result<(), DecodeError> {
    let sel = cur.byte(start, NAME)?;
    match sel {
        b'!' => {
            let n = cur.byte(start, "GS !")?;
            st.set_size(TextSize::from_gs_bang(n));
        }
        b'V' => cut(cur, st, start)?,
        b'k' => barcode(cur, st, start)?,
        b'v' => raster(cur, st, start)?,
        b'(' => framed(cur, st, start)?,
        b'8' => {
            // GS 8 L p1 p2 p3 p4 ...: graphics with a 32-bit length.
            let [_l, p1, p2, p3, p4] = cur.array(start, "GS 8")?;
            let len = u32::from_le_bytes([p1, p2, p3, p4]);
            cur.take(usize::try_from(len).unwrap_or(usize::MAX), start, "GS 8")?;
            st.unknown();
        }
        b'*' => {
            // Define a downloaded bit image: x * y * 8 bytes.
            let [x, y] = cur.array(start, "GS *")?;
            cur.take(usize::from(x) * usize::from(y) * 8, start, "GS *")?;
        }
        b'/' => {
            cur.byte(start, "GS /")?;
            st.image(0, 0);
        }
        // One parameter: reverse, HRI position/font, height, width, ASB,
        // status, printer id, smoothing.
        b'B' | b'H' | b'h' | b'w' | b'f' | b'a' | b'r' | b'I' | b'b' => {
            cur.byte(start, NAME)?;
        }
        // Two parameters: margin, area width, motion units, positions.
        b'L' | b'W' | b'P' | b'$' | b'\\' => {
            cur.take(2, start, NAME)?;
        }
        // Macro definition start/end.
        b':' => {}
        _ => st.unknown(),
    }
    Ok(())
}

/// `GS V m [n]`.
fn cut(cur: &mut Cursor<'_>, st: &mut State, start: usize) -> Result<(), DecodeError> {
    let m = cur.byte(start, "GS V")?;
    let kind = match m {
        0 | 48 => Some(CutKind::Full),
        1 | 49 => Some(CutKind::Partial),
        65 | 97 | 103 => {
            cur.byte(start, "GS V")?;
            Some(CutKind::Full)
        }
        66 | 98 | 104 => {
            cur.byte(start, "GS V")?;
            Some(CutKind::Partial)
        }
        _ => None,
    };
    match kind {
        Some(k) => st.cut(k),
        None => st.unknown(),
    }
    Ok(())
}

/// `GS k m ...`: function A (NUL-terminated) or B (length-prefixed).
fn barcode(cur: &mut Cursor<'_>, st: &mut State, start: usize) -> Result<(), DecodeError> {
    let m = cur.byte(start, "GS k")?;
    let data = match m {
        0..=6 => cur.until_nul(start, "GS k")?,
        65.. => {
            let n = cur.byte(start, "GS k")?;
            cur.take(usize::from(n), start, "GS k")?
        }
        _ => {
            st.unknown();
            return Ok(());
        }
    };
    match BarcodeKind::from_m(m) {
        Some(kind) => st.barcode(kind, hri_text(kind, data)),
        None => st.unknown(),
    }
    Ok(())
}

/// `GS v 0 m xL xH yL yH d1...dk`.
fn raster(cur: &mut Cursor<'_>, st: &mut State, start: usize) -> Result<(), DecodeError> {
    let [zero, _m] = cur.array(start, "GS v 0")?;
    if zero != b'0' {
        st.unknown();
        return Ok(());
    }
    let x = cur.u16(start, "GS v 0")?;
    let y = cur.u16(start, "GS v 0")?;
    cur.take(x.saturating_mul(y), start, "GS v 0")?;
    let w = u32::try_from(x * 8).unwrap_or(u32::MAX);
    st.image(w, u32::try_from(y).unwrap_or(u32::MAX));
    Ok(())
}

/// `GS ( fn pL pH ...`: skipped by its length, except QR codes.
fn framed(cur: &mut Cursor<'_>, st: &mut State, start: usize) -> Result<(), DecodeError> {
    let func = cur.byte(start, "GS (")?;
    let len = cur.u16(start, "GS (")?;
    let body = cur.take(len, start, "GS (")?;
    if func != b'k' {
        st.unknown();
        return Ok(());
    }
    match body {
        [QR_CN, QR_FN_STORE, _m, data @ ..] => st.qr_store = Some(data.to_vec()),
        [QR_CN, QR_FN_PRINT, ..] => st.qr_printed(),
        // Model, module size, error correction, size request.
        [QR_CN, 65 | 67 | 69 | 82, ..] => {}
        _ => st.unknown(),
    }
    Ok(())
}
