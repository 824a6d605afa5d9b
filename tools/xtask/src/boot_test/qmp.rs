//! qemu's QMP socket, for what the human monitor cannot do: absolute
//! pointer events (`input-send-event`), which the virtio tablet turns into
//! touches on the guest's display. Owns the socket; it must not know what
//! is on the screen (the caller gives pixels).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The largest absolute axis value qemu's input layer takes.
pub const ABS_MAX: u32 = 0x7fff;

/// A connected QMP session (capabilities negotiated).
pub struct Qmp {
    reader: BufReader<UnixStream>,
    stream: UnixStream,
}

/// `pixel` of a `size`-pixel axis as qemu's absolute axis value.
pub fn abs_value(pixel: u32, size: u32) -> u32 {
    if size <= 1 {
        return 0;
    }
    (u64::from(pixel.min(size - 1)) * u64::from(ABS_MAX) / u64::from(size - 1)) as u32
}

impl Qmp {
    /// Connects (retrying until `deadline`) and leaves capabilities mode.
    pub fn connect(socket: &Path, deadline: Instant) -> std::io::Result<Qmp> {
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut q = Qmp {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        };
        q.line()?; // the greeting
        q.execute(r#"{"execute":"qmp_capabilities"}"#)?;
        Ok(q)
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut l = String::new();
        if self.reader.read_line(&mut l)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "QMP closed",
            ));
        }
        Ok(l)
    }

    /// Sends one command and reads up to its `return` (events skipped).
    fn execute(&mut self, json: &str) -> std::io::Result<String> {
        self.stream.write_all(json.as_bytes())?;
        self.stream.write_all(b"\n")?;
        loop {
            let l = self.line()?;
            if l.contains("\"return\"") {
                return Ok(l);
            }
            if l.contains("\"error\"") {
                return Err(std::io::Error::other(format!("QMP: {}", l.trim())));
            }
        }
    }

    /// Taps pixel (`x`, `y`) of a `width` x `height` display: an absolute
    /// move, the left button down, then up.
    pub fn tap(&mut self, x: u32, y: u32, width: u32, height: u32) -> std::io::Result<()> {
        let (ax, ay) = (abs_value(x, width), abs_value(y, height));
        self.execute(&format!(
            r#"{{"execute":"input-send-event","arguments":{{"events":[{{"type":"abs","data":{{"axis":"x","value":{ax}}}}},{{"type":"abs","data":{{"axis":"y","value":{ay}}}}}]}}}}"#
        ))?;
        std::thread::sleep(Duration::from_millis(80));
        for down in [true, false] {
            self.execute(&format!(
                r#"{{"execute":"input-send-event","arguments":{{"events":[{{"type":"btn","data":{{"down":{down},"button":"left"}}}}]}}}}"#
            ))?;
            std::thread::sleep(Duration::from_millis(80));
        }
        std::thread::sleep(Duration::from_millis(150));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_scale_to_qemus_absolute_axis() {
        assert_eq!(abs_value(0, 1280), 0);
        assert_eq!(abs_value(1279, 1280), ABS_MAX);
        assert_eq!(abs_value(640, 1280), 640 * ABS_MAX / 1279);
        assert_eq!(abs_value(5000, 1280), ABS_MAX);
        assert_eq!(abs_value(3, 1), 0);
    }
}
