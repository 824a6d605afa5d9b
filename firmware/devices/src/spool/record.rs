//! The on-disk form of one print job: a magic, the payload length, a CRC-32
//! of the payload and the postcard-encoded job.
//!
//! Owns the byte layout and its validation: a short, truncated or altered
//! file is reported as corrupt, never a panic. It must not touch the file
//! system (the spool does that).

use super::{Job, JobId, JobKind};

/// A job about to be written, borrowed from the caller.
#[derive(Clone, Copy)]
pub(super) struct JobRef<'a> {
    /// Its id.
    pub id: JobId,
    /// Its kind.
    pub kind: JobKind,
    /// Its label.
    pub label: &'a str,
    /// Spool time, ms since the Unix epoch.
    pub created_ms: u64,
    /// Its bytes.
    pub bytes: &'a [u8],
}

impl<'a> From<&'a Job> for JobRef<'a> {
    fn from(job: &'a Job) -> Self {
        JobRef {
            id: job.id,
            kind: job.kind,
            label: &job.label,
            created_ms: job.created_ms,
            bytes: &job.bytes,
        }
    }
}
use serde::{Deserialize, Serialize};

/// First bytes of every job file (format version 1).
const MAGIC: &[u8; 8] = b"KEELJOB\x01";
/// Magic, payload length (u32 LE) and CRC-32 (u32 LE).
const HEADER_LEN: usize = 16;

/// What a job file holds after the header.
#[derive(Deserialize)]
struct Record {
    id: u64,
    kind: JobKind,
    label: String,
    created_ms: u64,
    bytes: Vec<u8>,
}

/// [`Record`] borrowed, for writing (same encoding).
#[derive(Serialize)]
struct RecordRef<'a> {
    id: u64,
    kind: JobKind,
    label: &'a str,
    created_ms: u64,
    bytes: &'a [u8],
}

/// The file contents for `job`, or why it cannot be encoded.
pub(super) fn encode(job: JobRef<'_>) -> Result<Vec<u8>, String> {
    let record = RecordRef {
        id: job.id.0,
        kind: job.kind,
        label: job.label,
        created_ms: job.created_ms,
        bytes: job.bytes,
    };
    let payload = postcard::to_allocvec(&record).map_err(|e| e.to_string())?;
    let len = u32::try_from(payload.len()).map_err(|_| "job larger than 4 GiB".to_string())?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The job in a file's contents, or why they are not a complete job.
pub(super) fn decode(data: &[u8]) -> Result<Job, String> {
    if data.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than the header", data.len()));
    }
    let (header, payload) = data.split_at(HEADER_LEN);
    if &header[..8] != MAGIC {
        return Err("not a Keel job file (bad magic)".into());
    }
    let len = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
    let crc = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if payload.len() != len {
        return Err(format!(
            "payload is {} bytes, header says {len} (partly written?)",
            payload.len()
        ));
    }
    if crc32(payload) != crc {
        return Err("checksum mismatch".into());
    }
    let record: Record =
        postcard::from_bytes(payload).map_err(|e| format!("undecodable payload: {e}"))?;
    Ok(Job {
        id: JobId(record.id),
        kind: record.kind,
        label: record.label,
        created_ms: record.created_ms,
        bytes: record.bytes,
    })
}

/// CRC-32 (IEEE 802.3, reflected), bit by bit: job files are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            id: JobId(7),
            kind: JobKind::Receipt,
            label: "receipt 12".into(),
            created_ms: 1_700_000_000_000,
            bytes: b"\x1b@hello\n\x1dV\x00".to_vec(),
        }
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip() {
        let j = job();
        assert_eq!(decode(&encode((&j).into()).unwrap()).unwrap(), j);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let data = encode((&job()).into()).unwrap();
        for cut in 0..data.len() {
            assert!(decode(&data[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0x10;
            assert!(decode(&d).is_err(), "flip at {i}");
        }
    }
}
