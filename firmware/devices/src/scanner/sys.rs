//! The two system calls the evdev source needs: `poll` with a timeout and
//! the `EVIOCGRAB` ioctl.
//!
//! This module owns the `unsafe` of the scanner and nothing else; it must not
//! decide what a failure means (that is [`super::source`]).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// `EVIOCGRAB` = `_IOW('E', 0x90, int)`.
const EVIOCGRAB: u64 = 0x4004_4590;

/// What `poll` saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Data can be read.
    Readable,
    /// Nothing within the timeout.
    Idle,
    /// Hang-up or error on the descriptor, nothing to read.
    Gone,
}

/// Waits up to `timeout` for `fd` to become readable.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<Readiness> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pfd` is one valid, initialized pollfd that outlives the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(Readiness::Idle)
        } else {
            Err(e)
        };
    }
    if rc == 0 {
        return Ok(Readiness::Idle);
    }
    if pfd.revents & libc::POLLIN != 0 {
        Ok(Readiness::Readable)
    } else {
        Ok(Readiness::Gone)
    }
}

/// Takes the input device for this descriptor alone (`EVIOCGRAB 1`): its
/// keys no longer reach the console or the UI. Released when the descriptor
/// closes.
pub(crate) fn grab(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: EVIOCGRAB takes an int by value; the descriptor is open for the
    // duration of the call. On a non-evdev device the kernel answers ENOTTY
    // or EINVAL and changes nothing.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), EVIOCGRAB as libc::Ioctl, on) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// `_IOW(type, nr, size)` as the kernel's `asm-generic/ioctl.h` builds it.
    fn iow(ty: u8, nr: u8, size: usize) -> u64 {
        const WRITE: u64 = 1;
        (WRITE << 30) | ((size as u64) << 16) | (u64::from(ty) << 8) | u64::from(nr)
    }

    #[test]
    fn eviocgrab_is_iow_e_0x90_int() {
        assert_eq!(
            EVIOCGRAB,
            iow(b'E', 0x90, std::mem::size_of::<libc::c_int>())
        );
    }

    #[test]
    fn grabbing_what_is_no_input_device_is_an_error_not_a_crash() {
        let file = tempfile::tempfile().unwrap();
        let e = grab(file.as_fd()).unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ENOTTY) | Some(libc::EINVAL)),
            "{e}"
        );
    }

    #[test]
    fn poll_reports_idle_readable_and_gone() {
        let (mut reader, mut writer) = std::io::pipe().unwrap();
        let t = Duration::from_millis(20);
        assert_eq!(wait_readable(reader.as_fd(), t).unwrap(), Readiness::Idle);
        std::io::Write::write_all(&mut writer, b"x").unwrap();
        assert_eq!(
            wait_readable(reader.as_fd(), t).unwrap(),
            Readiness::Readable
        );
        let mut b = [0u8; 1];
        std::io::Read::read_exact(&mut reader, &mut b).unwrap();
        drop(writer);
        assert_eq!(wait_readable(reader.as_fd(), t).unwrap(), Readiness::Gone);
    }
}
