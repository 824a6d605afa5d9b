//! The kiosk: the adapter between the terminal's UI bridge
//! (`keel_terminal::ui_bridge`, no Slint) and the Slint screens (`keel_ui`,
//! no terminal). Neither crate knows the other; this one owns the seam.
//!
//! - [`map`]: snapshots into view-models, the screens' actions into bridge
//!   actions (pure).
//! - [`card`]: where a card tender's token comes from (a demo stand-in where
//!   there is no card terminal).
//! - [`app`]: [`Kiosk`], the bridge's thread wired to the UI thread (the UI
//!   never waits on I/O), and [`HeadlessKiosk`], the same on one thread with
//!   snapshots applied synchronously, for tests.
//! - [`pictures`]: product pictures from `<data-dir>/images/` decoded on a
//!   loader thread and handed to the screens (the UI never reads the disk);
//!   [`demo_pictures`] paints the demo catalog's.
//! - [`backend`]: which display backend the `keel-kiosk` binary runs on
//!   (environment override, `[ui] backend`, what the machine has).

#![warn(missing_docs)]

pub mod app;
pub mod backend;
pub mod card;
pub mod demo_pictures;
pub mod error;
pub mod map;
pub mod map_ops;
pub mod pictures;

pub use app::{HeadlessKiosk, Kiosk};
pub use card::{CardTokenSource, DemoCardTerminal};
pub use error::KioskError;
