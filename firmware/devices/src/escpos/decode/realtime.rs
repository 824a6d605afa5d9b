//! `DLE` real-time commands (status requests, real-time drawer pulse) and
//! `FS` commands (Kanji mode, NV images), as far as they show on paper or
//! must be skipped to keep their parameters from reading as text.

use super::cursor::Cursor;
use super::state::State;
use super::DecodeError;
use crate::escpos::commands::{DC4, ENQ, EOT};
use crate::escpos::kick::DrawerPin;

/// Decodes the command after a `DLE` at `start`.
pub(super) fn dle_command(
    cur: &mut Cursor<'_>,
    st: &mut State,
    start: usize,
) -> Result<(), DecodeError> {
    let sel = cur.byte(start, "DLE command")?;
    match sel {
        EOT => {
            let n = cur.byte(start, "DLE EOT")?;
            st.status_request(n);
        }
        ENQ => {
            cur.byte(start, "DLE ENQ")?;
        }
        DC4 => {
            let f = cur.byte(start, "DLE DC4")?;
            match f {
                // DLE DC4 1 m t: pulse pin m for t x 100 ms on and off.
                1 => {
                    let [m, t] = cur.array(start, "DLE DC4")?;
                    match (DrawerPin::from_m(m), t) {
                        (Some(pin), t @ 1..=8) => {
                            let ms = u16::from(t) * 100;
                            st.kick(pin, ms, ms);
                        }
                        _ => st.unknown(),
                    }
                }
                2 | 3 => {
                    cur.take(2, start, "DLE DC4")?;
                }
                7 => {
                    cur.byte(start, "DLE DC4")?;
                }
                8 => {
                    cur.take(7, start, "DLE DC4")?;
                }
                _ => st.unknown(),
            }
        }
        _ => st.unknown(),
    }
    Ok(())
}

/// Decodes the command after an `FS` at `start`.
pub(super) fn fs_command(
    cur: &mut Cursor<'_>,
    st: &mut State,
    start: usize,
) -> Result<(), DecodeError> {
    let sel = cur.byte(start, "FS command")?;
    match sel {
        // Kanji mode on and off.
        b'.' | b'&' => {}
        // Kanji print mode, underline, code system, half-width mode.
        b'!' | b'-' | b'C' | b'W' => {
            cur.byte(start, "FS command")?;
        }
        // Kanji spacing.
        b'S' => {
            cur.take(2, start, "FS S")?;
        }
        // Print an NV bit image n in mode m: its size lives in the printer.
        b'p' => {
            cur.take(2, start, "FS p")?;
            st.image(0, 0);
        }
        b'q' => define_nv_images(cur, start)?,
        _ => st.unknown(),
    }
    Ok(())
}

/// `FS q n [xL xH yL yH d1...dk]1...[...]n`: NV images stored, not printed.
fn define_nv_images(cur: &mut Cursor<'_>, start: usize) -> Result<(), DecodeError> {
    let n = cur.byte(start, "FS q")?;
    for _ in 0..n {
        let x = cur.u16(start, "FS q")?;
        let y = cur.u16(start, "FS q")?;
        cur.take(x.saturating_mul(y).saturating_mul(8), start, "FS q")?;
    }
    Ok(())
}
