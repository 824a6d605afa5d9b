//! Release versions: strict `MAJOR.MINOR.PATCH`.
//!
//! Owns the parsing, ordering and text form of a version as bundles and the
//! running system state it. It must not decide what a comparison means for an
//! install (that is the verifier's policy).

use std::fmt;
use std::str::FromStr;

/// A release version, `MAJOR.MINOR.PATCH`, ordered numerically part by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Incompatible changes.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
}

/// Text that is not a strict `MAJOR.MINOR.PATCH` version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad version {text:?}: {reason} (expected MAJOR.MINOR.PATCH, e.g. 1.2.0)")]
pub struct VersionError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Version {
    /// A version from its three parts.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses strict `MAJOR.MINOR.PATCH`: three decimal numbers, no sign, no
    /// leading zeros (except `0` itself), no spaces, no suffix.
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let fail = |reason| VersionError {
            text: text.to_string(),
            reason,
        };
        let mut parts = [0u64; 3];
        let mut pieces = text.split('.');
        for part in parts.iter_mut() {
            let piece = pieces
                .next()
                .ok_or_else(|| fail("fewer than three parts"))?;
            *part = parse_number(piece).map_err(fail)?;
        }
        if pieces.next().is_some() {
            return Err(fail("more than three parts"));
        }
        Ok(Version::new(parts[0], parts[1], parts[2]))
    }
}

/// One numeric part of a version.
fn parse_number(piece: &str) -> Result<u64, &'static str> {
    if piece.is_empty() {
        return Err("empty part");
    }
    if !piece.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a part is not a decimal number");
    }
    if piece.len() > 1 && piece.starts_with('0') {
        return Err("a part has a leading zero");
    }
    piece.parse::<u64>().map_err(|_| "a part is too large")
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Version::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_numerically() {
        let v = Version::parse("1.10.0").unwrap();
        assert_eq!(v, Version::new(1, 10, 0));
        assert!(Version::parse("1.9.9").unwrap() < v);
        assert!(Version::parse("2.0.0").unwrap() > v);
        assert_eq!(v.to_string(), "1.10.0");
        assert_eq!("0.0.0".parse::<Version>().unwrap(), Version::new(0, 0, 0));
    }

    #[test]
    fn refuses_anything_not_strict() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "1.2.x",
            "v1.2.3",
            "1.2.3-rc1",
            " 1.2.3",
            "1.02.3",
            "+1.2.3",
            "1..3",
            "1.2.99999999999999999999",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} parsed");
        }
        let e = Version::parse("1.02.3").unwrap_err();
        assert!(e.to_string().contains("leading zero"), "{e}");
    }
}
