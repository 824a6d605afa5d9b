//! A minimal stderr logger for test processes and their children.
//!
//! Owns: [`init`], which installs a `log` logger writing `LEVEL tag target: msg`
//! to stderr at the level named by `RUST_LOG` (only a bare level such as `debug`
//! is understood; default `warn`).
//!
//! Must not do: anything but print; it never fails a test (a second `init` in the
//! same process is ignored).

use std::io::Write;

struct StderrLogger {
    tag: String,
    level: log::LevelFilter,
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{:5} {} {}: {}",
                record.level(),
                self.tag,
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the stderr logger, tagging each line with `tag` (e.g. the child's
/// role). The level comes from `RUST_LOG` (`off`, `error`, `warn`, `info`,
/// `debug`, `trace`); anything else means `warn`.
pub fn init(tag: &str) {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<log::LevelFilter>().ok())
        .unwrap_or(log::LevelFilter::Warn);
    // Leaked on purpose: a logger lives as long as the process.
    let logger: &'static StderrLogger = Box::leak(Box::new(StderrLogger {
        tag: tag.to_string(),
        level,
    }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}
