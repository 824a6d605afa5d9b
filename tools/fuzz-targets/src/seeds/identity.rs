//! PEM seeds: certificate and key pairs written by `keel provision` (a store
//! with its own CA, a store whose CA an operator issued) and `keel-cloud init`
//! (the operator CA, the cloud's server certificate), committed in
//! `fuzz/identity-seeds/` because fresh ones differ each run (random keys).
//! Those keys are trusted by nothing.

use super::{read, Seed, SeedError};
use std::path::Path;

/// (seed name, selector byte of `identity_pem`, certificate file, key file).
const PAIRS: &[(&str, u8, &str, &str)] = &[
    (
        "terminal_own_store",
        0,
        "own-store-terminal.pem",
        "own-store-terminal-key.pem",
    ),
    (
        "terminal_operator_store",
        0,
        "operator-store-terminal.pem",
        "operator-store-terminal-key.pem",
    ),
    ("cloud_server", 1, "cloud.pem", "cloud-key.pem"),
    (
        "store_ca_own",
        2,
        "own-store-ca.pem",
        "own-store-ca-key.pem",
    ),
    (
        "store_ca_operator",
        2,
        "operator-store-ca.pem",
        "operator-store-ca-key.pem",
    ),
    ("operator_ca", 3, "operator-ca.pem", "operator-ca-key.pem"),
];

/// (seed name, CA file) read as trust roots (selector byte 4).
const ROOTS: &[(&str, &str)] = &[
    ("roots_own_store_ca", "own-store-ca.pem"),
    ("roots_operator_ca", "operator-ca.pem"),
];

pub(super) fn seeds(root: &Path) -> Result<Vec<Seed>, SeedError> {
    let dir = root.join("fuzz/identity-seeds");
    let mut out = Vec::new();
    for (name, selector, cert, key) in PAIRS {
        let bytes = [
            &[*selector][..],
            &read(&dir.join(cert))?,
            &[0],
            &read(&dir.join(key))?,
        ]
        .concat();
        out.push(Seed::new("identity_pem", *name, bytes));
    }
    for (name, cert) in ROOTS {
        let bytes = [&[4][..], &read(&dir.join(cert))?].concat();
        out.push(Seed::new("identity_pem", *name, bytes));
    }
    Ok(out)
}
