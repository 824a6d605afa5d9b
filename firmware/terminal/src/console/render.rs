//! Renders node state, carts, receipts, reports and journal entries into console
//! replies (text lines plus JSON fields). Reads only; never changes state.

use super::reply::Reply;
use crate::cluster_runtime::ClusterStatus;
use crate::fields;
use crate::node::{Node, FIRMWARE_VERSION};
use keel_core::auth::User;
use keel_core::catalog::SoldBy;
use keel_core::money::{format_minor, Money};
use keel_core::pricing::PricedCart;
use keel_core::receipt::{format_utc, Receipt};
use keel_core::sale::RefundRecord;
use keel_core::shift::ShiftReport;
use keel_store::StoredEvent;
use serde_json::{json, Value};

/// Receipt width on the console (80 mm paper).
pub const CONSOLE_WIDTH: usize = 48;

fn amount(m: Money) -> String {
    m.amount_text()
}

fn qty_text(qty: i64, sold_by: SoldBy) -> String {
    match sold_by {
        SoldBy::Unit => qty.to_string(),
        SoldBy::Weight => format!("{} kg", format_minor(qty, 3)),
    }
}

/// Free bytes on the filesystem holding `path`.
pub fn disk_free(path: &std::path::Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer for the call's duration.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

/// `status`.
pub fn status(
    node: &Node,
    user: Option<&User>,
    cluster: Option<&ClusterStatus>,
    uplink: Option<&crate::uplink_runtime::UplinkStatus>,
) -> Reply {
    let s = &node.state;
    let free = disk_free(node.data_dir());
    let journal = node.journal();
    let shift = s.shift.as_ref().map(|x| x.shift_no);
    let cart_lines = s
        .cart
        .as_ref()
        .map(|c| c.lines.iter().filter(|l| !l.voided).count());
    let uptime = node.uptime_ms() / 1000;
    let fields = fields! {
        "store" => s.store.0,
        "terminal" => s.terminal.to_string(),
        "version" => FIRMWARE_VERSION,
        "uptime_s" => uptime,
        "journal_length" => journal.last_seq(),
        "last_seq" => journal.last_seq(),
        "head" => journal.head().hex(),
        "disk_free_bytes" => free,
        "user" => user.map(|u| u.id.0.clone()),
        "role" => user.map(|u| u.role.as_str()),
        "shift" => shift,
        "sale_open_lines" => cart_lines,
        "last_receipt" => s.counters.last_receipt,
        "card_offline_held" => amount(s.card_offline()),
        "catalog_items" => s.catalog.len(),
    };
    let text = vec![
        format!(
            "store {} terminal {} keel {}",
            s.store, s.terminal, FIRMWARE_VERSION
        ),
        format!(
            "uptime {uptime} s, journal {} records (last seq {})",
            journal.last_seq(),
            journal.last_seq()
        ),
        format!(
            "disk free {}",
            free.map(|f| format!("{} MB", f / 1_000_000))
                .unwrap_or_else(|| "unknown".into())
        ),
        format!(
            "user {}",
            user.map(|u| format!("{} ({})", u.id, u.role.as_str()))
                .unwrap_or_else(|| "none".into())
        ),
        format!(
            "shift {}, sale {}, last receipt {}",
            shift
                .map(|n| n.to_string())
                .unwrap_or_else(|| "closed".into()),
            cart_lines
                .map(|n| format!("open ({n} lines)"))
                .unwrap_or_else(|| "none".into()),
            s.counters.last_receipt
        ),
        format!("offline card payments held {}", amount(s.card_offline())),
    ];
    let mut fields = fields;
    let mut text = text;
    if let Some(c) = cluster {
        let up = c.peers.iter().filter(|p| p.connected).count();
        fields.insert(
            "peers".into(),
            json!(c
                .peers
                .iter()
                .map(|p| json!({"id": p.id.0, "connected": p.connected}))
                .collect::<Vec<_>>()),
        );
        fields.insert("peers_connected".into(), json!(up));
        // Held per origin, read from the journal now (not the runtime's last snapshot).
        let origins: std::collections::BTreeMap<keel_core::ids::TerminalId, u64> =
            match node.replication_heads() {
                Ok(h) => h.into_iter().map(|(t, head)| (t, head.seq)).collect(),
                Err(_) => c.origins.clone(),
            };
        fields.insert(
            "origins".into(),
            json!(origins
                .iter()
                .map(|(t, s)| (t.0.to_string(), json!(s)))
                .collect::<serde_json::Map<_, _>>()),
        );
        text.push(format!(
            "peers {up} of {} connected; held per origin: {}",
            c.peers.len(),
            origins
                .iter()
                .map(|(t, s)| format!("{t}:{s}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let leader = c.raft.as_ref().and_then(|r| r.leader);
        fields.insert("leader".into(), json!(leader));
        text.push(format!(
            "leader {}",
            leader
                .map(|l| format!("T{l:02}"))
                .unwrap_or_else(|| "none known".into())
        ));
    }
    if let Some(u) = uplink {
        let (f, line) = super::cloud::status_line(node, cluster, u);
        fields.extend(f);
        text.push(line);
    }
    Reply::ok(fields, text)
}

/// `peers`.
pub fn peers(c: &ClusterStatus) -> Reply {
    let mut text = vec![format!(
        "listening on {}",
        c.listen
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into())
    )];
    for p in &c.peers {
        text.push(format!(
            "{:<4} {:<22} {:<12} last seen {:>7}  lag {}",
            p.id.to_string(),
            p.addr
                .map(|a| a.to_string())
                .unwrap_or_else(|| "unknown".into()),
            if p.connected {
                "connected"
            } else {
                "disconnected"
            },
            p.last_seen_ms
                .map(|m| format!("{m} ms"))
                .unwrap_or_else(|| "never".into()),
            p.lag.map(|l| l.to_string()).unwrap_or_else(|| "?".into())
        ));
    }
    if c.mdns {
        let seen: Vec<String> = c
            .discovered
            .iter()
            .map(|(t, (a, fw))| format!("{t} at {a} (firmware {fw})"))
            .collect();
        text.push(format!(
            "mDNS: {}",
            if seen.is_empty() {
                "nothing seen yet".to_string()
            } else {
                seen.join(", ")
            }
        ));
    }
    for r in c.refusals.iter().rev().take(5) {
        text.push(format!("refused: {r}"));
    }
    let list: Vec<Value> = c
        .peers
        .iter()
        .map(|p| json!({"id": p.id.0, "addr": p.addr.map(|a| a.to_string()), "connected": p.connected, "last_seen_ms": p.last_seen_ms, "lag": p.lag}))
        .collect();
    let discovered: Vec<Value> = c
        .discovered
        .iter()
        .map(|(t, (a, fw))| json!({"id": t.0, "addr": a.to_string(), "firmware": fw}))
        .collect();
    Reply::ok(
        fields! { "peers" => list, "listen" => c.listen.map(|a| a.to_string()), "refusals" => c.refusals, "mdns" => c.mdns, "discovered" => discovered },
        text,
    )
}

/// `catalog list [query]`.
pub fn catalog(node: &Node, query: &str) -> Reply {
    let items = node.state.catalog.search(query);
    let mut text = Vec::new();
    let mut list = Vec::new();
    for i in &items {
        let stock = node.state.stock.get(&i.sku).copied().unwrap_or(0);
        let per = if i.sold_by == SoldBy::Weight {
            "/kg"
        } else {
            ""
        };
        text.push(format!(
            "{:<14} {:<26} {:>8}{per} {}{}",
            i.sku.0,
            i.name,
            amount(i.price),
            i.barcodes.first().cloned().unwrap_or_default(),
            if i.active { "" } else { " (inactive)" }
        ));
        list.push(json!({
            "sku": i.sku.0, "name": i.name, "category": i.category, "price": amount(i.price),
            "barcodes": i.barcodes, "tax_class": i.tax_class, "sold_by": if i.sold_by == SoldBy::Weight { "weight" } else { "unit" },
            "active": i.active, "kitchen_station": i.kitchen_station, "stock": stock,
        }));
    }
    if text.is_empty() {
        text.push("no items".into());
    }
    Reply::ok(fields! { "items" => list }, text)
}

/// `stock [sku]`.
pub fn stock(node: &Node, sku: Option<&str>) -> Reply {
    let rows: Vec<(String, i64)> = node
        .state
        .stock
        .iter()
        .filter(|(k, _)| sku.is_none_or(|s| k.0.eq_ignore_ascii_case(s)))
        .map(|(k, v)| (k.0.clone(), *v))
        .collect();
    let text = if rows.is_empty() {
        vec!["no stock records".into()]
    } else {
        rows.iter().map(|(k, v)| format!("{k:<16} {v}")).collect()
    };
    Reply::ok(
        fields! { "stock" => rows.iter().map(|(k, v)| json!({"sku": k, "on_hand": v})).collect::<Vec<_>>() },
        text,
    )
}

/// The cart after an edit (or an error if pricing fails).
pub fn cart_after_edit(node: &Node) -> Reply {
    match keel_core::engine::Engine::new(&node.profile, &node.state).priced() {
        Ok(p) => cart(node, &p),
        Err(e) => Reply::err(e),
    }
}

/// `sale show`.
pub fn cart(node: &Node, p: &PricedCart) -> Reply {
    let cart = node.state.cart.as_ref();
    let mut text = Vec::new();
    let mut lines = Vec::new();
    if let Some(c) = cart {
        for l in &c.lines {
            let priced = p.lines.iter().find(|x| x.line_no == l.line_no);
            let amt = priced
                .map(|x| amount(x.amount))
                .unwrap_or_else(|| "void".into());
            text.push(format!(
                "{:>3} {:<26} {:>9} {:>10}",
                l.line_no,
                l.name,
                qty_text(l.qty, l.sold_by),
                amt
            ));
            lines.push(json!({
                "line": l.line_no, "sku": l.sku.0, "name": l.name, "qty": l.qty,
                "unit_price": amount(priced.map(|x| x.unit_price).unwrap_or(l.unit_price)),
                "discount": priced.map(|x| amount(x.discount)), "amount": priced.map(|x| amount(x.amount)),
                "voided": l.voided,
            }));
        }
    }
    text.push(format!(
        "subtotal {}  tax {}  total {}",
        amount(p.subtotal),
        amount(p.taxes.total_tax),
        amount(p.total)
    ));
    if p.discount_total.minor > 0 {
        text.push(format!("discounts {}", amount(p.discount_total)));
    }
    if p.cash_remaining != p.remaining {
        text.push(format!(
            "due in cash {} (rounded to the cash step)",
            amount(p.cash_remaining)
        ));
    }
    if p.cash_paid.minor > 0 || p.card_paid.minor > 0 {
        text.push(format!(
            "paid {} (cash {}, card {})  due {}  remaining {}  change {}",
            amount(Money::new(
                p.cash_paid.minor + p.card_paid.minor,
                p.total.currency
            )),
            amount(p.cash_paid),
            amount(p.card_paid),
            amount(p.due),
            amount(p.remaining),
            amount(p.change)
        ));
    }
    Reply::ok(
        fields! {
            "lines" => lines, "subtotal" => amount(p.subtotal), "discount" => amount(p.discount_total), "tax" => amount(p.taxes.total_tax),
            "total" => amount(p.total), "due" => amount(p.due), "cash_paid" => amount(p.cash_paid), "card_paid" => amount(p.card_paid),
            "remaining" => amount(p.remaining), "cash_remaining" => amount(p.cash_remaining), "change" => amount(p.change), "covered" => p.is_covered(),
        },
        text,
    )
}

fn receipt_json(r: &Receipt) -> Value {
    json!({
        "receipt": r.receipt_no.0, "terminal": r.terminal.to_string(), "store": r.store.0, "cashier": r.cashier.0,
        "time": format_utc(r.time_ms), "time_ms": r.time_ms, "seq": r.seq, "verification": r.verification_code,
        "lines": r.lines.iter().map(|l| json!({"line": l.line_no, "name": l.name, "qty": l.qty, "unit_price": amount(l.unit_price), "discount": amount(l.discount), "amount": amount(l.amount), "tax": l.tax_label, "override": l.override_reason})).collect::<Vec<_>>(),
        "subtotal": amount(r.subtotal), "discount": amount(r.discount_total), "tax": amount(r.tax_total), "total": amount(r.total),
        "rounding": amount(r.rounding),
        "taxes": r.taxes.iter().map(|t| json!({"label": t.label, "rate_bp": t.rate_bp, "net": amount(t.net), "tax": amount(t.tax), "gross": amount(t.gross)})).collect::<Vec<_>>(),
        "tenders": r.tenders.iter().map(|t| json!({"kind": t.kind, "amount": amount(t.amount), "detail": t.detail})).collect::<Vec<_>>(),
        "change": amount(r.change), "voided": r.voided,
    })
}

/// The reply to a completed sale.
pub fn completed(r: &Receipt) -> Reply {
    let mut fields = serde_json::Map::new();
    if let Value::Object(m) = receipt_json(r) {
        fields = m;
    }
    let mut text = vec![format!(
        "sale complete: receipt {} total {} change {} verify {}",
        r.receipt_no,
        amount(r.total),
        amount(r.change),
        r.verification_code
    )];
    text.extend(r.render_text(CONSOLE_WIDTH));
    Reply::ok(fields, text)
}

/// `receipt show`.
pub fn receipt(r: &Receipt, refunds: &[RefundRecord]) -> Reply {
    let mut fields = serde_json::Map::new();
    if let Value::Object(m) = receipt_json(r) {
        fields = m;
    }
    fields.insert(
        "refunds".into(),
        json!(refunds.iter().map(|x| json!({"amount": amount(x.total), "lines": x.lines.iter().map(|l| json!({"line": l.line_no, "qty": l.qty, "amount": amount(l.amount)})).collect::<Vec<_>>()})).collect::<Vec<_>>()),
    );
    let mut text = r.render_text(CONSOLE_WIDTH);
    for x in refunds {
        text.push(format!(
            "refund {} ({})",
            amount(x.total),
            x.lines
                .iter()
                .map(|l| format!("line {} x{}", l.line_no, l.qty))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Reply::ok(fields, text)
}

/// `report x`, `report z`, `shift close`.
pub fn report(r: &ShiftReport) -> Reply {
    let t = &r.totals;
    let title = match r.z_no {
        Some(z) => format!("Z REPORT {z} (shift {})", r.shift_no),
        None => format!("X REPORT (shift {}, still open)", r.shift_no),
    };
    let mut text = vec![
        title,
        format!(
            "opened {} by {}, reported {} by {}",
            format_utc(r.opened_ms),
            r.opened_by,
            format_utc(r.reported_ms),
            r.reported_by
        ),
        format!(
            "sales {}  total {}  net {}",
            t.sales_count,
            amount(t.sales_total),
            amount(t.net_sales())
        ),
    ];
    for (k, v) in &t.tenders {
        text.push(format!("  tender {k:<8} {}", amount(*v)));
    }
    for (k, v) in &t.taxes {
        text.push(format!(
            "  tax {k:<10} {}%  net {}  tax {}",
            format_minor(i64::from(v.rate_bp), 2),
            amount(v.net),
            amount(v.tax)
        ));
    }
    text.push(format!(
        "voids {} ({})  refunds {} ({})  discounts {}  overrides {}  no-sales {}",
        t.voids_count,
        amount(t.voids_total),
        t.refunds_count,
        amount(t.refunds_total),
        amount(t.discounts_total),
        t.overrides_count,
        t.no_sales
    ));
    text.push(format!(
        "float {}  cash in {}  cash out {}  paid back {}  expected cash {}",
        amount(r.float),
        amount(t.cash_in),
        amount(t.cash_out),
        amount(t.cash_paid_back),
        amount(r.expected_cash)
    ));
    if let (Some(c), Some(o)) = (r.counted_cash, r.over_short) {
        text.push(format!("counted {}  over/short {}", amount(c), amount(o)));
    }
    let fields = fields! {
        "z" => r.z_no, "shift" => r.shift_no, "opened_by" => r.opened_by.0, "reported_by" => r.reported_by.0,
        "opened_ms" => r.opened_ms, "reported_ms" => r.reported_ms,
        "sales_count" => t.sales_count, "sales_total" => amount(t.sales_total), "net_sales" => amount(t.net_sales()),
        "tenders" => t.tenders.iter().map(|(k, v)| (k.clone(), json!(amount(*v)))).collect::<serde_json::Map<_, _>>(),
        "taxes" => t.taxes.iter().map(|(k, v)| (k.clone(), json!({"rate_bp": v.rate_bp, "net": amount(v.net), "tax": amount(v.tax)}))).collect::<serde_json::Map<_, _>>(),
        "voids" => t.voids_count, "voids_total" => amount(t.voids_total), "refunds" => t.refunds_count, "refunds_total" => amount(t.refunds_total),
        "discounts_total" => amount(t.discounts_total), "overrides" => t.overrides_count, "no_sales" => t.no_sales,
        "float" => amount(r.float), "cash_in" => amount(t.cash_in), "cash_out" => amount(t.cash_out), "cash_paid_back" => amount(t.cash_paid_back),
        "rounding_total" => amount(t.rounding_total),
        "expected_cash" => amount(r.expected_cash), "counted_cash" => r.counted_cash.map(amount), "over_short" => r.over_short.map(amount),
        "first_receipt" => t.first_receipt.map(|x| x.0), "last_receipt" => t.last_receipt.map(|x| x.0),
    };
    Reply::ok(fields, text)
}

/// `journal tail`.
pub fn journal_tail(events: &[StoredEvent]) -> Reply {
    let text = events
        .iter()
        .map(|e| {
            format!(
                "{:>8} {} {:<18} {}",
                e.event.dot.seq,
                format_utc(e.event.hlc.wall_ms),
                e.event.body.kind(),
                &e.hash.hex()[..16]
            )
        })
        .collect();
    let list: Vec<Value> = events
        .iter()
        .map(|e| json!({"seq": e.event.dot.seq, "time_ms": e.event.hlc.wall_ms, "kind": e.event.body.kind(), "hash": e.hash.hex(), "prev": e.event.prev.hex()}))
        .collect();
    Reply::ok(fields! { "events" => list }, text)
}

/// `kitchen list`.
pub fn kitchen(node: &Node, now_ms: u64) -> Reply {
    let open: Vec<_> = node
        .state
        .kitchen
        .values()
        .filter(|t| t.is_open())
        .collect();
    let mut text: Vec<String> = open
        .iter()
        .map(|t| {
            let age = now_ms.saturating_sub(t.created_ms) / 1000;
            let items = t
                .items
                .iter()
                .map(|i| format!("{}x {}", i.qty, i.name))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{:<8} {:<8} {:<9} {:>4}s  receipt {}  {items}",
                t.id.to_string(),
                t.station,
                t.status.as_str(),
                age,
                t.receipt_no
            )
        })
        .collect();
    if text.is_empty() {
        text.push("no open tickets".into());
    }
    let list: Vec<Value> = open
        .iter()
        .map(|t| json!({"ticket": t.id.to_string(), "station": t.station, "status": t.status.as_str(), "receipt": t.receipt_no.0, "age_s": now_ms.saturating_sub(t.created_ms) / 1000, "recalled": t.recalls > t.dismissed_recalls, "items": t.items.iter().map(|i| json!({"name": i.name, "qty": i.qty})).collect::<Vec<_>>()}))
        .collect();
    Reply::ok(fields! { "tickets" => list }, text)
}
