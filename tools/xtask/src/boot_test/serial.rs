//! The technician console on the guest's ttyS0, reached through qemu's Unix
//! socket: a reader thread collects every byte (and copies it to a log file);
//! the test sends a line and waits, with a deadline, for the next JSON reply.
//! Owns the socket and the collected bytes; it must not know the commands.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The console connection and everything it has received so far.
pub struct Console {
    stream: UnixStream,
    received: Arc<Mutex<Vec<u8>>>,
    cursor: usize,
}

impl Console {
    /// Connects to qemu's socket (retrying until `deadline`: qemu creates it
    /// shortly after it starts) and starts collecting; bytes are copied to `log`.
    pub fn connect(socket: &Path, log: &Path, deadline: Instant) -> std::io::Result<Console> {
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut reader = stream.try_clone()?;
        let mut log = std::fs::File::create(log)?;
        let sink = Arc::clone(&received);
        std::thread::Builder::new()
            .name("ttyS0".into())
            .spawn(move || {
                let mut chunk = [0u8; 4096];
                loop {
                    match reader.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            let _ = log.write_all(&chunk[..n]);
                            if let Ok(mut all) = sink.lock() {
                                all.extend_from_slice(&chunk[..n]);
                            }
                        }
                    }
                }
            })?;
        Ok(Console {
            stream,
            received,
            cursor: 0,
        })
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) -> std::io::Result<()> {
        self.stream.write_all(line.as_bytes())?;
        self.stream.write_all(b"\n")?;
        self.stream.flush()
    }

    /// The next JSON reply (a line starting with `{`) after what was already
    /// consumed, waiting until `deadline`; consumes it.
    pub fn next_json(&mut self, deadline: Instant) -> Option<String> {
        loop {
            let found = {
                let all = self.received.lock().ok()?;
                next_json_line(&all, self.cursor)
            };
            if let Some((line, end)) = found {
                self.cursor = end;
                return Some(line);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until nothing has arrived for `quiet` (at most `max`), then
    /// forgets everything received: the replies to probes that piled up in
    /// the serial line while keel was starting come in a burst, all of them
    /// before the first real command.
    pub fn settle(&mut self, quiet: Duration, max: Duration) {
        let started = Instant::now();
        let len = |c: &Console| c.received.lock().map(|a| a.len()).unwrap_or(0);
        let mut seen = len(self);
        let mut still_since = Instant::now();
        while still_since.elapsed() < quiet && started.elapsed() < max {
            std::thread::sleep(Duration::from_millis(100));
            let now = len(self);
            if now != seen {
                seen = now;
                still_since = Instant::now();
            }
        }
        self.cursor = len(self);
    }

    /// The last `max` bytes received, as text.
    pub fn tail(&self, max: usize) -> String {
        self.received
            .lock()
            .map(|all| tail_text(&all, max))
            .unwrap_or_default()
    }
}

/// The last `max` bytes of `bytes` as text.
pub fn tail_text(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(max)..]).into_owned()
}

/// The first complete line at or after `from` that starts with `{`, and the
/// offset just past its newline.
pub fn next_json_line(bytes: &[u8], from: usize) -> Option<(String, usize)> {
    let mut start = from.min(bytes.len());
    while let Some(nl) = bytes[start..].iter().position(|b| *b == b'\n') {
        let end = start + nl + 1;
        let line = String::from_utf8_lossy(&bytes[start..start + nl]);
        let line = line.trim_matches(|c: char| c == '\r' || c.is_whitespace());
        if line.starts_with('{') {
            return Some((line.to_string(), end));
        }
        start = end;
    }
    None
}

/// The value of a top-level-looking scalar field `"key":value` in a JSON
/// line: a string's contents, or a number, `true`, `false` or `null` as
/// written. Enough for the console's flat replies; not a JSON parser.
pub fn field(line: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\":");
    let rest = &line[line.find(&needle)? + needle.len()..];
    if let Some(s) = rest.strip_prefix('"') {
        let end = s.find('"')?;
        Some(s[..end].to_string())
    } else {
        let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
        Some(rest[..end].trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_found_after_noise() {
        let bytes = b"\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\n{\"json\":true,\"ok\":true}\n{\"ok\":tr";
        let (line, end) = next_json_line(bytes, 0).unwrap();
        assert_eq!(line, "{\"json\":true,\"ok\":true}");
        // The unfinished line is not a reply yet.
        assert_eq!(next_json_line(bytes, end), None);
        assert_eq!(next_json_line(bytes, bytes.len() + 5), None);
    }

    #[test]
    fn fields_are_read_from_flat_replies() {
        let line = "{\"cashier\":\"cashier\",\"change\":\"48.51\",\"ok\":true,\"receipt\":1,\"seq\":36,\"user\":null}";
        assert_eq!(field(line, "change").as_deref(), Some("48.51"));
        assert_eq!(field(line, "ok").as_deref(), Some("true"));
        assert_eq!(field(line, "receipt").as_deref(), Some("1"));
        assert_eq!(field(line, "user").as_deref(), Some("null"));
        assert_eq!(field(line, "total"), None);
    }

    #[test]
    fn tail_is_the_end() {
        assert_eq!(tail_text(b"abcdef", 3), "def");
        assert_eq!(tail_text(b"ab", 3), "ab");
    }
}
