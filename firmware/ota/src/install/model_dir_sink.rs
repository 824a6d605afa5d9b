//! Writes a model bundle's files into a fresh directory.
//!
//! Owns creating the directory (it must not exist yet), its subdirectories
//! and files, refusing names that would escape it, and fsyncing every file
//! and directory at the end; on abort it removes the directory. It must not
//! switch the active model or smoke-test it (the model updater does).

use super::PayloadSink;
use crate::manifest::{check_relative_path, BundleKind, PayloadEntry};
use crate::verify::VerifiedHeader;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A [`PayloadSink`] that writes a model directory at `dir`.
#[derive(Debug)]
pub struct ModelDirSink {
    dir: PathBuf,
    created: bool,
    /// Directories made, the model directory first.
    dirs: Vec<PathBuf>,
    file: Option<File>,
}

impl ModelDirSink {
    /// A sink that creates `dir` (its parent must exist, `dir` must not).
    pub fn new(dir: impl Into<PathBuf>) -> ModelDirSink {
        ModelDirSink {
            dir: dir.into(),
            created: false,
            dirs: Vec::new(),
            file: None,
        }
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the missing directories between the model directory and
    /// `parent`, remembering them for the final fsync.
    fn make_dirs(&mut self, relative_parent: &Path) -> io::Result<()> {
        let mut path = self.dir.clone();
        for component in relative_parent.components() {
            path.push(component);
            if !self.dirs.contains(&path) {
                fs::create_dir(&path)?;
                self.dirs.push(path.clone());
            }
        }
        Ok(())
    }
}

impl PayloadSink for ModelDirSink {
    fn kind(&self) -> BundleKind {
        BundleKind::Model
    }

    fn begin(&mut self, _header: &VerifiedHeader) -> io::Result<()> {
        fs::create_dir(&self.dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("creating model directory {}: {e}", self.dir.display()),
            )
        })?;
        self.created = true;
        self.dirs = vec![self.dir.clone()];
        Ok(())
    }

    fn start_payload(&mut self, entry: &PayloadEntry) -> io::Result<()> {
        check_relative_path(&entry.name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let relative = Path::new(&entry.name);
        if let Some(parent) = relative.parent() {
            self.make_dirs(parent)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.dir.join(relative))?;
        self.file = Some(file);
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("model file written before it was opened"))?
            .write_all(bytes)
    }

    fn finish_payload(&mut self, _entry: &PayloadEntry) -> io::Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> io::Result<()> {
        for dir in self.dirs.iter().rev() {
            File::open(dir)?.sync_all()?;
        }
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)?.sync_all()?;
        }
        self.created = false;
        log::info!("model directory {} written", self.dir.display());
        Ok(())
    }

    fn abort(&mut self) {
        self.file = None;
        if self.created {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                log::warn!(
                    "removing partial model directory {}: {e}",
                    self.dir.display()
                );
            }
            self.created = false;
        }
    }
}
