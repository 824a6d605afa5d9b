//! Every way a bundle is refused, each with the error it must give, and the
//! proof that the sink sees nothing before the header is verified and is
//! aborted on any later failure.

mod bundle_support;

use bundle_support::*;
use keel_ota::install::install;
use keel_ota::manifest::{BundleKind, ManifestError};
use keel_ota::verify::{read_header, BundleError, Part};
use keel_ota::version::Version;

fn rootfs() -> Vec<u8> {
    bytes(200_000, 1)
}

fn good() -> (keel_ota::keys::SigningKey, Vec<u8>) {
    let key = key();
    let bundle = firmware_bundle(&key, &spec(BundleKind::Firmware, "1.2.0"), &rootfs());
    (key, bundle)
}

/// Installs into a recorder; returns the result and the recorder.
fn try_install(
    bundle: &[u8],
    policy: &keel_ota::verify::InstallPolicy,
) -> (
    Result<keel_ota::install::InstallReport, BundleError>,
    Recorder,
) {
    let mut sink = Recorder::new(BundleKind::Firmware);
    let result = install(&mut &bundle[..], policy, &mut sink);
    (result, sink)
}

#[test]
fn a_good_bundle_installs_and_the_sink_sees_the_header_first() {
    let (key, bundle) = good();
    let (result, sink) = try_install(&bundle, &policy(&key, "1.1.0"));
    let report = result.unwrap();
    assert_eq!(report.manifest.version, Version::new(1, 2, 0));
    assert_eq!(report.bytes_written, 200_000);
    assert_eq!(report.key_id, key.public_key().key_id());
    assert_eq!(sink.data, rootfs());
    assert_eq!(sink.calls[0], Call::Begin);
    assert_eq!(sink.calls[1], Call::Start("rootfs".into()));
    assert_eq!(
        &sink.calls[sink.calls.len() - 2..],
        &[Call::Finish("rootfs".into()), Call::Commit]
    );
}

#[test]
fn flipped_bit_in_the_manifest_is_a_bad_signature_and_the_sink_sees_nothing() {
    let (key, mut bundle) = good();
    // Flip the lowest bit of the version's minor digit: "1.2.0" -> "1.3.0".
    let text_start = 12;
    let at = text_start
        + bundle[text_start..]
            .windows(7)
            .position(|w| w == b"\"1.2.0\"")
            .unwrap()
        + 3;
    bundle[at] ^= 1;
    assert_eq!(bundle[at], b'3');
    let (result, sink) = try_install(&bundle, &policy(&key, "1.1.0"));
    let err = result.unwrap_err();
    assert!(matches!(err, BundleError::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains("bad signature"), "{err}");
    assert!(sink.calls.is_empty(), "sink saw {:?}", sink.calls);
}

#[test]
fn flipped_bit_in_the_signature_is_refused() {
    let (key, mut bundle) = good();
    let at = payload_offset(&bundle) - 10;
    bundle[at] ^= 0x80;
    let (result, sink) = try_install(&bundle, &policy(&key, "1.1.0"));
    assert!(matches!(result, Err(BundleError::BadSignature { .. })));
    assert!(sink.calls.is_empty());
}

#[test]
fn flipped_bit_in_the_payload_is_a_hash_mismatch_and_the_sink_is_aborted() {
    let (key, mut bundle) = good();
    let at = payload_offset(&bundle) + 150_000;
    bundle[at] ^= 4;
    let (result, sink) = try_install(&bundle, &policy(&key, "1.1.0"));
    let err = result.unwrap_err();
    match &err {
        BundleError::HashMismatch { payload, .. } => assert_eq!(payload, "rootfs"),
        other => panic!("expected a hash mismatch, got {other}"),
    }
    assert!(err.to_string().contains("\"rootfs\""), "{err}");
    assert!(sink.aborted(), "{:?}", sink.calls.last());
    assert!(!sink.committed());
    assert!(!sink.calls.contains(&Call::Finish("rootfs".into())));
}

#[test]
fn truncation_anywhere_is_refused_and_says_where() {
    let (key, bundle) = good();
    let payload = payload_offset(&bundle);
    let manifest_end = payload - 64;
    let cases = [
        (0, Part::Magic),
        (5, Part::Magic),
        (8, Part::HeaderLength),
        (10, Part::HeaderLength),
        (12, Part::Manifest),
        (40, Part::Manifest),
        (manifest_end, Part::Signature),
        (manifest_end + 30, Part::Signature),
        (payload, Part::Payload("rootfs".into())),
        (payload + 65_536, Part::Payload("rootfs".into())),
        (bundle.len() - 1, Part::Payload("rootfs".into())),
    ];
    for (cut, part) in cases {
        let (result, sink) = try_install(&bundle[..cut], &policy(&key, "1.1.0"));
        match result {
            Err(BundleError::Truncated { part: p, offset }) => {
                assert_eq!(p, part, "cut at {cut}");
                assert_eq!(offset, cut as u64, "cut at {cut}");
            }
            other => panic!("cut at {cut}: expected truncated, got {other:?}"),
        }
        if matches!(part, Part::Payload(_)) {
            assert!(sink.aborted(), "cut at {cut}: {:?}", sink.calls.last());
            assert!(!sink.committed());
        } else {
            assert!(
                sink.calls.is_empty(),
                "cut at {cut}: sink saw {:?}",
                sink.calls
            );
        }
    }
    let err = try_install(&bundle[..40], &policy(&key, "1.1.0"))
        .0
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bundle truncated in the manifest at byte 40"
    );
}

#[test]
fn trailing_bytes_are_refused_and_the_sink_is_aborted() {
    let (key, mut bundle) = good();
    let end = bundle.len() as u64;
    bundle.push(0);
    let (result, sink) = try_install(&bundle, &policy(&key, "1.1.0"));
    assert!(
        matches!(result, Err(BundleError::TrailingBytes { offset }) if offset == end),
        "{result:?}"
    );
    assert!(sink.aborted());
    assert!(!sink.committed());
}

#[test]
fn a_key_the_terminal_does_not_trust_is_refused() {
    let (_, bundle) = good();
    let other = key();
    let (result, sink) = try_install(&bundle, &policy(&other, "1.1.0"));
    let err = result.unwrap_err();
    assert!(
        matches!(err, BundleError::UnknownKey { trusted: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("unknown key"), "{err}");
    assert!(sink.calls.is_empty());
}

#[test]
fn a_bundle_re_signed_by_another_key_under_the_trusted_key_id_is_refused() {
    // An attacker signs with their own key but claims the trusted key's id.
    let (key, bundle) = good();
    let attacker = self::key();
    let offset = payload_offset(&bundle);
    let text = std::str::from_utf8(&bundle[12..offset - 64]).unwrap();
    let signed = keel_ota::bundle::signed_bytes(text.as_bytes());
    let mut forged = signed.clone();
    forged.extend_from_slice(&attacker.sign(&signed));
    forged.extend_from_slice(&bundle[offset..]);
    let (result, sink) = try_install(&forged, &policy(&key, "1.1.0"));
    assert!(matches!(result, Err(BundleError::BadSignature { .. })));
    assert!(sink.calls.is_empty());
}

#[test]
fn wrong_board_says_the_board_and_the_bundles_boards() {
    let (key, bundle) = good();
    let mut policy = policy(&key, "1.1.0");
    policy.board = "raspberrypi4-64".into();
    let (result, sink) = try_install(&bundle, &policy);
    let err = result.unwrap_err();
    assert!(matches!(err, BundleError::WrongBoard { .. }));
    assert_eq!(
        err.to_string(),
        "bundle is for boards qemu-x86_64, generic-x86_64, this terminal is raspberrypi4-64"
    );
    assert!(sink.calls.is_empty());
}

#[test]
fn downgrade_and_reinstall_are_refused_unless_allowed() {
    let (key, bundle) = good();
    let (result, sink) = try_install(&bundle, &policy(&key, "1.3.0"));
    let err = result.unwrap_err();
    assert!(matches!(err, BundleError::Downgrade { .. }));
    assert_eq!(
        err.to_string(),
        "downgrade refused: bundle version 1.2.0 is older than the running 1.3.0"
    );
    assert!(sink.calls.is_empty());

    let (result, _) = try_install(&bundle, &policy(&key, "1.2.0"));
    assert!(matches!(
        result,
        Err(BundleError::AlreadyInstalled { version }) if version == Version::new(1, 2, 0)
    ));

    for running in ["1.3.0", "1.2.0"] {
        let mut allowed = policy(&key, running);
        allowed.allow_downgrade = true;
        let (result, sink) = try_install(&bundle, &allowed);
        assert!(result.is_ok(), "running {running}: {result:?}");
        assert!(sink.committed());
    }
}

#[test]
fn min_version_refuses_a_running_version_that_is_too_old() {
    let key = key();
    let mut spec = spec(BundleKind::Firmware, "2.0.0");
    spec.min_version = Some(Version::new(1, 5, 0));
    let bundle = firmware_bundle(&key, &spec, &rootfs());
    let (result, sink) = try_install(&bundle, &policy(&key, "1.4.9"));
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "running version 1.4.9 is older than 1.5.0, the oldest version this bundle updates from"
    );
    assert!(sink.calls.is_empty());
    // allow_downgrade does not override a compatibility floor.
    let mut allowed = policy(&key, "1.4.9");
    allowed.allow_downgrade = true;
    assert!(matches!(
        try_install(&bundle, &allowed).0,
        Err(BundleError::RunningTooOld { .. })
    ));
    assert!(try_install(&bundle, &policy(&key, "1.5.0")).0.is_ok());
}

#[test]
fn bad_magic_and_oversized_header_are_refused() {
    let (key, mut bundle) = good();
    let policy = policy(&key, "1.1.0");
    let mut other = bundle.clone();
    other[0] = b'X';
    let err = try_install(&other, &policy).0.unwrap_err();
    assert!(matches!(err, BundleError::BadMagic { .. }));
    assert!(err.to_string().contains("not a Keel bundle"), "{err}");
    // A wrong first byte is refused without waiting for the rest.
    assert!(matches!(
        read_header(&mut &b"PK"[..], &policy),
        Err(BundleError::BadMagic { .. })
    ));

    bundle[8..12].copy_from_slice(&(64 * 1024 + 1u32).to_le_bytes());
    let err = try_install(&bundle, &policy).0.unwrap_err();
    assert!(
        matches!(err, BundleError::HeaderTooLarge { len: 65537 }),
        "{err}"
    );
}

#[test]
fn malformed_manifests_are_refused_before_the_signature() {
    let key = key();
    let policy = policy(&key, "0.1.0");
    let make = |text: &[u8]| {
        let mut b = keel_ota::bundle::signed_bytes(text);
        b.extend_from_slice(&[0u8; 64]);
        b
    };
    let err = read_header(&mut &make(b"format = 1\xff")[..], &policy).unwrap_err();
    assert!(matches!(err, BundleError::NotUtf8 { at: 10 }), "{err}");
    let err = read_header(&mut &make(b"format = 2")[..], &policy).unwrap_err();
    assert!(matches!(
        err,
        BundleError::Manifest(ManifestError::UnknownFormat(_))
    ));
    let err = read_header(&mut &make(b"[[[")[..], &policy).unwrap_err();
    assert!(matches!(
        err,
        BundleError::Manifest(ManifestError::BadToml(_))
    ));
}

#[test]
fn a_bundle_of_the_wrong_kind_never_reaches_the_sink() {
    let key = key();
    let bundle = model_bundle(&key, "1.0.0");
    let (result, sink) = try_install(&bundle, &policy(&key, "0.9.0"));
    assert!(matches!(
        result,
        Err(BundleError::WrongKind {
            expected: BundleKind::Firmware,
            found: BundleKind::Model
        })
    ));
    assert!(sink.calls.is_empty());
}
