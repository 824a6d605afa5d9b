//! The manifest's TOML round trip and one case per malformation.

use super::*;

fn model() -> BundleManifest {
    BundleManifest {
        kind: BundleKind::Model,
        version: Version::new(1, 2, 0),
        min_version: Some(Version::new(1, 0, 0)),
        boards: vec!["qemu-x86_64".into()],
        created_unix_ms: 1_790_000_000_000,
        key_id: KeyId([1, 2, 3, 4, 5, 6, 7, 8]),
        payloads: vec![
            PayloadEntry {
                name: "manifest.toml".into(),
                size: 10,
                sha256: [0xab; 32],
            },
            PayloadEntry {
                name: "golden/00.in.f32".into(),
                size: 32,
                sha256: [0xcd; 32],
            },
        ],
    }
}

#[test]
fn toml_round_trip() {
    let m = model();
    let text = m.to_toml().unwrap();
    assert!(text.contains("[[payload]]"), "{text}");
    assert!(text.contains("key_id = \"0102030405060708\""), "{text}");
    assert_eq!(BundleManifest::parse(&text).unwrap(), m);
}

#[test]
fn each_malformation_has_its_error() {
    let text = model().to_toml().unwrap();
    let parse = |t: String| BundleManifest::parse(&t).unwrap_err();
    assert!(matches!(
        parse("not = = toml".into()),
        ManifestError::BadToml(_)
    ));
    assert!(matches!(
        parse(text.replace("format = 1", "format = 2")),
        ManifestError::UnknownFormat(f) if f == "2"
    ));
    assert!(matches!(
        parse(text.replace("\"model\"", "\"kernel\"")),
        ManifestError::UnknownKind(_)
    ));
    assert!(matches!(
        parse(text.replace("\"1.2.0\"", "\"1.2\"")),
        ManifestError::BadVersion {
            field: "version",
            ..
        }
    ));
    assert!(matches!(
        parse(text.replace("[\"qemu-x86_64\"]", "[]")),
        ManifestError::EmptyBoards
    ));
    assert!(matches!(
        parse(text.replace("golden/00.in.f32", "../00.in.f32")),
        ManifestError::BadPayloadName { .. }
    ));
    assert!(matches!(
        parse(text.replace("golden/00.in.f32", "/etc/passwd")),
        ManifestError::BadPayloadName { .. }
    ));
    assert!(matches!(
        parse(text.replace("golden/00.in.f32", "manifest.toml")),
        ManifestError::DuplicatePayload(_)
    ));
    assert!(matches!(
        parse(text.replace("golden/00.in.f32", "manifest.toml/x")),
        ManifestError::BadPayloadName { .. }
    ));
    assert!(matches!(
        parse(text.replace("0102030405060708", "01")),
        ManifestError::BadKeyId(_)
    ));
    assert!(matches!(
        parse(format!("{text}\nextra = 1\n")),
        ManifestError::BadToml(_)
    ));
}

#[test]
fn firmware_carries_one_rootfs() {
    let mut m = model();
    m.kind = BundleKind::Firmware;
    assert_eq!(m.validate(), Err(ManifestError::FirmwarePayloads(2)));
    m.payloads.truncate(1);
    assert!(matches!(
        m.validate(),
        Err(ManifestError::BadPayloadName { .. })
    ));
    m.payloads[0].name = ROOTFS_PAYLOAD.into();
    assert_eq!(m.validate(), Ok(()));
}
