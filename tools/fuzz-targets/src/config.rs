//! Config files read from disk: the terminal's `terminal.toml`
//! (`keel_terminal::config::parse`), a board's `board.toml`
//! (`keel_board::parse`) and a model's `manifest.toml`
//! (`keel_ai::manifest::Manifest::parse`).
//!
//! Properties: a syntax error names a line of the file; a config error names
//! the file; the board parser is deterministic.

use std::path::Path;

/// Line count of `text` as an editor shows it (at least 1).
fn lines(text: &str) -> usize {
    text.split('\n').count().max(1)
}

/// `data` as a terminal's `terminal.toml`.
pub fn terminal_config(data: &[u8]) {
    use keel_terminal::config::{parse, ConfigError};
    let text = crate::text(data);
    if let Err(e) = parse("terminal.toml", &text, Path::new("/nonexistent/keel")) {
        if let ConfigError::Syntax { line, .. } = &e {
            assert!(
                *line >= 1 && *line <= lines(&text),
                "{e} is not a line of the file"
            );
        }
        assert!(
            e.to_string().contains("terminal.toml"),
            "{e} does not name the file"
        );
    }
}

/// `data` as a board's `board.toml`.
pub fn board_toml(data: &[u8]) {
    use keel_board::{parse, BoardError};
    let text = crate::text(data);
    let parsed = parse("board.toml", &text);
    match &parsed {
        Err(e @ BoardError::Syntax { line, .. }) => {
            assert!(
                *line >= 1 && *line <= lines(&text),
                "{e} is not a line of the file"
            );
        }
        Err(_) => {}
        Ok(board) => {
            let again = parse("board.toml", &text);
            assert_eq!(
                again.as_ref().ok(),
                Some(board),
                "board parse is not deterministic"
            );
        }
    }
}

/// `data` as a model directory's `manifest.toml` (the directory holds no
/// golden files: a manifest naming some is refused for their size).
pub fn model_manifest(data: &[u8]) {
    let text = crate::text(data);
    let _ = keel_ai::manifest::Manifest::parse(Path::new("/nonexistent/keel-model"), &text);
}
