//! Shared helpers for the bundle tests: keys, a policy, bundles in memory and
//! a sink that records every call it gets.

#![allow(dead_code)]

use keel_ota::bundle::{write_bundle, BundleSpec, PayloadData, PayloadInput};
use keel_ota::install::PayloadSink;
use keel_ota::keys::{generate, SigningKey};
use keel_ota::manifest::{BundleKind, PayloadEntry};
use keel_ota::verify::{InstallPolicy, VerifiedHeader};
use keel_ota::version::Version;
use std::io;

pub const BOARD: &str = "qemu-x86_64";

pub fn key() -> SigningKey {
    generate(&ring::rand::SystemRandom::new()).unwrap()
}

pub fn policy(key: &SigningKey, running: &str) -> InstallPolicy {
    InstallPolicy {
        board: BOARD.into(),
        running: Version::parse(running).unwrap(),
        allow_downgrade: false,
        trusted: vec![key.public_key()],
    }
}

pub fn spec(kind: BundleKind, version: &str) -> BundleSpec {
    BundleSpec {
        kind,
        version: Version::parse(version).unwrap(),
        min_version: None,
        boards: vec![BOARD.into(), "generic-x86_64".into()],
        created_unix_ms: 1_790_000_000_000,
    }
}

/// Deterministic pseudo-random bytes (xorshift64).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A firmware bundle in memory with a `rootfs` of `rootfs`.
pub fn firmware_bundle(key: &SigningKey, spec: &BundleSpec, rootfs: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_bundle(
        &mut out,
        key,
        spec,
        &[PayloadInput {
            name: "rootfs".into(),
            data: PayloadData::Bytes(rootfs.to_vec()),
        }],
    )
    .unwrap();
    out
}

/// A model bundle in memory with two files.
pub fn model_bundle(key: &SigningKey, version: &str) -> Vec<u8> {
    let mut out = Vec::new();
    write_bundle(
        &mut out,
        key,
        &spec(BundleKind::Model, version),
        &[
            PayloadInput {
                name: "model.tflite".into(),
                data: PayloadData::Bytes(bytes(5000, 3)),
            },
            PayloadInput {
                name: "golden/00.in.f32".into(),
                data: PayloadData::Bytes(bytes(32, 4)),
            },
        ],
    )
    .unwrap();
    out
}

/// One call a sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Begin,
    Start(String),
    Write(usize),
    Finish(String),
    Commit,
    Abort,
}

/// A sink that records its calls and keeps the bytes.
#[derive(Debug)]
pub struct Recorder {
    pub kind: BundleKind,
    pub calls: Vec<Call>,
    pub data: Vec<u8>,
    pub largest_write: usize,
    pub keep_data: bool,
}

impl Recorder {
    pub fn new(kind: BundleKind) -> Recorder {
        Recorder {
            kind,
            calls: Vec::new(),
            data: Vec::new(),
            largest_write: 0,
            keep_data: true,
        }
    }

    pub fn committed(&self) -> bool {
        self.calls.contains(&Call::Commit)
    }

    pub fn aborted(&self) -> bool {
        self.calls.last() == Some(&Call::Abort)
    }
}

impl PayloadSink for Recorder {
    fn kind(&self) -> BundleKind {
        self.kind
    }
    fn begin(&mut self, _: &VerifiedHeader) -> io::Result<()> {
        self.calls.push(Call::Begin);
        Ok(())
    }
    fn start_payload(&mut self, entry: &PayloadEntry) -> io::Result<()> {
        self.calls.push(Call::Start(entry.name.clone()));
        Ok(())
    }
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.largest_write = self.largest_write.max(bytes.len());
        if self.keep_data {
            self.data.extend_from_slice(bytes);
            self.calls.push(Call::Write(bytes.len()));
        }
        Ok(())
    }
    fn finish_payload(&mut self, entry: &PayloadEntry) -> io::Result<()> {
        self.calls.push(Call::Finish(entry.name.clone()));
        Ok(())
    }
    fn commit(&mut self) -> io::Result<()> {
        self.calls.push(Call::Commit);
        Ok(())
    }
    fn abort(&mut self) {
        self.calls.push(Call::Abort);
    }
}

/// Offset of the first payload byte in `bundle`.
pub fn payload_offset(bundle: &[u8]) -> usize {
    let len = u32::from_le_bytes(bundle[8..12].try_into().unwrap()) as usize;
    12 + len + 64
}
