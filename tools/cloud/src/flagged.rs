//! The list of sales the terminals flagged for risk review, as text (a table
//! with receipt, terminal, cashier, score, level, reasons, approving manager
//! and time) and as JSON, for `GET /flagged` and `keel-cloud flagged`.
//! Presentation only: the rows come from the store.

use crate::status::{render_table, time_text};
use crate::store::FlaggedSale;
use serde_json::{json, Value};

/// Flagged sales as text, oldest first.
pub fn flagged_text(rows: &[FlaggedSale], now_ms: u64) -> String {
    if rows.is_empty() {
        return "no sales flagged for review\n".into();
    }
    let mut table = vec![[
        "STORE",
        "RECEIPT",
        "TERMINAL",
        "CASHIER",
        "SCORE",
        "LEVEL",
        "REASONS",
        "APPROVED BY",
        "TIME",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for f in rows {
        table.push(vec![
            f.store.0.clone(),
            f.receipt_no.to_string(),
            f.terminal.0.to_string(),
            f.cashier.clone(),
            score_text(f.score_permille),
            f.level.clone(),
            if f.reasons.is_empty() {
                "-".into()
            } else {
                f.reasons.join(",")
            },
            f.approved_by.clone().unwrap_or_else(|| "-".into()),
            time_text(Some(f.at_ms), now_ms),
        ]);
    }
    let mut out = render_table(&table);
    out.push_str(&format!("{} sale(s) flagged for review\n", rows.len()));
    out
}

/// Flagged sales as JSON: `{"flagged": [...]}`, oldest first.
pub fn flagged_json(rows: &[FlaggedSale]) -> Value {
    json!({
        "flagged": rows.iter().map(|f| json!({
            "store": f.store.0,
            "terminal": f.terminal.0,
            "seq": f.seq,
            "receipt_no": f.receipt_no,
            "cashier": f.cashier,
            "score_permille": f.score_permille,
            "score": score_text(f.score_permille),
            "level": f.level,
            "reasons": f.reasons,
            "source": f.source,
            "approved_by": f.approved_by,
            "at_ms": f.at_ms,
        })).collect::<Vec<_>>(),
    })
}

/// A per-mille score as a fraction with three decimals (`620` -> `0.620`).
fn score_text(permille: u16) -> String {
    format!("{}.{:03}", permille / 1000, permille % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::ids::{StoreId, TerminalId};

    #[test]
    fn text_and_json_name_every_field() {
        let f = FlaggedSale {
            store: StoreId("s1".into()),
            terminal: TerminalId(2),
            seq: 40,
            receipt_no: 7,
            cashier: "cashier".into(),
            score_permille: 620,
            level: "review".into(),
            reasons: vec!["SWEETHEARTING".into(), "REFUND_FRAUD".into()],
            source: "model 1.0.0".into(),
            approved_by: None,
            at_ms: 1_700_000_000_000,
        };
        let t = flagged_text(std::slice::from_ref(&f), 1_700_000_060_000);
        for want in [
            "RECEIPT",
            "s1",
            "cashier",
            "0.620",
            "SWEETHEARTING,REFUND_FRAUD",
            "1 sale(s)",
        ] {
            assert!(t.contains(want), "{want} in {t}");
        }
        let j = flagged_json(&[f]);
        assert_eq!(j["flagged"][0]["receipt_no"], 7);
        assert_eq!(j["flagged"][0]["reasons"][1], "REFUND_FRAUD");
        assert_eq!(flagged_text(&[], 0), "no sales flagged for review\n");
    }
}
