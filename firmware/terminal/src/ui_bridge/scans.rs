//! Scans into the UI: the peripherals hand out the scanner's decoded barcodes
//! as console inputs (`Peripherals::scans`); this forwards each one to the
//! bridge as an [`UiAction::AddItem`] from the scanner, exactly as the console
//! turns a scan into `sale add <code>`. Owns only that mapping and its thread;
//! must not decode barcodes (keel-devices does) or sell anything itself.

use super::action::{AddSource, UiAction};
use crate::console::Input;
use std::sync::mpsc::{Receiver, Sender};

/// The action a console input becomes on the UI: a scan adds the item; typed
/// lines belong to the console and are not forwarded.
pub fn action_of(input: Input) -> Option<UiAction> {
    match input {
        Input::Scan(code) if !code.trim().is_empty() => Some(UiAction::AddItem {
            code: code.trim().to_string(),
            qty: None,
            source: AddSource::Scan,
        }),
        Input::Scan(_) | Input::Line(_) => None,
    }
}

/// Forwards scans from `inputs` to `actions` until either side closes; for a
/// thread of its own.
pub fn forward(inputs: Receiver<Input>, actions: Sender<UiAction>) {
    for input in inputs {
        if let Some(a) = action_of(input) {
            if actions.send(a).is_err() {
                return;
            }
        }
    }
}

/// Starts [`forward`] on its own thread.
pub fn start(
    inputs: Receiver<Input>,
    actions: Sender<UiAction>,
) -> Result<std::thread::JoinHandle<()>, super::BridgeError> {
    std::thread::Builder::new()
        .name("keel-ui-scans".into())
        .spawn(move || forward(inputs, actions))
        .map_err(super::BridgeError::Thread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_become_add_item_and_lines_stay_with_the_console() {
        let (in_tx, in_rx) = std::sync::mpsc::channel();
        let (out_tx, out_rx) = std::sync::mpsc::channel();
        in_tx.send(Input::Scan("4006381333931".into())).unwrap();
        in_tx.send(Input::Line(b"status".to_vec())).unwrap();
        in_tx.send(Input::Scan("  ".into())).unwrap();
        in_tx.send(Input::Scan(" 400123400001 ".into())).unwrap();
        drop(in_tx);
        let handle = start(in_rx, out_tx).unwrap();
        handle.join().unwrap();
        let got: Vec<UiAction> = out_rx.iter().collect();
        assert_eq!(
            got,
            vec![
                UiAction::AddItem {
                    code: "4006381333931".into(),
                    qty: None,
                    source: AddSource::Scan
                },
                UiAction::AddItem {
                    code: "400123400001".into(),
                    qty: None,
                    source: AddSource::Scan
                },
            ]
        );
    }
}
