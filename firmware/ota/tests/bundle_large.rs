//! A 64 MiB rootfs goes from a file on disk through a bundle file into a slot
//! image with bounded memory: writes never exceed the install buffer and the
//! process's peak resident memory stays far below the payload size.
//! (Its own test binary, so the peak is this test's alone.)

mod bundle_support;

use bundle_support::*;
use keel_ota::bundle::{write_bundle_file, PayloadData, PayloadInput};
use keel_ota::install::{install, install_with_progress, Progress, SlotSink, BUFFER_SIZE};
use keel_ota::manifest::BundleKind;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::time::Instant;

const SIZE: usize = 64 * 1024 * 1024;

/// Peak resident set size of this process in KiB (Linux), if known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn sha256_file(path: &std::path::Path) -> Vec<u8> {
    let mut file = File::open(path).unwrap();
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        context.update(&buf[..n]);
    }
    context.finish().as_ref().to_vec()
}

#[test]
fn a_64_mib_payload_streams_with_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("rootfs.ext4");
    {
        let mut file = std::io::BufWriter::new(File::create(&payload).unwrap());
        for chunk in 0..(SIZE / (1 << 20)) {
            file.write_all(&bytes(1 << 20, chunk as u64 + 1)).unwrap();
        }
        file.flush().unwrap();
    }
    let key = key();
    let bundle = tmp.path().join("fw.keelbundle");
    let started = Instant::now();
    write_bundle_file(
        &bundle,
        &key,
        &spec(BundleKind::Firmware, "2.0.0"),
        &[PayloadInput {
            name: "rootfs".into(),
            data: PayloadData::File(payload.clone()),
        }],
    )
    .unwrap();
    let signed_in = started.elapsed();

    // Through a recorder that keeps nothing: the largest write is the buffer.
    let mut recorder = Recorder::new(BundleKind::Firmware);
    recorder.keep_data = false;
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    install(&mut reader, &policy(&key, "1.0.0"), &mut recorder).unwrap();
    assert!(recorder.largest_write <= BUFFER_SIZE);
    assert!(recorder.largest_write > 0);

    // Onto a slot image, with progress.
    let slot = tmp.path().join("rootfs-b.img");
    let mut sink = SlotSink::new(&slot);
    let progress = Progress::new();
    let started = Instant::now();
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    let report =
        install_with_progress(&mut reader, &policy(&key, "1.0.0"), &mut sink, &progress).unwrap();
    let installed_in = started.elapsed();
    assert_eq!(report.bytes_written, SIZE as u64);
    assert_eq!(
        (progress.written(), progress.total()),
        (SIZE as u64, SIZE as u64)
    );
    assert_eq!(std::fs::metadata(&slot).unwrap().len(), SIZE as u64);
    assert_eq!(sha256_file(&slot), sha256_file(&payload));

    let mib = SIZE as f64 / (1 << 20) as f64;
    println!(
        "64 MiB: signed in {:.2} s ({:.0} MiB/s), verified+installed in {:.2} s ({:.0} MiB/s)",
        signed_in.as_secs_f64(),
        mib / signed_in.as_secs_f64(),
        installed_in.as_secs_f64(),
        mib / installed_in.as_secs_f64()
    );
    if let Some(peak) = peak_rss_kib() {
        println!("peak resident memory: {} KiB", peak);
        // The payload is 65536 KiB; holding it whole would show here.
        assert!(
            peak < 40 * 1024,
            "peak RSS {peak} KiB: a payload was held in memory"
        );
    }
}
