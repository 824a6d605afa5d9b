//! Opening a serial device (or pseudo-terminal) for the console: raw mode, the
//! configured baud rate, 8N1, no flow control. Thin libc termios wrapper.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use thiserror::Error;

/// Errors opening the console device.
#[derive(Debug, Error)]
pub enum SerialError {
    /// The device cannot be opened.
    #[error("cannot open console device {0}: {1}")]
    Open(String, std::io::Error),
    /// The baud rate is not one the kernel supports.
    #[error("unsupported baud rate {0} (use 9600, 19200, 38400, 57600, 115200 or 230400)")]
    Baud(u32),
    /// termios configuration failed.
    #[error("cannot configure {0}: {1}")]
    Configure(String, std::io::Error),
}

fn speed(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        230400 => libc::B230400,
        _ => return None,
    })
}

/// Opens `path` read-write and sets raw 8N1 at `baud`.
pub fn open(path: &Path, baud: u32) -> Result<File, SerialError> {
    let name = path.display().to_string();
    let speed = speed(baud).ok_or(SerialError::Baud(baud))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| SerialError::Open(name.clone(), e))?;
    let fd = file.as_raw_fd();
    // SAFETY: fd is a valid open descriptor owned by `file`; `tio` is a valid out-pointer.
    unsafe {
        let mut tio: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut tio) != 0 {
            return Err(SerialError::Configure(
                name,
                std::io::Error::last_os_error(),
            ));
        }
        libc::cfmakeraw(&mut tio);
        tio.c_cflag &= !(libc::PARENB | libc::CSTOPB | libc::CSIZE | libc::CRTSCTS);
        tio.c_cflag |= libc::CS8 | libc::CREAD | libc::CLOCAL;
        tio.c_cc[libc::VMIN] = 1;
        tio.c_cc[libc::VTIME] = 0;
        libc::cfsetispeed(&mut tio, speed);
        libc::cfsetospeed(&mut tio, speed);
        if libc::tcsetattr(fd, libc::TCSANOW, &tio) != 0 {
            return Err(SerialError::Configure(
                name,
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(file)
}
