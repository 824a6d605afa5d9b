//! A serial link over serialport's `TTYPort`, made non-blocking so that no
//! system call can outlast the timeouts: serialport polls with a timeout
//! before each read and write, and with `O_NONBLOCK` the write after the poll
//! takes only what fits instead of waiting for all of it. Flush waits for
//! the output queue to drain by polling it (never `tcdrain`, which waits
//! forever on a port stalled by flow control).

use super::{timed_out, DataBits, FlowControl, Link, LinkError, Parity, StopBits, Timeouts};
use serialport::{ClearBuffer, SerialPort, TTYPort};
use std::io::{self, Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// Line settings of a serial link.
pub(super) struct Settings {
    pub baud: u32,
    pub flow: FlowControl,
    pub data_bits: DataBits,
    pub parity: Parity,
    pub stop_bits: StopBits,
}

/// An open serial port.
pub(super) struct SerialLink {
    port: TTYPort,
    device: String,
    read_timeout: Duration,
    write_timeout: Duration,
}

impl SerialLink {
    /// Opens and configures `path` (exclusively) and drops any stale input.
    pub(super) fn open(
        path: &Path,
        s: Settings,
        timeouts: Timeouts,
    ) -> Result<SerialLink, LinkError> {
        let device = path.display().to_string();
        let fail = |reason: String| LinkError::Serial {
            device: device.clone(),
            reason,
        };
        let port = serialport::new(device.clone(), s.baud)
            .flow_control(match s.flow {
                FlowControl::None => serialport::FlowControl::None,
                FlowControl::Hardware => serialport::FlowControl::Hardware,
                FlowControl::Software => serialport::FlowControl::Software,
            })
            .data_bits(match s.data_bits {
                DataBits::Seven => serialport::DataBits::Seven,
                DataBits::Eight => serialport::DataBits::Eight,
            })
            .parity(match s.parity {
                Parity::None => serialport::Parity::None,
                Parity::Odd => serialport::Parity::Odd,
                Parity::Even => serialport::Parity::Even,
            })
            .stop_bits(match s.stop_bits {
                StopBits::One => serialport::StopBits::One,
                StopBits::Two => serialport::StopBits::Two,
            })
            .timeout(timeouts.read)
            .open_native()
            .map_err(|e| fail(e.to_string()))?;
        set_nonblocking(&port).map_err(|e| fail(e.to_string()))?;
        if let Err(e) = port.clear(ClearBuffer::Input) {
            log::debug!("{device}: cannot clear stale input: {e}");
        }
        Ok(SerialLink {
            port,
            device,
            read_timeout: timeouts.read,
            write_timeout: timeouts.write,
        })
    }
}

/// Sets `O_NONBLOCK` on the port's descriptor.
fn set_nonblocking(port: &TTYPort) -> io::Result<()> {
    let fd = port.as_raw_fd();
    // SAFETY: fcntl on a descriptor the port owns and keeps open; no memory involved.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Read for SerialLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.port.set_timeout(self.read_timeout)?;
        let deadline = Instant::now() + self.read_timeout;
        loop {
            match self.port.read(buf) {
                // Readable but nothing there: another reader raced us; wait on.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    continue
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(timed_out),
            }
        }
    }
}

impl Write for SerialLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.port.set_timeout(self.write_timeout)?;
        let deadline = Instant::now() + self.write_timeout;
        loop {
            match self.port.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(timed_out),
            }
        }
    }

    /// Waits until the output queue is empty. The timeout counts from the
    /// last progress: a full kernel buffer at 9600 baud takes seconds to
    /// drain, but a port stalled by flow control stops draining.
    fn flush(&mut self) -> io::Result<()> {
        let mut deadline = Instant::now() + self.write_timeout;
        let mut queued = u32::MAX;
        loop {
            let now_queued = self.port.bytes_to_write()?;
            if now_queued == 0 {
                return Ok(());
            }
            if now_queued < queued {
                queued = now_queued;
                deadline = Instant::now() + self.write_timeout;
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the device did not take the output in time",
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Link for SerialLink {
    fn device(&self) -> &str {
        &self.device
    }

    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "zero read timeout",
            ));
        }
        self.read_timeout = timeout;
        Ok(())
    }

    fn discard_input(&mut self) -> io::Result<()> {
        self.port.clear(ClearBuffer::Input).map_err(io::Error::from)
    }
}
