//! Kernel `struct input_event` records: parsing and writing.
//!
//! This module owns the byte layout of an evdev record and nothing else: it
//! must not interpret keys (that is [`super::keymap`]) or touch a device
//! (that is [`super::source`]).
//!
//! # Layout (64-bit Linux: x86_64, aarch64, riscv64)
//!
//! ```text
//! offset size  field
//!      0    8  tv_sec   (i64, seconds)
//!      8    8  tv_usec  (i64, microseconds)
//!     16    2  type     (u16: EV_SYN = 0, EV_KEY = 1, EV_MSC = 4, ...)
//!     18    2  code     (u16: for EV_KEY the key code, KEY_A = 30, ...)
//!     20    4  value    (i32: for EV_KEY 0 = release, 1 = press, 2 = repeat)
//! ```
//!
//! 24 bytes, little-endian (every 64-bit target Keel ships on is). 32-bit
//! kernels use a 16-byte record with 32-bit time fields; Keel does not run
//! there. The kernel hands out whole records; a stream that ends in the middle
//! of one (a cut recording) is an [`EventError::Truncated`], never a panic.

use std::io::{self, Read, Write};
use thiserror::Error;

/// Size of one record on 64-bit Linux.
pub const EVENT_SIZE: usize = 24;

/// Event type: synchronization (end of a report, or dropped events).
pub const EV_SYN: u16 = 0x00;
/// Event type: a key or button changed.
pub const EV_KEY: u16 = 0x01;
/// Event type: miscellaneous (scanners send `MSC_SCAN` before each key).
pub const EV_MSC: u16 = 0x04;
/// `EV_SYN` code: the end of one report.
pub const SYN_REPORT: u16 = 0;
/// `EV_SYN` code: the kernel's buffer overflowed and events were lost.
pub const SYN_DROPPED: u16 = 3;
/// `EV_KEY` value: the key went up.
pub const KEY_RELEASE: i32 = 0;
/// `EV_KEY` value: the key went down.
pub const KEY_PRESS: i32 = 1;
/// `EV_KEY` value: the kernel's autorepeat of a held key.
pub const KEY_REPEAT: i32 = 2;

/// Errors reading a stream of records.
#[derive(Debug, Error)]
pub enum EventError {
    /// The stream ended inside a record.
    #[error("event stream ends inside a record: {trailing} of {EVENT_SIZE} bytes after {complete} whole records")]
    Truncated {
        /// Whole records read before the cut.
        complete: u64,
        /// Bytes of the cut record.
        trailing: usize,
    },
    /// The underlying reader failed.
    #[error("cannot read events: {0}")]
    Io(#[from] io::Error),
}

/// One kernel input event, as recorded (times are the event's own clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InputEvent {
    /// Seconds part of the timestamp.
    pub sec: i64,
    /// Microseconds part of the timestamp (0..1_000_000 from a real kernel).
    pub usec: i64,
    /// Event type (`EV_KEY`, `EV_SYN`, ...).
    pub kind: u16,
    /// Event code (the key code for `EV_KEY`).
    pub code: u16,
    /// Event value (0 release, 1 press, 2 repeat for `EV_KEY`).
    pub value: i32,
}

impl InputEvent {
    /// An event at `at_us` microseconds since the clock's epoch.
    pub fn at(at_us: i64, kind: u16, code: u16, value: i32) -> Self {
        InputEvent {
            sec: at_us.div_euclid(1_000_000),
            usec: at_us.rem_euclid(1_000_000),
            kind,
            code,
            value,
        }
    }

    /// An `EV_KEY` event at `at_us` microseconds.
    pub fn key(at_us: i64, code: u16, value: i32) -> Self {
        Self::at(at_us, EV_KEY, code, value)
    }

    /// An `EV_SYN`/`SYN_REPORT` event at `at_us` microseconds.
    pub fn syn(at_us: i64) -> Self {
        Self::at(at_us, EV_SYN, SYN_REPORT, 0)
    }

    /// The timestamp in microseconds (saturating for nonsense input).
    pub fn at_us(&self) -> i64 {
        self.sec.saturating_mul(1_000_000).saturating_add(self.usec)
    }

    /// The timestamp in milliseconds (saturating for nonsense input).
    pub fn at_ms(&self) -> i64 {
        self.at_us().div_euclid(1_000)
    }

    /// The 24-byte record.
    pub fn to_bytes(&self) -> [u8; EVENT_SIZE] {
        let mut b = [0u8; EVENT_SIZE];
        b[0..8].copy_from_slice(&self.sec.to_le_bytes());
        b[8..16].copy_from_slice(&self.usec.to_le_bytes());
        b[16..18].copy_from_slice(&self.kind.to_le_bytes());
        b[18..20].copy_from_slice(&self.code.to_le_bytes());
        b[20..24].copy_from_slice(&self.value.to_le_bytes());
        b
    }

    /// Reads a 24-byte record (every bit pattern is a valid event).
    pub fn from_bytes(b: &[u8; EVENT_SIZE]) -> Self {
        let mut sec = [0u8; 8];
        let mut usec = [0u8; 8];
        let mut kind = [0u8; 2];
        let mut code = [0u8; 2];
        let mut value = [0u8; 4];
        sec.copy_from_slice(&b[0..8]);
        usec.copy_from_slice(&b[8..16]);
        kind.copy_from_slice(&b[16..18]);
        code.copy_from_slice(&b[18..20]);
        value.copy_from_slice(&b[20..24]);
        InputEvent {
            sec: i64::from_le_bytes(sec),
            usec: i64::from_le_bytes(usec),
            kind: u16::from_le_bytes(kind),
            code: u16::from_le_bytes(code),
            value: i32::from_le_bytes(value),
        }
    }
}

/// Splits `bytes` into records; a cut trailing record is an error.
pub fn parse_events(bytes: &[u8]) -> Result<Vec<InputEvent>, EventError> {
    let chunks = bytes.chunks_exact(EVENT_SIZE);
    let trailing = chunks.remainder().len();
    let events: Vec<InputEvent> = chunks.filter_map(record).collect();
    if trailing != 0 {
        return Err(EventError::Truncated {
            complete: events.len() as u64,
            trailing,
        });
    }
    Ok(events)
}

/// Parses one chunk that is known to be `EVENT_SIZE` long.
pub(crate) fn record(chunk: &[u8]) -> Option<InputEvent> {
    <&[u8; EVENT_SIZE]>::try_from(chunk)
        .ok()
        .map(InputEvent::from_bytes)
}

/// Writes records (for recordings and tests).
pub fn write_events<'a, W: Write>(
    out: &mut W,
    events: impl IntoIterator<Item = &'a InputEvent>,
) -> io::Result<()> {
    for e in events {
        out.write_all(&e.to_bytes())?;
    }
    Ok(())
}

/// Reads records one at a time from a blocking reader (a file, a pipe).
#[derive(Debug)]
pub struct EventReader<R> {
    inner: R,
    complete: u64,
}

impl<R: Read> EventReader<R> {
    /// Wraps a reader positioned at a record boundary.
    pub fn new(inner: R) -> Self {
        EventReader { inner, complete: 0 }
    }

    /// The next record; `Ok(None)` at a clean end of stream.
    pub fn next_event(&mut self) -> Result<Option<InputEvent>, EventError> {
        let mut buf = [0u8; EVENT_SIZE];
        let mut filled = 0;
        while filled < EVENT_SIZE {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => {
                    return Err(EventError::Truncated {
                        complete: self.complete,
                        trailing: filled,
                    })
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(EventError::Io(e)),
            }
        }
        self.complete += 1;
        Ok(Some(InputEvent::from_bytes(&buf)))
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Result<InputEvent, EventError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// Reassembles records from reads of any size (a FIFO or a pseudo-terminal
/// may split a record; an evdev node never does).
#[derive(Debug, Default)]
pub struct EventBuffer {
    partial: Vec<u8>,
    complete: u64,
}

impl EventBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes; returns the records they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<InputEvent> {
        self.partial.extend_from_slice(bytes);
        let whole = self.partial.len() - self.partial.len() % EVENT_SIZE;
        let events: Vec<InputEvent> = self.partial[..whole]
            .chunks_exact(EVENT_SIZE)
            .filter_map(record)
            .collect();
        self.partial.drain(..whole);
        self.complete += events.len() as u64;
        events
    }

    /// Drops a partial record (after a reconnect).
    pub fn clear(&mut self) {
        self.partial.clear();
    }

    /// The end of the stream: an error if it stopped inside a record.
    pub fn finish(&self) -> Result<(), EventError> {
        if self.partial.is_empty() {
            Ok(())
        } else {
            Err(EventError::Truncated {
                complete: self.complete,
                trailing: self.partial.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let e = InputEvent::key(1_700_000_000_123_456, 30, KEY_PRESS);
        let b = e.to_bytes();
        assert_eq!(&b[0..8], &1_700_000_000i64.to_le_bytes());
        assert_eq!(&b[8..16], &123_456i64.to_le_bytes());
        assert_eq!(&b[16..18], &[1, 0]);
        assert_eq!(&b[18..20], &[30, 0]);
        assert_eq!(&b[20..24], &[1, 0, 0, 0]);
        assert_eq!(InputEvent::from_bytes(&b), e);
        assert_eq!(e.at_ms(), 1_700_000_000_123);
    }

    #[test]
    fn truncated_tail_is_an_error() {
        let mut bytes = Vec::new();
        write_events(&mut bytes, &[InputEvent::syn(5), InputEvent::syn(6)]).unwrap();
        bytes.truncate(30);
        match parse_events(&bytes) {
            Err(EventError::Truncated { complete, trailing }) => {
                assert_eq!((complete, trailing), (1, 6));
            }
            other => panic!("{other:?}"),
        }
        let mut r = EventReader::new(&bytes[..]);
        assert!(r.next_event().unwrap().is_some());
        assert!(matches!(
            r.next_event(),
            Err(EventError::Truncated {
                complete: 1,
                trailing: 6
            })
        ));
        assert!(EventReader::new(&[][..]).next_event().unwrap().is_none());
        let mut buf = EventBuffer::new();
        assert_eq!(buf.push(&bytes[..7]).len(), 0);
        assert_eq!(buf.push(&bytes[7..]).len(), 1);
        assert!(matches!(
            buf.finish(),
            Err(EventError::Truncated {
                complete: 1,
                trailing: 6
            })
        ));
    }

    #[test]
    fn nonsense_times_saturate() {
        let e = InputEvent {
            sec: i64::MAX,
            usec: i64::MAX,
            ..Default::default()
        };
        assert_eq!(e.at_us(), i64::MAX);
        let e = InputEvent {
            sec: i64::MIN,
            usec: i64::MIN,
            ..Default::default()
        };
        assert_eq!(e.at_us(), i64::MIN);
        let _ = e.at_ms();
    }
}
