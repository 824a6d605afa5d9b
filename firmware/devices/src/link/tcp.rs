//! A raw TCP link (port 9100 printers): connect, read and write timeouts on
//! the socket itself.

use super::{timed_out, Link, LinkError, Timeouts};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An open TCP connection to a printer.
pub(super) struct TcpLink {
    stream: TcpStream,
    device: String,
}

impl TcpLink {
    /// Connects within `timeouts.connect` and sets the read and write timeouts.
    pub(super) fn open(addr: SocketAddr, timeouts: Timeouts) -> Result<TcpLink, LinkError> {
        let device = format!("tcp://{addr}");
        let fail = |source| LinkError::Tcp {
            device: device.clone(),
            source,
        };
        let stream = TcpStream::connect_timeout(&addr, timeouts.connect).map_err(fail)?;
        stream.set_read_timeout(Some(timeouts.read)).map_err(fail)?;
        stream
            .set_write_timeout(Some(timeouts.write))
            .map_err(fail)?;
        stream.set_nodelay(true).map_err(fail)?;
        Ok(TcpLink { stream, device })
    }
}

impl Read for TcpLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).map_err(timed_out)
    }
}

impl Write for TcpLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Link for TcpLink {
    fn device(&self) -> &str {
        &self.device
    }

    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(timeout))
    }

    fn discard_input(&mut self) -> io::Result<()> {
        self.stream.set_nonblocking(true)?;
        let mut buf = [0u8; 256];
        let result = loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed by the printer",
                    ))
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        self.stream.set_nonblocking(false)?;
        result
    }
}
