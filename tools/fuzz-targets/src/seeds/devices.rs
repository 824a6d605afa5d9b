//! Peripheral seeds: printer status replies made by the reply encoders, the
//! recorded scanner event streams in `firmware/devices/tests/recordings`, a
//! serial scanner's lines and scale frames made by the protocol encoders.

use super::{read, Seed, SeedError};
use crate::devices::{scale_selector, scanner_selector};
use keel_devices::scale::{cas, toledo, ScaleProtocol, ScaleReading, ScaleState};
use keel_devices::scanner::{Layout, Terminator};
use keel_devices::status::reply::{encode, ErrorByte, OfflineByte, PaperByte, PrinterByte};
use std::path::Path;

/// The four replies of one status query.
fn status(
    printer: PrinterByte,
    offline: OfflineByte,
    error: ErrorByte,
    paper: PaperByte,
) -> Vec<u8> {
    vec![
        encode::printer(printer),
        encode::offline(offline),
        encode::error(error),
        encode::paper(paper),
    ]
}

pub(super) fn seeds(root: &Path) -> Result<Vec<Seed>, SeedError> {
    let mut out = Vec::new();
    let ok = status(
        PrinterByte::default(),
        OfflineByte::default(),
        ErrorByte::default(),
        PaperByte::default(),
    );
    let paper_out = status(
        PrinterByte {
            drawer_pin_high: true,
            offline: true,
        },
        OfflineByte {
            paper_end_stop: true,
            ..OfflineByte::default()
        },
        ErrorByte::default(),
        PaperByte {
            near_end: true,
            out: true,
        },
    );
    let cover_open = status(
        PrinterByte {
            drawer_pin_high: false,
            offline: true,
        },
        OfflineByte {
            cover_open: true,
            error: true,
            ..OfflineByte::default()
        },
        ErrorByte {
            cutter: true,
            ..ErrorByte::default()
        },
        PaperByte::default(),
    );
    out.push(Seed::new("escpos_status", "ready", ok.clone()));
    out.push(Seed::new(
        "escpos_status",
        "paper_out_then_ready",
        [paper_out, ok].concat(),
    ));
    out.push(Seed::new("escpos_status", "cover_open", cover_open));

    let recordings = root.join("firmware/devices/tests/recordings");
    let mut files: Vec<_> = std::fs::read_dir(&recordings)
        .map_err(|source| SeedError::Read {
            path: recordings.clone(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "events"))
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let layout = if name.ends_with("_de") {
            Layout::German
        } else {
            Layout::Us
        };
        let (terminator, framing) = if name.starts_with("prefix_suffix_tab") {
            (Terminator::Tab, 4 | 8)
        } else {
            (Terminator::Enter, 0)
        };
        let mut bytes = vec![scanner_selector(layout, terminator) | framing];
        bytes.extend(read(&path)?);
        out.push(Seed::new("scanner_events", name, bytes));
    }
    out.push(Seed::new(
        "scanner_serial",
        "two_codes_crlf",
        b"\x004006381333931\r\n96385074\n".to_vec(),
    ));
    out.push(Seed::new(
        "scanner_serial",
        "prefix_suffix",
        b"\x0c]E0{4006381333931}\r".to_vec(),
    ));

    let readings = [
        ScaleReading {
            state: ScaleState::Stable,
            grams: 1250,
        },
        ScaleReading {
            state: ScaleState::Unstable,
            grams: 300,
        },
        ScaleReading {
            state: ScaleState::Zero,
            grams: 0,
        },
        ScaleReading {
            state: ScaleState::Overload,
            grams: 0,
        },
    ];
    for protocol in [
        ScaleProtocol::ToledoContinuous,
        ScaleProtocol::Toledo8217,
        ScaleProtocol::CasContinuous,
        ScaleProtocol::CasRequest,
    ] {
        let mut bytes = vec![scale_selector(protocol)];
        for r in &readings {
            bytes.extend(match protocol {
                ScaleProtocol::ToledoContinuous => toledo::encode_continuous(r),
                ScaleProtocol::Toledo8217 => toledo::encode_demand(r),
                _ => cas::encode(r),
            });
        }
        out.push(Seed::new(
            "scale_frames",
            format!("{protocol:?}").to_lowercase(),
            bytes,
        ));
    }
    out.extend(spool_seeds()?);
    Ok(out)
}

/// Spool time the job seeds carry instead of the clock's (seeds must not change).
const SEED_CREATED_MS: u64 = 1_760_000_000_000;

/// Length of the LEB128 varint (postcard's integers) at the start of `b`.
fn varint_len(b: &[u8]) -> Option<usize> {
    b.iter().position(|x| x & 0x80 == 0).map(|i| i + 1)
}

/// A job file with its spool time replaced by [`SEED_CREATED_MS`] and its
/// header's length and CRC-32 made right again. The payload is postcard's
/// (id, kind, label, created_ms, bytes): two varints, a length-prefixed
/// label, then the time.
fn fixed_time(file: &[u8]) -> Option<Vec<u8>> {
    let (header, payload) = file.split_at_checked(16)?;
    let mut at = varint_len(payload)?;
    at += varint_len(&payload[at..])?;
    let label_len = varint_len(&payload[at..])?;
    let label = usize::from(*payload.get(at)?);
    if label_len != 1 {
        return None; // seed labels are short
    }
    at += 1 + label;
    let time_len = varint_len(payload.get(at..)?)?;
    let mut time = Vec::new();
    let mut v = SEED_CREATED_MS;
    while v >= 0x80 {
        time.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    time.push(v as u8);
    let new = [&payload[..at], &time, &payload[at + time_len..]].concat();
    let mut out = header[..8].to_vec();
    out.extend_from_slice(&(new.len() as u32).to_le_bytes());
    out.extend_from_slice(&keel_ota::ubootenv::crc32(&new).to_le_bytes());
    out.extend_from_slice(&new);
    Some(out)
}

/// Print job files written by `keel_devices::spool::Spool::enqueue` (the
/// printer worker's durable queue), read back from its pending area; mode
/// byte 0 (as is) and 1 (header made right: the same bytes).
fn spool_seeds() -> Result<Vec<Seed>, SeedError> {
    use keel_devices::spool::{JobKind, Spool};
    let dir = tempfile::tempdir().map_err(|e| SeedError::produce("a temporary directory", e))?;
    let receipt = b"\x1b@\x1ba\x01KEEL DEMO STORE\n\x1ba\x00Coffee 250g      4.95\nTOTAL            4.95\n\x1dV\x42\x03";
    let jobs = [
        ("receipt", JobKind::Receipt, "receipt 1/17", &receipt[..]),
        (
            "kitchen",
            JobKind::Kitchen,
            "table 4",
            b"\x1b@2x Soup\n\x1dV\x00",
        ),
        ("empty_test", JobKind::Test, "printer test", b""),
    ];
    let mut out = Vec::new();
    for (name, kind, label, bytes) in jobs {
        // A fresh spool each: every seed is job 1, as the target's file name says.
        let spool_dir = dir.path().join(name);
        let mut spool =
            Spool::open(&spool_dir).map_err(|e| SeedError::produce("a print spool", e))?;
        let id = spool
            .enqueue(kind, label, bytes)
            .map_err(|e| SeedError::produce("a print job", e))?;
        let written = read(&spool_dir.join("pending").join(format!("{:020}.job", id.0)))?;
        let file = fixed_time(&written)
            .ok_or_else(|| SeedError::produce("a print job seed", "unexpected job file layout"))?;
        out.push(Seed::new(
            "print_spool_job",
            name,
            [&[0u8][..], &file].concat(),
        ));
    }
    out.push(Seed::new(
        "print_spool_job",
        "receipt_header_made_right",
        [&[1u8][..], &out[0].bytes[1..]].concat(),
    ));
    Ok(out)
}
