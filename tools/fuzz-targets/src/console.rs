//! The technician console's command parser (`keel_terminal::console::command::parse`)
//! on a session of lines, cleaned as the console cleans serial input.
//!
//! Properties: every line parses to a command, nothing or an error, never a
//! panic; a line parses the same with blanks around it (while it stays under
//! the length limit) and the same twice.

use keel_terminal::console::command::{parse, MAX_LINE};

/// Splits `data` into lines and parses each one.
pub fn console_line(data: &[u8]) {
    for raw in data.split(|&b| b == b'\n') {
        // What the console does with a line from a serial port or a terminal.
        let line: String = String::from_utf8_lossy(raw)
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let parsed = parse(&line);
        assert_eq!(parsed, parse(&line), "parse is not deterministic: {line:?}");
        if line.len() + 3 <= MAX_LINE {
            let padded = format!(" {line}\t ");
            assert_eq!(
                parsed,
                parse(&padded),
                "blanks around {line:?} change what it means"
            );
        }
    }
}
