//! The terminal's health check as the updater asks for it: storage opens
//! (the node is running on its store), the journal's hash chain verifies,
//! the UI is up (when a UI runs: the kiosk reports its first frame), and the
//! cluster is joined (raft knows a leader) or the terminal runs alone.
//! keel-ota's rule turns the observations into a verdict within the
//! deadline.
//!
//! This module owns gathering the observations; it must not decide the
//! verdict (keel_ota::health does).

use crate::cluster_runtime::ClusterLink;
use crate::node::Node;
use keel_ota::health::{evaluate_final_checks, HealthReport, HealthVerdict};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the observations come from.
pub struct HealthProbe {
    /// The node (its journal is verified once per check).
    pub node: Arc<Mutex<Node>>,
    /// The cluster runtime, when the terminal has a cluster.
    pub cluster: Option<ClusterLink>,
    /// A UI runs and must report before the check passes.
    pub ui_expected: Arc<AtomicBool>,
    /// The UI reported it is up.
    pub ui_up: Arc<AtomicBool>,
    /// When the terminal started (the deadline counts from here).
    pub started: Instant,
    /// How long the checks may take to pass.
    pub deadline: Duration,
}

fn cluster_joined_or_alone(cluster: Option<&ClusterLink>) -> bool {
    let Some(c) = cluster else {
        return true;
    };
    let s = c.status();
    s.members.len() <= 1 || s.raft.as_ref().is_some_and(|r| r.leader.is_some())
}

impl HealthProbe {
    /// Runs the check until it passes or fails: `Ok(())` or the reason.
    pub fn run(&self) -> Result<(), String> {
        let journal_verifies = {
            let n = crate::ui_bridge::exec::lock(&self.node);
            match n.journal().verify() {
                Ok(_) => true,
                Err(e) => {
                    log::error!("health check: journal does not verify: {e}");
                    false
                }
            }
        };
        loop {
            let report = HealthReport {
                storage_opens: true,
                journal_verifies,
                ui_up: !self.ui_expected.load(Ordering::SeqCst)
                    || self.ui_up.load(Ordering::SeqCst),
                cluster_joined_or_alone: cluster_joined_or_alone(self.cluster.as_ref()),
            };
            match evaluate_final_checks(&report, true, self.started.elapsed(), self.deadline) {
                HealthVerdict::Passed => return Ok(()),
                HealthVerdict::Failed(reason) => return Err(reason),
                HealthVerdict::Pending => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}
