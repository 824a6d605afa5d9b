//! Staff, roles, permissions and PIN login with lockout. Pure: the caller passes
//! the time in; nothing here stores sessions beyond the value it returns.

use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A staff role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Rings up sales, takes payment, opens and closes shifts.
    Cashier,
    /// Everything a cashier does plus voids, refunds, price overrides, catalog imports, cash in/out.
    Manager,
    /// Diagnostics: status, journal verification and export. Does not sell.
    Technician,
}

impl Role {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
            Role::Technician => "technician",
        }
    }

    /// Parses `cashier`, `manager` or `technician`.
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cashier" => Some(Role::Cashier),
            "manager" => Some(Role::Manager),
            "technician" => Some(Role::Technician),
            _ => None,
        }
    }
}

/// Something a role may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Ring up, tender and complete sales; line edits and discounts.
    Sell,
    /// Open and close a shift, X report.
    Shift,
    /// Open the drawer without a sale.
    NoSale,
    /// Void a completed sale.
    Void,
    /// Refund against a receipt.
    Refund,
    /// Override a line price.
    PriceOverride,
    /// Import the catalog, adjust stock.
    Catalog,
    /// Cash in and out of the drawer.
    CashMove,
    /// Read reports (Z reports of past shifts).
    Reports,
    /// Kitchen display actions.
    Kitchen,
    /// Journal verification, export and tail; diagnostics.
    Diagnostics,
}

impl Permission {
    /// The least role that has this permission, for error messages.
    pub fn needed_role(self) -> Role {
        match self {
            Permission::Sell | Permission::Shift | Permission::NoSale | Permission::Kitchen => {
                Role::Cashier
            }
            Permission::Diagnostics => Role::Technician,
            _ => Role::Manager,
        }
    }

    /// What the permission is for, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::Sell => "selling",
            Permission::Shift => "shift open and close",
            Permission::NoSale => "a no-sale drawer open",
            Permission::Void => "voiding a sale",
            Permission::Refund => "a refund",
            Permission::PriceOverride => "a price override",
            Permission::Catalog => "catalog changes",
            Permission::CashMove => "cash in and out",
            Permission::Reports => "reports",
            Permission::Kitchen => "kitchen actions",
            Permission::Diagnostics => "diagnostics",
        }
    }
}

/// Whether `role` has `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    match role {
        Role::Manager => true,
        Role::Cashier => matches!(
            permission,
            Permission::Sell | Permission::Shift | Permission::NoSale | Permission::Kitchen
        ),
        Role::Technician => matches!(permission, Permission::Diagnostics | Permission::Reports),
    }
}

/// A configured staff member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id used in the journal.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The PIN: its digits, or (as configs should hold it) a PBKDF2 hash from
    /// [`hash_pin`], `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`.
    pub pin: String,
}

/// Prefix of a hashed PIN.
pub const PIN_HASH_PREFIX: &str = "pbkdf2-sha256$";

/// PBKDF2 iterations for new PIN hashes: slow enough to make a stolen config's
/// 4-8 digit PINs costly to search, fast enough for a login on a small board.
pub const PIN_HASH_ITERATIONS: u32 = 20_000;

/// Hashes `pin` with `salt` (the caller draws it at random): PBKDF2-HMAC-SHA256.
pub fn hash_pin(pin: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; 32];
    let iters = core::num::NonZeroU32::new(iterations.max(1)).unwrap_or(core::num::NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iters,
        salt,
        pin.as_bytes(),
        &mut out,
    );
    format!(
        "{PIN_HASH_PREFIX}{iterations}${}${}",
        crate::hex::encode(salt),
        crate::hex::encode(&out)
    )
}

/// Whether `stored` (a PIN hash) is well formed.
pub fn is_pin_hash(stored: &str) -> bool {
    parse_pin_hash(stored).is_some()
}

fn parse_pin_hash(stored: &str) -> Option<(core::num::NonZeroU32, Vec<u8>, Vec<u8>)> {
    let rest = stored.strip_prefix(PIN_HASH_PREFIX)?;
    let mut parts = rest.split('$');
    let iters = core::num::NonZeroU32::new(parts.next()?.parse().ok()?)?;
    let salt = crate::hex::decode(parts.next()?)?;
    let hash = crate::hex::decode(parts.next()?)?;
    if parts.next().is_some() || hash.len() != 32 || salt.len() < 8 {
        return None;
    }
    Some((iters, salt, hash))
}

/// Whether `pin` matches `stored` (a PIN hash, or the plain digits).
pub fn pin_matches(stored: &str, pin: &str) -> bool {
    if stored.starts_with(PIN_HASH_PREFIX) {
        match parse_pin_hash(stored) {
            Some((iters, salt, hash)) => ring::pbkdf2::verify(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                iters,
                &salt,
                pin.as_bytes(),
                &hash,
            )
            .is_ok(),
            None => false,
        }
    } else {
        constant_time_eq(stored.as_bytes(), pin.as_bytes())
    }
}

/// Wrong PINs in a row that lock login.
pub const MAX_PIN_FAILURES: u32 = 5;
/// How long login stays locked, in milliseconds.
pub const LOCKOUT_MS: u64 = 60_000;

/// Errors from logging in.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// No user has this PIN.
    #[error("wrong PIN ({remaining} tries left before a {}-second lock)", LOCKOUT_MS / 1000)]
    WrongPin {
        /// Tries left before the lock.
        remaining: u32,
    },
    /// Too many wrong PINs.
    #[error("login locked after {MAX_PIN_FAILURES} wrong PINs; try again in {seconds} s")]
    Locked {
        /// Seconds until login is possible again.
        seconds: u64,
    },
    /// The PIN is not 4 to 8 digits.
    #[error("a PIN is 4 to 8 digits")]
    Malformed,
}

/// Login attempts and lockout for one console or screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginGuard {
    failures: u32,
    locked_until_ms: u64,
}

impl LoginGuard {
    /// Checks `pin` against `users` at time `now_ms`; returns the matching user.
    pub fn login<'u>(
        &mut self,
        users: &'u [User],
        pin: &str,
        now_ms: u64,
    ) -> Result<&'u User, LoginError> {
        if now_ms < self.locked_until_ms {
            return Err(LoginError::Locked {
                seconds: (self.locked_until_ms - now_ms).div_ceil(1000),
            });
        }
        let pin = pin.trim();
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(match self.fail(now_ms) {
                Err(locked @ LoginError::Locked { .. }) => locked,
                _ => LoginError::Malformed,
            });
        }
        let mut found = None;
        for u in users {
            // Compare every user's PIN in constant time per byte so timing does not leak which matched.
            if pin_matches(&u.pin, pin) && found.is_none() {
                found = Some(u);
            }
        }
        match found {
            Some(u) => {
                self.failures = 0;
                self.locked_until_ms = 0;
                Ok(u)
            }
            None => Err(self
                .fail(now_ms)
                .err()
                .unwrap_or(LoginError::WrongPin { remaining: 0 })),
        }
    }

    /// Records a failure; always returns the error to report.
    fn fail(&mut self, now_ms: u64) -> Result<(), LoginError> {
        self.failures += 1;
        if self.failures >= MAX_PIN_FAILURES {
            self.failures = 0;
            self.locked_until_ms = now_ms + LOCKOUT_MS;
            return Err(LoginError::Locked {
                seconds: LOCKOUT_MS / 1000,
            });
        }
        Err(LoginError::WrongPin {
            remaining: MAX_PIN_FAILURES - self.failures,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<User> {
        vec![
            User {
                id: UserId("cashier".into()),
                name: "Cashier".into(),
                role: Role::Cashier,
                pin: "1111".into(),
            },
            User {
                id: UserId("manager".into()),
                name: "Manager".into(),
                role: Role::Manager,
                pin: "9999".into(),
            },
        ]
    }

    #[test]
    fn five_wrong_pins_lock_for_a_minute() {
        let us = users();
        let mut g = LoginGuard::default();
        for i in 0..4 {
            assert_eq!(
                g.login(&us, "0001", 1000).unwrap_err(),
                LoginError::WrongPin { remaining: 4 - i }
            );
        }
        assert_eq!(
            g.login(&us, "0001", 1000).unwrap_err(),
            LoginError::Locked { seconds: 60 }
        );
        assert_eq!(
            g.login(&us, "1111", 30_000).unwrap_err(),
            LoginError::Locked { seconds: 31 }
        );
        assert_eq!(g.login(&us, "1111", 61_000).unwrap().role, Role::Cashier);
    }

    #[test]
    fn hashed_pins_log_in_and_wrong_ones_do_not() {
        let mut us = users();
        us[1].pin = hash_pin("9999", b"salt-1234", 1_000);
        assert!(is_pin_hash(&us[1].pin));
        let mut g = LoginGuard::default();
        assert_eq!(g.login(&us, "9999", 0).unwrap().role, Role::Manager);
        assert!(g.login(&us, "9998", 0).is_err());
        assert!(!pin_matches("pbkdf2-sha256$0$00$00", "9999"));
        assert!(!is_pin_hash("pbkdf2-sha256$10$zz$00"));
    }

    #[test]
    fn roles() {
        assert!(allows(Role::Manager, Permission::Void));
        assert!(!allows(Role::Cashier, Permission::Void));
        assert!(!allows(Role::Technician, Permission::Sell));
        assert_eq!(Permission::Refund.needed_role(), Role::Manager);
    }
}
