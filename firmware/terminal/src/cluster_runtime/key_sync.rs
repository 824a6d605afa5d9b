//! Spreading customers' data keys between the store's terminals: a key or an
//! erasure merged here goes to every connected peer at once (pushed by the
//! node's key listener), and every [`KEY_SYNC_EVERY`] the runtime also sends
//! one chunk of the whole ring, cycling through it, so a peer that missed a
//! push (down, partitioned) converges. Merging is keel-core's `KeyRing` CRDT,
//! so the same entry arriving twice, late, or in any order changes nothing.
//!
//! This module only paces the anti-entropy; it must not store keys (the node
//! does) nor send anything itself (the runtime does).

use keel_core::pii::KeyRing;

/// Ticks between two anti-entropy chunks (with the runtime's 100 ms tick: 2 s).
pub const KEY_SYNC_EVERY: u32 = 20;

/// Customers per chunk: well under the control channel's 64 KiB message limit.
pub const KEYS_PER_CHUNK: usize = 400;

/// Where the anti-entropy cycle stands.
#[derive(Debug, Default)]
pub struct KeySync {
    after: Option<String>,
    ticks: u32,
}

impl KeySync {
    /// Called every tick with a way to read the ring; returns the chunk to send
    /// to every connected peer when one is due (never an empty one).
    pub fn tick(&mut self, ring: impl FnOnce() -> Option<KeyRing>) -> Option<KeyRing> {
        self.ticks += 1;
        if self.ticks < KEY_SYNC_EVERY {
            return None;
        }
        self.ticks = 0;
        let ring = ring()?;
        let mut chunk = ring.chunk(self.after.as_deref(), KEYS_PER_CHUNK);
        if chunk.is_empty() {
            // End of the ring: start over.
            chunk = ring.chunk(None, KEYS_PER_CHUNK);
        }
        self.after = chunk.last_id().map(str::to_string);
        if chunk.len() < KEYS_PER_CHUNK {
            self.after = None;
        }
        (!chunk.is_empty()).then_some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::pii::CustomerKey;

    #[test]
    fn the_cycle_covers_the_whole_ring_and_starts_over() {
        let mut ring = KeyRing::new();
        for i in 0..(KEYS_PER_CHUNK + 10) {
            ring.add(&format!("C-{i:05}"), CustomerKey([i as u8; 32]));
        }
        let mut sync = KeySync::default();
        let mut chunks = Vec::new();
        for _ in 0..(KEY_SYNC_EVERY * 3) {
            if let Some(c) = sync.tick(|| Some(ring.clone())) {
                chunks.push(c);
            }
        }
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].len(), KEYS_PER_CHUNK);
        assert_eq!(chunks[1].len(), 10);
        assert_eq!(chunks[2], chunks[0], "starts over");
        let mut merged = KeyRing::new();
        merged.merge(&chunks[0]);
        merged.merge(&chunks[1]);
        assert_eq!(merged, ring);
        let mut empty = KeySync::default();
        for _ in 0..KEY_SYNC_EVERY {
            assert!(empty.tick(|| Some(KeyRing::new())).is_none());
        }
    }
}
