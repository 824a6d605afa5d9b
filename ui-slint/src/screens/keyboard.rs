//! The on-screen keyboard's keys (ui/keyboard.slint) delivered to the focused
//! text field as key press and release events, the path a USB keyboard takes,
//! so every field (search, manual barcode, the customers page) works with it
//! unchanged. Owns only that translation; which field has the focus and the
//! text itself stay in Slint.

use crate::generated::{AppWindow, KeyboardActions};
use slint::platform::{Key, WindowEvent};
use slint::{ComponentHandle, SharedString};

/// The text of the key event one on-screen key stands for: `backspace` and
/// `enter` are the named keys, anything else is typed as it is. `None` for an
/// empty key.
pub fn key_text(key: &str) -> Option<SharedString> {
    match key {
        "" => None,
        "backspace" => Some(Key::Backspace.into()),
        "enter" => Some(Key::Return.into()),
        typed => Some(typed.into()),
    }
}

/// Wires the keyboard's keys to key events on `window`.
pub fn attach(window: &AppWindow) {
    let weak = window.as_weak();
    window
        .global::<KeyboardActions<'_>>()
        .on_key(move |key: SharedString| {
            let (Some(w), Some(text)) = (weak.upgrade(), key_text(key.as_str())) else {
                return;
            };
            let window = w.window();
            window.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
            window.dispatch_event(WindowEvent::KeyReleased { text });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_keys_and_typed_text() {
        assert_eq!(
            key_text("backspace"),
            Some(SharedString::from(Key::Backspace))
        );
        assert_eq!(key_text("enter"), Some(SharedString::from(Key::Return)));
        assert_eq!(key_text("é"), Some(SharedString::from("é")));
        assert_eq!(key_text(""), None);
    }
}
