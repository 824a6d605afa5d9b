//! A frame source cycling through the PNG files of a directory in name order,
//! one per capture (the demo's "camera": `dir:<path>` in the terminal's
//! config). The listing is read afresh when a cycle starts, so pictures added
//! or removed show on the next round.

use super::{CameraError, FrameSource};
use crate::frame::Frame;
use std::path::{Path, PathBuf};

/// Captures by decoding the next PNG of a directory (by file name, wrapping around).
#[derive(Clone, Debug)]
pub struct DirectorySource {
    dir: PathBuf,
    /// The listing of the current cycle.
    files: Vec<PathBuf>,
    /// Index in `files` of the next capture.
    next: usize,
}

/// The PNG files of `dir` (by extension, case-insensitive), sorted by file name.
pub fn png_files(dir: &Path) -> Result<Vec<PathBuf>, CameraError> {
    let device = || format!("dir:{}", dir.display());
    let entries = std::fs::read_dir(dir).map_err(|source| CameraError::Device {
        device: device(),
        what: "listing the directory",
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CameraError::Device {
            device: device(),
            what: "reading the directory",
            source,
        })?;
        let path = entry.path();
        let png = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if png && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        return Err(CameraError::Unsupported {
            device: device(),
            problem: "no PNG pictures in the directory".into(),
        });
    }
    Ok(files)
}

impl DirectorySource {
    /// A source on `dir` (listed on the first capture).
    pub fn new(dir: impl Into<PathBuf>) -> DirectorySource {
        DirectorySource {
            dir: dir.into(),
            files: Vec::new(),
            next: 0,
        }
    }

    /// The file the next capture reads, listing the directory if a cycle starts.
    pub fn peek_next(&mut self) -> Result<&Path, CameraError> {
        if self.next >= self.files.len() {
            self.files = png_files(&self.dir)?;
            self.next = 0;
        }
        // Invariant: `png_files` never returns an empty list, so `next` is in range.
        Ok(&self.files[self.next])
    }
}

impl FrameSource for DirectorySource {
    fn capture(&mut self) -> Result<Frame, CameraError> {
        let path = self.peek_next()?.to_path_buf();
        self.next += 1;
        log::debug!("camera dir: {}", path.display());
        Ok(Frame::from_png_file(&path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w` x 1 PNG whose pixels are all `v`.
    fn png(path: &Path, w: u32, v: u8) {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, 1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&vec![v; (w * 3) as usize]).unwrap();
    }

    #[test]
    fn cycles_through_the_pngs_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        png(&dir.path().join("b.png"), 2, 20);
        png(&dir.path().join("a.PNG"), 1, 10);
        png(&dir.path().join("c.png"), 3, 30);
        std::fs::write(dir.path().join("labels.toml"), "x = 1").unwrap();
        std::fs::create_dir(dir.path().join("d.png")).unwrap();
        let mut cam = DirectorySource::new(dir.path());
        let widths: Vec<u32> = (0..7).map(|_| cam.capture().unwrap().width).collect();
        assert_eq!(widths, [1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn a_new_picture_shows_on_the_next_round() {
        let dir = tempfile::tempdir().unwrap();
        png(&dir.path().join("a.png"), 1, 10);
        let mut cam = DirectorySource::new(dir.path());
        assert_eq!(cam.capture().unwrap().width, 1);
        png(&dir.path().join("b.png"), 2, 20);
        assert_eq!(cam.capture().unwrap().width, 1, "the new round lists again");
        assert_eq!(cam.capture().unwrap().width, 2);
    }

    #[test]
    fn an_empty_or_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = DirectorySource::new(dir.path()).capture().unwrap_err();
        assert!(e.to_string().contains("no PNG pictures"), "{e}");
        let e = DirectorySource::new(dir.path().join("gone"))
            .capture()
            .unwrap_err();
        assert!(e.to_string().contains("listing the directory"), "{e}");
        // A broken picture is an image error, and the cycle goes on past it.
        std::fs::write(dir.path().join("a.png"), b"not a png").unwrap();
        png(&dir.path().join("b.png"), 2, 20);
        let mut cam = DirectorySource::new(dir.path());
        assert!(matches!(cam.capture(), Err(CameraError::Image(_))));
        assert_eq!(cam.capture().unwrap().width, 2);
    }
}
