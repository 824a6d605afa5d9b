//! The receipt model: everything a printer, a screen or the console shows for a
//! completed sale, independent of any device. Built from the journaled sale and
//! its record hash (which yields the verification code). Layout for ESC/POS
//! printers belongs to the devices crate; here is only a plain-text rendering.

use crate::catalog::SoldBy;
use crate::chain::{verification_code, ChainHash};
use crate::ids::{ReceiptNo, StoreId, TerminalId, UserId};
use crate::money::{format_minor, Money};
use crate::profile::StoreProfile;
use crate::sale::Sale;
use crate::tax::{TaxLine, TaxMode};
use crate::tender::Tender;
use serde::{Deserialize, Serialize};

/// One line as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    /// Line number.
    pub line_no: u32,
    /// Item name.
    pub name: String,
    /// Quantity as printed ("2", "0.350 kg").
    pub qty: String,
    /// Unit price charged (per unit or per kg).
    pub unit_price: Money,
    /// Discount on the line (positive).
    pub discount: Money,
    /// Amount charged.
    pub amount: Money,
    /// Tax label of the line's rate.
    pub tax_label: String,
    /// Override reason, if the price was overridden.
    pub override_reason: Option<String>,
}

/// One tender as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTender {
    /// "cash" or "card".
    pub kind: String,
    /// Amount.
    pub amount: Money,
    /// Card brand and masked number ("VISA ****1234").
    pub detail: Option<String>,
}

/// A receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Store name.
    pub store_name: String,
    /// Address lines.
    pub address: Vec<String>,
    /// Tax registration number.
    pub tax_id: Option<String>,
    /// Store id.
    pub store: StoreId,
    /// Terminal.
    pub terminal: TerminalId,
    /// Receipt number.
    pub receipt_no: ReceiptNo,
    /// Cashier.
    pub cashier: UserId,
    /// Time of sale (ms since epoch, UTC).
    pub time_ms: u64,
    /// Lines.
    pub lines: Vec<ReceiptLine>,
    /// Sum of line amounts.
    pub subtotal: Money,
    /// Discounts given.
    pub discount_total: Money,
    /// Inclusive or exclusive.
    pub tax_mode: TaxMode,
    /// Tax per rate.
    pub taxes: Vec<TaxLine>,
    /// Total tax.
    pub tax_total: Money,
    /// Total.
    pub total: Money,
    /// Cash rounding.
    pub rounding: Money,
    /// Tenders.
    pub tenders: Vec<ReceiptTender>,
    /// Change.
    pub change: Money,
    /// Journal seq of the sale record.
    pub seq: u64,
    /// Short code from the sale record's hash.
    pub verification_code: String,
    /// Footer line.
    pub footer: Option<String>,
    /// True when the sale was voided afterwards (reprints say so).
    pub voided: bool,
}

impl Receipt {
    /// Builds the receipt of `sale`, journaled as record `seq` with `hash` at `time_ms`.
    pub fn from_sale(
        profile: &StoreProfile,
        sale: &Sale,
        seq: u64,
        hash: &ChainHash,
        time_ms: u64,
    ) -> Receipt {
        let label = |class: &str| {
            profile
                .tax
                .rates
                .iter()
                .find(|r| r.class == class)
                .map(|r| r.label.clone())
                .unwrap_or_default()
        };
        Receipt {
            store_name: profile.store_name.clone(),
            address: profile.address.clone(),
            tax_id: profile.tax_id.clone(),
            store: profile.store.clone(),
            terminal: profile.terminal,
            receipt_no: sale.receipt_no,
            cashier: sale.cashier.clone(),
            time_ms,
            lines: sale
                .lines
                .iter()
                .map(|l| ReceiptLine {
                    line_no: l.line_no,
                    name: l.name.clone(),
                    qty: match l.sold_by {
                        SoldBy::Unit => l.qty.to_string(),
                        SoldBy::Weight => format!("{} kg", format_minor(l.qty, 3)),
                    },
                    unit_price: l.unit_price,
                    discount: l.discount,
                    amount: l.amount,
                    tax_label: label(&l.tax_class),
                    override_reason: l.override_reason.clone(),
                })
                .collect(),
            subtotal: sale.subtotal,
            discount_total: sale.discount_total,
            tax_mode: sale.tax_mode,
            taxes: sale.taxes.clone(),
            tax_total: sale.tax_total,
            total: sale.total,
            rounding: sale.rounding,
            tenders: sale
                .tenders
                .iter()
                .map(|t| ReceiptTender {
                    kind: t.kind().to_string(),
                    amount: t.amount(),
                    detail: match t {
                        Tender::Card(c) => Some(format!("{} ****{}", c.brand, c.last4)),
                        Tender::Cash { .. } => None,
                    },
                })
                .collect(),
            change: sale.change,
            seq,
            verification_code: verification_code(hash),
            footer: profile.receipt_footer.clone(),
            voided: false,
        }
    }

    /// Plain-text rendering, `width` columns (32 for 58 mm paper, 48 for 80 mm).
    pub fn render_text(&self, width: usize) -> Vec<String> {
        let width = width.max(24);
        let mut out = Vec::new();
        let center = |s: &str| {
            let n = s.chars().count();
            if n >= width {
                s.chars().take(width).collect()
            } else {
                format!("{}{}", " ".repeat((width - n) / 2), s)
            }
        };
        let lr = |l: &str, r: &str| {
            let rl = r.chars().count();
            let ll: String = l.chars().take(width.saturating_sub(rl + 1)).collect();
            let pad = width.saturating_sub(ll.chars().count() + rl);
            format!("{ll}{}{r}", " ".repeat(pad))
        };
        out.push(center(&self.store_name));
        for a in &self.address {
            out.push(center(a));
        }
        if let Some(t) = &self.tax_id {
            out.push(center(&format!("Tax ID {t}")));
        }
        if self.voided {
            out.push(center("*** VOIDED ***"));
        }
        out.push("-".repeat(width));
        for l in &self.lines {
            out.push(lr(
                &l.name,
                &format!("{} {}", l.amount.amount_text(), l.tax_label),
            ));
            out.push(format!("  {} x {}", l.qty, l.unit_price.amount_text()));
            if l.discount.minor > 0 {
                out.push(lr("  discount", &format!("-{}", l.discount.amount_text())));
            }
            if let Some(r) = &l.override_reason {
                out.push(format!("  price override: {r}"));
            }
        }
        out.push("-".repeat(width));
        out.push(lr("Subtotal", &self.subtotal.amount_text()));
        if self.discount_total.minor > 0 {
            out.push(lr(
                "Discounts",
                &format!("-{}", self.discount_total.amount_text()),
            ));
        }
        for t in &self.taxes {
            let what = match self.tax_mode {
                TaxMode::Inclusive => "incl.",
                TaxMode::Exclusive => "+",
            };
            out.push(lr(
                &format!(
                    "{} {} {}% of {}",
                    t.label,
                    what,
                    format_minor(i64::from(t.rate_bp), 2),
                    t.net.amount_text()
                ),
                &t.tax.amount_text(),
            ));
        }
        out.push(lr(
            &format!("TOTAL {}", self.total.currency),
            &self.total.amount_text(),
        ));
        if self.rounding.minor != 0 {
            out.push(lr("Cash rounding", &self.rounding.amount_text()));
        }
        for t in &self.tenders {
            let name = match &t.detail {
                Some(d) => format!("{} {}", t.kind, d),
                None => t.kind.clone(),
            };
            out.push(lr(&name, &t.amount.amount_text()));
        }
        if self.change.minor > 0 {
            out.push(lr("Change", &self.change.amount_text()));
        }
        out.push("-".repeat(width));
        out.push(lr(
            &format!("Receipt {}", self.receipt_no),
            &format!("{} {}", self.store, self.terminal),
        ));
        out.push(lr(
            &format!("Cashier {}", self.cashier),
            &format_utc(self.time_ms),
        ));
        out.push(lr("Verify", &self.verification_code));
        if let Some(f) = &self.footer {
            out.push(center(f));
        }
        out
    }
}

/// Formats ms since the Unix epoch as `YYYY-MM-DD HH:MM` UTC.
pub fn format_utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn formats_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(1_795_412_861_000), "2026-11-23 05:47");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00");
    }
}
