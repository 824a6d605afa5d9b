//! A read position over the input that hands out parameter bytes only when
//! they are all there, so no command handler can index past the end.

use super::DecodeError;

/// The input and how far the decoder has read.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// The next byte, if any.
    pub(super) fn next(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.pos).copied();
        if b.is_some() {
            self.pos += 1;
        }
        b
    }

    /// The next `n` bytes, or `Truncated` naming `command` (which started at
    /// `start`) when fewer remain; nothing is consumed on error.
    pub(super) fn take(
        &mut self,
        n: usize,
        start: usize,
        command: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let out = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or(DecodeError::Truncated {
                offset: start,
                command,
            })?;
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array (fixed-size parameters).
    pub(super) fn array<const N: usize>(
        &mut self,
        start: usize,
        command: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, start, command)?;
        // take() returned exactly N bytes, so this conversion cannot fail.
        bytes.try_into().map_err(|_| DecodeError::Truncated {
            offset: start,
            command,
        })
    }

    /// One parameter byte.
    pub(super) fn byte(&mut self, start: usize, command: &'static str) -> Result<u8, DecodeError> {
        let [b] = self.array(start, command)?;
        Ok(b)
    }

    /// A little-endian 16-bit parameter (`nL nH`).
    pub(super) fn u16(
        &mut self,
        start: usize,
        command: &'static str,
    ) -> Result<usize, DecodeError> {
        let [lo, hi] = self.array(start, command)?;
        Ok(usize::from(lo) | usize::from(hi) << 8)
    }

    /// Bytes up to the next NUL (consumed too), without the NUL.
    pub(super) fn until_nul(
        &mut self,
        start: usize,
        command: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let n = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::Truncated {
                offset: start,
                command,
            })?;
        let out = self.take(n, start, command)?;
        self.pos += 1;
        Ok(out)
    }
}
