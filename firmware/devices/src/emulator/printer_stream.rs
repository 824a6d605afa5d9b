//! Splits the byte stream a printer receives into whole commands as it
//! arrives, so the emulator can answer `DLE EOT` at once, pulse the drawer on
//! `ESC p` / `DLE DC4 1`, and never mistake a parameter or an image's data
//! for a command.
//!
//! Owns only framing (how long each command is); what a command shows on
//! paper is [`crate::escpos::decode`]'s business. Unknown commands are
//! framed by their usual parameter count, a best effort as on real printers.

/// One complete unit of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A text byte or a complete ordinary command, bytes as received.
    Data(Vec<u8>),
    /// `DLE EOT n`: a real-time status request.
    Status(u8),
    /// `ESC p m t1 t2`: a drawer pulse (buffered command, also printed data).
    Kick {
        /// The `m` byte (0/48 pin 2, 1/49 pin 5).
        m: u8,
        /// On time, 2 ms units.
        t1: u8,
        /// Off time, 2 ms units.
        t2: u8,
    },
    /// `DLE DC4 1 m t`: a real-time drawer pulse, t x 100 ms.
    RealTimeKick {
        /// The `m` byte.
        m: u8,
        /// Pulse time, 100 ms units.
        t: u8,
    },
    /// A `GS V` cut (also printed data).
    Cut(Vec<u8>),
}

const DLE: u8 = 0x10;
const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;

/// The incremental framer.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    pending: Vec<u8>,
    /// Data bytes still to skip inside a long payload (images), passed
    /// through as `Data` without buffering.
    skip: usize,
}

/// What is known about the command in `pending`.
enum Len {
    /// The command is this many bytes long in total.
    Total(usize),
    /// Not enough bytes yet to tell.
    Unknown,
    /// A header of this many bytes followed by a payload of that many.
    Payload(usize, usize),
    /// Ends at the first NUL after the header of this length.
    NulTerminated(usize),
}

impl Framer {
    /// Feeds received bytes; complete frames go to `out`.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut Vec<Frame>) {
        for &b in data {
            if self.skip > 0 {
                self.skip -= 1;
                push_data(out, b);
                continue;
            }
            self.pending.push(b);
            self.settle(out);
        }
    }

    fn settle(&mut self, out: &mut Vec<Frame>) {
        match length(&self.pending) {
            Len::Unknown => {}
            Len::Total(n) if self.pending.len() >= n => self.emit(out),
            Len::Total(_) => {}
            Len::Payload(header, payload) if self.pending.len() >= header => {
                // The header goes out now; the payload streams through.
                let frame = std::mem::take(&mut self.pending);
                out.push(Frame::Data(frame));
                self.skip = payload;
            }
            Len::Payload(..) => {}
            Len::NulTerminated(header) => {
                if self.pending.len() > header && self.pending.last() == Some(&0) {
                    self.emit(out);
                } else if self.pending.len() > header + 255 {
                    // No terminator in sight: give up framing it.
                    self.emit(out);
                }
            }
        }
    }

    fn emit(&mut self, out: &mut Vec<Frame>) {
        let cmd = std::mem::take(&mut self.pending);
        let frame = match cmd.as_slice() {
            [DLE, 0x04, n] => Frame::Status(*n),
            [DLE, 0x14, 1, m, t] => Frame::RealTimeKick { m: *m, t: *t },
            [ESC, b'p', m, t1, t2] => Frame::Kick {
                m: *m,
                t1: *t1,
                t2: *t2,
            },
            [GS, b'V', ..] => Frame::Cut(cmd),
            [b] => {
                push_data(out, *b);
                return;
            }
            _ => Frame::Data(cmd),
        };
        out.push(frame);
    }
}

/// Appends a byte to the last `Data` frame (text runs stay one frame).
fn push_data(out: &mut Vec<Frame>, b: u8) {
    if let Some(Frame::Data(d)) = out.last_mut() {
        d.push(b);
    } else {
        out.push(Frame::Data(vec![b]));
    }
}

fn u16_at(p: &[u8], i: usize) -> usize {
    usize::from(p[i]) | usize::from(p[i + 1]) << 8
}

/// How long the command starting `p` is (`p` is never empty).
fn length(p: &[u8]) -> Len {
    let total = |n| Len::Total(n);
    let Some(&first) = p.first() else {
        return Len::Unknown;
    };
    if !matches!(first, DLE | ESC | FS | GS) {
        return total(1);
    }
    let Some(&sel) = p.get(1) else {
        return Len::Unknown;
    };
    match (first, sel) {
        (DLE, 0x04) | (DLE, 0x05) => total(3),
        (DLE, 0x14) => match p.get(2) {
            None => Len::Unknown,
            Some(7) => total(4),
            Some(8) => total(10),
            Some(_) => total(5),
        },
        (DLE, _) => total(2),
        (ESC, b'@' | b'2' | b'<' | b'i' | b'm' | b'L' | b'S' | b'\x0c') => total(2),
        (ESC, b'$' | b'\\') => total(4),
        (ESC, b'p') => total(5),
        (ESC, b'c') => total(4),
        (ESC, b'W') => total(10),
        (ESC, b'D') => Len::NulTerminated(2),
        (ESC, b'*') => {
            if p.len() < 5 {
                return Len::Unknown;
            }
            let n = u16_at(p, 3);
            let per = if p[2] >= 32 { 3 } else { 1 };
            Len::Payload(5, n * per)
        }
        (ESC | GS | FS, b'(') => {
            if p.len() < 5 {
                return Len::Unknown;
            }
            Len::Payload(5, u16_at(p, 3))
        }
        (ESC, _) => total(3),
        (GS, b'V') => match p.get(2) {
            None => Len::Unknown,
            Some(65 | 66 | 97 | 98 | 103 | 104) => total(4),
            Some(_) => total(3),
        },
        (GS, b'L' | b'W' | b'$' | b'P' | b'\\') => total(4),
        (GS, b':') => total(2),
        (GS, b'v') => {
            if p.len() < 8 {
                return Len::Unknown;
            }
            Len::Payload(8, u16_at(p, 4) * u16_at(p, 6))
        }
        (GS, b'8') => {
            if p.len() < 7 {
                return Len::Unknown;
            }
            let n = usize::from(p[3])
                | usize::from(p[4]) << 8
                | usize::from(p[5]) << 16
                | usize::from(p[6]) << 24;
            Len::Payload(7, n)
        }
        (GS, b'*') => {
            if p.len() < 4 {
                return Len::Unknown;
            }
            Len::Payload(4, usize::from(p[2]) * usize::from(p[3]) * 8)
        }
        (GS, b'k') => match p.get(2) {
            None => Len::Unknown,
            Some(0..=6) => Len::NulTerminated(3),
            Some(_) => match p.get(3) {
                None => Len::Unknown,
                Some(&n) => total(4 + usize::from(n)),
            },
        },
        (GS, _) => total(3),
        (FS, b'.' | b'&') => total(2),
        (FS, b'S' | b'p') => total(4),
        (FS, b'q') => total(3),
        (FS, _) => total(3),
        _ => total(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(data: &[u8]) -> Vec<Frame> {
        let mut f = Framer::default();
        let mut out = Vec::new();
        // Byte by byte: framing must not depend on how reads split the stream.
        for b in data {
            f.push(&[*b], &mut out);
        }
        let mut whole = Vec::new();
        Framer::default().push(data, &mut whole);
        assert_eq!(out, whole);
        out
    }

    #[test]
    fn status_kick_cut_and_text() {
        let f = frames(b"\x10\x04\x01ab\n\x1bp\x00\x19\xfa\x1dVA\x03\x1dV\x01");
        assert_eq!(
            f,
            vec![
                Frame::Status(1),
                Frame::Data(b"ab\n".to_vec()),
                Frame::Kick {
                    m: 0,
                    t1: 25,
                    t2: 250
                },
                Frame::Cut(b"\x1dVA\x03".to_vec()),
                Frame::Cut(b"\x1dV\x01".to_vec()),
            ]
        );
    }

    #[test]
    fn payloads_are_not_commands() {
        // A raster image whose data contains ESC p and DLE EOT.
        let mut data = b"\x1dv0\x00\x05\x00\x01\x00".to_vec();
        data.extend_from_slice(b"\x1bp\x00\x10\x04");
        data.extend_from_slice(b"\x1d(k\x03\x001\x1bp");
        let f = frames(&data);
        assert!(f.iter().all(|f| matches!(f, Frame::Data(_))), "{f:?}");
        // A parameter byte that looks like ESC.
        let f = frames(b"\x1b!\x1bp");
        assert!(f.iter().all(|f| matches!(f, Frame::Data(_))), "{f:?}");
    }

    #[test]
    fn real_time_kick() {
        assert_eq!(
            frames(b"\x10\x14\x01\x00\x02"),
            vec![Frame::RealTimeKick { m: 0, t: 2 }]
        );
    }
}
