//! Keel's fullscreen touch UI, in Slint.
//!
//! - `ui/*.slint`: the screens (sale, tender), the status bar on every
//!   screen, the manager PIN pad, one theme global, embedded fonts; compiled
//!   by build.rs into [`generated`].
//! - [`view`]: the view-model the screens are drawn from (shaped like the
//!   terminal's `ui_bridge::UiSnapshot`); [`action`]: what they ask.
//! - [`ui`]: [`Ui`], which shows snapshots through [`models`] and turns taps
//!   into actions on a non-blocking sink; [`keypad`] and [`pin`] hold the
//!   only state that exists on screen alone.
//! - [`headless`]: the software renderer without a display, to an RGBA
//!   [`image::Image`] and PNG; [`screenshot`]: comparison with reference PNGs.
//! - [`i18n`]: English and Indonesian ([`i18n::select_language`]), for the
//!   screens' `@tr` texts and the texts built in Rust.
//! - [`mode`]: [`ScreenMode`] (cashier, kitchen display, self-order kiosk);
//!   [`screens`]: the screens with their own module (kitchen, self-order, the
//!   new-order chime; the cashier's operations pages behind
//!   [`screens::ops::Ops`]: menu, login, shift and reports, receipts and
//!   refunds, price override, customers, technician).
//! - [`camera`]: the camera button's picker rows and texts, and the tender
//!   screen's note on the offline card limit under risk.
//! - [`demo`]: a fixed snapshot of a small café for tests and previews.
//!
//! Slint stays in this crate: the rest of the workspace builds without it.
//! Backends beyond the software renderer are cargo features (`winit`,
//! `linuxkms`), off by default.

#![warn(missing_docs)]

pub mod action;
pub mod camera;
pub mod demo;
pub mod error;
pub mod generated;
pub mod headless;
pub mod i18n;
pub mod image;
pub mod keypad;
pub mod mode;
pub mod models;
pub mod pictures;
pub mod pin;
pub mod screens;
pub mod screenshot;
pub mod ui;
pub mod view;

pub use action::Action;
pub use error::UiError;
pub use mode::ScreenMode;
pub use ui::Ui;
pub use view::ViewModel;
