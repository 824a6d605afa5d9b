//! The bridge wired to the screens.
//!
//! - [`Kiosk`]: the bridge runs on its own thread ([`UiBridge::start`]); the
//!   screens' actions are mapped on the UI thread and sent on the bridge's
//!   channel (a send never blocks); snapshots coming back are picked up on
//!   the UI thread by a Slint [`Timer`] polling the channel every
//!   [`POLL_PERIOD`], and only the newest is shown. The UI thread never waits
//!   on the node, the disk or the network.
//! - [`HeadlessKiosk`]: the same mapping on one thread with the bridge
//!   applied synchronously ([`UiBridge::apply`]) and a [`HeadlessUi`], for
//!   tests: taps queue actions, [`HeadlessKiosk::pump`] runs them and shows
//!   the snapshot after them.
//!
//! Both also offer `send`, a bridge action straight to the bridge (what no
//! screen asks: a scripted set-up, a test's shortcut to a logged-in shift).

use crate::card::CardTokenSource;
use crate::error::KioskError;
use crate::map::{view_model, Mapper};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{UiAction, UiBridge, UiServices, UiSnapshot};
use keel_ui::action::Action;
use keel_ui::generated::AppWindow;
use keel_ui::headless::HeadlessUi;
use keel_ui::ui::ActionSink;
use keel_ui::Ui;
use slint::ComponentHandle;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the UI thread looks for new snapshots (about one frame at 60 Hz).
pub const POLL_PERIOD: Duration = Duration::from_millis(16);

/// Something holding the screens: a windowed [`Ui`] or a [`HeadlessUi`].
pub trait Screens: 'static {
    /// The UI to show snapshots on.
    fn ui(&self) -> &Ui;
}

impl Screens for Ui {
    fn ui(&self) -> &Ui {
        self
    }
}

impl Screens for HeadlessUi {
    fn ui(&self) -> &Ui {
        HeadlessUi::ui(self)
    }
}

/// Where the threaded kiosk's UI-thread state lives (shared by the sink and the timer).
struct Shared<S> {
    screens: S,
    last: RefCell<Option<UiSnapshot>>,
    /// The bridge stopped sending (logged once).
    stopped: Cell<bool>,
}

/// The kiosk with the bridge on its own thread. Lives on the UI thread.
pub struct Kiosk<S: Screens> {
    shared: Rc<Shared<S>>,
    mapper: Rc<RefCell<Mapper>>,
    snapshots: Rc<Receiver<UiSnapshot>>,
    actions: Sender<UiAction>,
    _timer: slint::Timer,
}

impl<S: Screens> Kiosk<S> {
    /// Starts the bridge on `node` and creates the screens with `make`, which
    /// gets the sink their actions go to (`Ui::new` or a closure calling
    /// `HeadlessUi::new`). Call on the UI thread, with the Slint platform set.
    pub fn start(
        node: Arc<Mutex<Node>>,
        services: UiServices,
        cards: Option<Box<dyn CardTokenSource>>,
        make: impl FnOnce(ActionSink) -> Result<S, keel_ui::UiError>,
    ) -> Result<Kiosk<S>, KioskError> {
        let (actions, snapshots) = UiBridge::start(node, services)?;
        let mapper = Rc::new(RefCell::new(Mapper::new(cards)));
        let sink = {
            let mapper = Rc::clone(&mapper);
            let tx = actions.clone();
            Box::new(move |a: Action| {
                for b in map_or_log(&mut mapper.borrow_mut(), a) {
                    if tx.send(b).is_err() {
                        log::warn!("kiosk: the ui bridge is gone; action dropped");
                    }
                }
            })
        };
        let shared = Rc::new(Shared {
            screens: make(sink)?,
            last: RefCell::new(None),
            stopped: Cell::new(false),
        });
        let snapshots = Rc::new(snapshots);
        let timer = slint::Timer::default();
        {
            let (shared, mapper, rx) = (
                Rc::downgrade(&shared),
                Rc::clone(&mapper),
                Rc::clone(&snapshots),
            );
            timer.start(slint::TimerMode::Repeated, POLL_PERIOD, move || {
                if let Some(shared) = shared.upgrade() {
                    poll(&shared, &mapper, &rx);
                }
            });
        }
        Ok(Kiosk {
            shared,
            mapper,
            snapshots,
            actions,
            _timer: timer,
        })
    }

    /// Shows the newest snapshot waiting now, if any (the timer does this by
    /// itself; tests call it to skip the wait). Returns true if one was shown.
    pub fn poll(&self) -> bool {
        poll(&self.shared, &self.mapper, &self.snapshots)
    }

    /// Sends a bridge action straight to the bridge, not through the screens.
    /// Never blocks.
    pub fn send(&self, action: UiAction) -> Result<(), KioskError> {
        self.actions
            .send(action)
            .map_err(|_| KioskError::BridgeStopped)
    }

    /// A sender on the bridge's action channel, for another thread feeding
    /// the UI (the scanner's barcodes: `ui_bridge::scans::start`).
    pub fn actions(&self) -> Sender<UiAction> {
        self.actions.clone()
    }

    /// The screens.
    pub fn screens(&self) -> &S {
        &self.shared.screens
    }

    /// Calls `f` with the screens every `period` from a timer on the UI
    /// thread, for as long as the returned timer lives (feeds other than
    /// the bridge: the product pictures, `crate::pictures`). `f` must not block.
    pub fn every(&self, period: Duration, mut f: impl FnMut(&S) + 'static) -> slint::Timer {
        let shared = Rc::downgrade(&self.shared);
        let timer = slint::Timer::default();
        timer.start(slint::TimerMode::Repeated, period, move || {
            if let Some(s) = shared.upgrade() {
                f(&s.screens);
            }
        });
        timer
    }

    /// The snapshot on screen now.
    pub fn snapshot(&self) -> Option<UiSnapshot> {
        self.shared.last.borrow().clone()
    }
}

/// Takes every snapshot waiting, shows the newest; true if one was shown.
fn poll<S: Screens>(
    shared: &Shared<S>,
    mapper: &RefCell<Mapper>,
    rx: &Receiver<UiSnapshot>,
) -> bool {
    let mut newest = None;
    loop {
        match rx.try_recv() {
            Ok(s) => {
                mapper.borrow_mut().seen(&s);
                newest = Some(s);
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => {
                if !shared.stopped.replace(true) {
                    log::warn!("kiosk: the ui bridge stopped sending snapshots");
                }
                break;
            }
        }
    }
    match newest {
        Some(s) => {
            shared.screens.ui().show(view_model(&s));
            *shared.last.borrow_mut() = Some(s);
            true
        }
        None => false,
    }
}

/// The bridge actions for `a`; a refusal here (no card terminal) is logged
/// and nothing is sent.
fn map_or_log(mapper: &mut Mapper, a: Action) -> Vec<UiAction> {
    let name = a.name();
    mapper.actions(a).unwrap_or_else(|e| {
        log::warn!("kiosk: {name} not sent: {e}");
        Vec::new()
    })
}

/// The kiosk on one thread, for tests: a [`HeadlessUi`] whose actions queue
/// until [`HeadlessKiosk::pump`] applies them to the bridge synchronously.
pub struct HeadlessKiosk {
    bridge: UiBridge,
    screens: HeadlessUi,
    queued: Receiver<Action>,
    mapper: Mapper,
    last: UiSnapshot,
    /// Errors the mapper raised (no card terminal, declined), newest last.
    refused: Vec<KioskError>,
}

impl HeadlessKiosk {
    /// A headless kiosk of `width` x `height` pixels on `bridge`, showing its
    /// snapshot at once. Installs the headless Slint platform on this thread.
    pub fn new(
        mut bridge: UiBridge,
        width: u32,
        height: u32,
        cards: Option<Box<dyn CardTokenSource>>,
    ) -> Result<HeadlessKiosk, KioskError> {
        let (screens, queued) = HeadlessUi::with_channel(width, height)?;
        let mut mapper = Mapper::new(cards);
        let last = bridge.snapshot();
        mapper.seen(&last);
        screens.ui().show(view_model(&last));
        Ok(HeadlessKiosk {
            bridge,
            screens,
            queued,
            mapper,
            last,
            refused: Vec::new(),
        })
    }

    /// Runs every action the screens queued, in order, and shows the
    /// snapshot after them. Returns how many bridge actions ran. All queued
    /// actions are mapped before any runs, as on the threaded kiosk, where
    /// taps are mapped as they happen and the snapshots come later.
    pub fn pump(&mut self) -> usize {
        let mut mapped = Vec::new();
        while let Ok(a) = self.queued.try_recv() {
            match self.mapper.actions(a) {
                Ok(list) => mapped.extend(list),
                Err(e) => self.refused.push(e),
            }
        }
        let ran = mapped.len();
        for b in mapped {
            self.apply(b);
        }
        ran
    }

    /// Runs a bridge action straight on the bridge, not through the screens,
    /// and shows the snapshot after it.
    pub fn send(&mut self, action: UiAction) -> &UiSnapshot {
        self.apply(action);
        &self.last
    }

    fn apply(&mut self, action: UiAction) {
        let s = self.bridge.apply(action);
        self.mapper.seen(&s);
        self.screens.ui().show(view_model(&s));
        self.last = s;
    }

    /// The headless screens (render, tap, the window's globals).
    pub fn screens(&self) -> &HeadlessUi {
        &self.screens
    }

    /// A strong handle on the window (its globals hold the Slint models), not
    /// borrowing the kiosk, so actions can be pumped while it is held.
    pub fn window(&self) -> AppWindow {
        self.screens.ui().window().clone_strong()
    }

    /// The snapshot on screen now.
    pub fn snapshot(&self) -> &UiSnapshot {
        &self.last
    }

    /// Errors the kiosk raised itself since the last call (no card terminal).
    pub fn take_refused(&mut self) -> Vec<KioskError> {
        std::mem::take(&mut self.refused)
    }
}
