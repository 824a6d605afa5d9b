//! The frame decoder of the transport's channel streams, sans-IO: after the channel
//! tag, a stream is frames of a u32 big-endian length and that many payload bytes, with
//! a bound on the length. [`FrameDecoder`] takes the bytes as they arrive (any
//! chunking) and hands back whole payloads; [`FrameDecoder::finish`] says whether the
//! stream ended between frames.
//!
//! This module owns the frame format and its bound checks. It must not do I/O, know
//! about channels or peers, or interpret payloads: `transport` reads the quinn stream
//! and feeds it here.

use thiserror::Error;

/// Bytes of a frame's length prefix.
pub const HEADER_LEN: usize = 4;

/// Largest payload capacity reserved before the bytes arrive (a frame's length is
/// outside input: the buffer grows with what really arrives).
const RESERVE_LIMIT: usize = 64 * 1024;

/// Why a stream's bytes are not a sequence of frames (the connection is closed).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A frame's length prefix is above the bound.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced payload length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The stream finished inside a frame's length prefix.
    #[error("truncated frame header ({got} of 4 bytes)")]
    TruncatedHeader {
        /// Prefix bytes that arrived.
        got: usize,
    },
    /// The stream finished inside a frame's payload.
    #[error("truncated frame ({got} of {len} bytes)")]
    TruncatedPayload {
        /// Payload bytes that arrived.
        got: usize,
        /// The announced payload length.
        len: usize,
    },
}

/// Incremental decoder of one stream's frames.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max: usize,
    header: [u8; HEADER_LEN],
    header_got: usize,
    /// The frame being read: its announced length and the payload so far.
    payload: Option<(usize, Vec<u8>)>,
}

impl FrameDecoder {
    /// A decoder refusing payloads longer than `max` bytes.
    pub fn new(max: usize) -> FrameDecoder {
        FrameDecoder {
            max,
            header: [0; HEADER_LEN],
            header_got: 0,
            payload: None,
        }
    }

    /// Takes bytes from the front of `input`: returns how many it used and the frame
    /// they completed, if any. Uses at least one byte of a non-empty input; call again
    /// with the rest until it is all used. After an error the stream is unusable.
    pub fn push(&mut self, input: &[u8]) -> Result<(usize, Option<Vec<u8>>), FrameError> {
        let mut used = 0;
        if self.payload.is_none() {
            let take = (HEADER_LEN - self.header_got).min(input.len());
            self.header[self.header_got..self.header_got + take].copy_from_slice(&input[..take]);
            self.header_got += take;
            used += take;
            if self.header_got < HEADER_LEN {
                return Ok((used, None));
            }
            let len = u32::from_be_bytes(self.header) as usize;
            if len > self.max {
                return Err(FrameError::TooLarge { len, max: self.max });
            }
            self.header_got = 0;
            self.payload = Some((len, Vec::with_capacity(len.min(RESERVE_LIMIT))));
        }
        let Some((len, payload)) = self.payload.as_mut() else {
            return Ok((used, None));
        };
        let take = (*len - payload.len()).min(input.len() - used);
        payload.extend_from_slice(&input[used..used + take]);
        used += take;
        if payload.len() < *len {
            return Ok((used, None));
        }
        Ok((used, self.payload.take().map(|(_, p)| p)))
    }

    /// The stream finished: Ok when it ended between frames.
    pub fn finish(&self) -> Result<(), FrameError> {
        match &self.payload {
            Some((len, payload)) => Err(FrameError::TruncatedPayload {
                got: payload.len(),
                len: *len,
            }),
            None if self.header_got > 0 => Err(FrameError::TruncatedHeader {
                got: self.header_got,
            }),
            None => Ok(()),
        }
    }
}

/// Decodes a whole finished stream (after the channel tag) into its payloads.
pub fn decode_stream(bytes: &[u8], max: usize) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut decoder = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (used, frame) = decoder.push(rest)?;
        rest = &rest[used..];
        frames.extend(frame);
    }
    decoder.finish()?;
    Ok(frames)
}

/// One frame as the writer sends it: the length prefix, then `payload`. None when the
/// payload is too long for a u32 length.
pub fn encode_frame(payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_whatever_the_chunking() {
        let payloads: Vec<Vec<u8>> = vec![b"abc".to_vec(), Vec::new(), vec![7; 300]];
        let stream: Vec<u8> = payloads
            .iter()
            .flat_map(|p| encode_frame(p).unwrap())
            .collect();
        assert_eq!(decode_stream(&stream, 300).unwrap(), payloads);
        for chunk in [1, 2, 3, 5, 64] {
            let mut d = FrameDecoder::new(300);
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                let mut rest = piece;
                while !rest.is_empty() {
                    let (used, frame) = d.push(rest).unwrap();
                    assert!(used > 0);
                    rest = &rest[used..];
                    got.extend(frame);
                }
            }
            d.finish().unwrap();
            assert_eq!(got, payloads, "chunks of {chunk}");
        }
    }

    #[test]
    fn bad_streams_are_errors() {
        assert_eq!(
            decode_stream(&[0xff, 0xff, 0xff, 0xff, 1], 10),
            Err(FrameError::TooLarge {
                len: u32::MAX as usize,
                max: 10
            })
        );
        assert_eq!(
            decode_stream(&[0, 0], 10),
            Err(FrameError::TruncatedHeader { got: 2 })
        );
        assert_eq!(
            decode_stream(&[0, 0, 0, 5, 1, 2], 10),
            Err(FrameError::TruncatedPayload { got: 2, len: 5 })
        );
        assert_eq!(decode_stream(&[], 10), Ok(Vec::new()));
    }
}
