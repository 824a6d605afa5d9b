//! The wall clock, injected into everything that needs time so tests and the
//! simulator can supply their own.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time and monotonic uptime.
pub trait Clock: Send {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Milliseconds since the process started.
    fn uptime_ms(&self) -> u64;
}

/// The operating system's clock.
pub struct SystemClock {
    started: Instant,
}

impl SystemClock {
    /// A clock whose uptime starts now.
    pub fn new() -> SystemClock {
        SystemClock {
            started: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}
