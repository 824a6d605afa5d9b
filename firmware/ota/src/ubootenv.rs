//! The U-Boot environment: its binary layouts, the `fw_env.config` that says
//! where it lives, and a [`Bootloader`] over it.
//!
//! Owns the byte format (CRC32 LE of the data area, then for the redundant
//! layout one flags byte, then `name=value\0`... `\0` padded to the
//! environment size) and how a copy is chosen and written: with two copies
//! the valid one with the newer flags counter is current (U-Boot's rule,
//! counting with wrap-around), and a write goes into the *other* copy with
//! the counter plus one, so a torn write leaves the current copy intact. The
//! single layout is written in place and has no such protection. It must not
//! decide anything about slots, and never truncates: an environment that does
//! not fit is an error.

use crate::boot_env::BootEnv;
use crate::bootloader::{Bootloader, BootloaderError};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// A U-Boot environment that cannot be read, parsed or built.
#[derive(Debug, thiserror::Error)]
pub enum UbootEnvError {
    /// A line of `fw_env.config` is not `device offset size [...]`.
    #[error("fw_env.config line {line}: {reason}")]
    BadConfig {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The config names no copy, more than two, or copies of different sizes.
    #[error("fw_env.config: {0}")]
    BadLayout(String),
    /// Reading or writing a copy failed.
    #[error("{action} {path} at offset {offset}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or device.
        path: PathBuf,
        /// The copy's offset in it.
        offset: u64,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The only copy's CRC does not match its data.
    #[error("CRC mismatch: stored {stored:08x}, computed {computed:08x}")]
    CrcMismatch {
        /// The CRC stored in the copy.
        stored: u32,
        /// The CRC of its data area.
        computed: u32,
    },
    /// Both redundant copies fail their CRC.
    #[error("both redundant copies fail their CRC")]
    NoValidCopy,
    /// The data area is not `name=value\0`... followed by an empty entry.
    #[error("malformed data at byte {0}")]
    Malformed(usize),
    /// A name is empty or holds `=`, or a name or value holds a NUL byte.
    #[error("variable {0:?} cannot be stored (empty name, '=' in the name, or a NUL byte)")]
    BadVariable(String),
    /// The variables need more room than the data area has; nothing was written.
    #[error("variables need {needed} bytes, the data area holds {available}; nothing written")]
    TooLarge {
        /// Bytes the variables need, terminator included.
        needed: usize,
        /// Bytes the data area holds.
        available: usize,
    },
}

/// Where one copy of the environment lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvCopy {
    /// The file or device.
    pub path: PathBuf,
    /// Byte offset of the copy in it.
    pub offset: u64,
}

/// Where the environment lives and how big it is, as in `fw_env.config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbootEnvConfig {
    /// One copy (single layout) or two (redundant layout).
    pub copies: Vec<EnvCopy>,
    /// The size of each copy in bytes, header included.
    pub size: usize,
}

fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl UbootEnvConfig {
    /// Parses `fw_env.config` text: one line `device offset size [erase-size
    /// [sectors]]` per copy (numbers decimal or `0x` hex), `#` comments.
    pub fn parse(text: &str) -> Result<UbootEnvConfig, UbootEnvError> {
        let mut copies = Vec::new();
        let mut size = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: &str| UbootEnvError::BadConfig {
                line: i + 1,
                reason: reason.to_string(),
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 3 {
                return Err(bad("expected: device offset size"));
            }
            let offset = parse_number(fields[1]).ok_or_else(|| bad("offset is not a number"))?;
            let this_size = parse_number(fields[2])
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad("size is not a number"))?;
            if *size.get_or_insert(this_size) != this_size {
                return Err(UbootEnvError::BadLayout(
                    "the two copies have different sizes".into(),
                ));
            }
            copies.push(EnvCopy {
                path: PathBuf::from(fields[0]),
                offset,
            });
        }
        let size = size.ok_or_else(|| UbootEnvError::BadLayout("no environment listed".into()))?;
        UbootEnvConfig::new(copies, size)
    }

    /// A layout of one or two copies of `size` bytes each.
    pub fn new(copies: Vec<EnvCopy>, size: usize) -> Result<UbootEnvConfig, UbootEnvError> {
        if copies.is_empty() || copies.len() > 2 {
            return Err(UbootEnvError::BadLayout(format!(
                "{} copies listed, expected 1 or 2",
                copies.len()
            )));
        }
        if size < header_len(copies.len() == 2) + 2 {
            return Err(UbootEnvError::BadLayout(format!(
                "size {size} is too small"
            )));
        }
        Ok(UbootEnvConfig { copies, size })
    }

    /// Whether this is the redundant (two copy) layout.
    pub fn redundant(&self) -> bool {
        self.copies.len() == 2
    }

    /// The bytes of each copy that hold variables.
    pub fn data_len(&self) -> usize {
        self.size - header_len(self.redundant())
    }
}

fn header_len(redundant: bool) -> usize {
    if redundant {
        5
    } else {
        4
    }
}

/// The CRC-32 (IEEE 802.3, as zlib and U-Boot compute it) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// Parses a data area (`name=value\0`... `\0`, then padding).
pub fn parse_data(data: &[u8]) -> Result<BTreeMap<String, String>, UbootEnvError> {
    let mut vars = BTreeMap::new();
    let mut p = 0;
    loop {
        let len = data[p..]
            .iter()
            .position(|&b| b == 0)
            .ok_or(UbootEnvError::Malformed(p))?;
        if len == 0 {
            return Ok(vars);
        }
        let entry =
            std::str::from_utf8(&data[p..p + len]).map_err(|_| UbootEnvError::Malformed(p))?;
        let (name, value) = entry.split_once('=').ok_or(UbootEnvError::Malformed(p))?;
        if name.is_empty() {
            return Err(UbootEnvError::Malformed(p));
        }
        vars.insert(name.to_string(), value.to_string());
        p += len + 1;
        if p >= data.len() {
            return Err(UbootEnvError::Malformed(p));
        }
    }
}

/// Builds a data area of `data_len` bytes holding `vars`, zero padded.
pub fn encode_data(
    vars: &BTreeMap<String, String>,
    data_len: usize,
) -> Result<Vec<u8>, UbootEnvError> {
    let mut data = Vec::with_capacity(data_len);
    for (name, value) in vars {
        if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
            return Err(UbootEnvError::BadVariable(name.clone()));
        }
        data.extend_from_slice(name.as_bytes());
        data.push(b'=');
        data.extend_from_slice(value.as_bytes());
        data.push(0);
    }
    data.push(0);
    if data.len() > data_len {
        return Err(UbootEnvError::TooLarge {
            needed: data.len(),
            available: data_len,
        });
    }
    data.resize(data_len, 0);
    Ok(data)
}

/// What one copy held when read.
#[derive(Debug)]
struct CopyState {
    flags: u8,
    vars: Result<BTreeMap<String, String>, UbootEnvError>,
}

/// Which of two valid copies is current by U-Boot's rule: the newer counter,
/// 0 being newer than 255; copy 0 on a tie.
fn newer_copy(flags0: u8, flags1: u8) -> usize {
    if flags0 == 255 && flags1 == 0 {
        1
    } else if flags1 == 255 && flags0 == 0 {
        0
    } else if flags1 > flags0 {
        1
    } else {
        0
    }
}

/// A U-Boot environment on disk, as a [`Bootloader`].
#[derive(Debug, Clone)]
pub struct UbootEnvFile {
    config: UbootEnvConfig,
}

impl UbootEnvFile {
    /// The environment `config` describes.
    pub fn new(config: UbootEnvConfig) -> UbootEnvFile {
        UbootEnvFile { config }
    }

    /// Where the environment lives.
    pub fn config(&self) -> &UbootEnvConfig {
        &self.config
    }

    fn read_copy(&self, copy: &EnvCopy) -> Result<CopyState, UbootEnvError> {
        let io = |action, source| UbootEnvError::Io {
            action,
            path: copy.path.clone(),
            offset: copy.offset,
            source,
        };
        let mut f = File::open(&copy.path).map_err(|e| io("opening", e))?;
        f.seek(SeekFrom::Start(copy.offset))
            .map_err(|e| io("seeking", e))?;
        let mut buf = vec![0u8; self.config.size];
        f.read_exact(&mut buf).map_err(|e| io("reading", e))?;
        let stored = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let hl = header_len(self.config.redundant());
        let flags = if self.config.redundant() { buf[4] } else { 0 };
        let data = &buf[hl..];
        let computed = crc32(data);
        let vars = if stored == computed {
            parse_data(data)
        } else {
            Err(UbootEnvError::CrcMismatch { stored, computed })
        };
        Ok(CopyState { flags, vars })
    }

    /// Reads the current copy: its index and flags, and its variables.
    fn current(&self) -> Result<(usize, u8, BTreeMap<String, String>), UbootEnvError> {
        let mut states = Vec::new();
        for copy in &self.config.copies {
            states.push(self.read_copy(copy)?);
        }
        let mut valid: Vec<(usize, u8, BTreeMap<String, String>)> = Vec::new();
        let mut first_error = None;
        for (i, s) in states.into_iter().enumerate() {
            match s.vars {
                Ok(vars) => valid.push((i, s.flags, vars)),
                Err(e) => {
                    if self.config.redundant() {
                        log::warn!("U-Boot environment copy {i} is not valid: {e}");
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        match valid.len() {
            2 => {
                let pick = newer_copy(valid[0].1, valid[1].1);
                Ok(valid.swap_remove(pick))
            }
            1 => Ok(valid.remove(0)),
            _ if self.config.redundant() => Err(UbootEnvError::NoValidCopy),
            _ => Err(first_error.unwrap_or(UbootEnvError::NoValidCopy)),
        }
    }

    /// Reads every variable of the current copy.
    pub fn read_vars(&self) -> Result<BTreeMap<String, String>, UbootEnvError> {
        Ok(self.current()?.2)
    }

    /// Replaces every variable with `vars`, durably: in place for the single
    /// layout; into the older copy with the next flags counter for the
    /// redundant one (into copy 0 when neither copy is valid).
    pub fn write_vars(&self, vars: &BTreeMap<String, String>) -> Result<(), UbootEnvError> {
        let data = encode_data(vars, self.config.data_len())?;
        let (target, flags) = if self.config.redundant() {
            match self.current() {
                Ok((cur, flags, _)) => (1 - cur, flags.wrapping_add(1)),
                Err(UbootEnvError::NoValidCopy) => (0, 1),
                Err(e) => return Err(e),
            }
        } else {
            (0, 0)
        };
        let mut bytes = crc32(&data).to_le_bytes().to_vec();
        if self.config.redundant() {
            bytes.push(flags);
        }
        bytes.extend_from_slice(&data);
        let copy = &self.config.copies[target];
        let io = |action, source| UbootEnvError::Io {
            action,
            path: copy.path.clone(),
            offset: copy.offset,
            source,
        };
        let mut f = OpenOptions::new()
            .write(true)
            .open(&copy.path)
            .map_err(|e| io("opening", e))?;
        f.seek(SeekFrom::Start(copy.offset))
            .map_err(|e| io("seeking", e))?;
        f.write_all(&bytes).map_err(|e| io("writing", e))?;
        f.sync_all().map_err(|e| io("syncing", e))
    }
}

impl Bootloader for UbootEnvFile {
    fn read(&mut self) -> Result<BootEnv, BootloaderError> {
        Ok(BootEnv::from_vars(&self.read_vars()?)?)
    }

    fn write(&mut self, env: &BootEnv) -> Result<(), BootloaderError> {
        let mut vars = self.read_vars()?;
        env.to_vars(&mut vars);
        Ok(self.write_vars(&vars)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn newer_copy_counts_with_wrap_around() {
        assert_eq!(newer_copy(1, 2), 1);
        assert_eq!(newer_copy(2, 1), 0);
        assert_eq!(newer_copy(255, 0), 1);
        assert_eq!(newer_copy(0, 255), 0);
        assert_eq!(newer_copy(7, 7), 0);
    }

    #[test]
    fn config_parses_fw_env_syntax() {
        let c =
            UbootEnvConfig::parse("# comment\n/x/env 0x0 0x4000\n/x/env 0x4000 16384 0x1000 1\n")
                .unwrap();
        assert!(c.redundant());
        assert_eq!(c.size, 0x4000);
        assert_eq!(c.copies[1].offset, 0x4000);
        assert!(UbootEnvConfig::parse("/x 0 0x100\n/y 0 0x200\n").is_err());
        assert!(UbootEnvConfig::parse("").is_err());
        assert!(UbootEnvConfig::parse("/x zero 0x100").is_err());
    }

    #[test]
    fn data_round_trip_and_overflow() {
        let mut vars = BTreeMap::new();
        vars.insert("bootcmd".to_string(), "run keel_ab".to_string());
        let data = encode_data(&vars, 64).unwrap();
        assert_eq!(parse_data(&data).unwrap(), vars);
        assert!(matches!(
            encode_data(&vars, 10),
            Err(UbootEnvError::TooLarge {
                needed: 21,
                available: 10
            })
        ));
    }
}
