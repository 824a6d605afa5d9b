//! The status bar's mapping: cluster, uplink and printer status (as their
//! runtimes report them) to [`StatusBar`]. Pure: the caller copies the
//! statuses out and counts the pending records with the node; this module
//! must not lock the node or talk to any runtime.

use super::snapshot::{CloudState, StatusBar};
use crate::cluster_runtime::ClusterStatus;
use crate::peripherals::PrinterReport;
use crate::uplink_runtime::{UplinkState, UplinkStatus};

/// A follower counts the cloud as online while the leader's last acknowledged
/// sync (replicated through raft) is at most this old.
pub const FOLLOWER_FRESH_MS: u64 = 30_000;

/// What the status bar is made of, copied out of the runtimes.
#[derive(Clone, Debug, Default)]
pub struct StatusInputs<'a> {
    /// The cluster runtime's status, if this terminal has a cluster.
    pub cluster: Option<&'a ClusterStatus>,
    /// The uplink's status, if this terminal has a cloud.
    pub uplink: Option<&'a UplinkStatus>,
    /// Records the cloud does not hold, counted with the node (`pending_of`).
    pub pending: Option<u64>,
    /// The last acknowledged sync: the uplink's own, or the replicated marks' time.
    pub last_sync_ms: Option<u64>,
    /// The receipt printer's status, if there is one.
    pub printer: Option<&'a PrinterReport>,
    /// The AI models' states, if the terminal runs an AI.
    pub ai: Option<&'a [keel_ai::ModelStatus]>,
    /// Now (ms since epoch).
    pub now_ms: u64,
}

fn cloud_state(
    uplink: Option<&UplinkStatus>,
    last_sync_ms: Option<u64>,
    now_ms: u64,
) -> CloudState {
    let Some(u) = uplink else {
        return CloudState::None;
    };
    if u.leader {
        return match u.state {
            UplinkState::Connected => CloudState::Online,
            UplinkState::Connecting => CloudState::Connecting,
            UplinkState::Backoff | UplinkState::Idle => CloudState::Offline,
        };
    }
    // A follower does not upload: it is as online as the leader's last sync is fresh.
    match last_sync_ms {
        Some(t) if now_ms.saturating_sub(t) <= FOLLOWER_FRESH_MS => CloudState::Online,
        _ => CloudState::Offline,
    }
}

/// Maps the inputs to the status bar.
pub fn status_bar(i: &StatusInputs<'_>) -> StatusBar {
    let cloud = cloud_state(i.uplink, i.last_sync_ms, i.now_ms);
    let (standalone, leader, is_leader, up, total) = match i.cluster {
        None => (true, None, false, 0, 0),
        Some(c) => {
            let leader = c
                .raft
                .as_ref()
                .and_then(|r| r.leader)
                .and_then(|l| u32::try_from(l).ok());
            let up = c.peers.iter().filter(|p| p.connected).count();
            (
                false,
                leader,
                c.is_leader(),
                u32::try_from(up).unwrap_or(u32::MAX),
                u32::try_from(c.peers.len()).unwrap_or(u32::MAX),
            )
        }
    };
    let cluster_text = if standalone {
        "standalone".to_string()
    } else {
        let who = match (leader, is_leader) {
            (Some(_), true) => "leader (this terminal)".to_string(),
            (Some(l), false) => format!("leader T{l:02}"),
            (None, _) => "no leader".to_string(),
        };
        format!("{who}, {up}/{total} peers")
    };
    let (printer, print_queue) = match i.printer {
        None => ("none".to_string(), 0),
        Some(p) => (
            crate::console::devices::printer_state(p).to_string(),
            p.pending,
        ),
    };
    StatusBar {
        cloud,
        pending_sync: if cloud == CloudState::None {
            None
        } else {
            i.pending.or(i.uplink.map(|u| u.pending))
        },
        last_sync_ms: i.last_sync_ms,
        last_sync_age_s: i.last_sync_ms.map(|t| i.now_ms.saturating_sub(t) / 1000),
        standalone,
        leader,
        is_leader,
        peers_connected: up,
        peers_total: total,
        cluster_text,
        printer,
        print_queue,
        ai_model: i.ai.map(crate::ai::status_text::indicator),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_runtime::PeerView;
    use keel_cluster::raft::RaftStatus;
    use keel_core::ids::TerminalId;

    fn cluster(me: u64, leader: Option<u64>, connected: &[bool]) -> ClusterStatus {
        ClusterStatus {
            peers: connected
                .iter()
                .enumerate()
                .map(|(n, c)| PeerView {
                    id: TerminalId(n as u32 + 2),
                    addr: None,
                    connected: *c,
                    last_seen_ms: None,
                    lag: None,
                })
                .collect(),
            raft: Some(RaftStatus {
                id: me,
                term: 3,
                leader,
                role: if leader == Some(me) {
                    keel_cluster::raft::Role::Leader
                } else {
                    keel_cluster::raft::Role::Follower
                },
                commit: 0,
                applied: 0,
                voters: vec![1, 2, 3],
                last_index: 0,
            }),
            ..ClusterStatus::default()
        }
    }

    fn uplink(leader: bool, state: UplinkState, pending: u64) -> UplinkStatus {
        UplinkStatus {
            leader,
            state,
            pending,
            ..UplinkStatus::default()
        }
    }

    #[test]
    fn standalone_without_cluster_or_cloud() {
        let s = status_bar(&StatusInputs {
            now_ms: 1_000,
            ..StatusInputs::default()
        });
        assert!(s.standalone);
        assert_eq!(s.cluster_text, "standalone");
        assert_eq!(s.cloud, CloudState::None);
        assert_eq!(s.pending_sync, None);
        assert_eq!(s.printer, "none");
        assert_eq!(s.ai_model, None);
    }

    #[test]
    fn the_leaders_session_state_is_the_cloud_state() {
        let c = cluster(1, Some(1), &[true, false]);
        for (state, want) in [
            (UplinkState::Connected, CloudState::Online),
            (UplinkState::Connecting, CloudState::Connecting),
            (UplinkState::Backoff, CloudState::Offline),
            (UplinkState::Idle, CloudState::Offline),
        ] {
            let u = uplink(true, state, 7);
            let s = status_bar(&StatusInputs {
                cluster: Some(&c),
                uplink: Some(&u),
                pending: Some(12),
                last_sync_ms: Some(5_000),
                now_ms: 65_000,
                ..StatusInputs::default()
            });
            assert_eq!(s.cloud, want, "{state:?}");
            assert_eq!(s.pending_sync, Some(12), "the node's count wins");
            assert_eq!(s.last_sync_age_s, Some(60));
            assert!(s.is_leader && !s.standalone);
            assert_eq!(s.leader, Some(1));
            assert_eq!((s.peers_connected, s.peers_total), (1, 2));
            assert_eq!(s.cluster_text, "leader (this terminal), 1/2 peers");
        }
    }

    #[test]
    fn offline_and_pending_follow_the_uplink() {
        // The cloud goes away: backoff, records pile up; it comes back: connected, drained.
        let c = cluster(1, Some(1), &[true, true]);
        let down = uplink(true, UplinkState::Backoff, 40);
        let s = status_bar(&StatusInputs {
            cluster: Some(&c),
            uplink: Some(&down),
            now_ms: 10_000,
            ..StatusInputs::default()
        });
        assert_eq!((s.cloud, s.pending_sync), (CloudState::Offline, Some(40)));
        let up = uplink(true, UplinkState::Connected, 0);
        let s = status_bar(&StatusInputs {
            cluster: Some(&c),
            uplink: Some(&up),
            pending: Some(0),
            last_sync_ms: Some(10_500),
            now_ms: 11_000,
            ..StatusInputs::default()
        });
        assert_eq!((s.cloud, s.pending_sync), (CloudState::Online, Some(0)));
        assert_eq!(s.cloud.as_str(), "online");
    }

    #[test]
    fn a_follower_is_online_while_the_leaders_sync_is_fresh() {
        let c = cluster(2, Some(1), &[true, false]);
        let u = uplink(false, UplinkState::Idle, 0);
        let at = |last: Option<u64>, now: u64| {
            status_bar(&StatusInputs {
                cluster: Some(&c),
                uplink: Some(&u),
                pending: Some(3),
                last_sync_ms: last,
                now_ms: now,
                ..StatusInputs::default()
            })
        };
        assert_eq!(at(Some(100_000), 110_000).cloud, CloudState::Online);
        assert_eq!(
            at(Some(100_000), 100_000 + FOLLOWER_FRESH_MS + 1).cloud,
            CloudState::Offline
        );
        assert_eq!(at(None, 5).cloud, CloudState::Offline);
        let s = at(None, 5);
        assert!(!s.is_leader);
        assert_eq!(s.cluster_text, "leader T01, 1/2 peers");
    }

    #[test]
    fn a_minority_knows_no_leader() {
        let c = cluster(3, None, &[false, false]);
        let s = status_bar(&StatusInputs {
            cluster: Some(&c),
            now_ms: 1,
            ..StatusInputs::default()
        });
        assert_eq!(s.leader, None);
        assert_eq!(s.cluster_text, "no leader, 0/2 peers");
    }

    #[test]
    fn printer_state_in_a_word() {
        let mut p = PrinterReport {
            port: "/dev/ttyUSB0".into(),
            status: keel_devices::status::PrinterStatus {
                reachable: true,
                online: true,
                cover_open: false,
                paper_near_end: false,
                paper_out: false,
                error: false,
                drawer_open: None,
            },
            pending: 2,
            printed: 5,
            last_error: None,
        };
        let bar = |p: &PrinterReport| {
            status_bar(&StatusInputs {
                printer: Some(p),
                ..StatusInputs::default()
            })
        };
        assert_eq!(
            (bar(&p).printer.as_str(), bar(&p).print_queue),
            ("ready", 2)
        );
        p.status.paper_out = true;
        assert_eq!(bar(&p).printer, "paper out");
        p.status.reachable = false;
        assert_eq!(bar(&p).printer, "not answering");
    }
}
