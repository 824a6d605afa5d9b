//! The ESC/POS encoder: typed commands in, bytes out to any `io::Write`.
//!
//! Owns the byte form of each command Keel sends and the text path through
//! the selected code page. Every method writes one whole command with
//! `write_all` and returns the writer's error unchanged (a printer that
//! vanishes mid-job is an `Err`, never a panic); arguments a printer would
//! reject are refused before any byte is written, as `InvalidInput` errors
//! wrapping an [`EncodeError`]. It must not decide what to print (layouts
//! do), buffer a job, retry, or read from the printer.

use super::barcode::{self, BarcodeKind, BarcodeOptions};
use super::bitmap::Bitmap;
use super::codepage::CodePage;
use super::commands::{
    ESC, FS, GS, LF, QR_CN, QR_FN_ERROR_CORRECTION, QR_FN_MODEL, QR_FN_MODULE_SIZE, QR_FN_PRINT,
    QR_FN_STORE, QR_M, QR_MODEL_2,
};
use super::error::EncodeError;
use super::kick::{DrawerPin, MAX_PULSE_MS};
use super::paper::CutKind;
use super::qr::QrOptions;
use super::style::{Align, TextSize};
use std::io::{self, Write};

/// Writes ESC/POS commands to `W`.
///
/// Text is encoded through the code page last selected with
/// [`Encoder::code_page`] (CP437, the printer's power-on table, until then).
/// Methods return `&mut Self` so commands chain with `?`.
#[derive(Debug)]
pub struct Encoder<W: Write> {
    out: W,
    page: CodePage,
}

fn lo_hi(n: usize) -> [u8; 2] {
    // Callers check n <= 0xFFFF; the masks keep the bytes right regardless.
    [(n & 0xFF) as u8, ((n >> 8) & 0xFF) as u8]
}

impl<W: Write> Encoder<W> {
    /// An encoder writing to `out`, assuming the printer is on CP437.
    pub fn new(out: W) -> Encoder<W> {
        Encoder {
            out,
            page: CodePage::Cp437,
        }
    }

    /// The writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The writer, mutably (bytes written here bypass the encoder).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Gives the writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The code page text is currently encoded with.
    pub fn active_code_page(&self) -> CodePage {
        self.page
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<&mut Self> {
        self.out.write_all(bytes)?;
        Ok(self)
    }

    /// `ESC @`: clears the buffer and resets every mode to the power-on
    /// state (left aligned, normal size, code page CP437).
    pub fn initialize(&mut self) -> io::Result<&mut Self> {
        self.page = CodePage::Cp437;
        self.put(&[ESC, b'@'])
    }

    /// `FS .`: leaves Kanji mode, which some Chinese-market printers start in
    /// (they would otherwise print bytes 0x80-0xFF as double-byte characters).
    pub fn cancel_kanji(&mut self) -> io::Result<&mut Self> {
        self.put(&[FS, b'.'])
    }

    /// `ESC E n`: emphasized (bold) on or off.
    pub fn bold(&mut self, on: bool) -> io::Result<&mut Self> {
        self.put(&[ESC, b'E', u8::from(on)])
    }

    /// `ESC - n`: one-dot underline on or off.
    pub fn underline(&mut self, on: bool) -> io::Result<&mut Self> {
        self.put(&[ESC, b'-', u8::from(on)])
    }

    /// `GS ! n`: character magnification (1-8 times each way).
    pub fn size(&mut self, size: TextSize) -> io::Result<&mut Self> {
        if !size.is_valid() {
            return Err(EncodeError::TextSize {
                width: size.width,
                height: size.height,
            }
            .into());
        }
        self.put(&[GS, b'!', size.gs_bang()])
    }

    /// `GS ! n`: double width and/or double height, or normal size.
    pub fn double(&mut self, width: bool, height: bool) -> io::Result<&mut Self> {
        self.size(TextSize {
            width: if width { 2 } else { 1 },
            height: if height { 2 } else { 1 },
        })
    }

    /// `ESC a n`: justification, effective from the start of a line.
    pub fn align(&mut self, align: Align) -> io::Result<&mut Self> {
        self.put(&[ESC, b'a', align.n()])
    }

    /// `ESC t n`: selects `page` and encodes later text through it.
    pub fn code_page(&mut self, page: CodePage) -> io::Result<&mut Self> {
        self.page = page;
        self.put(&[ESC, b't', page.esc_t()])
    }

    /// Prints `text` through the active code page, one byte per character:
    /// `\n` is a line feed, a tab a space, other control characters and
    /// characters the page lacks print as `?` (text can never become a command).
    pub fn text(&mut self, text: &str) -> io::Result<&mut Self> {
        let page = self.page;
        let bytes: Vec<u8> = text
            .chars()
            .map(|c| match c {
                '\n' => LF,
                '\t' => b' ',
                c => page.encode_char(c),
            })
            .collect();
        self.put(&bytes)
    }

    /// Prints `text` and ends the line.
    pub fn line(&mut self, text: &str) -> io::Result<&mut Self> {
        self.text(text)?;
        self.line_feed()
    }

    /// `LF`: prints the buffer and feeds one line.
    pub fn line_feed(&mut self) -> io::Result<&mut Self> {
        self.put(&[LF])
    }

    /// `ESC d n`: prints the buffer and feeds `lines` lines.
    pub fn feed(&mut self, lines: u8) -> io::Result<&mut Self> {
        self.put(&[ESC, b'd', lines])
    }

    /// A QR code, model 2, through `GS ( k`: functions 165 (model), 167
    /// (module size), 169 (error correction), 180 (store `data`, sent as its
    /// UTF-8 bytes) and 181 (print). Justification applies to the symbol.
    pub fn qr(&mut self, data: &str, options: QrOptions) -> io::Result<&mut Self> {
        let bytes = data.as_bytes();
        options.validate(bytes)?;
        let mut cmd = Vec::with_capacity(bytes.len() + 40);
        cmd.extend_from_slice(&[GS, b'(', b'k', 4, 0, QR_CN, QR_FN_MODEL, QR_MODEL_2, 0]);
        cmd.extend_from_slice(&[
            GS,
            b'(',
            b'k',
            3,
            0,
            QR_CN,
            QR_FN_MODULE_SIZE,
            options.module_size,
        ]);
        cmd.extend_from_slice(&[
            GS,
            b'(',
            b'k',
            3,
            0,
            QR_CN,
            QR_FN_ERROR_CORRECTION,
            options.error_correction.n(),
        ]);
        // Validation caps the data at 7089 bytes, so pL pH cannot overflow.
        cmd.extend_from_slice(&[GS, b'(', b'k']);
        cmd.extend_from_slice(&lo_hi(bytes.len() + 3));
        cmd.extend_from_slice(&[QR_CN, QR_FN_STORE, QR_M]);
        cmd.extend_from_slice(bytes);
        cmd.extend_from_slice(&[GS, b'(', b'k', 3, 0, QR_CN, QR_FN_PRINT, QR_M]);
        self.put(&cmd)
    }

    /// A 1-D barcode: `GS H` (HRI position), `GS h` (height), `GS w` (module
    /// width), then `GS k m n d1...dn` (function B). Check digits of UPC and
    /// EAN are left to the printer; a given one must be right.
    pub fn barcode(
        &mut self,
        kind: BarcodeKind,
        data: &str,
        options: BarcodeOptions,
    ) -> io::Result<&mut Self> {
        options.validate()?;
        let payload = barcode::payload(kind, data)?;
        let mut cmd = vec![
            GS,
            b'H',
            options.hri.n(),
            GS,
            b'h',
            options.height,
            GS,
            b'w',
            options.module,
            GS,
            b'k',
            kind.m(),
        ];
        // payload() caps every symbology at 255 bytes.
        cmd.push(u8::try_from(payload.len()).unwrap_or(u8::MAX));
        cmd.extend_from_slice(&payload);
        self.put(&cmd)
    }

    /// `GS v 0 0 xL xH yL yH d...`: prints `image` at normal density; its
    /// width is rounded up to whole bytes (white padding on the right).
    pub fn raster(&mut self, image: &Bitmap) -> io::Result<&mut Self> {
        let mut cmd = Vec::with_capacity(image.data().len() + 8);
        cmd.extend_from_slice(&[GS, b'v', b'0', 0]);
        // Bitmap limits (2048 x 2303 dots) keep both within two bytes.
        cmd.extend_from_slice(&lo_hi(image.bytes_per_row()));
        cmd.extend_from_slice(&lo_hi(image.height() as usize));
        cmd.extend_from_slice(image.data());
        self.put(&cmd)
    }

    /// `GS V m`: cuts at the current position (`m` = 0 full, 1 partial).
    /// Lines printed last are still below the cutter; see [`Encoder::feed_and_cut`].
    pub fn cut(&mut self, kind: CutKind) -> io::Result<&mut Self> {
        let m = match kind {
            CutKind::Full => 0,
            CutKind::Partial => 1,
        };
        self.put(&[GS, b'V', m])
    }

    /// `GS V m n`: feeds the paper to the cutter plus `dots` dots, then cuts
    /// (`m` = 65 full, 66 partial), so the last line stays on this receipt.
    pub fn feed_and_cut(&mut self, kind: CutKind, dots: u8) -> io::Result<&mut Self> {
        let m = match kind {
            CutKind::Full => 65,
            CutKind::Partial => 66,
        };
        self.put(&[GS, b'V', m, dots])
    }

    /// `ESC p m t1 t2`: pulses the drawer-kick `pin` on for `on_ms` and off
    /// for `off_ms` (2 ms resolution, rounded up, at most 510 ms each).
    pub fn kick(&mut self, pin: DrawerPin, on_ms: u16, off_ms: u16) -> io::Result<&mut Self> {
        if on_ms > MAX_PULSE_MS || off_ms > MAX_PULSE_MS {
            return Err(EncodeError::KickPulse { on_ms, off_ms }.into());
        }
        let units = |ms: u16| u8::try_from(ms.div_ceil(2)).unwrap_or(u8::MAX);
        self.put(&[ESC, b'p', pin.m(), units(on_ms), units(off_ms)])
    }

    /// Flushes the writer.
    pub fn flush(&mut self) -> io::Result<&mut Self> {
        self.out.flush()?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(
        f: impl FnOnce(&mut Encoder<Vec<u8>>) -> io::Result<&mut Encoder<Vec<u8>>>,
    ) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        f(&mut e).unwrap();
        e.into_inner()
    }

    #[test]
    fn simple_commands() {
        assert_eq!(bytes(|e| e.initialize()), [0x1B, 0x40]);
        assert_eq!(bytes(|e| e.bold(true)), [0x1B, 0x45, 1]);
        assert_eq!(bytes(|e| e.double(true, true)), [0x1D, 0x21, 0x11]);
        assert_eq!(bytes(|e| e.align(Align::Center)), [0x1B, 0x61, 1]);
        assert_eq!(
            bytes(|e| e.feed_and_cut(CutKind::Partial, 3)),
            [0x1D, 0x56, 66, 3]
        );
        assert_eq!(
            bytes(|e| e.kick(DrawerPin::Pin5, 50, 500)),
            [0x1B, 0x70, 1, 25, 250]
        );
    }

    #[test]
    fn text_goes_through_the_code_page() {
        let out = bytes(|e| e.code_page(CodePage::Cp858)?.text("5 €\x1b"));
        assert_eq!(out, [0x1B, b't', 19, b'5', b' ', 0xD5, b'?']);
    }

    #[test]
    fn qr_store_length() {
        let out = bytes(|e| e.qr("ABC", QrOptions::default()));
        let store = [0x1D, b'(', b'k', 6, 0, 49, 80, 48, b'A', b'B', b'C'];
        assert!(out.windows(store.len()).any(|w| w == store));
        assert!(out.ends_with(&[0x1D, b'(', b'k', 3, 0, 49, 81, 48]));
    }

    #[test]
    fn bad_arguments_write_nothing() {
        let mut e = Encoder::new(Vec::new());
        let err = e.kick(DrawerPin::Pin2, 600, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(e
            .size(TextSize {
                width: 9,
                height: 1
            })
            .is_err());
        assert!(e
            .barcode(BarcodeKind::Ean13, "12", BarcodeOptions::default())
            .is_err());
        assert!(e.get_ref().is_empty());
    }
}
