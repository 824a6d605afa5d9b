//! The seeds are valid inputs, not just bytes: each one decodes through the
//! production decoder (so fuzzing starts from the accepting paths).

use keel_fuzz_targets::seeds::{self, Seed};
use std::path::Path;

fn seeds() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let key = std::fs::read(root.join("fuzz/corpus-signing-key.pk8")).unwrap();
    seeds::all(&root, &key).unwrap()
}

/// Whether `seed` decodes (`None`: the target has no single accept/refuse answer).
fn decodes(seed: &Seed) -> Option<Result<(), String>> {
    let b = &seed.bytes[..];
    let text = || String::from_utf8_lossy(b).into_owned();
    let e = |e: &dyn std::fmt::Display| e.to_string();
    Some(match seed.target {
        "terminal_config" => keel_terminal::config::parse("t.toml", &text(), Path::new("/x"))
            .map(drop)
            .map_err(|x| e(&x)),
        "board_toml" => keel_board::parse("board.toml", &text())
            .map(drop)
            .map_err(|x| e(&x)),
        "journal_record" => keel_store::StoredEvent::from_bytes(1, b)
            .map(drop)
            .map_err(|x| e(&x)),
        "raft_message" => keel_cluster::raft::codec::decode_message(b)
            .map(drop)
            .map_err(|x| e(&x)),
        "raft_command" => keel_cluster::raft::CommandEnvelope::decode(b)
            .map(drop)
            .map_err(|x| e(&x)),
        "replication_message" => keel_core::replication::decode(b)
            .map(drop)
            .map_err(|x| e(&x)),
        "uplink_marks" => keel_uplink::UplinkMarks::decode(b)
            .map(drop)
            .map_err(|x| e(&x)),
        "store_message" => keel_uplink::wire::StoreMessage::decode(b)
            .map(drop)
            .map_err(|x| e(&x)),
        "cloud_message" => keel_uplink::wire::CloudMessage::decode(b)
            .map(drop)
            .map_err(|x| e(&x)),
        "catalog_import" => keel_core::catalog_import::parse_auto(
            &seed.name,
            &text(),
            keel_core::money::Currency::EUR,
        )
        .map(drop)
        .map_err(|x| e(&x)),
        "ota_manifest" => keel_ota::manifest::BundleManifest::parse(&text())
            .map(drop)
            .map_err(|x| e(&x)),
        "ota_update_record" => keel_ota::updater::record_file::decode(&text(), Path::new("u.toml"))
            .map(drop)
            .map_err(|x| e(&x)),
        "ota_pending_firmware" => keel_terminal::ota::layout::decode_toml::<
            keel_terminal::ota::layout::PendingFirmware,
        >(&text(), Path::new("p.toml"))
        .map(drop)
        .map_err(|x| e(&x)),
        "ota_slots" => keel_terminal::ota::layout::decode_toml::<
            keel_terminal::ota::layout::SlotVersions,
        >(&text(), Path::new("s.toml"))
        .map(drop)
        .map_err(|x| e(&x)),
        "identity_pem" => {
            use keel_cluster::identity::{OperatorCa, ServerIdentity, StoreCa, TerminalIdentity};
            let split = b[1..]
                .iter()
                .position(|&x| x == 0)
                .map_or(b.len(), |i| i + 1);
            let cert = String::from_utf8_lossy(&b[1..split]).into_owned();
            let key = String::from_utf8_lossy(b.get(split + 1..).unwrap_or_default()).into_owned();
            match b[0] {
                4 => keel_cluster::tls::roots(&cert).map(drop).map_err(|x| e(&x)),
                _ => match b[0] {
                    0 => TerminalIdentity::from_pem(&cert, &key).map(drop),
                    1 => ServerIdentity::from_pem(&cert, &key).map(drop),
                    2 => StoreCa::from_pem(&cert, &key).map(drop),
                    _ => OperatorCa::from_pem(&cert, &key).map(drop),
                }
                .map_err(|x| e(&x)),
            }
        }
        "grubenv" => keel_ota::grubenv::parse(b).map(drop).map_err(|x| e(&x)),
        "ubootenv_config" => keel_ota::ubootenv::UbootEnvConfig::parse(&text())
            .map(drop)
            .map_err(|x| e(&x)),
        "journal_chain" => {
            let records = keel_fuzz_targets::journal::split_records(b);
            let terminal = keel_core::ids::TerminalId(1);
            let store = keel_core::ids::StoreId(keel_fuzz_targets::journal::SEED_STORE.into());
            let genesis = keel_core::chain::genesis_hash(&store, terminal);
            keel_core::chain::verify_chain(terminal, genesis, (1u64..).zip(records), None)
                .map(drop)
                .map_err(|x| e(&x))
        }
        "transport_frames" if b[0] & 0x80 == 0 && seed.name != "bound_16_then_too_large" => {
            keel_cluster::transport_frame::decode_stream(
                &b[1..],
                keel_cluster::transport::DEFAULT_MAX_FRAME,
            )
            .map(drop)
            .map_err(|x| e(&x))
        }
        "cloud_http_request" => {
            keel_fuzz_targets::http::cloud_request::read_request(&mut &b[1..], |_| {
                keel_fuzz_targets::http::cloud_request::MAX_BODY
            })
            .map(drop)
            .map_err(|x| e(&x))
        }
        "health_request" if seed.name != "post" => {
            keel_terminal::health::request::read_request(&mut &b[1..])
                .map(drop)
                .map_err(|x| e(&x))
        }
        "v4l2_frame" => {
            let (format, buf) = b.split_at(keel_ai::camera::v4l2::FORMAT_SIZE);
            let format = format.try_into().unwrap();
            keel_ai::camera::v4l2::parse_format("/dev/video0", format)
                .and_then(|g| g.convert(buf))
                .map(drop)
                .map_err(|x| e(&x))
        }
        "print_spool_job" => {
            let dir = tempfile::tempdir().unwrap();
            let pending = dir.path().join("pending");
            std::fs::create_dir_all(&pending).unwrap();
            std::fs::write(pending.join("00000000000000000001.job"), &b[1..]).unwrap();
            match keel_devices::spool::Spool::open(dir.path()).map(|s| s.pending_count()) {
                Ok(1) => Ok(()),
                Ok(n) => Err(format!("{n} jobs pending, the file was set aside")),
                Err(x) => Err(e(&x)),
            }
        }
        _ => return None,
    })
}

#[test]
fn every_seed_with_a_verdict_decodes() {
    let mut checked = 0;
    for seed in seeds() {
        if let Some(result) = decodes(&seed) {
            assert!(
                result.is_ok(),
                "{}/{}: {:?}",
                seed.target,
                seed.name,
                result
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} seeds checked");
}

#[test]
fn model_manifests_parse_in_their_directories() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    for name in ["loss-prevention", "product-recognition"] {
        let dir = root.join(name);
        let text = std::fs::read_to_string(dir.join("manifest.toml")).unwrap();
        keel_ai::manifest::Manifest::parse(&dir, &text).unwrap();
    }
}
