//! What the bridge keeps between actions besides the node: the screen's own
//! state (category tab, search, receipt preview, report, lookup results, the
//! last message, the camera's finding, a card tender waiting for approval), the services it reaches ([`UiServices`]) and their statuses
//! copied out for one snapshot ([`Outside`]). Plain data; must not do I/O
//! beyond asking each runtime for its status.

use super::snapshot::{ChainCheckView, CustomerView, RecognitionView, ReportView, UiMessage};
use crate::clock::{Clock, SystemClock};
use crate::cluster_runtime::{ClusterHandle, ClusterStatus};
use crate::peripherals::{Peripherals, PrinterReport};
use crate::uplink_runtime::{UplinkHandle, UplinkStatus};
use std::sync::Arc;
use std::time::Duration;

/// How often the running bridge sends a snapshot with no action (ages, sync
/// state, printer state, sales replicated from other terminals).
pub const DEFAULT_REFRESH: Duration = Duration::from_millis(500);

/// The services the bridge reaches beyond the node; each is optional, as on
/// the console. Shared with the rest of the program through `Arc`.
pub struct UiServices {
    /// The store cluster, if configured.
    pub cluster: Option<Arc<ClusterHandle>>,
    /// The cloud uplink, if configured.
    pub uplink: Option<Arc<UplinkHandle>>,
    /// Printers, drawer, scanner and scale, if any.
    pub devices: Option<Arc<Peripherals>>,
    /// The clock kitchen ages and sync ages are measured with.
    pub clock: Box<dyn Clock>,
    /// Period of the snapshots sent with no action.
    pub refresh: Duration,
}

impl Default for UiServices {
    fn default() -> UiServices {
        UiServices {
            cluster: None,
            uplink: None,
            devices: None,
            clock: Box::new(SystemClock::new()),
            refresh: DEFAULT_REFRESH,
        }
    }
}

impl UiServices {
    /// The runtimes' statuses now (each copied under its own lock, never the node's).
    pub fn outside(&self) -> Outside {
        Outside {
            cluster: self.cluster.as_ref().map(|c| c.status()),
            uplink: self.uplink.as_ref().map(|u| u.status()),
            printer: self.devices.as_ref().and_then(|d| d.printer_status()),
            scanner: self.devices.as_ref().is_some_and(|d| d.has_scanner()),
        }
    }
}

/// The runtimes' statuses for one snapshot.
#[derive(Clone, Debug, Default)]
pub struct Outside {
    /// The cluster runtime's status.
    pub cluster: Option<ClusterStatus>,
    /// The uplink's status.
    pub uplink: Option<UplinkStatus>,
    /// The receipt printer's status.
    pub printer: Option<PrinterReport>,
    /// A barcode scanner is configured.
    pub scanner: bool,
}

/// The screen's own state, kept by the bridge between actions.
#[derive(Clone, Debug, Default)]
pub struct Screen {
    /// Category tab chosen (the first one when `None` or gone).
    pub category: Option<String>,
    /// Product search text.
    pub search: String,
    /// Receipt to preview (the last one when `None`).
    pub preview: Option<u64>,
    /// The report asked for by the last action.
    pub report: Option<ReportView>,
    /// The last customer lookup's results.
    pub customers: Vec<CustomerView>,
    /// The last action's notice or error.
    pub message: Option<UiMessage>,
    /// The last journal chain verification (`UiAction::Diagnose`).
    pub chain: Option<ChainCheckView>,
    /// What the camera button found (`UiAction::Recognize`), until the next action.
    pub recognition: Option<RecognitionView>,
    /// A card tender waiting for a manager's PIN: its amount (minor units)
    /// and why the last PIN was refused.
    pub card_approval: Option<(i64, Option<String>)>,
}
