//! Which kinds of fault a run may inject: all of them by default; the shrinker
//! turns kinds off while a failure persists, and a replay command names the
//! kinds left (`--faults power-cut,loss`). Owns the kinds' names and their
//! parsing; it must not decide when a fault strikes (the world does, from the
//! seed).

use std::fmt;

/// A kind of fault the world injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// A message is dropped.
    Loss,
    /// A message is delivered twice.
    Duplication,
    /// A message is held back so later ones overtake it.
    Reordering,
    /// A subset of terminals is cut from the rest, healed later.
    Partition,
    /// A terminal loses power: its disks keep only what was synced.
    PowerCut,
    /// A terminal's clock jumps.
    ClockJump,
    /// The cloud is unreachable for a while.
    CloudOutage,
    /// A terminal's journal disk fills up for a while.
    DiskFull,
    /// A power cut strikes in the middle of a commit's writes.
    TornWrite,
    /// A receipt printer runs out of paper for a while.
    PaperOut,
}

impl FaultKind {
    /// Every kind, in a fixed order (the shrinker tries them in this order).
    pub const ALL: [FaultKind; 10] = [
        FaultKind::Loss,
        FaultKind::Duplication,
        FaultKind::Reordering,
        FaultKind::Partition,
        FaultKind::PowerCut,
        FaultKind::ClockJump,
        FaultKind::CloudOutage,
        FaultKind::DiskFull,
        FaultKind::TornWrite,
        FaultKind::PaperOut,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Loss => "loss",
            FaultKind::Duplication => "duplication",
            FaultKind::Reordering => "reordering",
            FaultKind::Partition => "partition",
            FaultKind::PowerCut => "power-cut",
            FaultKind::ClockJump => "clock-jump",
            FaultKind::CloudOutage => "cloud-outage",
            FaultKind::DiskFull => "disk-full",
            FaultKind::TornWrite => "torn-write",
            FaultKind::PaperOut => "paper-out",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of fault kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultMask(u32);

/// Why a `--faults` list did not parse.
#[derive(Debug, thiserror::Error)]
pub enum FaultMaskError {
    /// A name that is no fault kind.
    #[error("unknown fault kind {0:?} (kinds: {kinds}, or all, or none)", kinds = kind_names())]
    Unknown(String),
}

fn kind_names() -> String {
    FaultKind::ALL.map(FaultKind::name).join(",")
}

impl Default for FaultMask {
    fn default() -> Self {
        FaultMask::all()
    }
}

impl FaultMask {
    /// Every kind of fault.
    pub fn all() -> FaultMask {
        FaultMask(FaultKind::ALL.iter().fold(0, |m, k| m | k.bit()))
    }

    /// No faults at all.
    pub fn none() -> FaultMask {
        FaultMask(0)
    }

    /// Whether `kind` may be injected.
    pub fn allows(self, kind: FaultKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// This set without `kind`.
    pub fn without(self, kind: FaultKind) -> FaultMask {
        FaultMask(self.0 & !kind.bit())
    }

    /// The kinds in this set, in [`FaultKind::ALL`] order.
    pub fn kinds(self) -> Vec<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .filter(|k| self.allows(*k))
            .collect()
    }

    /// Parses `all`, `none` or a comma-separated list of kind names.
    pub fn parse(text: &str) -> Result<FaultMask, FaultMaskError> {
        match text.trim() {
            "all" => return Ok(FaultMask::all()),
            "none" | "" => return Ok(FaultMask::none()),
            _ => {}
        }
        let mut mask = FaultMask::none();
        for name in text.split(',').map(str::trim) {
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(|| FaultMaskError::Unknown(name.to_string()))?;
            mask.0 |= kind.bit();
        }
        Ok(mask)
    }
}

impl fmt::Display for FaultMask {
    /// `all`, `none`, or the kinds' names joined by commas (what [`FaultMask::parse`] reads).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == FaultMask::all() {
            return f.write_str("all");
        }
        let kinds = self.kinds();
        if kinds.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_print_as_they_parse_and_bad_names_are_refused() {
        for text in [
            "all",
            "none",
            "loss",
            "power-cut,torn-write",
            "loss,partition,clock-jump",
        ] {
            let m = FaultMask::parse(text).unwrap();
            assert_eq!(FaultMask::parse(&m.to_string()).unwrap(), m, "{text}");
        }
        let m = FaultMask::all().without(FaultKind::Loss);
        assert!(!m.allows(FaultKind::Loss) && m.allows(FaultKind::PowerCut));
        assert_eq!(m.kinds().len(), FaultKind::ALL.len() - 1);
        assert!(FaultMask::parse("loss,flood").is_err());
    }
}
