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
    Ok(out)
}
