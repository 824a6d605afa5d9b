//! QR codes (`GS ( k`, model 2): module size, error correction and how much
//! data a symbol holds.
//!
//! Owns the options and the capacity check made before any byte is sent, so
//! a printer is never handed a symbol it would silently drop. The command
//! bytes themselves are the encoder's.

use super::error::EncodeError;

/// Error correction level (`GS ( k` function 169).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum QrErrorCorrection {
    /// About 7 % of the symbol may be damaged (`n` = 48).
    L,
    /// About 15 % (`n` = 49).
    #[default]
    M,
    /// About 25 % (`n` = 50).
    Q,
    /// About 30 % (`n` = 51).
    H,
}

impl QrErrorCorrection {
    /// The `n` of function 169.
    pub fn n(self) -> u8 {
        match self {
            QrErrorCorrection::L => 48,
            QrErrorCorrection::M => 49,
            QrErrorCorrection::Q => 50,
            QrErrorCorrection::H => 51,
        }
    }

    /// The level function 169 selects with `n`.
    pub fn from_n(n: u8) -> Option<QrErrorCorrection> {
        match n {
            48 => Some(QrErrorCorrection::L),
            49 => Some(QrErrorCorrection::M),
            50 => Some(QrErrorCorrection::Q),
            51 => Some(QrErrorCorrection::H),
            _ => None,
        }
    }

    /// Capacity of a version 40 symbol: (numeric, alphanumeric, bytes).
    fn capacity(self) -> (usize, usize, usize) {
        match self {
            QrErrorCorrection::L => (7089, 4296, 2953),
            QrErrorCorrection::M => (5596, 3391, 2331),
            QrErrorCorrection::Q => (3993, 2420, 1663),
            QrErrorCorrection::H => (3057, 1852, 1273),
        }
    }
}

/// How a QR code is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QrOptions {
    /// Dots per module, 1-16 (function 167).
    pub module_size: u8,
    /// Error correction (function 169).
    pub error_correction: QrErrorCorrection,
}

impl Default for QrOptions {
    /// 6-dot modules (a short code prints about 16 mm wide), level M.
    fn default() -> Self {
        QrOptions {
            module_size: 6,
            error_correction: QrErrorCorrection::M,
        }
    }
}

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Most bytes of `data` a model 2 symbol holds at `level`, given the densest
/// mode the printer can choose for it (numeric, alphanumeric or bytes).
pub fn capacity(data: &[u8], level: QrErrorCorrection) -> usize {
    let (numeric, alnum, bytes) = level.capacity();
    if data.iter().all(u8::is_ascii_digit) {
        numeric
    } else if data.iter().all(|b| ALPHANUMERIC.contains(b)) {
        alnum
    } else {
        bytes
    }
}

impl QrOptions {
    /// Checks the options and that `data` fits one symbol.
    pub fn validate(&self, data: &[u8]) -> Result<(), EncodeError> {
        if !(1..=16).contains(&self.module_size) {
            return Err(EncodeError::QrModuleSize(self.module_size));
        }
        if data.is_empty() {
            return Err(EncodeError::QrEmpty);
        }
        let max = capacity(data, self.error_correction);
        if data.len() > max {
            return Err(EncodeError::QrTooLong {
                len: data.len(),
                max,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_depends_on_mode() {
        let o = QrOptions::default();
        assert!(o.validate(b"ABCD1234").is_ok());
        assert_eq!(o.validate(b""), Err(EncodeError::QrEmpty));
        assert!(o.validate(&[b'1'; 5596]).is_ok());
        assert!(o.validate(&[b'a'; 2332]).is_err());
        let bad = QrOptions {
            module_size: 17,
            ..o
        };
        assert_eq!(bad.validate(b"x"), Err(EncodeError::QrModuleSize(17)));
    }
}
