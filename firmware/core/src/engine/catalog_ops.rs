//! Catalog changes from the terminal: an import replaces or adds items in one
//! batch (all or nothing), and stock adjustments.

use super::{require, Denied, Engine};
use crate::auth::{Permission, User};
use crate::catalog::CatalogItem;
use crate::event::EventBody;
use crate::ids::Sku;
use thiserror::Error;

/// Errors from catalog commands.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CatalogError {
    /// Login or role missing.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// Items failed checks against the store (listed one per row).
    #[error("nothing imported: {}", .0.join("; "))]
    Rejected(Vec<String>),
    /// The import holds no items.
    #[error("nothing imported: the file holds no items")]
    Empty,
    /// A customer record is not acceptable.
    #[error("bad customer: {0}")]
    Customer(String),
    /// A setting key or value is not acceptable.
    #[error("bad setting: {0}")]
    Setting(String),
    /// No item has this SKU.
    #[error("unknown SKU {0}")]
    UnknownSku(String),
    /// A price is malformed or negative.
    #[error("bad price: {0}")]
    BadPrice(String),
    /// Stock adjustment of an unknown SKU or of zero.
    #[error("stock adjustment refused: {0}")]
    Stock(String),
}

impl<'a> Engine<'a> {
    /// `catalog import`: checks parsed items against the store (currency, tax
    /// classes, barcodes owned by other SKUs) and yields one upsert per item.
    pub fn import_catalog(
        &self,
        user: Option<&'a User>,
        items: Vec<CatalogItem>,
    ) -> Result<Vec<EventBody>, CatalogError> {
        require(user, Permission::Catalog)?;
        if items.is_empty() {
            return Err(CatalogError::Empty);
        }
        let mut problems = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let row = i + 1;
            if item.price.currency != self.profile.currency {
                problems.push(format!(
                    "item {row} ({}): price in {} but the store sells in {}",
                    item.sku, item.price.currency, self.profile.currency
                ));
            }
            if self.selling_profile().tax.rate(&item.tax_class).is_err() {
                problems.push(format!(
                    "item {row} ({}): unknown tax class {:?}",
                    item.sku, item.tax_class
                ));
            }
            for code in &item.barcodes {
                if let Some(owner) = self.state.catalog.by_barcode(code) {
                    let moved_away = items
                        .iter()
                        .any(|o| o.sku == owner.sku && !o.barcodes.contains(code));
                    if owner.sku != item.sku && !moved_away {
                        problems.push(format!(
                            "item {row} ({}): barcode {code} already belongs to {}",
                            item.sku, owner.sku
                        ));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(CatalogError::Rejected(problems));
        }
        Ok(items.into_iter().map(EventBody::CatalogUpserted).collect())
    }

    /// `price set <sku> <price>` (manager): checks the change and returns the item
    /// with its new price. In a cluster the change goes through consensus first;
    /// the caller journals `CatalogUpserted` of the result once decided.
    pub fn price_change(
        &self,
        user: Option<&'a User>,
        sku: &str,
        price: &str,
    ) -> Result<CatalogItem, CatalogError> {
        require(user, Permission::Catalog)?;
        let item = self
            .state
            .catalog
            .get(&Sku(sku.to_string()))
            .ok_or_else(|| CatalogError::UnknownSku(sku.to_string()))?;
        let price = crate::money::Money::parse_non_negative(price, self.profile.currency)
            .map_err(|e| CatalogError::BadPrice(e.to_string()))?;
        Ok(CatalogItem {
            price,
            ..item.clone()
        })
    }

    /// `setting set <key> <value>` (manager): checks a store setting change.
    pub fn setting_change(
        &self,
        user: Option<&'a User>,
        key: &str,
        value: &str,
    ) -> Result<EventBody, CatalogError> {
        require(user, Permission::Catalog)?;
        let key_ok = (1..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !key_ok {
            return Err(CatalogError::Setting(format!(
                "key {key:?}: 1 to 64 of a-z, 0-9, '.', '_', '-'"
            )));
        }
        if value.chars().count() > 256 || value.chars().any(char::is_control) {
            return Err(CatalogError::Setting(
                "value: at most 256 printable characters".into(),
            ));
        }
        Ok(EventBody::SettingChanged {
            key: key.to_string(),
            value: value.to_string(),
        })
    }

    /// `customer set <id> <phone|-> <name>` (anyone who sells), personal data sealed: the customer's existing key from
    /// `keys` is used, or the fresh key (returned so the caller stores it in the key
    /// ring before committing the event); an erased customer cannot come back
    /// under the same id. `fresh` holds random bytes the caller drew.
    pub fn customer_upsert_sealed(
        &self,
        user: Option<&'a User>,
        id: &str,
        phone: Option<&str>,
        name: &str,
        keys: &crate::pii::KeyRing,
        fresh: crate::pii::FreshSecrets,
    ) -> Result<(EventBody, Option<crate::pii::CustomerKey>), CatalogError> {
        let crate::pii::FreshSecrets {
            key: new_key,
            nonce,
        } = fresh;
        require(user, Permission::Sell)?;
        let c = crate::customer::Customer::new(id, name, phone)
            .map_err(|e| CatalogError::Customer(e.to_string()))?;
        if keys.is_erased(id) {
            return Err(CatalogError::Customer(format!(
                "customer {id} was erased at their request; register them under a new id"
            )));
        }
        let (key, fresh) = match keys.current(id) {
            Some(k) => (k.clone(), None),
            None => (new_key.clone(), Some(new_key)),
        };
        Ok((
            EventBody::CustomerSealed(crate::pii::seal(&c, &key, nonce)),
            fresh,
        ))
    }

    /// `stock adjust <sku> <delta> <reason>` (manager).
    pub fn adjust_stock(
        &self,
        user: Option<&'a User>,
        sku: &str,
        delta: i64,
        reason: &str,
    ) -> Result<Vec<EventBody>, CatalogError> {
        require(user, Permission::Catalog)?;
        let sku = Sku(sku.to_string());
        if self.state.catalog.get(&sku).is_none() {
            return Err(CatalogError::Stock(format!("unknown SKU {sku}")));
        }
        if delta == 0 || reason.trim().is_empty() {
            return Err(CatalogError::Stock(
                "a non-zero amount and a reason are needed".into(),
            ));
        }
        Ok(vec![EventBody::StockAdjusted {
            sku,
            delta,
            reason: reason.trim().to_string(),
        }])
    }
}
