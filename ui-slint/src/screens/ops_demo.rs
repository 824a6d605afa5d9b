//! Fixed operations data for the café of [`crate::demo`]: an open shift, an
//! X and a Z report, recent receipts with one previewed, customers and the
//! technician's diagnostics. The screenshot tests render them; amounts are
//! EUR minor units with keel-core's text.

use super::ops_view::{
    ChainView, CustomerView, DiagnosticsView, OpsView, PeerView, ReceiptItemView,
    ReceiptSummaryView, ReportView, ShiftView,
};
use crate::view::{MoneyView, ReceiptView, ViewModel};
use keel_core::money::format_minor;

fn eur(minor: i64) -> MoneyView {
    MoneyView::new(minor, format_minor(minor, 2))
}

/// Shift 4, opened with a 100.00 float, 23 sales.
pub fn shift() -> ShiftView {
    ShiftView {
        number: 4,
        opened_by: "u-ana".into(),
        float: eur(10_000),
        expected_cash: eur(24_630),
        sales_count: 23,
    }
}

/// The shift's figures; a Z report when `counted` is given.
pub fn report(counted: Option<i64>) -> ReportView {
    let expected = 24_630;
    ReportView {
        z: counted.map(|_| 12),
        shift: 4,
        sales_count: 23,
        sales_total: eur(21_870),
        tenders: vec![("card".into(), eur(7_240)), ("cash".into(), eur(14_630))],
        taxes: vec![
            ("food 7%".into(), eur(980)),
            ("standard 19%".into(), eur(1_160)),
        ],
        voids: 1,
        refunds: 2,
        discounts: eur(350),
        no_sales: 1,
        float: eur(10_000),
        expected_cash: eur(expected),
        counted_cash: counted.map(eur),
        over_short: counted.map(|c| eur(c - expected)),
    }
}

/// Recent receipts, newest first.
pub fn recent() -> Vec<ReceiptSummaryView> {
    let r = |number, time: &str, total, voided, refunds| ReceiptSummaryView {
        number,
        time_text: time.into(),
        total: eur(total),
        voided,
        refunds,
    };
    vec![
        r(41, "10:42", 940, false, 0),
        r(40, "10:37", 1_067, false, 1),
        r(39, "10:31", 350, true, 0),
        r(38, "10:20", 2_210, false, 0),
        r(37, "10:02", 590, false, 0),
    ]
}

/// The lines of receipt 41.
pub fn items() -> Vec<ReceiptItemView> {
    vec![
        ReceiptItemView {
            line: 1,
            name: "Cappuccino".into(),
            qty_text: "2".into(),
            by_weight: false,
            amount: eur(700),
            refundable: 2,
        },
        ReceiptItemView {
            line: 2,
            name: "Croissant".into(),
            qty_text: "1".into(),
            by_weight: false,
            amount: eur(240),
            refundable: 1,
        },
    ]
}

/// Customers found for "an".
pub fn customers() -> Vec<CustomerView> {
    vec![
        CustomerView {
            id: "C-1001".into(),
            name: "Ana Lima".into(),
            phone: Some("+49 151 2345678".into()),
        },
        CustomerView {
            id: "C-1007".into(),
            name: "Johanna Berg".into(),
            phone: None,
        },
    ]
}

/// A follower of a three-terminal store, cloud unreachable, chain verified.
pub fn diagnostics() -> DiagnosticsView {
    DiagnosticsView {
        firmware: "0.1.0".into(),
        terminal: "T02".into(),
        store_id: "cafe-berlin-1".into(),
        data_dir: "/var/lib/keel".into(),
        journal_last_seq: 1_284,
        journal_head: "9f2c4e1ab37d5508c1e2f3a4b5c6d7e8".into(),
        chain: Some(ChainView {
            ok: true,
            records: 1_284,
            detail: "head 9f2c4e1ab37d5508".into(),
        }),
        cluster: "leader T01, 2/2 peers".into(),
        raft: Some("term 3, follower".into()),
        peers: vec![
            PeerView {
                terminal: "T01".into(),
                addr: Some("192.168.1.21:7400".into()),
                connected: true,
                last_seen_ms: Some(120),
                lag: Some(0),
            },
            PeerView {
                terminal: "T03".into(),
                addr: Some("192.168.1.23:7400".into()),
                connected: false,
                last_seen_ms: Some(48_000),
                lag: Some(12),
            },
        ],
        uplink_state: Some("idle".into()),
        uplink_pending: Some(12),
        last_sync_age_s: Some(340),
        uplink_error: Some("cloud unreachable: connection timed out".into()),
        printer: "ready on /dev/ttyUSB0, 0 waiting, 41 printed".into(),
        scanner: "configured".into(),
        ai_model: "none".into(),
    }
}

/// The operations data with a shift open (what `demo::sale` carries).
pub fn ops() -> OpsView {
    OpsView {
        role: Some("cashier".into()),
        shift: Some(shift()),
        report: None,
        recent_receipts: recent(),
        receipt_items: Vec::new(),
        receipt_voided: false,
        customers: Vec::new(),
        diagnostics: diagnostics(),
    }
}

/// Nobody logged in (the login page), after a wrong PIN.
pub fn logged_out() -> ViewModel {
    let mut v = crate::demo::idle();
    v.user = None;
    v.ops = OpsView::default();
    v.message = Some(crate::view::MessageView {
        kind: crate::view::MessageKind::Error,
        text: "wrong PIN".into(),
    });
    v
}

/// The shift page with the X report.
pub fn x_report() -> ViewModel {
    let mut v = crate::demo::idle();
    v.message = None;
    v.ops.report = Some(report(None));
    v
}

/// The shift page after closing with 245.80 counted: no shift, the Z report.
pub fn z_report() -> ViewModel {
    let mut v = crate::demo::idle();
    v.ops.shift = None;
    v.ops.report = Some(report(Some(24_580)));
    v.message = Some(crate::view::MessageView {
        kind: crate::view::MessageKind::Notice,
        text: "shift 4 closed, Z 12".into(),
    });
    v
}

/// The receipts page with receipt 41 previewed.
pub fn receipts() -> ViewModel {
    let mut v = crate::demo::idle();
    v.message = None;
    v.ops.receipt_items = items();
    v
}

/// The customers page with two results.
pub fn customers_found() -> ViewModel {
    let mut v = crate::demo::idle();
    v.message = None;
    v.ops.customers = customers();
    v
}

/// Receipt 41 as previewed.
pub fn receipt() -> Option<ReceiptView> {
    crate::demo::idle().receipt
}
