//! Which releases a store's terminals are offered: the store's channel (its
//! newest `ota.channel` setting, stable by default), the terminal's board,
//! the rollout bucket (keel-uplink's `release::bucket`) below the percentage,
//! and not on the release's version already; only published releases. Also
//! records the store's OTA report on the way.
//!
//! Owns that rule; must not store anything itself or serve bytes
//! (`release` does).

use crate::release::ReleaseError;
use crate::store::release::{Release, ReleaseState};
use crate::store::{CloudStore, StoreError};
use keel_core::ids::StoreId;
use keel_uplink::release::{in_rollout, Channel, ReleaseOffer, TerminalOta, CHANNEL_SETTING};
use keel_uplink::wire::PublishedItem;

/// The channel of `who`: its newest `ota.channel` setting (stable when none
/// or unreadable).
pub fn channel_of(store: &dyn CloudStore, who: &StoreId) -> Result<Channel, StoreError> {
    let mut channel = Channel::Stable;
    let mut after = 0;
    loop {
        let page = store.publications_after(who, after, 1024)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for p in &page {
            if let PublishedItem::Setting { key, value } = &p.item {
                if key == CHANNEL_SETTING {
                    channel = value.parse().unwrap_or_else(|e| {
                        log::warn!("store {who}: {e}; using stable");
                        Channel::Stable
                    });
                }
            }
        }
    }
    Ok(channel)
}

/// Whether `t` runs `r`'s version already.
fn runs(r: &Release, t: &TerminalOta) -> bool {
    match r.kind.as_str() {
        "firmware" => t.firmware == r.version,
        _ => t.model.as_deref() == Some(r.version.as_str()),
    }
}

/// Which of `terminals` of `who` are in `r`'s rollout (board, bucket, not on
/// its version yet).
pub fn rollout_terminals(
    r: &Release,
    who: &StoreId,
    terminals: &[TerminalOta],
) -> Vec<TerminalOta> {
    terminals
        .iter()
        .filter(|t| r.boards.contains(&t.board))
        .filter(|t| in_rollout(r.id, who, t.terminal, r.rollout))
        .filter(|t| !runs(r, t))
        .cloned()
        .collect()
}

/// The releases offered to store `who` whose terminals reported `terminals`:
/// published, on its channel, with at least one terminal in the rollout.
pub fn offers(
    releases: &[Release],
    channel: Channel,
    who: &StoreId,
    terminals: &[TerminalOta],
) -> Vec<ReleaseOffer> {
    releases
        .iter()
        .filter(|r| r.state == ReleaseState::Published && r.channel == channel)
        .filter_map(|r| {
            let ts: Vec<_> = rollout_terminals(r, who, terminals)
                .into_iter()
                .map(|t| t.terminal)
                .collect();
            (!ts.is_empty()).then(|| ReleaseOffer {
                id: r.id,
                kind: r.kind.clone(),
                version: r.version.clone(),
                boards: r.boards.clone(),
                sha256: r.sha256,
                size: r.size,
                channel: r.channel,
                terminals: ts,
            })
        })
        .collect()
}

/// Records a store's OTA report and answers with its offers.
pub fn report(
    store: &dyn CloudStore,
    who: &StoreId,
    terminals: &[TerminalOta],
    now_ms: u64,
) -> Result<Vec<ReleaseOffer>, ReleaseError> {
    if terminals.len() > keel_uplink::release::MAX_REPORTED_TERMINALS {
        return Err(ReleaseError::Invalid(format!(
            "an OTA report of {} terminals; at most {}",
            terminals.len(),
            keel_uplink::release::MAX_REPORTED_TERMINALS
        )));
    }
    store.record_ota(who, terminals, now_ms)?;
    let channel = channel_of(store, who)?;
    Ok(offers(&store.releases()?, channel, who, terminals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::test_release as rel;

    fn term(t: u32, board: &str, fw: &str) -> TerminalOta {
        TerminalOta {
            terminal: keel_core::ids::TerminalId(t),
            board: board.into(),
            firmware: fw.into(),
            model: None,
            state: "idle".into(),
            release: None,
            done: 0,
            total: 0,
            last_error: None,
            at_ms: 0,
        }
    }

    #[test]
    fn offers_follow_board_channel_version_and_rollout() {
        let s = StoreId("s1".into());
        let ts = [
            term(1, "qemu-x86_64", "1.0.0"),
            term(2, "qemu-x86_64", "1.2.0"),
            term(3, "raspberrypi4-64", "1.0.0"),
        ];
        let all = offers(&[rel(1, &["qemu-x86_64"], 100)], Channel::Stable, &s, &ts);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].terminals, vec![keel_core::ids::TerminalId(1)]);
        assert!(offers(&[rel(1, &["qemu-x86_64"], 0)], Channel::Stable, &s, &ts).is_empty());
        assert!(offers(&[rel(1, &["qemu-x86_64"], 100)], Channel::Beta, &s, &ts).is_empty());
        let mut w = rel(1, &["qemu-x86_64"], 100);
        w.state = ReleaseState::Withdrawn;
        assert!(offers(&[w], Channel::Stable, &s, &ts).is_empty());
    }
}
