//! Catalog import: parsing a CSV or JSON catalog file into [`CatalogItem`]s.
//!
//! This module owns the import file formats, their validation, and the error
//! report shown to the operator. Imports are all-or-nothing: every row is
//! checked, *all* problems are collected into [`ImportErrors`], and if there is
//! any problem no item is returned. It must not read files, touch the catalog
//! itself or panic on any input; callers pass the file's text in and upsert
//! the returned items.
//!
//! # Fields
//!
//! | field             | required | meaning                                                        |
//! |-------------------|----------|----------------------------------------------------------------|
//! | `sku`             | yes      | non-empty, no whitespace, unique in the file                   |
//! | `barcodes`        | no       | CSV: separated by `;` or a pipe; JSON: array of strings        |
//! | `name`            | yes      | non-empty                                                      |
//! | `category`        | no       | default `General`                                              |
//! | `price`           | yes      | decimal text in the store currency, e.g. `"12.50"`, not negative |
//! | `tax_class`       | yes      | non-empty                                                      |
//! | `sold_by`         | no       | `unit` (default) or `weight` (price is then per kilogram)      |
//! | `active`          | no       | `true/false/1/0/yes/no`, default true                          |
//! | `kitchen_station` | no       | empty or absent = none                                         |
//!
//! Every barcode must be a valid EAN-13, EAN-8 or UPC-A (see [`crate::barcode`])
//! and unique across the file (a UPC-A and its 0-prefixed EAN-13 are the same
//! code). An in-store price/weight code must be given in its zero-value key
//! form ([`crate::barcode::Barcode::embedded_lookup_key`]), and a
//! weight-embedded code only on an item sold by weight.
//!
//! # CSV
//!
//! RFC 4180: a header row naming the columns (any order, case-insensitive,
//! unknown or repeated columns are errors), `,` separators, double-quoted fields
//! that may contain `,`, newlines and doubled `""` quotes, LF or CRLF line ends.
//! Blank lines are skipped and a leading UTF-8 BOM is ignored. Errors carry the
//! 1-based *line number* where the record starts (the header is line 1).
//!
//! # JSON
//!
//! Either an array of item objects or `{"items": [...]}`. Unknown fields are
//! errors. Prices must be strings, because JSON numbers are binary floats and
//! `12` is ambiguous between units and cents; a JSON integer is accepted only
//! for currencies without decimals (IDR, JPY, ...). Errors carry the 1-based
//! position of the item in the array.

use crate::barcode::{classify_with, Barcode, EmbeddedLayout};
use crate::catalog::{CatalogItem, SoldBy};
use crate::ids::Sku;
use crate::money::{Currency, Money};
use core::fmt;
use serde_json::Value;
use std::collections::BTreeMap;
use thiserror::Error;

/// Columns / fields an import may carry, in canonical order.
pub const FIELDS: [&str; 9] = [
    "sku",
    "barcodes",
    "name",
    "category",
    "price",
    "tax_class",
    "sold_by",
    "active",
    "kitchen_station",
];

/// Fields every row must carry.
const REQUIRED: [&str; 4] = ["sku", "name", "price", "tax_class"];

/// Category given to items whose category is empty or absent.
pub const DEFAULT_CATEGORY: &str = "General";

/// One problem found in an import file.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}", render_row_error(self))]
pub struct RowError {
    /// CSV: 1-based line number where the record starts (header = line 1).
    /// JSON: 1-based position of the item in the array. 0 = the file as a whole.
    pub row: usize,
    /// The column / field concerned, if the problem is with one field.
    pub field: Option<String>,
    /// What is wrong, for the operator.
    pub message: String,
}

fn render_row_error(e: &RowError) -> String {
    let place = if e.row == 0 {
        "file".to_string()
    } else {
        format!("row {}", e.row)
    };
    match &e.field {
        Some(f) => format!("{place}, {f}: {}", e.message),
        None => format!("{place}: {}", e.message),
    }
}

/// Every problem found in an import file; nothing was imported.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub struct ImportErrors {
    /// The problems, in file order.
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "catalog import rejected, nothing imported: {n} error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl ImportErrors {
    fn single(row: usize, field: Option<&str>, message: impl Into<String>) -> ImportErrors {
        ImportErrors {
            errors: vec![RowError {
                row,
                field: field.map(str::to_string),
                message: message.into(),
            }],
        }
    }
}

/// Parses a CSV catalog with the default in-store barcode layout.
pub fn parse_csv(text: &str, currency: Currency) -> Result<Vec<CatalogItem>, ImportErrors> {
    parse_csv_with(text, currency, &EmbeddedLayout::default())
}

/// Parses a JSON catalog with the default in-store barcode layout.
pub fn parse_json(text: &str, currency: Currency) -> Result<Vec<CatalogItem>, ImportErrors> {
    parse_json_with(text, currency, &EmbeddedLayout::default())
}

/// Parses a CSV or JSON catalog with the default in-store barcode layout,
/// choosing the format by `path_hint`'s extension (`.csv` / `.json`) or, failing
/// that, by content: JSON if the first non-blank character is `[` or `{`.
pub fn parse_auto(
    path_hint: &str,
    text: &str,
    currency: Currency,
) -> Result<Vec<CatalogItem>, ImportErrors> {
    parse_auto_with(path_hint, text, currency, &EmbeddedLayout::default())
}

/// The format [`parse_auto`] would pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of items or `{"items": [...]}`.
    Json,
}

/// Picks the format by extension, else by sniffing the content.
pub fn detect_format(path_hint: &str, text: &str) -> Format {
    let lower = path_hint.trim().to_ascii_lowercase();
    if lower.ends_with(".json") {
        return Format::Json;
    }
    if lower.ends_with(".csv") {
        return Format::Csv;
    }
    match strip_bom(text).trim_start().chars().next() {
        Some('[') | Some('{') => Format::Json,
        _ => Format::Csv,
    }
}

/// [`parse_auto`] with an explicit in-store barcode layout.
pub fn parse_auto_with(
    path_hint: &str,
    text: &str,
    currency: Currency,
    layout: &EmbeddedLayout,
) -> Result<Vec<CatalogItem>, ImportErrors> {
    match detect_format(path_hint, text) {
        Format::Json => parse_json_with(text, currency, layout),
        Format::Csv => parse_csv_with(text, currency, layout),
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

// ---------------------------------------------------------------------------
// Shared row validation
// ---------------------------------------------------------------------------

/// A row's fields as text, before validation. `None` = absent.
#[derive(Default)]
struct RawRow {
    sku: Option<String>,
    barcodes: Vec<String>,
    name: Option<String>,
    category: Option<String>,
    price: Option<String>,
    tax_class: Option<String>,
    sold_by: Option<String>,
    active: Option<String>,
    kitchen_station: Option<String>,
}

/// Cross-row state: SKUs and barcodes seen so far, with the row that used them.
struct Seen {
    skus: BTreeMap<String, usize>,
    barcodes: BTreeMap<String, (usize, String)>,
}

struct Validator<'a> {
    currency: Currency,
    layout: &'a EmbeddedLayout,
    seen: Seen,
    errors: Vec<RowError>,
    items: Vec<CatalogItem>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl<'a> Validator<'a> {
    fn new(currency: Currency, layout: &'a EmbeddedLayout) -> Self {
        Validator {
            currency,
            layout,
            seen: Seen {
                skus: BTreeMap::new(),
                barcodes: BTreeMap::new(),
            },
            errors: Vec::new(),
            items: Vec::new(),
        }
    }

    fn err(&mut self, row: usize, field: Option<&str>, message: impl Into<String>) {
        self.errors.push(RowError {
            row,
            field: field.map(str::to_string),
            message: message.into(),
        });
    }

    /// Reports a missing required field unless that field already has an error
    /// on this row (e.g. a JSON value of the wrong type).
    fn required(&mut self, row: usize, field: &str) {
        let already = self
            .errors
            .iter()
            .rev()
            .take_while(|e| e.row == row)
            .any(|e| e.field.as_deref() == Some(field));
        if !already {
            self.err(row, Some(field), "required, must not be empty");
        }
    }

    fn finish(self) -> Result<Vec<CatalogItem>, ImportErrors> {
        if self.errors.is_empty() {
            Ok(self.items)
        } else {
            Err(ImportErrors {
                errors: self.errors,
            })
        }
    }

    fn row(&mut self, row: usize, raw: RawRow) {
        let before = self.errors.len();

        let sku = match non_empty(&raw.sku) {
            None => {
                self.required(row, "sku");
                None
            }
            Some(s) if s.chars().any(char::is_whitespace) => {
                self.err(
                    row,
                    Some("sku"),
                    format!("{s:?} must not contain whitespace"),
                );
                None
            }
            Some(s) => match self.seen.skus.get(s) {
                Some(first) => {
                    let msg = format!("duplicate SKU {s:?}, already defined on row {first}");
                    self.err(row, Some("sku"), msg);
                    None
                }
                None => {
                    self.seen.skus.insert(s.to_string(), row);
                    Some(s.to_string())
                }
            },
        };

        let name = non_empty(&raw.name).map(str::to_string);
        if name.is_none() {
            self.required(row, "name");
        }
        let category = non_empty(&raw.category)
            .unwrap_or(DEFAULT_CATEGORY)
            .to_string();

        let price = match non_empty(&raw.price) {
            None => {
                self.required(row, "price");
                None
            }
            Some(p) => match Money::parse_non_negative(p, self.currency) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.err(row, Some("price"), format!("{e} ({})", self.currency));
                    None
                }
            },
        };

        let tax_class = non_empty(&raw.tax_class).map(str::to_string);
        if tax_class.is_none() {
            self.required(row, "tax_class");
        }

        let sold_by = match non_empty(&raw.sold_by)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("unit") => Some(SoldBy::Unit),
            Some("weight") => Some(SoldBy::Weight),
            Some(other) => {
                self.err(
                    row,
                    Some("sold_by"),
                    format!("{other:?} is not \"unit\" or \"weight\""),
                );
                None
            }
        };

        let active = match non_empty(&raw.active)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("true") | Some("1") | Some("yes") => true,
            Some("false") | Some("0") | Some("no") => false,
            Some(other) => {
                self.err(
                    row,
                    Some("active"),
                    format!("{other:?} is not one of true/false/1/0/yes/no"),
                );
                true
            }
        };

        let kitchen_station = non_empty(&raw.kitchen_station).map(str::to_string);

        let mut barcodes = Vec::new();
        for code in raw
            .barcodes
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
        {
            let parsed = match classify_with(code, self.layout) {
                Ok(b) => b,
                Err(e) => {
                    self.err(row, Some("barcodes"), format!("{code:?}: {e}"));
                    continue;
                }
            };
            match &parsed {
                Barcode::Product { .. } => {}
                Barcode::PriceEmbedded { .. } | Barcode::WeightEmbedded { .. } => {
                    let key = parsed.embedded_lookup_key();
                    if key != code {
                        let msg = format!(
                            "{code:?} is an in-store price/weight code with a non-zero value; store it as {key:?}"
                        );
                        self.err(row, Some("barcodes"), msg);
                        continue;
                    }
                    if matches!(parsed, Barcode::WeightEmbedded { .. })
                        && sold_by == Some(SoldBy::Unit)
                    {
                        let msg = format!(
                            "{code:?} is a weight-embedded code but the item is sold by unit"
                        );
                        self.err(row, Some("barcodes"), msg);
                        continue;
                    }
                }
            }
            let canonical = parsed.canonical_key();
            if let Some((first_row, first_code)) = self.seen.barcodes.get(&canonical) {
                let msg = if first_code == code {
                    format!("duplicate barcode {code:?}, already used on row {first_row}")
                } else {
                    format!("duplicate barcode {code:?}, same as {first_code:?} on row {first_row}")
                };
                self.err(row, Some("barcodes"), msg);
                continue;
            }
            self.seen
                .barcodes
                .insert(canonical, (row, code.to_string()));
            barcodes.push(code.to_string());
        }

        if self.errors.len() != before {
            return;
        }
        if let (Some(sku), Some(name), Some(price), Some(tax_class), Some(sold_by)) =
            (sku, name, price, tax_class, sold_by)
        {
            self.items.push(CatalogItem {
                sku: Sku(sku),
                barcodes,
                name,
                category,
                price,
                tax_class,
                sold_by,
                active,
                kitchen_station,
            });
        }
    }
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// One CSV record: its starting line, its fields, and a syntax error if any.
struct Record {
    line: usize,
    fields: Vec<String>,
    error: Option<String>,
    /// Whether any field was quoted (so `""` alone is not a blank line).
    quoted: bool,
}

impl Record {
    fn is_blank(&self) -> bool {
        self.error.is_none()
            && !self.quoted
            && self.fields.len() == 1
            && self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// Splits CSV text into records per RFC 4180 (tolerating LF-only and lone CR line ends).
fn csv_records(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    while chars.peek().is_some() {
        let mut rec = Record {
            line,
            fields: Vec::new(),
            error: None,
            quoted: false,
        };
        let mut field = String::new();
        let mut saw_quote = false;
        loop {
            match chars.next() {
                None => {
                    rec.fields.push(core::mem::take(&mut field));
                    break;
                }
                Some('\r') | Some('\n') => {
                    // Treat CRLF, LF and lone CR each as one line end.
                    if let Some('\n') = chars.peek() {
                        let _ = chars.next();
                    }
                    line += 1;
                    rec.fields.push(core::mem::take(&mut field));
                    break;
                }
                Some(',') => rec.fields.push(core::mem::take(&mut field)),
                Some('"') if field.is_empty() => {
                    saw_quote = true;
                    let start_line = line;
                    // Quoted field: read until a lone closing quote.
                    let mut closed = false;
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => {
                                if let Some('"') = chars.peek() {
                                    let _ = chars.next();
                                    field.push('"');
                                } else {
                                    closed = true;
                                    break;
                                }
                            }
                            '\r' => {
                                if let Some('\n') = chars.peek() {
                                    let _ = chars.next();
                                    field.push('\r');
                                    field.push('\n');
                                } else {
                                    field.push('\r');
                                }
                                line += 1;
                            }
                            '\n' => {
                                line += 1;
                                field.push('\n');
                            }
                            c => field.push(c),
                        }
                    }
                    if !closed {
                        rec.error.get_or_insert(format!(
                            "quoted field opened on line {start_line} is never closed (missing '\"')"
                        ));
                        rec.fields.push(core::mem::take(&mut field));
                        break;
                    }
                    // After the closing quote only a separator or line end may follow.
                    match chars.peek() {
                        None | Some(',') | Some('\r') | Some('\n') => {}
                        Some(c) => {
                            let c = *c;
                            rec.error.get_or_insert(format!(
                                "unexpected {c:?} after a closing quote (inside quotes write \"\" for a quote)"
                            ));
                            // Keep the rest of the field so the record stays aligned.
                        }
                    }
                    // Stray text after the closing quote (already reported) joins the field.
                    while let Some(&c) = chars.peek() {
                        if c == ',' || c == '\r' || c == '\n' {
                            break;
                        }
                        field.push(c);
                        let _ = chars.next();
                    }
                }
                Some('"') => {
                    rec.error.get_or_insert(
                        "'\"' inside an unquoted field; quote the whole field and double the quote (\"\")"
                            .to_string(),
                    );
                    field.push('"');
                }
                Some(c) => field.push(c),
            }
        }
        rec.quoted = saw_quote;
        records.push(rec);
    }
    records
}

/// [`parse_csv`] with an explicit in-store barcode layout.
pub fn parse_csv_with(
    text: &str,
    currency: Currency,
    layout: &EmbeddedLayout,
) -> Result<Vec<CatalogItem>, ImportErrors> {
    let mut records = csv_records(strip_bom(text))
        .into_iter()
        .filter(|r| !r.is_blank());
    let header = match records.next() {
        Some(h) => h,
        None => {
            return Err(ImportErrors::single(
                0,
                None,
                "empty file: expected a header row and item rows",
            ))
        }
    };
    if let Some(e) = header.error {
        return Err(ImportErrors::single(
            header.line,
            None,
            format!("header: {e}"),
        ));
    }

    // Map header columns to fields.
    let mut header_errors = Vec::new();
    let mut columns: Vec<&'static str> = Vec::new();
    for name in &header.fields {
        let norm = name.trim().to_ascii_lowercase();
        match FIELDS.iter().find(|f| **f == norm) {
            Some(f) if columns.contains(f) => header_errors.push(RowError {
                row: header.line,
                field: Some(norm.clone()),
                message: "column appears more than once in the header".to_string(),
            }),
            Some(f) => columns.push(f),
            None => {
                header_errors.push(RowError {
                    row: header.line,
                    field: Some(name.trim().to_string()),
                    message: format!("unknown column (known: {})", FIELDS.join(", ")),
                });
                columns.push("");
            }
        }
    }
    for req in REQUIRED {
        if !columns.contains(&req) {
            header_errors.push(RowError {
                row: header.line,
                field: Some(req.to_string()),
                message: "required column missing from the header".to_string(),
            });
        }
    }
    if !header_errors.is_empty() {
        return Err(ImportErrors {
            errors: header_errors,
        });
    }

    let mut v = Validator::new(currency, layout);
    let mut any_row = false;
    for rec in records {
        any_row = true;
        if let Some(e) = rec.error {
            v.err(rec.line, None, e);
            continue;
        }
        if rec.fields.len() != columns.len() {
            v.err(
                rec.line,
                None,
                format!(
                    "expected {} fields, found {}",
                    columns.len(),
                    rec.fields.len()
                ),
            );
            continue;
        }
        let mut raw = RawRow::default();
        for (col, value) in columns.iter().zip(rec.fields) {
            match *col {
                "sku" => raw.sku = Some(value),
                "barcodes" => {
                    raw.barcodes = value.split(['|', ';']).map(str::to_string).collect();
                }
                "name" => raw.name = Some(value),
                "category" => raw.category = Some(value),
                "price" => raw.price = Some(value),
                "tax_class" => raw.tax_class = Some(value),
                "sold_by" => raw.sold_by = Some(value),
                "active" => raw.active = Some(value),
                "kitchen_station" => raw.kitchen_station = Some(value),
                _ => {}
            }
        }
        v.row(rec.line, raw);
    }
    if !any_row && v.errors.is_empty() {
        return Err(ImportErrors::single(
            0,
            None,
            "no item rows after the header",
        ));
    }
    v.finish()
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

/// [`parse_json`] with an explicit in-store barcode layout.
pub fn parse_json_with(
    text: &str,
    currency: Currency,
    layout: &EmbeddedLayout,
) -> Result<Vec<CatalogItem>, ImportErrors> {
    let value: Value = serde_json::from_str(strip_bom(text))
        .map_err(|e| ImportErrors::single(0, None, format!("not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => {
            let extra: Vec<String> = map
                .keys()
                .filter(|k| k.as_str() != "items")
                .cloned()
                .collect();
            if !extra.is_empty() {
                let msg = format!(
                    "unknown top-level field(s) {} (expected only \"items\")",
                    extra.join(", ")
                );
                return Err(ImportErrors::single(0, None, msg));
            }
            match map.remove("items") {
                Some(Value::Array(items)) => items,
                Some(_) => {
                    return Err(ImportErrors::single(
                        0,
                        Some("items"),
                        "must be an array of item objects",
                    ))
                }
                None => {
                    return Err(ImportErrors::single(
                        0,
                        None,
                        "object has no \"items\" array",
                    ))
                }
            }
        }
        _ => {
            return Err(ImportErrors::single(
                0,
                None,
                "expected an array of items or {\"items\": [...]}",
            ));
        }
    };
    if items.is_empty() {
        return Err(ImportErrors::single(0, None, "no items in the file"));
    }

    let mut v = Validator::new(currency, layout);
    for (i, item) in items.into_iter().enumerate() {
        let row = i + 1;
        let obj = match item {
            Value::Object(obj) => obj,
            other => {
                v.err(
                    row,
                    None,
                    format!("expected an object, found {}", json_kind(&other)),
                );
                continue;
            }
        };
        let mut raw = RawRow::default();
        for (key, val) in obj {
            match key.as_str() {
                "sku" => raw.sku = json_string(&mut v, row, "sku", val),
                "name" => raw.name = json_string(&mut v, row, "name", val),
                "category" => raw.category = json_string(&mut v, row, "category", val),
                "tax_class" => raw.tax_class = json_string(&mut v, row, "tax_class", val),
                "sold_by" => raw.sold_by = json_string(&mut v, row, "sold_by", val),
                "kitchen_station" => {
                    raw.kitchen_station = json_string(&mut v, row, "kitchen_station", val)
                }
                "active" => {
                    raw.active = match val {
                        Value::Bool(b) => Some(b.to_string()),
                        other => json_string(&mut v, row, "active", other),
                    }
                }
                "price" => raw.price = json_price(&mut v, row, currency, val),
                "barcodes" => match val {
                    Value::Null => {}
                    Value::Array(codes) => {
                        for code in codes {
                            match code {
                                Value::String(s) => raw.barcodes.push(s),
                                other => v.err(
                                    row,
                                    Some("barcodes"),
                                    format!(
                                        "each barcode must be a string (leading zeros matter), found {}",
                                        json_kind(&other)
                                    ),
                                ),
                            }
                        }
                    }
                    other => v.err(
                        row,
                        Some("barcodes"),
                        format!("must be an array of strings, found {}", json_kind(&other)),
                    ),
                },
                other => {
                    v.err(
                        row,
                        Some(other),
                        format!("unknown field (known: {})", FIELDS.join(", ")),
                    );
                }
            }
        }
        v.row(row, raw);
    }
    v.finish()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field; `null` counts as absent; anything else is an error.
fn json_string(v: &mut Validator<'_>, row: usize, field: &str, val: Value) -> Option<String> {
    match val {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => {
            v.err(
                row,
                Some(field),
                format!("must be a string, found {}", json_kind(&other)),
            );
            None
        }
    }
}

/// A price: a decimal string, or a JSON integer for currencies without decimals.
fn json_price(v: &mut Validator<'_>, row: usize, currency: Currency, val: Value) -> Option<String> {
    match val {
        Value::String(s) => Some(s),
        Value::Null => None,
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            if currency.exponent() == 0 {
                Some(n.to_string())
            } else {
                v.err(
                    row,
                    Some("price"),
                    format!(
                        "give the price as a string, e.g. \"{n}.00\": JSON numbers are accepted only for \
                         currencies without decimals, and {} has {}",
                        currency,
                        currency.exponent()
                    ),
                );
                None
            }
        }
        Value::Number(n) => {
            v.err(
                row,
                Some("price"),
                format!("{n} is a JSON floating-point number, which cannot hold money exactly; give it as a string, e.g. \"{n}\""),
            );
            None
        }
        other => {
            v.err(
                row,
                Some("price"),
                format!(
                    "must be a decimal string such as \"12.50\", found {}",
                    json_kind(&other)
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::barcode::check_digit;
    use proptest::prelude::*;

    fn with_check(body: &str) -> String {
        format!("{body}{}", check_digit(body).unwrap())
    }

    fn errs(r: Result<Vec<CatalogItem>, ImportErrors>) -> Vec<RowError> {
        match r {
            Ok(items) => panic!("expected errors, got {items:?}"),
            Err(e) => e.errors,
        }
    }

    fn has(errors: &[RowError], row: usize, field: Option<&str>, needle: &str) -> bool {
        errors
            .iter()
            .any(|e| e.row == row && e.field.as_deref() == field && e.message.contains(needle))
    }

    #[test]
    fn valid_csv() {
        let weight_key = with_check("211234500000");
        let text = format!(
            "\u{feff}SKU,Name,barcodes,Price,Tax_Class,sold_by,active,category,kitchen_station\r\n\
             MILK-1L,Milk 1L,4006381333931|036000291452,1.29,food,,,Dairy,\r\n\
             \r\n\
             APPLES,\"Apples, loose\",{weight_key},2.99,food,weight,no,,\r\n\
             BURGER,\"The \"\"Big\"\" one\",,8,hot,unit,yes,Grill,grill\n"
        );
        let items = parse_csv(&text, Currency::EUR).unwrap();
        assert_eq!(items.len(), 3);
        let milk = &items[0];
        assert_eq!(milk.sku, Sku("MILK-1L".into()));
        assert_eq!(
            milk.barcodes,
            vec!["4006381333931".to_string(), "036000291452".to_string()]
        );
        assert_eq!(milk.price, Money::new(129, Currency::EUR));
        assert_eq!(milk.category, "Dairy");
        assert_eq!(milk.sold_by, SoldBy::Unit);
        assert!(milk.active);
        assert_eq!(milk.kitchen_station, None);
        let apples = &items[1];
        assert_eq!(apples.name, "Apples, loose");
        assert_eq!(apples.category, DEFAULT_CATEGORY);
        assert_eq!(apples.sold_by, SoldBy::Weight);
        assert!(!apples.active);
        assert_eq!(apples.barcodes, vec![weight_key]);
        let burger = &items[2];
        assert_eq!(burger.name, "The \"Big\" one");
        assert_eq!(burger.price.minor, 800);
        assert!(burger.barcodes.is_empty());
        assert_eq!(burger.kitchen_station.as_deref(), Some("grill"));
    }

    #[test]
    fn csv_quoting_edge_cases() {
        let text = "sku,name,price,tax_class,barcodes\n\
                    A,\"multi\nline, name\",1.00,std,\"96385074;4006381333931\"\n\
                    B,\"\",1.00,std,\n\
                    C,\"x\"\"\",1,std,\"\"\n";
        let r = parse_csv(text, Currency::EUR);
        let errors = errs(r);
        // B has an empty (quoted) name; A and C are fine.
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(has(&errors, 4, Some("name"), "required"));

        let text = "sku,name,price,tax_class\nA,\"multi\r\nline\",1.00,std\nC,\"x\"\"\",1,std";
        let items = parse_csv(text, Currency::EUR).unwrap();
        assert_eq!(items[0].name, "multi\r\nline");
        assert_eq!(items[1].name, "x\"");
    }

    #[test]
    fn csv_line_numbers_follow_multiline_records() {
        let text = "sku,name,price,tax_class\nA,\"two\nlines\",1,std\nB,b,oops,std\n";
        let errors = errs(parse_csv(text, Currency::EUR));
        assert_eq!(errors.len(), 1);
        assert!(has(&errors, 4, Some("price"), "not an amount"));
    }

    #[test]
    fn csv_syntax_errors() {
        let errors = errs(parse_csv(
            "sku,name,price,tax_class\nA,ab\"c,1,std\nB,\"b\"x,1,std\n",
            Currency::EUR,
        ));
        assert!(has(&errors, 2, None, "unquoted field"));
        assert!(has(&errors, 3, None, "after a closing quote"));
        let errors = errs(parse_csv(
            "sku,name,price,tax_class\nA,\"never closed,1,std\n",
            Currency::EUR,
        ));
        assert!(has(&errors, 2, None, "never closed"));
        let errors = errs(parse_csv(
            "sku,name,price,tax_class\nA,a,1\n",
            Currency::EUR,
        ));
        assert!(has(&errors, 2, None, "expected 4 fields, found 3"));
    }

    #[test]
    fn csv_header_errors() {
        let errors = errs(parse_csv(
            "sku,Name,colour,name\nA,a,red,a\n",
            Currency::EUR,
        ));
        assert!(has(&errors, 1, Some("colour"), "unknown column"));
        assert!(has(&errors, 1, Some("name"), "more than once"));
        assert!(has(&errors, 1, Some("price"), "required column missing"));
        assert!(has(
            &errors,
            1,
            Some("tax_class"),
            "required column missing"
        ));
        assert!(has(
            &errs(parse_csv("", Currency::EUR)),
            0,
            None,
            "empty file"
        ));
        assert!(has(
            &errs(parse_csv("\u{feff}\n\n", Currency::EUR)),
            0,
            None,
            "empty file"
        ));
        assert!(has(
            &errs(parse_csv("sku,name,price,tax_class\n", Currency::EUR)),
            0,
            None,
            "no item rows"
        ));
    }

    #[test]
    fn every_field_error_and_all_reported_together() {
        let price_code = with_check("230042001299");
        let weight_key = with_check("211234500000");
        let text = format!(
            "sku,name,price,tax_class,barcodes,sold_by,active\n\
             A,a,1.00,std,4006381333931,,\n\
             A,dup sku,1.00,std,,,\n\
             has space,x,1.00,std,,,\n\
             ,,,,,,\n\
             B,b,12.505,std,,,\n\
             C,c,-1,std,,,\n\
             D,d,1,std,4006381333932,kilo,maybe\n\
             E,e,1,std,0036000291452|{price_code},,\n\
             F,f,1,std,{weight_key},unit,\n\
             G,g,1,std,400638133393x|123,,\n"
        );
        let e = errs(parse_csv(&text, Currency::EUR));
        assert!(has(&e, 3, Some("sku"), "already defined on row 2"));
        assert!(has(&e, 4, Some("sku"), "whitespace"));
        assert!(has(&e, 5, Some("sku"), "required"));
        assert!(has(&e, 5, Some("name"), "required"));
        assert!(has(&e, 5, Some("price"), "required"));
        assert!(has(&e, 5, Some("tax_class"), "required"));
        assert!(has(&e, 6, Some("price"), "more than 2 decimals"));
        assert!(has(&e, 7, Some("price"), "negative"));
        assert!(has(&e, 8, Some("barcodes"), "expected 1, found 2"));
        assert!(has(&e, 8, Some("sold_by"), "\"kilo\""));
        assert!(has(&e, 8, Some("active"), "\"maybe\""));
        assert!(
            !has(&e, 9, Some("barcodes"), "duplicate"),
            "E's UPC is new: {e:?}"
        );
        assert!(has(&e, 9, Some("barcodes"), "store it as"));
        assert!(has(&e, 10, Some("barcodes"), "sold by unit"));
        assert!(has(&e, 11, Some("barcodes"), "non-digit"));
        assert!(has(&e, 11, Some("barcodes"), "3 digits"));
        assert_eq!(e.len(), 15, "{e:#?}");

        let shown = ImportErrors { errors: e }.to_string();
        assert!(
            shown.starts_with("catalog import rejected, nothing imported: 15 errors"),
            "{shown}"
        );
        assert!(shown.contains("\n  row 6, price: "), "{shown}");
        assert!(
            shown.contains("\n  row 3, sku: duplicate SKU \"A\""),
            "{shown}"
        );
    }

    #[test]
    fn duplicate_barcodes_across_rows_including_upc_ean_forms() {
        let text = "sku,name,price,tax_class,barcodes\n\
                    A,a,1,std,036000291452\n\
                    B,b,1,std,0036000291452\n\
                    C,c,1,std,96385074;96385074\n";
        let e = errs(parse_csv(text, Currency::EUR));
        assert!(has(
            &e,
            3,
            Some("barcodes"),
            "same as \"036000291452\" on row 2"
        ));
        assert!(has(&e, 4, Some("barcodes"), "already used on row 4"));
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn valid_json_both_shapes() {
        let arr = r#"[
            {"sku": "MILK-1L", "name": "Milk", "price": "1.29", "tax_class": "food",
             "barcodes": ["4006381333931"], "category": "Dairy", "active": false},
            {"sku": "COFFEE", "name": "Coffee", "price": "3", "tax_class": "std",
             "kitchen_station": "bar", "sold_by": "unit", "active": "yes", "barcodes": null, "category": null}
        ]"#;
        let items = parse_json(arr, Currency::EUR).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].price.minor, 129);
        assert!(!items[0].active);
        assert_eq!(items[1].price.minor, 300);
        assert_eq!(items[1].category, "General");
        assert_eq!(items[1].kitchen_station.as_deref(), Some("bar"));
        let wrapped = format!("\u{feff}{{\"items\": {arr}}}");
        assert_eq!(parse_json(&wrapped, Currency::EUR).unwrap(), items);
    }

    #[test]
    fn json_prices() {
        let idr = r#"[{"sku":"A","name":"a","price":15000,"tax_class":"std"}]"#;
        assert_eq!(
            parse_json(idr, Currency::IDR).unwrap()[0].price,
            Money::new(15000, Currency::IDR)
        );
        let e = errs(parse_json(idr, Currency::EUR));
        assert!(has(&e, 1, Some("price"), "as a string"));
        assert!(has(&e, 1, Some("price"), "EUR has 2"));
        let float = r#"[{"sku":"A","name":"a","price":12.5,"tax_class":"std"}]"#;
        assert!(has(
            &errs(parse_json(float, Currency::EUR)),
            1,
            Some("price"),
            "floating-point"
        ));
        assert!(has(
            &errs(parse_json(float, Currency::IDR)),
            1,
            Some("price"),
            "floating-point"
        ));
        let neg = r#"[{"sku":"A","name":"a","price":-5,"tax_class":"std"}]"#;
        assert!(has(
            &errs(parse_json(neg, Currency::IDR)),
            1,
            Some("price"),
            "negative"
        ));
    }

    #[test]
    fn json_errors_all_reported() {
        let text = r#"{"items": [
            {"sku":"A","name":"a","price":"1","tax_class":"std","colour":"red"},
            {"sku":"A","name":"dup","price":"1","tax_class":"std"},
            {"sku":5,"name":"n","price":"1","tax_class":"std","barcodes":[4006381333931]},
            {"name":"no sku","price":"x","tax_class":"std","barcodes":"96385074"},
            "not an object",
            {"sku":"OK","name":"ok","price":"1","tax_class":"std","barcodes":["96385075"]}
        ]}"#;
        let e = errs(parse_json(text, Currency::EUR));
        assert!(has(&e, 1, Some("colour"), "unknown field"));
        assert!(has(&e, 2, Some("sku"), "already defined on row 1"));
        assert!(has(&e, 3, Some("sku"), "must be a string"));
        assert!(has(&e, 3, Some("barcodes"), "must be a string"));
        assert!(has(&e, 4, Some("barcodes"), "array of strings"));
        assert!(has(&e, 4, Some("sku"), "required"));
        assert!(has(&e, 4, Some("price"), "not an amount"));
        assert_eq!(
            e.iter()
                .filter(|x| x.row == 3 && x.field.as_deref() == Some("sku"))
                .count(),
            1,
            "{e:#?}"
        );
        assert!(has(&e, 5, None, "expected an object"));
        assert!(has(&e, 6, Some("barcodes"), "bad check digit"));
    }

    #[test]
    fn json_document_errors() {
        assert!(has(
            &errs(parse_json("[", Currency::EUR)),
            0,
            None,
            "not valid JSON"
        ));
        assert!(has(
            &errs(parse_json("[]", Currency::EUR)),
            0,
            None,
            "no items"
        ));
        assert!(has(
            &errs(parse_json("{\"items\":[],\"x\":1}", Currency::EUR)),
            0,
            None,
            "unknown top-level"
        ));
        assert!(has(
            &errs(parse_json("{\"items\":3}", Currency::EUR)),
            0,
            Some("items"),
            "array"
        ));
        assert!(has(
            &errs(parse_json("{}", Currency::EUR)),
            0,
            None,
            "no \"items\""
        ));
        assert!(has(
            &errs(parse_json("\"x\"", Currency::EUR)),
            0,
            None,
            "expected an array"
        ));
    }

    #[test]
    fn auto_detects_format() {
        let csv = "sku,name,price,tax_class\nA,a,1,std\n";
        let json = r#"[{"sku":"A","name":"a","price":"1","tax_class":"std"}]"#;
        assert_eq!(detect_format("items.CSV", json), Format::Csv);
        assert_eq!(detect_format("x/items.json", csv), Format::Json);
        assert_eq!(detect_format("", json), Format::Json);
        assert_eq!(detect_format("upload", csv), Format::Csv);
        assert_eq!(
            parse_auto("", csv, Currency::EUR).unwrap(),
            parse_auto("a.json", json, Currency::EUR).unwrap()
        );
    }

    #[test]
    fn row_error_display() {
        let e = RowError {
            row: 3,
            field: Some("price".into()),
            message: "not an amount".into(),
        };
        assert_eq!(e.to_string(), "row 3, price: not an amount");
        let e = RowError {
            row: 0,
            field: None,
            message: "not valid JSON".into(),
        };
        assert_eq!(e.to_string(), "file: not valid JSON");
    }

    fn csv_quote(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    proptest! {
        #[test]
        fn parse_csv_never_panics(s in any::<String>()) {
            let _ = parse_csv(&s, Currency::EUR);
            let _ = parse_json(&s, Currency::EUR);
            let _ = parse_auto("", &s, Currency::IDR);
        }

        #[test]
        fn parse_csv_never_panics_with_header(s in "[a-z0-9,\"\r\n|;. ]{0,200}") {
            let text = format!("sku,name,price,tax_class,barcodes,active,sold_by\n{s}");
            let _ = parse_csv(&text, Currency::EUR);
        }

        #[test]
        fn quoted_names_roundtrip(name in "[^\u{feff}]{1,40}".prop_filter("non-blank", |s| !s.trim().is_empty())) {
            let text = format!("sku,name,price,tax_class\r\nA,{},1.00,std\r\n", csv_quote(&name));
            let items = parse_csv(&text, Currency::EUR).unwrap();
            prop_assert_eq!(&items[0].name, name.trim());
        }
    }
}
