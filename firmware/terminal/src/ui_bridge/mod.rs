//! The UI's bridge to the terminal: the screens never wait on I/O. Actions
//! ([`UiAction`]) go to the terminal's core through a channel and are run on
//! the bridge's own thread through the console's session (the same
//! permissions, journaling and idempotency as the technician console); state
//! comes back as complete snapshots ([`UiSnapshot`]) built from the node's
//! folded state, which the Slint crate turns into its models.
//!
//! This module owns the action and snapshot shapes, the translation of
//! actions into console commands, the snapshot builder and the bridge thread.
//! It must not depend on Slint, hold business rules (keel-core's engine
//! decides), or hold the node lock for longer than one action or one snapshot.
//!
//! - [`UiBridge::apply`] runs one action and returns the snapshot after it
//!   (tests and the headless renderer use it directly).
//! - [`UiBridge::start`] runs the bridge on its own thread: a snapshot right
//!   away, one after each action, and one every [`screen::DEFAULT_REFRESH`]
//!   with no action (kitchen ages, sync and printer state, sales replicated
//!   from other terminals). Snapshots go through a bounded channel; when the UI
//!   falls behind, a snapshot is dropped rather than queued, which loses
//!   nothing because every snapshot is complete and the next one follows.
//!   The thread ends when the action sender or the snapshot receiver is dropped.
//! - [`scans::start`] forwards the scanner's barcodes (`Peripherals::scans`)
//!   to the bridge as `AddItem` actions.

pub mod action;
pub mod camera;
pub mod card_risk;
pub mod counter_orders;
pub mod diagnostics;
pub mod exec;
pub mod history;
pub mod records;
pub mod scans;
pub mod screen;
pub mod snapshot;
pub mod status_bar;
pub mod view;

pub use action::{AddSource, DiscountValue, Qty, UiAction};
pub use screen::UiServices;
pub use snapshot::UiSnapshot;

use crate::node::Node;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Snapshots the channel holds before newer ones are dropped.
pub const SNAPSHOT_BACKLOG: usize = 16;

/// Errors starting the bridge.
#[derive(Debug, Error)]
pub enum BridgeError {
    /// The bridge thread cannot be spawned.
    #[error("ui bridge: cannot start its thread: {0}")]
    Thread(std::io::Error),
}

/// The bridge: the node, the services, the two console sessions behind the
/// screens and the screen's own state.
pub struct UiBridge {
    node: Arc<Mutex<Node>>,
    services: UiServices,
    sessions: exec::Sessions,
    screen: screen::Screen,
    serial: u64,
}

impl UiBridge {
    /// A bridge on `node` with nobody logged in.
    pub fn new(node: Arc<Mutex<Node>>, services: UiServices) -> UiBridge {
        UiBridge {
            node,
            services,
            sessions: exec::Sessions::default(),
            screen: screen::Screen::default(),
            serial: 0,
        }
    }

    /// Runs `action` and returns the snapshot after it. The outcome is in the
    /// snapshot's `message` (an error says why and nothing was written).
    pub fn apply(&mut self, action: UiAction) -> UiSnapshot {
        exec::execute(
            &self.node,
            &self.services,
            &mut self.sessions,
            &mut self.screen,
            &action,
        );
        self.snapshot()
    }

    /// A snapshot now, with no action.
    pub fn snapshot(&mut self) -> UiSnapshot {
        // The runtimes' statuses are copied first, so the node lock is held
        // only while the node is read.
        let outside = self.services.outside();
        let now_ms = self.services.clock.now_ms();
        self.serial += 1;
        let node = exec::lock(&self.node);
        view::build(
            &node,
            self.sessions.cashier.user(),
            &self.screen,
            &outside,
            now_ms,
            self.serial,
        )
    }

    /// Starts the bridge on its own thread. Returns the channel for actions
    /// and the one snapshots arrive on.
    pub fn start(
        node: Arc<Mutex<Node>>,
        services: UiServices,
    ) -> Result<(Sender<UiAction>, Receiver<UiSnapshot>), BridgeError> {
        let (action_tx, action_rx) = std::sync::mpsc::channel();
        let (snap_tx, snap_rx) = std::sync::mpsc::sync_channel(SNAPSHOT_BACKLOG);
        let bridge = UiBridge::new(node, services);
        std::thread::Builder::new()
            .name("keel-ui-bridge".into())
            .spawn(move || bridge.run(action_rx, snap_tx))
            .map_err(BridgeError::Thread)?;
        Ok((action_tx, snap_rx))
    }

    fn run(mut self, actions: Receiver<UiAction>, snapshots: SyncSender<UiSnapshot>) {
        let refresh = self.services.refresh;
        let mut next = self.snapshot();
        loop {
            match snapshots.try_send(next) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    log::debug!("ui: the screen is behind; a snapshot skipped")
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
            next = match actions.recv_timeout(refresh) {
                Ok(action) => self.apply(action),
                Err(RecvTimeoutError::Timeout) => self.snapshot(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
        }
        log::info!("ui bridge stopped");
    }
}
