//! Free space on the filesystem holding the data directory (statvfs). Owns
//! only that one system call; must not write anything.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Free space for unprivileged writers on the filesystem holding `path`, as a
/// percentage of its size (0-100), or `None` if it cannot be read.
pub fn disk_free_pct(path: &Path) -> Option<u8> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data; all-zero bytes are a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer for the call's duration.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 || st.f_blocks == 0 {
        return None;
    }
    let pct = (st.f_bavail as u128 * 100) / st.f_blocks as u128;
    Some(pct.min(100) as u8)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_percentage_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = super::disk_free_pct(dir.path()).unwrap();
        assert!(p <= 100);
        assert_eq!(super::disk_free_pct(&dir.path().join("missing")), None);
    }
}
