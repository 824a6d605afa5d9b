//! The encoder against writers that fail (a printer unplugged mid-job), and
//! random command sequences read back through the decoder.

use keel_core::chain::ChainHash;
use keel_core::ids::{ReceiptNo, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::receipt::{Receipt, ReceiptLine, ReceiptTender};
use keel_core::tax::TaxMode;
use keel_devices::escpos::layout::write_receipt;
use keel_devices::escpos::{
    decode, receipt, Align, BarcodeKind, BarcodeOptions, Bitmap, CodePage, CutKind, DrawerPin,
    Encoder, LayoutOptions, QrOptions, TextSize,
};
use proptest::prelude::*;
use std::io::{self, Write};

/// Accepts `limit` bytes, then fails like a vanished serial device.
#[derive(Debug)]
struct DyingWriter {
    limit: usize,
    written: Vec<u8>,
}

impl Write for DyingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit - self.written.len();
        if room == 0 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "printer unplugged",
            ));
        }
        let n = room.min(buf.len());
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.written.len() >= self.limit {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "printer unplugged",
            ));
        }
        Ok(())
    }
}

/// Accepts nothing and reports no error: `write_all` must not spin.
#[derive(Debug)]
struct StuckWriter;

impl Write for StuckWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Ok(0)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn sample_receipt() -> Receipt {
    let eur = |m| Money::new(m, Currency::EUR);
    Receipt {
        store_name: "Keel".into(),
        address: vec!["Hauptstraße 1".into()],
        tax_id: None,
        store: StoreId("s1".into()),
        terminal: TerminalId(1),
        receipt_no: ReceiptNo(7),
        cashier: UserId("ana".into()),
        time_ms: 1_700_000_000_000,
        lines: vec![ReceiptLine {
            line_no: 1,
            name: "Tea".into(),
            qty: "1".into(),
            unit_price: eur(2_50),
            discount: eur(0),
            amount: eur(2_50),
            tax_label: "A".into(),
            override_reason: None,
        }],
        subtotal: eur(2_50),
        discount_total: eur(0),
        tax_mode: TaxMode::Inclusive,
        taxes: vec![],
        tax_total: eur(0),
        total: eur(2_50),
        rounding: eur(0),
        tenders: vec![ReceiptTender {
            kind: "cash".into(),
            amount: eur(5_00),
            detail: None,
        }],
        change: eur(2_50),
        seq: 3,
        verification_code: keel_core::chain::verification_code(&ChainHash::of(b"x")),
        footer: None,
        voided: false,
    }
}

#[test]
fn a_printer_vanishing_mid_receipt_is_an_error_at_every_byte() {
    let r = sample_receipt();
    let opts = LayoutOptions::default().with_kick(DrawerPin::Pin2);
    let full = receipt(&r, &opts);
    for limit in 0..full.len() {
        let mut e = Encoder::new(DyingWriter {
            limit,
            written: Vec::new(),
        });
        let err = write_receipt(&mut e, &r, &opts).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "at {limit}");
        // What reached the printer is exactly the start of the job.
        assert_eq!(e.get_ref().written, full[..limit]);
    }
    let mut e = Encoder::new(DyingWriter {
        limit: full.len(),
        written: Vec::new(),
    });
    write_receipt(&mut e, &r, &opts).unwrap();
    assert_eq!(e.get_ref().written, full);
}

#[test]
fn every_command_reports_a_dead_writer() {
    let dead = || {
        Encoder::new(DyingWriter {
            limit: 0,
            written: Vec::new(),
        })
    };
    let logo = Bitmap::from_art(&["##", "##"]).unwrap();
    let results: Vec<io::Result<()>> = vec![
        dead().initialize().map(drop),
        dead().bold(true).map(drop),
        dead().underline(true).map(drop),
        dead().size(TextSize::DOUBLE).map(drop),
        dead().align(Align::Center).map(drop),
        dead().code_page(CodePage::Cp858).map(drop),
        dead().text("x").map(drop),
        dead().line_feed().map(drop),
        dead().feed(3).map(drop),
        dead().qr("abc", QrOptions::default()).map(drop),
        dead()
            .barcode(
                BarcodeKind::Ean13,
                "400638133393",
                BarcodeOptions::default(),
            )
            .map(drop),
        dead().raster(&logo).map(drop),
        dead().cut(CutKind::Full).map(drop),
        dead().feed_and_cut(CutKind::Partial, 0).map(drop),
        dead().kick(DrawerPin::Pin5, 50, 500).map(drop),
        dead().flush().map(drop),
    ];
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(
            r.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe,
            "command {i}"
        );
    }
}

#[test]
fn a_writer_that_accepts_nothing_is_an_error_not_a_hang() {
    let mut e = Encoder::new(StuckWriter);
    assert_eq!(e.line("x").unwrap_err().kind(), io::ErrorKind::WriteZero);
}

#[test]
fn refused_arguments_name_the_problem() {
    let mut e = Encoder::new(Vec::new());
    let err = e.qr(&"x".repeat(3000), QrOptions::default()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("exceeds"), "{err}");
    let err = e
        .barcode(
            BarcodeKind::Ean13,
            "4006381333932",
            BarcodeOptions::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("check digit"), "{err}");
    assert!(e.get_ref().is_empty());
}

/// Ends the model's current line when anything was printed on it.
fn flush(lines: &mut Vec<String>, cur: &mut String, open: &mut bool) {
    if *open {
        lines.push(std::mem::take(cur));
        *open = false;
    }
}

/// One encoder call in a random job.
#[derive(Clone, Debug)]
enum Op {
    Text(String),
    LineFeed,
    Bold(bool),
    Underline(bool),
    Size(u8, u8),
    Align(u8),
    Page(usize),
    Qr(String),
    Code128(String),
    Cut(bool),
    Kick(bool, u16, u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => "[ -~äöüé€─]{1,12}".prop_map(Op::Text),
        3 => Just(Op::LineFeed),
        1 => any::<bool>().prop_map(Op::Bold),
        1 => any::<bool>().prop_map(Op::Underline),
        1 => (1u8..=8, 1u8..=8).prop_map(|(w, h)| Op::Size(w, h)),
        1 => (0u8..3).prop_map(Op::Align),
        1 => (0usize..3).prop_map(Op::Page),
        1 => "[ -~]{1,30}".prop_map(Op::Qr),
        1 => "[ -~]{1,20}".prop_map(Op::Code128),
        1 => any::<bool>().prop_map(Op::Cut),
        1 => (any::<bool>(), 0u16..=255, 0u16..=255).prop_map(|(p, a, b)| Op::Kick(p, a * 2, b * 2)),
    ]
}

proptest! {
    /// Whatever the sequence, the decoder reads back the same codes, cuts,
    /// kicks, code pages and text lines, and nothing unknown.
    #[test]
    fn random_jobs_decode_to_what_was_sent(ops in prop::collection::vec(op(), 0..40)) {
        let mut e = Encoder::new(Vec::new());
        let (mut lines, mut cur, mut open) = (Vec::<String>::new(), String::new(), false);
        let (mut qrs, mut codes, mut cuts, mut kicks, mut pages) =
            (vec![], vec![], vec![], vec![], vec![]);
        for op in &ops {
            match op {
                Op::Text(t) => {
                    let page = e.active_code_page();
                    cur.extend(t.chars().map(|c| if page.has(c) { c } else { '?' }));
                    open = true;
                    e.text(t).unwrap();
                }
                Op::LineFeed => {
                    lines.push(std::mem::take(&mut cur));
                    open = false;
                    e.line_feed().unwrap();
                }
                Op::Bold(b) => { e.bold(*b).unwrap(); }
                Op::Underline(b) => { e.underline(*b).unwrap(); }
                Op::Size(w, h) => { e.size(TextSize { width: *w, height: *h }).unwrap(); }
                Op::Align(a) => {
                    let a = [Align::Left, Align::Center, Align::Right][usize::from(*a)];
                    e.align(a).unwrap();
                }
                Op::Page(i) => {
                    let p = CodePage::ALL[*i];
                    pages.push(p.esc_t());
                    e.code_page(p).unwrap();
                }
                Op::Qr(q) => {
                    flush(&mut lines, &mut cur, &mut open);
                    qrs.push(q.clone());
                    e.qr(q, QrOptions::default()).unwrap();
                }
                Op::Code128(c) => {
                    flush(&mut lines, &mut cur, &mut open);
                    codes.push((BarcodeKind::Code128, c.clone()));
                    e.barcode(BarcodeKind::Code128, c, BarcodeOptions::default()).unwrap();
                }
                Op::Cut(full) => {
                    flush(&mut lines, &mut cur, &mut open);
                    let k = if *full { CutKind::Full } else { CutKind::Partial };
                    cuts.push(k);
                    e.feed_and_cut(k, 0).unwrap();
                }
                Op::Kick(p5, on, off) => {
                    let pin = if *p5 { DrawerPin::Pin5 } else { DrawerPin::Pin2 };
                    kicks.push((pin, *on, *off));
                    e.kick(pin, *on, *off).unwrap();
                }
            }
        }
        flush(&mut lines, &mut cur, &mut open);
        let d = decode(&e.into_inner()).unwrap();
        prop_assert_eq!(d.unknown, 0);
        prop_assert_eq!(d.texts(), lines.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(d.qr_codes, qrs);
        prop_assert_eq!(d.barcodes, codes);
        prop_assert_eq!(d.cuts, cuts);
        prop_assert_eq!(d.kicks, kicks);
        prop_assert_eq!(d.code_pages, pages);
    }
}
