//! The technician console: a line protocol over any byte stream (stdin/stdout,
//! a pseudo-terminal, or a serial device). This module owns the read-execute-
//! reply loop; parsing is in `command`, execution in `session`, rendering in
//! `render`, `cloud` (the uplink) and `reply`, serial line setup in `serial`. It must not hold business
//! rules: those are in keel-core's engine.

pub mod cloud;
pub mod command;
pub mod counter_orders;
pub mod customers;
pub mod devices;
pub mod models;
pub mod ota;
pub mod render;
pub mod reply;
pub mod serial;
pub mod session;

use crate::cluster_runtime::ClusterHandle;
use crate::fields;
use crate::node::Node;
use crate::uplink_runtime::UplinkHandle;
use session::{Session, SessionState};
use std::io::{BufRead, Write};
use std::sync::Mutex;

/// What the console reads next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A line typed (or sent over the serial line), without its newline.
    Line(Vec<u8>),
    /// A barcode decoded by a scanner: `sale add <code>`, or shown while
    /// `scanner monitor` runs.
    Scan(String),
}

/// The services a console reaches beyond the node.
#[derive(Clone, Copy, Default)]
pub struct Services<'a> {
    /// The store cluster, if configured.
    pub cluster: Option<&'a ClusterHandle>,
    /// The cloud uplink, if configured.
    pub uplink: Option<&'a UplinkHandle>,
    /// Printers, drawer, scanner and scale, if any.
    pub devices: Option<&'a crate::peripherals::Peripherals>,
}

/// Serves the console on `input`/`output` until end of input or `quit`.
/// Each reply is written and flushed before the next line is read. With `prompt`,
/// a prompt is written before each line (for a person at a terminal; never in JSON mode).
pub fn serve<R: BufRead, W: Write>(
    node: &Mutex<Node>,
    services: Services<'_>,
    json: bool,
    prompt: bool,
    mut input: R,
    output: W,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    serve_inputs(node, services, json, prompt, output, || {
        buf.clear();
        // Bounded read: a line longer than the limit is consumed and answered with an error.
        let n = read_bounded_line(&mut input, &mut buf, command::MAX_LINE + 1)?;
        Ok((n > 0).then(|| Input::Line(buf.clone())))
    })
}

/// Serves the console on inputs from a channel (the terminal's stdin and its
/// scanner, merged) until the channel closes or `quit`.
pub fn serve_channel<W: Write>(
    node: &Mutex<Node>,
    services: Services<'_>,
    json: bool,
    prompt: bool,
    inputs: std::sync::mpsc::Receiver<Input>,
    output: W,
) -> std::io::Result<()> {
    serve_inputs(node, services, json, prompt, output, || {
        Ok(inputs.recv().ok())
    })
}

/// Feeds lines of `input` into `tx` as [`Input::Line`]s (bounded like the
/// console's own reads) until end of input; for a reader thread.
pub fn forward_lines<R: BufRead>(mut input: R, tx: std::sync::mpsc::Sender<Input>) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_bounded_line(&mut input, &mut buf, command::MAX_LINE + 1) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if tx.send(Input::Line(buf.clone())).is_err() {
                    return;
                }
            }
        }
    }
}

fn serve_inputs<W: Write>(
    node: &Mutex<Node>,
    services: Services<'_>,
    json: bool,
    prompt: bool,
    mut output: W,
    mut next: impl FnMut() -> std::io::Result<Option<Input>>,
) -> std::io::Result<()> {
    let mut state = SessionState::new(json);
    loop {
        if prompt && !state.json && !state.monitoring {
            output.write_all(b"keel> ")?;
            output.flush()?;
        }
        let Some(input) = next()? else {
            return Ok(());
        };
        let line: String = match input {
            // Serial lines and terminals add noise (NUL, escape sequences' control bytes):
            // control characters other than tab are dropped before parsing.
            Input::Line(bytes) => String::from_utf8_lossy(&bytes)
                .chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .collect(),
            Input::Scan(code) if state.monitoring => {
                let reply =
                    reply::Reply::ok(fields! { "scan" => code }, vec![format!("scan {code}")]);
                output.write_all(reply.render(state.json).as_bytes())?;
                output.write_all(b"\n")?;
                output.flush()?;
                continue;
            }
            // A scan is `sale add` with the code, as if typed.
            Input::Scan(code) => format!("sale add {code}"),
        };
        if state.monitoring && line.trim().is_empty() {
            state.monitoring = false;
            let reply = reply::Reply::ok(
                fields! { "monitor" => "ended" },
                vec!["scanner monitor ended".into()],
            );
            output.write_all(reply.render(state.json).as_bytes())?;
            output.write_all(b"\n")?;
            output.flush()?;
            continue;
        }
        let line = line.as_str();
        let reply = execute_locked(node, &mut state, &services, line);
        // A consensus operation runs with the node unlocked: the cluster runtime
        // applies the decision to the node before answering.
        let reply = match (state.pending.take(), services.cluster) {
            (Some(p), Some(c)) => {
                let outcome = c.consensus(p.request.clone());
                Some(p.conclude(outcome, node))
            }
            (Some(p), None) => Some((p.render)(Err(
                "this terminal has no cluster configured".into()
            ))),
            (None, _) => reply,
        };
        // Likewise a wait on a device (the scale, the drawer's switch); a
        // weighed item then goes in as `sale add <key> <kg>`.
        let reply = match (state.device_wait.take(), services.devices) {
            (Some(w), Some(d)) => match devices::finish(w, d) {
                devices::Finished::Reply(r) => Some(r),
                devices::Finished::Run(next) => execute_locked(node, &mut state, &services, &next),
            },
            _ => reply,
        };
        if let Some(reply) = reply {
            let rendered = reply.render(state.json || std::mem::take(&mut state.json_once));
            output.write_all(rendered.as_bytes())?;
            output.write_all(b"\n")?;
            output.flush()?;
        }
        if state.quit {
            return Ok(());
        }
    }
}

/// Runs one console line with the node locked for just that line (the node
/// is shared with the cluster runtime and the UI).
fn execute_locked(
    node: &Mutex<Node>,
    state: &mut SessionState,
    services: &Services<'_>,
    line: &str,
) -> Option<reply::Reply> {
    let mut guard = match node.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    Session::new(&mut guard, state, services.cluster)
        .with_uplink(services.uplink)
        .with_devices(services.devices)
        .execute_line(line)
}

/// Reads up to and including `\n`, keeping at most `limit` bytes (the rest of an
/// overlong line is discarded). Returns bytes consumed (0 at end of input).
fn read_bounded_line<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(consumed);
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = limit.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        input.consume(used);
        consumed += used;
        if done {
            return Ok(consumed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_bounded_line;

    #[test]
    fn control_characters_are_dropped_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let node = crate::node::Node::open(
            crate::demo::profile(1),
            dir.path(),
            Box::new(crate::clock::SystemClock::new()),
            Vec::new(),
        )
        .unwrap();
        let node = std::sync::Mutex::new(node);
        let mut out = Vec::new();
        super::serve(
            &node,
            super::Services::default(),
            true,
            false,
            &b"\0status\r\n\x1b\x07help\n"[..],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let replies: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(replies.len(), 2, "{text}");
        assert!(replies.iter().all(|r| r["ok"] == true), "{text}");
    }

    #[test]
    fn overlong_lines_are_cut_not_buffered() {
        let data = format!("{}\nnext\n", "a".repeat(10_000));
        let mut r = std::io::BufReader::with_capacity(64, data.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(read_bounded_line(&mut r, &mut buf, 100).unwrap(), 10_001);
        assert_eq!(buf.len(), 100);
        buf.clear();
        read_bounded_line(&mut r, &mut buf, 100).unwrap();
        assert_eq!(buf, b"next\n");
    }
}
