//! CAS-style ASCII frames: `ST,GS,+  1.234kg` CR LF.
//!
//! This module owns the frame's fields, parsing and encoding (the encoder
//! serves the emulator and tests). It must not do I/O or framing (that is
//! [`super::framer`]).
//!
//! Fields are comma-separated: the state (`ST` stable, `US` unstable, `OL`
//! overload), the weight kind (`GS` gross, `NT` net, or another two-letter
//! code), optionally a device number, and last the weight: a sign, the number
//! (spaces allowed before it), and the unit (`kg`, `g`, `lb`, `oz`). An
//! overload frame's weight is not read (scales fill it with dashes).

use super::weight::{text_to_grams, Unit};
use super::{FrameError, ScaleReading, ScaleState};

/// The request byte of CAS request mode.
pub const REQUEST: u8 = b'W';

/// Parses one line (without CR LF).
pub fn parse(line: &[u8]) -> Result<ScaleReading, FrameError> {
    let text = std::str::from_utf8(line).map_err(|_| FrameError::Header)?;
    let fields: Vec<&str> = text.split(',').collect();
    let (head, kind, data) = match fields.as_slice() {
        [head, kind, .., data] if fields.len() >= 3 => (*head, *kind, *data),
        _ => return Err(FrameError::Header),
    };
    let kind = kind.trim();
    if kind.len() != 2 || !kind.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(FrameError::Header);
    }
    let unstable = match head.trim() {
        "ST" => false,
        "US" => true,
        "OL" => {
            return Ok(ScaleReading {
                state: ScaleState::Overload,
                grams: 0,
            })
        }
        _ => return Err(FrameError::Header),
    };
    let data = data.trim();
    let split = data
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or(FrameError::Unit)?;
    let (number, unit) = data.split_at(split);
    let unit = Unit::from_suffix(unit).ok_or(FrameError::Unit)?;
    let number = number.trim();
    let (negative, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let grams = text_to_grams(negative, digits.trim(), unit).ok_or(FrameError::Weight)?;
    let state = if unstable {
        ScaleState::Unstable
    } else if negative {
        ScaleState::UnderZero
    } else if grams == 0 {
        ScaleState::Zero
    } else {
        ScaleState::Stable
    };
    Ok(ScaleReading { state, grams })
}

/// Encodes a reading as a CAS line in kg with three decimals, CR LF included.
pub fn encode(reading: &ScaleReading) -> Vec<u8> {
    let head = match reading.state {
        ScaleState::Overload => return b"OL,GS,+  -.---kg\r\n".to_vec(),
        ScaleState::Unstable => "US",
        ScaleState::Stable | ScaleState::Zero | ScaleState::UnderZero => "ST",
    };
    let sign = if reading.grams < 0 || reading.state == ScaleState::UnderZero {
        '-'
    } else {
        '+'
    };
    let g = reading.grams.unsigned_abs();
    let number = format!("{}.{:03}", g / 1000, g % 1000);
    format!("{head},GS,{sign}{number:>7}kg\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let p = |s: &str| parse(s.as_bytes());
        assert_eq!(
            p("ST,GS,+  1.234kg"),
            Ok(ScaleReading {
                state: ScaleState::Stable,
                grams: 1234
            })
        );
        assert_eq!(
            p("US,NT,+  0.990kg").map(|r| r.state),
            Ok(ScaleState::Unstable)
        );
        assert_eq!(p("ST,GS,+  0.000kg").map(|r| r.state), Ok(ScaleState::Zero));
        assert_eq!(
            p("ST,GS,-  0.010kg"),
            Ok(ScaleReading {
                state: ScaleState::UnderZero,
                grams: -10
            })
        );
        assert_eq!(p("ST,GS,01,+   250 g").map(|r| r.grams), Ok(250));
        assert_eq!(p("ST,GS,+  1.00lb").map(|r| r.grams), Ok(454));
        assert_eq!(
            p("OL,GS,+  -.---kg").map(|r| r.state),
            Ok(ScaleState::Overload)
        );
        assert_eq!(p("XX,GS,+  1.234kg"), Err(FrameError::Header));
        assert_eq!(p("ST,gs,+  1.234kg"), Err(FrameError::Header));
        assert_eq!(p("ST,GS"), Err(FrameError::Header));
        assert_eq!(p("ST,GS,+  1.234"), Err(FrameError::Unit));
        assert_eq!(p("ST,GS,+  1.234xx"), Err(FrameError::Unit));
        assert_eq!(p("ST,GS,+ 1.2.3kg"), Err(FrameError::Weight));
        assert_eq!(p("ST,GS,+-1kg"), Err(FrameError::Weight));
    }

    #[test]
    fn round_trip() {
        for (state, grams) in [
            (ScaleState::Stable, 1234),
            (ScaleState::Stable, 123_456),
            (ScaleState::Unstable, 5),
            (ScaleState::Zero, 0),
            (ScaleState::UnderZero, -10),
            (ScaleState::UnderZero, 0),
            (ScaleState::Overload, 0),
        ] {
            let r = ScaleReading { state, grams };
            let line = encode(&r);
            assert!(line.ends_with(b"\r\n"));
            assert_eq!(parse(&line[..line.len() - 2]), Ok(r));
        }
    }
}
