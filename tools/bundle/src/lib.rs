//! The `keel-bundle` tool: signing keys, signed OTA bundles and their
//! inspection, over the `keel-ota` library.
//!
//! Owns the command line ([`cli`]), the commands ([`commands`]) and listing a
//! model directory's files ([`model_dir`]). It must not define the bundle
//! format or its checks: those live in `keel_ota` so the terminal and the
//! tool cannot disagree.

pub mod cli;
pub mod commands;
pub mod model_dir;
