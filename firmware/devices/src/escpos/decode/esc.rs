//! `ESC x` commands: modes, feeds, code pages, the drawer kick, old cuts and
//! bit images. Commands with no visible effect are consumed with their
//! parameters so those are not mistaken for text.

use super::cursor::Cursor;
use super::state::State;
use super::DecodeError;
use crate::escpos::kick::DrawerPin;
use crate::escpos::paper::CutKind;
use crate::escpos::style::{Align, TextSize};

const NAME: &str = "ESC command";

/// Decodes the command after an `ESC` at `start`.
pub(super) fn command(
    cur: &mut Cursor<'_>,
    st: &mut State,
    start: usize,
) -> Result<(), DecodeError> {
    let sel = cur.byte(start, NAME)?;
    match sel {
        b'@' => st.initialize(),
        b'E' => {
            let n = cur.byte(start, "ESC E")?;
            st.set_bold(n & 1 == 1);
        }
        b'-' => {
            let n = cur.byte(start, "ESC -")?;
            match n {
                0 | 48 => st.set_underline(false),
                1 | 2 | 49 | 50 => st.set_underline(true),
                _ => st.unknown(),
            }
        }
        b'!' => {
            let n = cur.byte(start, "ESC !")?;
            st.set_bold(n & 0x08 != 0);
            st.set_underline(n & 0x80 != 0);
            st.set_size(TextSize {
                width: if n & 0x20 != 0 { 2 } else { 1 },
                height: if n & 0x10 != 0 { 2 } else { 1 },
            });
        }
        b'a' => match Align::from_n(cur.byte(start, "ESC a")?) {
            Some(a) => st.set_align(a),
            None => st.unknown(),
        },
        b't' => {
            let n = cur.byte(start, "ESC t")?;
            st.select_page(n);
        }
        b'd' => {
            let n = cur.byte(start, "ESC d")?;
            st.feed_lines(n);
        }
        b'J' => {
            cur.byte(start, "ESC J")?;
            st.flush_line();
        }
        b'p' => {
            let [m, t1, t2] = cur.array(start, "ESC p")?;
            match DrawerPin::from_m(m) {
                Some(pin) => st.kick(pin, u16::from(t1) * 2, u16::from(t2) * 2),
                None => st.unknown(),
            }
        }
        b'i' | b'm' => st.cut(CutKind::Partial),
        b'*' => {
            let m = cur.byte(start, "ESC *")?;
            let n = cur.u16(start, "ESC *")?;
            let (per_column, height) = match m {
                0 | 1 => (1, 8),
                32 | 33 => (3, 24),
                _ => {
                    st.unknown();
                    return Ok(());
                }
            };
            cur.take(n * per_column, start, "ESC *")?;
            st.image(u32::try_from(n).unwrap_or(u32::MAX), height);
        }
        b'D' => {
            // Tab positions: up to 32 bytes, NUL-terminated.
            cur.until_nul(start, "ESC D")?;
        }
        b'&' => define_characters(cur, start)?,
        b'c' => {
            let [sub, _] = cur.array(start, "ESC c")?;
            if !matches!(sub, b'3' | b'4' | b'5') {
                st.unknown();
            }
        }
        // One parameter, no visible effect worth reporting: double-strike,
        // font, international set, upside-down, rotation, line spacing,
        // character spacing, peripheral select, panel buttons, colour,
        // reverse feed, user-defined set, sensor select.
        b'G' | b'M' | b'R' | b'{' | b'V' | b'3' | b' ' | b'=' | b'%' | b'r' | b'e' | b'?'
        | b'u' | b'U' | b'K' => {
            cur.byte(start, NAME)?;
        }
        // Two parameters: absolute and relative print position.
        b'$' | b'\\' => {
            cur.take(2, start, NAME)?;
        }
        // Page mode area: eight parameters.
        b'W' => {
            cur.take(8, start, "ESC W")?;
        }
        // Print direction in page mode.
        b'T' => {
            cur.byte(start, "ESC T")?;
        }
        // No parameters: default line spacing, page and standard mode, home, status.
        b'2' | b'L' | b'S' | b'<' | b'v' => {}
        _ => st.unknown(),
    }
    Ok(())
}

/// `ESC & y c1 c2 [x d1...d(y*x)]...`: user-defined characters, skipped.
fn define_characters(cur: &mut Cursor<'_>, start: usize) -> Result<(), DecodeError> {
    let [y, c1, c2] = cur.array(start, "ESC &")?;
    let y = usize::from(y);
    if c2 >= c1 {
        for _ in c1..=c2 {
            let x = usize::from(cur.byte(start, "ESC &")?);
            cur.take(y * x, start, "ESC &")?;
        }
    }
    Ok(())
}
