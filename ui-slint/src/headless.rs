//! Headless rendering with Slint's software renderer: a Slint platform whose
//! windows are [`MinimalSoftwareWindow`]s, and [`HeadlessUi`], a [`Ui`] at a
//! given size rendered to an RGBA [`Image`] (then PNG) on demand. No display,
//! no GPU, no fonts from the machine (the UI embeds its own). Tests and
//! `cargo xtask bench ui` use it; so can a terminal with no screen attached.
//!
//! Slint's platform is per thread: [`install`] sets this one on the calling
//! thread (once; later calls are no-ops) and its clock stands still unless
//! [`advance_clock`] moves it, so animations and timers are deterministic.

use crate::action::Action;
use crate::error::UiError;
use crate::image::Image;
use crate::ui::{ActionSink, Ui};
use slint::platform::software_renderer::{
    MinimalSoftwareWindow, PremultipliedRgbaColor, RepaintBufferType,
};
use slint::platform::{Platform, WindowAdapter};
use slint::PhysicalSize;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

thread_local! {
    /// The window the platform created last on this thread.
    static LAST_WINDOW: RefCell<Option<Rc<MinimalSoftwareWindow>>> = const { RefCell::new(None) };
    /// The platform clock on this thread.
    static CLOCK: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// The headless platform: software windows, a clock that only moves when told.
struct HeadlessPlatform;

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        LAST_WINDOW.with(|w| *w.borrow_mut() = Some(window.clone()));
        Ok(window)
    }

    fn duration_since_start(&self) -> Duration {
        CLOCK.with(Cell::get)
    }
}

/// Installs the headless platform on this thread (a no-op if it already is).
/// Fails if another platform (winit, linuxkms) was set on this thread first.
pub fn install() -> Result<(), UiError> {
    thread_local! {
        static INSTALLED: Cell<bool> = const { Cell::new(false) };
    }
    if INSTALLED.with(Cell::get) {
        return Ok(());
    }
    match slint::platform::set_platform(Box::new(HeadlessPlatform)) {
        Ok(()) => {
            INSTALLED.with(|i| i.set(true));
            Ok(())
        }
        // AlreadySet (or a future reason): a platform we did not install.
        Err(_) => Err(UiError::PlatformTaken),
    }
}

/// Moves this thread's platform clock forward and runs due timers and animations.
pub fn advance_clock(by: Duration) {
    CLOCK.with(|c| c.set(c.get().saturating_add(by)));
    slint::platform::update_timers_and_animations();
}

/// A [`Ui`] on a software window of a fixed size.
pub struct HeadlessUi {
    ui: Ui,
    window: Rc<MinimalSoftwareWindow>,
    width: u32,
    height: u32,
}

impl HeadlessUi {
    /// A headless UI of `width` x `height` pixels with actions going to `sink`.
    pub fn new(width: u32, height: u32, sink: ActionSink) -> Result<HeadlessUi, UiError> {
        if width == 0 || height == 0 || width > 8192 || height > 8192 {
            return Err(UiError::BadSize { width, height });
        }
        install()?;
        LAST_WINDOW.with(|w| w.borrow_mut().take());
        let ui = Ui::new(sink)?;
        let window = LAST_WINDOW
            .with(|w| w.borrow_mut().take())
            .ok_or(UiError::NoWindow)?;
        window.set_size(PhysicalSize::new(width, height));
        slint::ComponentHandle::show(ui.window())?;
        Ok(HeadlessUi {
            ui,
            window,
            width,
            height,
        })
    }

    /// A headless UI whose actions go to a channel; returns its receiver.
    pub fn with_channel(
        width: u32,
        height: u32,
    ) -> Result<(HeadlessUi, mpsc::Receiver<Action>), UiError> {
        let (tx, rx) = mpsc::channel();
        let ui = HeadlessUi::new(
            width,
            height,
            Box::new(move |a| {
                if tx.send(a).is_err() {
                    log::debug!("ui: action dropped, nobody listens");
                }
            }),
        )?;
        Ok((ui, rx))
    }

    /// The UI (to show snapshots and reach the window's globals).
    pub fn ui(&self) -> &Ui {
        &self.ui
    }

    /// The size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// A finger tap at (x, y) in pixels: press then release, as a touch
    /// screen delivers it (the scale factor is 1).
    pub fn tap(&self, x: f32, y: f32) {
        use slint::platform::{PointerEventButton, WindowEvent};
        let position = slint::LogicalPosition::new(x, y);
        let button = PointerEventButton::Left;
        let window = self.window.window();
        window.dispatch_event(WindowEvent::PointerMoved { position });
        window.dispatch_event(WindowEvent::PointerPressed { position, button });
        window.dispatch_event(WindowEvent::PointerReleased { position, button });
        window.dispatch_event(WindowEvent::PointerExited);
    }

    /// Renders a whole frame now.
    pub fn render(&self) -> Result<Image, UiError> {
        slint::platform::update_timers_and_animations();
        let (w, h) = (self.width as usize, self.height as usize);
        let mut buffer = vec![PremultipliedRgbaColor::default(); w * h];
        self.window.request_redraw();
        let drawn = self.window.draw_if_needed(|renderer| {
            renderer.render(&mut buffer, w);
        });
        if !drawn {
            return Err(UiError::NothingDrawn);
        }
        let mut rgba = Vec::with_capacity(w * h * 4);
        for p in &buffer {
            rgba.extend_from_slice(&unpremultiply(*p));
        }
        Ok(Image::new(self.width, self.height, rgba))
    }
}

/// Straight RGBA from premultiplied (the window is opaque, so alpha is 255
/// everywhere the theme paints; this is for completeness).
fn unpremultiply(p: PremultipliedRgbaColor) -> [u8; 4] {
    match p.alpha {
        0 => [0, 0, 0, 0],
        255 => [p.red, p.green, p.blue, 255],
        a => {
            let un = |c: u8| {
                let v = (u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a);
                u8::try_from(v.min(255)).unwrap_or(255)
            };
            [un(p.red), un(p.green), un(p.blue), a]
        }
    }
}
