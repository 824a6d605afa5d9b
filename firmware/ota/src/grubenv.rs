//! The GRUB environment block (`grubenv`): GRUB's `load_env`/`save_env` and
//! `grub-editenv` format, and a [`Bootloader`] over a grubenv file.
//!
//! Owns the byte format (the `# GRUB Environment Block` header, `name=value`
//! lines with `\` escaping backslash and newline, `#` padding to exactly
//! 1024 bytes) and the read/modify/write of one grubenv. A regular file is
//! replaced atomically (temp file, fsync, rename, fsync directory); anything
//! else (a block device or partition holding the block) is rewritten in place
//! and fsynced, since it cannot be renamed. It must never truncate: an
//! environment that does not fit is an error.

use crate::boot_env::BootEnv;
use crate::bootloader::{Bootloader, BootloaderError};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The size of a GRUB environment block, as `grub-editenv create` makes it.
pub const GRUBENV_SIZE: usize = 1024;
/// The first line of every block.
pub const GRUBENV_HEADER: &str = "# GRUB Environment Block\n";

/// A grubenv that cannot be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrubEnvError {
    /// The block is not exactly 1024 bytes long.
    #[error("block is {0} bytes, expected {GRUBENV_SIZE}")]
    WrongSize(usize),
    /// The block does not start with `# GRUB Environment Block`.
    #[error("missing the \"# GRUB Environment Block\" header")]
    NoHeader,
    /// A line is not `name=value` (offset of the line in the block).
    #[error("line at byte {0} is not name=value")]
    BadLine(usize),
    /// A name or value is not UTF-8 (offset of the line in the block).
    #[error("line at byte {0} is not UTF-8")]
    NotUtf8(usize),
    /// A variable name is empty, starts with `#`, or holds `=` or a newline.
    #[error(
        "variable name {0:?} is not allowed (empty, starts with '#', or holds '=' or a newline)"
    )]
    BadName(String),
    /// The variables need more room than the block has; nothing was written.
    #[error("variables need {needed} bytes, the block holds {GRUBENV_SIZE}; nothing written")]
    TooLarge {
        /// Bytes the header and variables need.
        needed: usize,
    },
}

/// Parses a grubenv block into its variables.
pub fn parse(block: &[u8]) -> Result<BTreeMap<String, String>, GrubEnvError> {
    if block.len() != GRUBENV_SIZE {
        return Err(GrubEnvError::WrongSize(block.len()));
    }
    let header = GRUBENV_HEADER.as_bytes();
    if !block.starts_with(header) {
        return Err(GrubEnvError::NoHeader);
    }
    let mut vars = BTreeMap::new();
    let mut p = header.len();
    while p < block.len() {
        let line_start = p;
        if block[p] == b'#' {
            while p < block.len() && block[p] != b'\n' {
                p += 1;
            }
            p += 1;
            continue;
        }
        let mut name = Vec::new();
        while p < block.len() && block[p] != b'=' {
            if block[p] == b'\n' {
                return Err(GrubEnvError::BadLine(line_start));
            }
            name.push(block[p]);
            p += 1;
        }
        if p >= block.len() || name.is_empty() {
            return Err(GrubEnvError::BadLine(line_start));
        }
        p += 1; // '='
        let mut value = Vec::new();
        loop {
            match block.get(p) {
                None => return Err(GrubEnvError::BadLine(line_start)),
                Some(b'\n') => {
                    p += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = block.get(p + 1).ok_or(GrubEnvError::BadLine(line_start))?;
                    value.push(*escaped);
                    p += 2;
                }
                Some(&c) => {
                    value.push(c);
                    p += 1;
                }
            }
        }
        let name = String::from_utf8(name).map_err(|_| GrubEnvError::NotUtf8(line_start))?;
        let value = String::from_utf8(value).map_err(|_| GrubEnvError::NotUtf8(line_start))?;
        vars.insert(name, value);
    }
    Ok(vars)
}

/// Builds the 1024-byte block holding `vars`, or says how much room they
/// would need.
pub fn encode(vars: &BTreeMap<String, String>) -> Result<Vec<u8>, GrubEnvError> {
    let mut block = GRUBENV_HEADER.as_bytes().to_vec();
    for (name, value) in vars {
        if name.is_empty() || name.starts_with('#') || name.contains(['=', '\n']) {
            return Err(GrubEnvError::BadName(name.clone()));
        }
        block.extend_from_slice(name.as_bytes());
        block.push(b'=');
        for &c in value.as_bytes() {
            if c == b'\\' || c == b'\n' {
                block.push(b'\\');
            }
            block.push(c);
        }
        block.push(b'\n');
    }
    if block.len() > GRUBENV_SIZE {
        return Err(GrubEnvError::TooLarge {
            needed: block.len(),
        });
    }
    block.resize(GRUBENV_SIZE, b'#');
    Ok(block)
}

/// How a grubenv is put back on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrubEnvWrite {
    /// A regular file: replaced by a new file renamed over it.
    Replace,
    /// A fixed block (device or partition): overwritten in place at offset 0.
    InPlace,
}

/// One grubenv on disk, as a [`Bootloader`].
#[derive(Debug, Clone)]
pub struct GrubEnvFile {
    path: PathBuf,
    mode: GrubEnvWrite,
}

impl GrubEnvFile {
    /// A grubenv at `path`: replaced atomically when it is a regular file (or
    /// does not exist yet), rewritten in place otherwise (a block device).
    pub fn new(path: impl Into<PathBuf>) -> GrubEnvFile {
        let path = path.into();
        let mode = match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => GrubEnvWrite::InPlace,
            _ => GrubEnvWrite::Replace,
        };
        GrubEnvFile { path, mode }
    }

    /// A grubenv at `path` written the given way.
    pub fn with_mode(path: impl Into<PathBuf>, mode: GrubEnvWrite) -> GrubEnvFile {
        GrubEnvFile {
            path: path.into(),
            mode,
        }
    }

    /// The file or device this grubenv lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How writes reach the disk.
    pub fn mode(&self) -> GrubEnvWrite {
        self.mode
    }

    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> BootloaderError + '_ {
        move |source| BootloaderError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    fn grub(&self) -> impl FnOnce(GrubEnvError) -> BootloaderError + '_ {
        move |source| BootloaderError::Grub {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads every variable.
    pub fn read_vars(&self) -> Result<BTreeMap<String, String>, BootloaderError> {
        let block = match self.mode {
            GrubEnvWrite::Replace => std::fs::read(&self.path).map_err(self.io("reading"))?,
            GrubEnvWrite::InPlace => {
                let mut f = std::fs::File::open(&self.path).map_err(self.io("opening"))?;
                let mut block = vec![0u8; GRUBENV_SIZE];
                f.read_exact(&mut block).map_err(self.io("reading"))?;
                block
            }
        };
        parse(&block).map_err(self.grub())
    }

    /// Replaces every variable with `vars`, durably.
    pub fn write_vars(&self, vars: &BTreeMap<String, String>) -> Result<(), BootloaderError> {
        let block = encode(vars).map_err(self.grub())?;
        match self.mode {
            GrubEnvWrite::Replace => {
                crate::atomic_file::replace(&self.path, &block).map_err(self.io("replacing"))
            }
            GrubEnvWrite::InPlace => {
                let mut f = OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .map_err(self.io("opening"))?;
                f.seek(SeekFrom::Start(0)).map_err(self.io("seeking"))?;
                f.write_all(&block).map_err(self.io("writing"))?;
                f.sync_all().map_err(self.io("syncing"))
            }
        }
    }
}

impl Bootloader for GrubEnvFile {
    fn read(&mut self) -> Result<BootEnv, BootloaderError> {
        Ok(BootEnv::from_vars(&self.read_vars()?)?)
    }

    fn write(&mut self, env: &BootEnv) -> Result<(), BootloaderError> {
        let mut vars = self.read_vars()?;
        env.to_vars(&mut vars);
        self.write_vars(&vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        let mut vars = BTreeMap::new();
        vars.insert("a".to_string(), "line1\nline2 \\ end".to_string());
        vars.insert("empty".to_string(), String::new());
        let block = encode(&vars).unwrap();
        assert_eq!(block.len(), GRUBENV_SIZE);
        assert_eq!(parse(&block).unwrap(), vars);
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert_eq!(parse(b"short"), Err(GrubEnvError::WrongSize(5)));
        let mut block = encode(&BTreeMap::new()).unwrap();
        block[0] = b'x';
        assert_eq!(parse(&block), Err(GrubEnvError::NoHeader));
        let mut block = encode(&BTreeMap::new()).unwrap();
        block[GRUBENV_HEADER.len()..GRUBENV_HEADER.len() + 4].copy_from_slice(b"abc\n");
        assert!(matches!(parse(&block), Err(GrubEnvError::BadLine(_))));
        let mut vars = BTreeMap::new();
        vars.insert("a=b".to_string(), "x".to_string());
        assert!(matches!(encode(&vars), Err(GrubEnvError::BadName(_))));
    }
}
