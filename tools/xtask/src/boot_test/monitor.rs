//! qemu's human monitor on a Unix socket: one command at a time, each answered
//! when the `(qemu) ` prompt comes back. Used for screenshots of the guest's
//! display and to power the guest off. Owns the socket; it must not interpret
//! what the screen shows (`screen`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The monitor's prompt.
const PROMPT: &[u8] = b"(qemu) ";

/// A connected monitor.
pub struct Monitor {
    stream: UnixStream,
}

impl Monitor {
    /// Connects (retrying until `deadline`) and reads up to the first prompt.
    pub fn connect(socket: &Path, deadline: Instant) -> std::io::Result<Monitor> {
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let mut m = Monitor { stream };
        m.until_prompt(Duration::from_secs(10))?;
        Ok(m)
    }

    /// Runs one command and returns what the monitor printed before its next prompt.
    pub fn command(&mut self, line: &str, timeout: Duration) -> std::io::Result<String> {
        self.stream.write_all(line.as_bytes())?;
        self.stream.write_all(b"\n")?;
        self.until_prompt(timeout)
    }

    fn until_prompt(&mut self, timeout: Duration) -> std::io::Result<String> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut chunk = [0u8; 1024];
        while !out.ends_with(PROMPT) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "qemu monitor did not answer",
                ));
            }
            self.stream.set_read_timeout(Some(left))?;
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "qemu monitor closed",
                ));
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(String::from_utf8_lossy(&out[..out.len() - PROMPT.len()]).into_owned())
    }
}
