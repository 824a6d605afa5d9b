//! The operator's side of the service: the JSON format of `POST /publish` and the
//! admin commands (`publish`, `erase-customer`, `customer`, `status`, `health`,
//! `report`, `orders`, `flags`, `stock`) that talk to a running `keel-cloud
//! serve` over HTTP, with the address and admin token of its directory.
//!
//! `POST /publish` body (every field of `item` checked; unknown fields refused):
//!
//! ```json
//! {"stores": ["s1"], "item": {"kind": "price", "sku": "COF", "price_minor": 27000}}
//! {"item": {"kind": "setting", "key": "receipt.footer", "value": "Thanks"}}
//! {"item": {"kind": "tax-rate", "class": "standard", "rate_bp": 1100}}
//! {"item": {"kind": "item", "sku": "TEA", "name": "Tea", "price_minor": 250, "currency": "EUR",
//!           "category": "drinks", "tax_class": "standard", "barcodes": [], "by_weight": false,
//!           "active": true, "kitchen_station": null}}
//! {"item": {"kind": "promotion", "id": "p1", "sku": "COF", "discount_bp": 1000,
//!           "from_ms": 1795000000000, "until_ms": 1796000000000}}
//! {"item": {"kind": "erase-customer", "customer": "c-42"}}
//! ```
//!
//! `stores` empty or absent: every store. Prices are integer minor units of the
//! store's currency (the command line converts major units, see `cli`).
//!
//! This module must not touch storage: the HTTP endpoint stores what it validates.

use crate::http;
use crate::init::{CloudDir, DirError};
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::ids::{Sku, StoreId};
use keel_core::money::{Currency, Money};
use keel_uplink::wire::PublishedItem;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;
use thiserror::Error;

/// The body of `POST /publish`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Stores it is for; empty: every store.
    #[serde(default)]
    pub stores: Vec<String>,
    /// What to publish.
    pub item: ItemSpec,
}

fn default_category() -> String {
    "general".into()
}

fn default_tax_class() -> String {
    "standard".into()
}

fn yes() -> bool {
    true
}

/// A publication as the operator writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ItemSpec {
    /// A new price for an existing item, minor units of the store currency.
    Price {
        /// The item.
        sku: String,
        /// New price.
        price_minor: i64,
    },
    /// A store setting.
    Setting {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// A tax rate for a tax class, basis points.
    TaxRate {
        /// Tax class.
        class: String,
        /// Rate (1100 = 11 %).
        rate_bp: u32,
    },
    /// A catalog item created or replaced.
    Item {
        /// SKU.
        sku: String,
        /// Name on screen and receipts.
        name: String,
        /// Price per unit (or per kg), minor units.
        price_minor: i64,
        /// ISO currency code of the price (must be the store's).
        currency: String,
        /// Category.
        #[serde(default = "default_category")]
        category: String,
        /// Tax class.
        #[serde(default = "default_tax_class")]
        tax_class: String,
        /// EAN-13, EAN-8 or UPC-A codes.
        #[serde(default)]
        barcodes: Vec<String>,
        /// Sold by weight (price per kg).
        #[serde(default)]
        by_weight: bool,
        /// Sellable.
        #[serde(default = "yes")]
        active: bool,
        /// Kitchen station, if prepared in a kitchen.
        #[serde(default)]
        kitchen_station: Option<String>,
    },
    /// A percentage off an item between two times.
    Promotion {
        /// Promotion id.
        id: String,
        /// The item.
        sku: String,
        /// Discount, basis points (1..=10000).
        discount_bp: u32,
        /// Start, ms since the epoch.
        from_ms: u64,
        /// End (exclusive), ms since the epoch.
        until_ms: u64,
    },
    /// Erase a customer's personal data everywhere (their key is deleted).
    EraseCustomer {
        /// Customer id.
        customer: String,
    },
}

/// A text field: present, bounded, no control characters.
fn text(field: &str, v: &str, max: usize) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if v.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

fn sku(v: &str) -> Result<Sku, String> {
    text("sku", v, 64)?;
    if v.contains(char::is_whitespace) {
        return Err(format!("sku {v:?} contains whitespace"));
    }
    Ok(Sku(v.to_string()))
}

impl PublishRequest {
    /// Parses a request body.
    pub fn from_json(body: &[u8]) -> Result<PublishRequest, String> {
        serde_json::from_slice(body).map_err(|e| format!("publish request: {e}"))
    }

    /// Checks every field and gives the stores and the item to publish.
    pub fn validate(&self) -> Result<(Vec<StoreId>, PublishedItem), String> {
        let mut stores = Vec::new();
        for s in &self.stores {
            let id = StoreId(s.clone());
            keel_cluster::identity::validate_store_id(&id).map_err(|e| e.to_string())?;
            if !stores.contains(&id) {
                stores.push(id);
            }
        }
        let item = match &self.item {
            ItemSpec::Price {
                sku: s,
                price_minor,
            } => {
                if *price_minor < 0 {
                    return Err(format!("price {price_minor} is negative"));
                }
                PublishedItem::Price {
                    sku: sku(s)?,
                    price_minor: *price_minor,
                }
            }
            ItemSpec::Setting { key, value } => {
                text("key", key, 128)?;
                if value.chars().count() > 4096
                    || value.chars().any(|c| c.is_control() && c != '\n')
                {
                    return Err(
                        "value is longer than 4096 characters or has control characters".into(),
                    );
                }
                PublishedItem::Setting {
                    key: key.clone(),
                    value: value.clone(),
                }
            }
            ItemSpec::TaxRate { class, rate_bp } => {
                text("class", class, 64)?;
                if *rate_bp > 10_000 {
                    return Err(format!("tax rate {rate_bp} bp is above 100 %"));
                }
                PublishedItem::TaxRate {
                    class: class.clone(),
                    rate_bp: *rate_bp,
                }
            }
            ItemSpec::Item {
                sku: s,
                name,
                price_minor,
                currency,
                category,
                tax_class,
                barcodes,
                by_weight,
                active,
                kitchen_station,
            } => {
                let currency = Currency::from_code(currency).map_err(|e| e.to_string())?;
                if *price_minor < 0 {
                    return Err(format!("price {price_minor} is negative"));
                }
                text("name", name, 128)?;
                text("category", category, 64)?;
                text("tax_class", tax_class, 64)?;
                let mut codes = Vec::new();
                for b in barcodes {
                    let (code, _) = keel_core::barcode::validate(b)
                        .map_err(|e| format!("barcode {b:?}: {e}"))?;
                    codes.push(code.to_string());
                }
                if let Some(k) = kitchen_station {
                    text("kitchen_station", k, 64)?;
                }
                PublishedItem::Item(CatalogItem {
                    sku: sku(s)?,
                    barcodes: codes,
                    name: name.clone(),
                    category: category.clone(),
                    price: Money::new(*price_minor, currency),
                    tax_class: tax_class.clone(),
                    sold_by: if *by_weight {
                        SoldBy::Weight
                    } else {
                        SoldBy::Unit
                    },
                    active: *active,
                    kitchen_station: kitchen_station.clone(),
                })
            }
            ItemSpec::Promotion {
                id,
                sku: s,
                discount_bp,
                from_ms,
                until_ms,
            } => {
                text("id", id, 64)?;
                if !(1..=10_000).contains(discount_bp) {
                    return Err(format!("discount {discount_bp} bp must be 1 to 10000"));
                }
                if from_ms >= until_ms {
                    return Err("the promotion ends before it starts".into());
                }
                PublishedItem::Promotion {
                    id: id.clone(),
                    sku: sku(s)?,
                    discount_bp: *discount_bp,
                    from_ms: *from_ms,
                    until_ms: *until_ms,
                }
            }
            ItemSpec::EraseCustomer { customer } => {
                crate::customer::check_id(customer)?;
                PublishedItem::EraseCustomer {
                    customer: customer.clone(),
                }
            }
        };
        Ok((stores, item))
    }
}

/// What an admin command asks of the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Publish something (`publish`, `erase-customer`).
    Publish(PublishRequest),
    /// The status view.
    Status {
        /// JSON instead of the table.
        json: bool,
    },
    /// The health figures (JSON).
    Health,
    /// The sales report.
    Report {
        /// CSV instead of text.
        csv: bool,
        /// First day, `YYYY-MM-DD`.
        from: Option<String>,
        /// Last day, `YYYY-MM-DD`.
        to: Option<String>,
    },
    /// The order list.
    Orders {
        /// One store only.
        store: Option<String>,
        /// At most this many.
        limit: Option<usize>,
    },
    /// Review flags.
    Flags {
        /// One store only.
        store: Option<String>,
    },
    /// Sales the terminals flagged for risk review.
    Flagged {
        /// One store only.
        store: Option<String>,
        /// JSON instead of the table.
        json: bool,
    },
    /// Stock of a store.
    Stock {
        /// The store.
        store: String,
    },
    /// What the cloud can show of a customer (needs the admin token).
    Customer {
        /// The store.
        store: String,
        /// The customer id.
        id: String,
    },
    /// An OTA release command (`keel-cloud release ...`).
    Release(crate::release_cli::ReleaseAction),
}

/// Why an admin command failed.
#[derive(Debug, Error)]
pub enum AdminError {
    /// The cloud directory cannot be read.
    #[error("{0}")]
    Dir(#[from] DirError),
    /// The service cannot be reached.
    #[error("{0}")]
    Client(#[from] http::ClientError),
    /// The service answered with an error.
    #[error("keel-cloud answered {status}: {body}")]
    Service {
        /// HTTP status.
        status: u16,
        /// Its explanation.
        body: String,
    },
    /// The service answered but reports itself unhealthy (the body is the report).
    #[error("{0}")]
    Unhealthy(String),
    /// A release command failed before reaching the service (unreadable bundle...).
    #[error("{0}")]
    Release(String),
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("{k}={}", http::percent_encode(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Runs `action` against the service of the cloud directory `dir` (at `http`, or the
/// address in its `cloud.toml`); returns what to print.
pub fn run(
    dir: &Path,
    http_addr: Option<SocketAddr>,
    action: &Action,
) -> Result<String, AdminError> {
    let cloud = CloudDir::open(dir)?;
    let addr = http_addr.unwrap_or(cloud.settings.http);
    let get = |target: String| -> Result<String, AdminError> {
        let (status, body) = http::request(addr, "GET", &target, None, None)?;
        if status == 200 {
            Ok(body)
        } else {
            Err(AdminError::Service {
                status,
                body: body.trim_end().to_string(),
            })
        }
    };
    match action {
        Action::Publish(req) => {
            let token = cloud.admin_token()?;
            let body = serde_json::to_string(req).map_err(|e| AdminError::Service {
                status: 0,
                body: e.to_string(),
            })?;
            let (status, answer) =
                http::request(addr, "POST", "/publish", Some(&token), Some(&body))?;
            if status != 200 {
                return Err(AdminError::Service {
                    status,
                    body: answer.trim_end().to_string(),
                });
            }
            let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
            let stores: Vec<String> = v["stores"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let published = format!(
                "published #{} ({}) to {}\n",
                v["seq"],
                v["kind"].as_str().unwrap_or("?"),
                if stores.is_empty() {
                    "every store".to_string()
                } else {
                    stores.join(", ")
                }
            );
            match (&req.item, v["keys_deleted"].as_u64()) {
                (ItemSpec::EraseCustomer { customer }, Some(n)) => Ok(format!(
                    "erased customer {customer} in the cloud (keys deleted for {n} store(s)); {published}"
                )),
                _ => Ok(published),
            }
        }
        Action::Release(r) => crate::release_cli::run(&cloud, addr, r),
        Action::Status { json } => get(if *json { "/status.json" } else { "/status" }.into()),
        Action::Health => {
            let (status, body) = http::request(addr, "GET", "/health", None, None)?;
            match status {
                200 => Ok(body),
                503 => Err(AdminError::Unhealthy(body.trim_end().to_string())),
                _ => Err(AdminError::Service {
                    status,
                    body: body.trim_end().to_string(),
                }),
            }
        }
        Action::Report { csv, from, to } => get(format!(
            "{}{}",
            if *csv { "/report.csv" } else { "/report" },
            query(&[("from", from.clone()), ("to", to.clone())])
        )),
        Action::Orders { store, limit } => get(format!(
            "/orders{}",
            query(&[
                ("store", store.clone()),
                ("limit", limit.map(|l| l.to_string()))
            ])
        )),
        Action::Flags { store } => get(format!("/flags{}", query(&[("store", store.clone())]))),
        Action::Flagged { store, json } => get(format!(
            "{}{}",
            if *json { "/flagged.json" } else { "/flagged" },
            query(&[("store", store.clone())])
        )),
        Action::Stock { store } => get(format!(
            "/stock{}",
            query(&[("store", Some(store.clone()))])
        )),
        Action::Customer { store, id } => {
            let token = cloud.admin_token()?;
            let target = format!(
                "/customer{}",
                query(&[("store", Some(store.clone())), ("id", Some(id.clone()))])
            );
            let (status, body) = http::request(addr, "GET", &target, Some(&token), None)?;
            match status {
                200 => Ok(body),
                _ => Err(AdminError::Service {
                    status,
                    body: body.trim_end().to_string(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_requests_parse_and_validate() {
        let r = PublishRequest::from_json(
            br#"{"stores":["s1","s1"],"item":{"kind":"price","sku":"COF","price_minor":27000}}"#,
        )
        .unwrap();
        let (stores, item) = r.validate().unwrap();
        assert_eq!(stores, vec![StoreId("s1".into())]);
        assert_eq!(
            item,
            PublishedItem::Price {
                sku: Sku("COF".into()),
                price_minor: 27000
            }
        );
        let r = PublishRequest::from_json(
            br#"{"item":{"kind":"item","sku":"TEA","name":"Tea","price_minor":250,"currency":"EUR"}}"#,
        )
        .unwrap();
        let (_, item) = r.validate().unwrap();
        let PublishedItem::Item(ci) = item else {
            panic!("not an item")
        };
        assert_eq!(ci.tax_class, "standard");
        assert!(ci.active);
        for bad in [
            &br#"{"item":{"kind":"price","sku":"COF","price_minor":-1}}"#[..],
            br#"{"item":{"kind":"price","sku":"","price_minor":1}}"#,
            br#"{"item":{"kind":"price","sku":"COF","price_minor":1,"extra":1}}"#,
            br#"{"stores":["Bad Store"],"item":{"kind":"setting","key":"a","value":"b"}}"#,
            br#"{"item":{"kind":"tax-rate","class":"standard","rate_bp":10001}}"#,
            br#"{"item":{"kind":"item","sku":"T","name":"T","price_minor":1,"currency":"XXX"}}"#,
            br#"{"item":{"kind":"item","sku":"T","name":"T","price_minor":1,"currency":"EUR","barcodes":["123"]}}"#,
            br#"{"item":{"kind":"promotion","id":"p","sku":"T","discount_bp":100,"from_ms":5,"until_ms":5}}"#,
            br#"{"item":{"kind":"nothing"}}"#,
            b"garbage",
        ] {
            let r = PublishRequest::from_json(bad).and_then(|r| r.validate().map(|_| ()));
            assert!(r.is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
