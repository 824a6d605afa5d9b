//! Running the kiosk on the chosen backend, on the main thread, until the
//! window closes or [`Stop`] is raised (the console ended):
//! - winit and linuxkms: Slint's own event loop (winit: software renderer;
//!   linuxkms: GL where the board has it, else software, or as
//!   `KEEL_UI_RENDERER` says); the kiosk's timer picks up snapshots;
//! - headless: a loop of our own on the software renderer; a frame is
//!   rendered off-screen for each new snapshot (and written to
//!   `KEEL_UI_FRAME`, if set).
//!
//! Owns only the loops. Must not touch the node: everything the screens show
//! comes through the kiosk's bridge thread.

use keel_kiosk::backend::Backend;
use keel_kiosk::pictures::{PictureFeed, PictureLoader, RESCAN_PERIOD};
use keel_kiosk::{CardTokenSource, Kiosk, KioskError};
use keel_terminal::node::Node;
use keel_terminal::peripherals::ScanChannel;
use keel_terminal::ui_bridge::{scans, UiServices};
use keel_ui::headless::{advance_clock, HeadlessUi};
use keel_ui::mode::ScreenMode;
use keel_ui::screens::chime::AplayChime;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Raised by another thread to end the UI.
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Ends the UI: the headless loop sees the flag; Slint's event loop is
    /// asked to quit from its own thread.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
        // Fails only when no Slint event loop runs (headless): the flag does it.
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
    }

    fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the UI starts with.
pub struct Start {
    /// The node the bridge runs on.
    pub node: Arc<Mutex<Node>>,
    /// The runtimes the bridge reaches.
    pub services: UiServices,
    /// The card terminal, if any.
    pub cards: Option<Box<dyn CardTokenSource>>,
    /// The scanner's barcodes, forwarded to the bridge.
    pub scans: Option<ScanChannel>,
    /// Window or frame size.
    pub size: (u32, u32),
    /// The screen set (`[ui] mode`).
    pub mode: ScreenMode,
    /// The language (`[ui] language`).
    pub language: String,
    /// The product pictures' directory (`<data-dir>/images`).
    pub images: PathBuf,
}

/// Why the UI could not run.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    /// The kiosk (screens, bridge) could not start.
    #[error(transparent)]
    Kiosk(#[from] KioskError),
    /// The language is not one the screens ship.
    #[error(transparent)]
    Language(#[from] keel_ui::i18n::I18nError),
    /// Slint's backend could not be selected or its event loop failed.
    #[error("{backend} backend: {message}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// Slint's message.
        message: String,
    },
}

/// The screen set on the screens just made; the kitchen display rings for
/// each new order where a person can hear it (not headless).
fn set_mode<S: keel_kiosk::app::Screens>(kiosk: &Kiosk<S>, mode: ScreenMode, chime: bool) {
    let ui = kiosk.screens().ui();
    ui.set_mode(mode);
    if chime && mode == ScreenMode::Kitchen {
        ui.set_chime(Box::new(AplayChime::new()));
    }
}

/// The product pictures, decoded on their own thread, fed to the screens.
fn feed_pictures<S: keel_kiosk::app::Screens>(
    kiosk: &Kiosk<S>,
    images: PathBuf,
) -> Option<PictureFeed> {
    match PictureLoader::start(images, RESCAN_PERIOD) {
        Ok(loader) => Some(PictureFeed::start(loader, kiosk)),
        Err(e) => {
            log::warn!("keel-kiosk: no product pictures: loader thread: {e}");
            None
        }
    }
}

fn forward_scans<S: keel_kiosk::app::Screens>(kiosk: &Kiosk<S>, scans: Option<ScanChannel>) {
    if let Some((_, rx)) = scans {
        if let Err(e) = scans::start(rx, kiosk.actions()) {
            log::warn!("keel-kiosk: scans will not reach the UI: {e}");
        }
    }
}

/// Runs the UI on `backend` until it ends.
pub fn run(backend: Backend, start: Start, stop: Stop) -> Result<(), DisplayError> {
    // On this (the UI) thread, before the screens exist: they come up in it.
    keel_ui::i18n::select_language(&start.language)?;
    match backend {
        Backend::Headless => headless(start, &stop),
        Backend::Winit | Backend::LinuxKms => windowed(backend, start),
    }
}

fn windowed(backend: Backend, start: Start) -> Result<(), DisplayError> {
    let err = |e: slint::PlatformError| DisplayError::Backend {
        backend: backend.as_str(),
        message: e.to_string(),
    };
    let word = std::env::var(keel_kiosk::backend::RENDERER_ENV).ok();
    let renderer = keel_kiosk::backend::renderer(backend, word.as_deref()).map_err(|e| {
        DisplayError::Backend {
            backend: backend.as_str(),
            message: e.to_string(),
        }
    })?;
    let mut selector = slint::BackendSelector::new().backend_name(backend.as_str().into());
    if let Some(name) = renderer {
        selector = selector.renderer_name(name.into());
    }
    log::info!(
        "ui: {} backend, renderer {}",
        backend.as_str(),
        renderer.unwrap_or("auto (GL, else software)")
    );
    selector.select().map_err(err)?;
    let kiosk = Kiosk::start(start.node, start.services, start.cards, keel_ui::Ui::new)?;
    set_mode(&kiosk, start.mode, true);
    forward_scans(&kiosk, start.scans);
    let _pictures = feed_pictures(&kiosk, start.images);
    let window = kiosk.screens().window();
    if backend == Backend::Winit {
        let (w, h) = start.size;
        slint::ComponentHandle::window(window)
            .set_size(slint::LogicalSize::new(w as f32, h as f32));
    }
    slint::ComponentHandle::show(window).map_err(err)?;
    // Returns when the window closes or `Stop::raise` quits the loop.
    slint::run_event_loop().map_err(err)?;
    Ok(())
}

fn headless(start: Start, stop: &Stop) -> Result<(), DisplayError> {
    let (w, h) = start.size;
    let kiosk = Kiosk::start(start.node, start.services, start.cards, |sink| {
        HeadlessUi::new(w, h, sink)
    })?;
    set_mode(&kiosk, start.mode, false);
    forward_scans(&kiosk, start.scans);
    let pictures = feed_pictures(&kiosk, start.images);
    let pictures_shown = || pictures.as_ref().map_or(0, PictureFeed::sets_shown);
    let mut shown_pictures = 0;
    let frame_file = std::env::var_os("KEEL_UI_FRAME").map(PathBuf::from);
    let mut shown = None;
    let mut frames = 0u64;
    let mut last = Instant::now();
    let mut last_report = Instant::now();
    while !stop.raised() {
        // The platform's clock follows the wall clock: timers (the kiosk's
        // snapshot poll) and animations run as on a display.
        advance_clock(last.elapsed());
        last = Instant::now();
        kiosk.poll();
        let serial = kiosk.snapshot().map(|s| s.serial);
        if serial != shown || pictures_shown() != shown_pictures {
            shown = serial;
            shown_pictures = pictures_shown();
            match kiosk.screens().render() {
                Ok(frame) => {
                    frames += 1;
                    if let Some(path) = &frame_file {
                        save_frame(&frame, path);
                    }
                }
                Err(e) => log::warn!("keel-kiosk: headless frame not rendered: {e}"),
            }
        }
        if last_report.elapsed() >= Duration::from_secs(60) {
            log::info!("keel-kiosk: headless, {frames} frames rendered so far");
            last_report = Instant::now();
        }
        std::thread::sleep(keel_kiosk::app::POLL_PERIOD);
    }
    log::info!("keel-kiosk: headless UI stopped after {frames} frames");
    Ok(())
}

/// Writes `frame` to `path` through a temporary file, so a reader never sees half a PNG.
fn save_frame(frame: &keel_ui::image::Image, path: &std::path::Path) {
    let tmp = path.with_extension("png.tmp");
    let r = frame
        .save_png(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if let Err(e) = r {
        log::warn!("keel-kiosk: frame not written to {}: {e}", path.display());
    }
}
