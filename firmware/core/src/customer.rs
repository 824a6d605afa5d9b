//! Customers: the store's customer register, a last-writer-wins map keyed by
//! customer id (the newest write by HLC wins when terminals edit the same
//! customer offline). Pure data and validation.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A customer record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Customer id (loyalty card number or a store-chosen id).
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone number, if given.
    pub phone: Option<String>,
}

/// A customer record that is not acceptable.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CustomerError {
    /// The id is empty, too long or has other characters than letters, digits and '-'.
    #[error("customer id {0:?}: 1 to 32 letters, digits or '-'")]
    Id(String),
    /// The name is empty, too long or holds control characters.
    #[error("customer name: 1 to 64 printable characters")]
    Name,
    /// The phone number is not digits (with an optional leading '+'), 4 to 20 long.
    #[error("phone {0:?}: 4 to 20 digits, optionally starting with '+'")]
    Phone(String),
}

impl Customer {
    /// Checks and builds a customer record.
    pub fn new(id: &str, name: &str, phone: Option<&str>) -> Result<Customer, CustomerError> {
        if !(1..=32).contains(&id.len())
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(CustomerError::Id(id.to_string()));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(CustomerError::Name);
        }
        if let Some(p) = phone {
            let digits = p.strip_prefix('+').unwrap_or(p);
            if !(4..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CustomerError::Phone(p.to_string()));
            }
        }
        Ok(Customer {
            id: id.to_string(),
            name: name.to_string(),
            phone: phone.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(Customer::new("C-1001", "Ani Wijaya", Some("+628123456789")).is_ok());
        assert!(matches!(
            Customer::new("", "x", None),
            Err(CustomerError::Id(_))
        ));
        assert!(matches!(
            Customer::new("a b", "x", None),
            Err(CustomerError::Id(_))
        ));
        assert!(matches!(
            Customer::new("c1", " ", None),
            Err(CustomerError::Name)
        ));
        assert!(matches!(
            Customer::new("c1", "x", Some("12ab")),
            Err(CustomerError::Phone(_))
        ));
    }
}
