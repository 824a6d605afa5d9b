//! Lists a model directory's files for a model bundle.
//!
//! Owns the walk: every regular file under the directory, as a relative
//! `/`-separated name, sorted. It refuses anything else (symbolic links,
//! devices) rather than silently leaving a file out. It must not read the
//! files' contents.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why a model directory cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum ModelDirError {
    /// Reading the directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// An entry is neither a regular file nor a directory.
    #[error("{0}: not a regular file or directory (links are not followed)")]
    NotRegular(PathBuf),
    /// A name is not UTF-8.
    #[error("{0}: file name is not UTF-8")]
    NotUtf8(PathBuf),
    /// The directory holds no files.
    #[error("{0}: no files")]
    Empty(PathBuf),
}

/// Every regular file under `dir`: (relative name, path), sorted by name.
pub fn list_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ModelDirError> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    if out.is_empty() {
        return Err(ModelDirError::Empty(dir.to_path_buf()));
    }
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), ModelDirError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelDirError::Io { path, source }
    };
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(root)
                .map_err(|_| ModelDirError::NotRegular(path.clone()))?;
            let parts: Option<Vec<&str>> = relative.iter().map(|c| c.to_str()).collect();
            let name = parts
                .ok_or_else(|| ModelDirError::NotUtf8(path.clone()))?
                .join("/");
            out.push((name, path));
        } else {
            return Err(ModelDirError::NotRegular(path));
        }
    }
    Ok(())
}
