//! Toledo frames: Mettler Toledo continuous output and 8213/8217 demand replies.
//!
//! This module owns both layouts, parsing and encoding (the encoder serves
//! the emulator and tests). It must not do I/O or framing (that is
//! [`super::framer`]).
//!
//! **Continuous** (`STX SWA SWB SWC wwwwww [tttttt] CR [checksum]`): three
//! status words (bit 5 always set, bit 7 parity, ignored), six weight digits
//! without a decimal point, optionally six tare digits.
//!
//! - SWA bits 0-2: decimal point (0: `xxxx00`, 1: `xxxxx0`, 2: `xxxxxx`,
//!   3: `xxxxx.x` ... 7: `x.xxxxx`).
//! - SWB bit 1 negative, bit 2 out of range, bit 3 in motion, bit 4 kg (else lb).
//! - SWC bits 0-2: 0 unit as SWB says, 1 grams, 3 ounces (others refused).
//!
//! **Demand** (answer to `W`): `STX NN.NNN CR`, the weight in kg
//! (Keel configures its scales metric), or `STX ? status CR` when the weight
//! is not valid: status bit 0 in motion, bit 1 out of range, bit 2 under
//! zero, bit 4 center of zero (bits 5 and 6 always set).

use super::weight::{parse_decimal, scaled_to_grams, text_to_grams, Unit};
use super::{FrameError, ScaleReading, ScaleState};

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame.
pub const CR: u8 = 0x0d;
/// The request byte of demand mode.
pub const REQUEST: u8 = b'W';

/// Decides the state from the flags and the weight.
fn state_of(out_of_range: bool, motion: bool, negative: bool, grams: i64) -> ScaleState {
    if out_of_range && negative {
        ScaleState::UnderZero
    } else if out_of_range {
        ScaleState::Overload
    } else if motion {
        ScaleState::Unstable
    } else if grams < 0 {
        ScaleState::UnderZero
    } else if grams == 0 {
        ScaleState::Zero
    } else {
        ScaleState::Stable
    }
}

/// Parses a continuous frame's body (between STX and CR).
pub fn parse_continuous(body: &[u8]) -> Result<ScaleReading, FrameError> {
    if body.len() != 15 && body.len() != 9 {
        return Err(FrameError::Length(body.len()));
    }
    let [swa, swb, swc] = [body[0] & 0x7f, body[1] & 0x7f, body[2] & 0x7f];
    if swa & 0x60 != 0x20 || swb & 0x20 == 0 || swc & 0x60 != 0x20 {
        return Err(FrameError::Status);
    }
    let digits = std::str::from_utf8(&body[3..9]).map_err(|_| FrameError::Weight)?;
    let (mantissa, _) = parse_decimal(digits)
        .filter(|_| !digits.contains('.'))
        .ok_or(FrameError::Weight)?;
    let exponent = 2 - i32::from(swa & 0x07);
    let unit = match swc & 0x07 {
        0 if swb & 0x10 != 0 => Unit::Kilograms,
        0 => Unit::Pounds,
        1 => Unit::Grams,
        3 => Unit::Ounces,
        _ => return Err(FrameError::Unit),
    };
    let negative = swb & 0x02 != 0;
    let grams = scaled_to_grams(if negative { -mantissa } else { mantissa }, exponent, unit)
        .ok_or(FrameError::Weight)?;
    let state = state_of(swb & 0x04 != 0, swb & 0x08 != 0, negative, grams);
    Ok(ScaleReading { state, grams })
}

/// Encodes a reading as a continuous frame in kg with three decimals,
/// tare zero, checksum after CR. Weights beyond 999.999 kg are sent as out of range.
pub fn encode_continuous(reading: &ScaleReading) -> Vec<u8> {
    let magnitude = reading.grams.unsigned_abs();
    let negative = reading.state == ScaleState::UnderZero || reading.grams < 0;
    let out_of_range = reading.state == ScaleState::Overload
        || magnitude > 999_999
        || (negative && magnitude == 0);
    let mut swb = 0x20 | 0x10;
    if negative {
        swb |= 0x02;
    }
    if out_of_range {
        swb |= 0x04;
    }
    if reading.state == ScaleState::Unstable {
        swb |= 0x08;
    }
    let mut frame = vec![STX, 0x20 | 0x08 | 5, swb, 0x20];
    frame.extend_from_slice(format!("{:06}000000", magnitude.min(999_999)).as_bytes());
    frame.push(CR);
    let sum = frame.iter().fold(0u8, |acc, b| acc.wrapping_add(b & 0x7f));
    frame.push(sum.wrapping_neg() & 0x7f);
    frame
}

/// Width of a demand reply's weight field, decimal point included (`01.234`).
pub const DEMAND_WEIGHT_LEN: usize = 6;

/// Where the decimal point of a demand reply's weight field is (`01.234` kg).
pub const DEMAND_POINT_AT: usize = 2;

/// Parses a demand reply's body (between STX and CR).
pub fn parse_demand(body: &[u8]) -> Result<ScaleReading, FrameError> {
    if let [b'?', status] = body {
        let s = *status & 0x7f;
        if s & 0x60 != 0x60 {
            return Err(FrameError::Status);
        }
        let state = if s & 0x02 != 0 {
            ScaleState::Overload
        } else if s & 0x04 != 0 {
            ScaleState::UnderZero
        } else if s & 0x01 != 0 {
            ScaleState::Unstable
        } else if s & 0x10 != 0 {
            ScaleState::Zero
        } else {
            // "Weight not valid" with no reason given: not readable yet.
            ScaleState::Unstable
        };
        return Ok(ScaleReading { state, grams: 0 });
    }
    let text = std::str::from_utf8(body).map_err(|_| FrameError::Weight)?;
    // The weight field is `NN.NNN` kg: any other width or point position is
    // not a reply, however its digits read (found by fuzzing: `015000.000`
    // and `5000.0` were stable weights of 15 t and 5 t).
    if text.len() != DEMAND_WEIGHT_LEN || text.as_bytes()[DEMAND_POINT_AT] != b'.' {
        return Err(FrameError::Weight);
    }
    let grams = text_to_grams(false, text, Unit::Kilograms).ok_or(FrameError::Weight)?;
    Ok(ScaleReading {
        state: state_of(false, false, false, grams),
        grams,
    })
}

/// Encodes the demand reply for a reading: the weight in kg (`STX 01.234 CR`)
/// when stable or zero, else the status record.
pub fn encode_demand(reading: &ScaleReading) -> Vec<u8> {
    let status = match reading.state {
        ScaleState::Stable | ScaleState::Zero if (0..=99_999).contains(&reading.grams) => {
            let g = reading.grams;
            return format!("\u{2}{:02}.{:03}\r", g / 1000, g % 1000).into_bytes();
        }
        ScaleState::Unstable => 0x01,
        ScaleState::UnderZero => 0x04,
        ScaleState::Stable | ScaleState::Zero if reading.grams < 0 => 0x04,
        ScaleState::Stable | ScaleState::Zero | ScaleState::Overload => 0x02,
    };
    vec![STX, b'?', 0x60 | status, CR]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(frame: &[u8]) -> &[u8] {
        let end = frame.iter().position(|b| *b == CR).unwrap();
        &frame[1..end]
    }

    #[test]
    fn continuous_round_trip() {
        for (state, grams) in [
            (ScaleState::Stable, 1234),
            (ScaleState::Unstable, 990),
            (ScaleState::Zero, 0),
            (ScaleState::Overload, 999_999),
            (ScaleState::UnderZero, -15),
            (ScaleState::UnderZero, 0),
        ] {
            let r = ScaleReading { state, grams };
            assert_eq!(parse_continuous(body(&encode_continuous(&r))), Ok(r));
        }
    }

    #[test]
    fn continuous_units_and_decimal_points() {
        // lb, 2 decimals (dp 4): 1.00 lb.
        assert_eq!(
            parse_continuous(b"\x24\x20\x20000100000000").unwrap().grams,
            454
        );
        // grams, no decimals (dp 2).
        assert_eq!(parse_continuous(b"\x22\x20\x21000250").unwrap().grams, 250);
        // kg x10 (dp 1): 12 -> 120 kg.
        assert_eq!(
            parse_continuous(b"\x21\x30\x20000012").unwrap().grams,
            120_000
        );
        assert_eq!(
            parse_continuous(b"\x22\x20\x22000250"),
            Err(FrameError::Unit)
        );
        assert_eq!(
            parse_continuous(b"\x02\x20\x20000250"),
            Err(FrameError::Status)
        );
        assert_eq!(
            parse_continuous(b"\x22\x20\x2000x250"),
            Err(FrameError::Weight)
        );
        assert_eq!(parse_continuous(b"\x22\x20"), Err(FrameError::Length(2)));
    }

    #[test]
    fn demand_round_trip() {
        for (state, grams) in [
            (ScaleState::Stable, 1234),
            (ScaleState::Zero, 0),
            (ScaleState::Unstable, 0),
            (ScaleState::Overload, 0),
            (ScaleState::UnderZero, 0),
        ] {
            let r = ScaleReading { state, grams };
            assert_eq!(parse_demand(body(&encode_demand(&r))), Ok(r));
        }
        assert_eq!(parse_demand(b"?\x70").unwrap().state, ScaleState::Zero);
        assert_eq!(parse_demand(b"12345"), Err(FrameError::Weight));
        assert_eq!(parse_demand(b" 0.500").unwrap().grams, 500);
        assert_eq!(parse_demand(b"015000.000"), Err(FrameError::Weight));
        assert_eq!(parse_demand(b"1.5"), Err(FrameError::Weight));
        assert_eq!(parse_demand(b"5000.0"), Err(FrameError::Weight));
        assert_eq!(parse_demand(b"99.999").unwrap().grams, 99_999);
        assert_eq!(parse_demand(b"?\x01"), Err(FrameError::Status));
    }
}
