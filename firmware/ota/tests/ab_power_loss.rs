//! Power loss at every point of a firmware update (issue 8 item 7), the way
//! Mender's state tests do it, enumerated exhaustively.
//!
//! A simulated box keeps only what was made durable: the updater's record
//! file (encoded with the real TOML codec), the boot environment, the bytes
//! of both slots and the downloaded bundle. The real updater (`step` run by
//! the real `driver::run`) drives it; the real `select_boot` picks the slot
//! at every boot. The power is cut before the k-th durable write, for every
//! k of the uncut run, then the box boots again (and, for every pair, is cut
//! a second time during that recovery). After each scenario:
//! - no boot ever picked a half-written slot;
//! - a slot holding the new, failing system booted only while that update
//!   was on trial;
//! - the box settles on a good system with a consistent outcome: committed
//!   (new system running, old one kept as the fallback), rolled back or
//!   failed with a reason (old system running, the other slot not bootable),
//!   or no update at all when the cut came before the update was recorded;
//! - the downloaded bundle is cleaned up once the outcome is recorded.

use keel_ota::boot_env::{select_boot, BootEnv, MAX_TRIES};
use keel_ota::bootloader::{Bootloader, BootloaderError};
use keel_ota::slot::Slot;
use keel_ota::updater::record_file::{decode, encode};
use keel_ota::updater::{
    run, DriveError, Event, RunEnd, UpdateHost, UpdateRecord, UpdateState, Updater,
};
use std::path::Path;

const OLD: &str = "1.0.0";
const NEW: &str = "2.0.0";

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Image {
    /// A complete system that passes its health check.
    Good(&'static str),
    /// A complete system that boots but fails its health check.
    Failing(&'static str),
    /// A slot the power cut left half written.
    Partial,
}

/// What the bundle on offer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// A new system that works.
    Good,
    /// A new system that fails its health check at every boot.
    Failing,
    /// A bundle the verifier refuses.
    Tampered,
}

/// The durable state of the box.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Disk {
    record: Option<String>,
    env: BootEnv,
    slots: [Image; 2],
    bundle: bool,
}

impl Disk {
    fn factory() -> Disk {
        Disk {
            record: None,
            env: BootEnv::default(),
            slots: [Image::Good(OLD), Image::Good(OLD)],
            bundle: false,
        }
    }

    fn slot(&self, s: Slot) -> Image {
        self.slots[s as usize]
    }

    fn record(&self) -> UpdateRecord {
        match &self.record {
            Some(text) => decode(text, Path::new("ota-state.toml")).expect("record decodes"),
            None => UpdateRecord::default(),
        }
    }
}

/// The power supply: cut before durable write number `cut_at`.
struct Power {
    cut_at: Option<usize>,
    writes: usize,
}

#[derive(Debug)]
struct PowerCut;

impl std::fmt::Display for PowerCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("power cut")
    }
}
impl std::error::Error for PowerCut {}

/// One running system on the box.
struct Machine<'a> {
    disk: &'a mut Disk,
    power: &'a mut Power,
    booted: Slot,
    offer: Offer,
    clock: u64,
}

impl Machine<'_> {
    fn durable(&mut self, f: impl FnOnce(&mut Disk)) -> Result<(), PowerCut> {
        if self.power.cut_at == Some(self.power.writes) {
            return Err(PowerCut);
        }
        f(self.disk);
        self.power.writes += 1;
        Ok(())
    }
}

impl Bootloader for Machine<'_> {
    fn read(&mut self) -> Result<BootEnv, BootloaderError> {
        Ok(self.disk.env)
    }
    fn write(&mut self, env: &BootEnv) -> Result<(), BootloaderError> {
        let env = *env;
        self.durable(|d| d.env = env)
            .map_err(|_| BootloaderError::Io {
                action: "writing",
                path: "power".into(),
                source: std::io::Error::other(PowerCut),
            })
    }
}

impl UpdateHost for Machine<'_> {
    type Error = PowerCut;
    fn now_unix_ms(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
    fn persist(&mut self, record: &UpdateRecord) -> Result<(), PowerCut> {
        let text = encode(record);
        self.durable(|d| d.record = Some(text))
    }
    fn bootloader(&mut self) -> &mut dyn Bootloader {
        self
    }
    fn download(&mut self) -> Result<Event, PowerCut> {
        if !self.disk.bundle {
            self.durable(|d| d.bundle = true)?;
        }
        Ok(Event::DownloadDone)
    }
    fn verify(&mut self) -> Result<Event, PowerCut> {
        assert!(self.disk.bundle, "verifying a bundle that is not on disk");
        Ok(match self.offer {
            Offer::Tampered => Event::VerifyFailed("bad signature".into()),
            _ => Event::Verified,
        })
    }
    fn write_slot(&mut self, slot: Slot) -> Result<Event, PowerCut> {
        assert_ne!(slot, self.booted, "the updater wrote the running slot");
        assert!(
            self.disk.bundle,
            "writing from a bundle that is not on disk"
        );
        assert_eq!(
            self.disk.env.left(slot),
            0,
            "slot {slot} written while bootable"
        );
        self.durable(|d| d.slots[slot as usize] = Image::Partial)?;
        let image = match self.offer {
            Offer::Good => Image::Good(NEW),
            Offer::Failing => Image::Failing(NEW),
            Offer::Tampered => unreachable!("a tampered bundle is never written"),
        };
        self.durable(|d| d.slots[slot as usize] = image)?;
        Ok(Event::WriteDone)
    }
    fn check_health(&mut self) -> Result<Event, PowerCut> {
        Ok(match self.disk.slot(self.booted) {
            Image::Good(_) => Event::HealthPassed,
            Image::Failing(_) => Event::HealthFailed("UI not up".into()),
            Image::Partial => unreachable!("checked at boot"),
        })
    }
    fn discard_download(&mut self) -> Result<(), PowerCut> {
        if self.disk.bundle {
            self.durable(|d| d.bundle = false)?;
        }
        Ok(())
    }
    fn reboot(&mut self) -> Result<(), PowerCut> {
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Boot {
    /// The system reached a settled state and keeps running.
    Settled(Slot, UpdateState),
    /// The system asked for a reboot.
    Rebooted,
}

fn cut<T>(r: Result<T, DriveError<PowerCut>>, log: &[String]) -> Result<T, PowerCut> {
    match r {
        Ok(v) => Ok(v),
        Err(DriveError::Host(PowerCut))
        | Err(DriveError::Bootloader(BootloaderError::Io { .. })) => Err(PowerCut),
        Err(e) => panic!("updater error (not a power cut): {e}\n{}", log.join("\n")),
    }
}

/// One boot: the bootloader's pick (and its saveenv), then the updater's
/// start-up, then (when asked) the start of the update.
fn boot(
    disk: &mut Disk,
    power: &mut Power,
    offer: Offer,
    start: &mut bool,
    log: &mut Vec<String>,
) -> Result<Boot, PowerCut> {
    let before = disk.record().update;
    let mut env = disk.env;
    let slot = select_boot(&mut env);
    let mut m = Machine {
        disk,
        power,
        booted: slot,
        offer,
        clock: 0,
    };
    m.durable(|d| d.env = env)?;
    let image = m.disk.slot(slot);
    log.push(format!(
        "boot {slot} ({image:?}) with record {}",
        before.name()
    ));
    assert_ne!(
        image,
        Image::Partial,
        "a half-written slot booted\n{}",
        log.join("\n")
    );
    if let Image::Failing(_) = image {
        let on_trial = matches!(&before,
            UpdateState::Switching { target, .. }
            | UpdateState::Rebooting { target, .. }
            | UpdateState::Testing { target, .. } if *target == slot);
        assert!(
            on_trial,
            "the failing system booted outside its trial\n{}",
            log.join("\n")
        );
    }
    let u = Updater::new(m.disk.record());
    let (u, end) = cut(run(&u, Event::Booted { slot }, &mut m), log)?;
    if end == RunEnd::Rebooted {
        return Ok(Boot::Rebooted);
    }
    if *start && u.state().is_settled() {
        *start = false;
        log.push("start update".into());
        let (u, end) = cut(
            run(
                &u,
                Event::Start {
                    version: NEW.into(),
                },
                &mut m,
            ),
            log,
        )?;
        if end == RunEnd::Rebooted {
            return Ok(Boot::Rebooted);
        }
        return Ok(Boot::Settled(slot, u.record.update));
    }
    Ok(Boot::Settled(slot, u.record.update))
}

/// Boots until the box settles, or the power is cut. Returns the running
/// slot and state.
fn life(
    disk: &mut Disk,
    power: &mut Power,
    offer: Offer,
    start: &mut bool,
    log: &mut Vec<String>,
) -> Result<(Slot, UpdateState), PowerCut> {
    for _ in 0..20 {
        if let Boot::Settled(slot, state) = boot(disk, power, offer, start, log)? {
            if state.is_settled() {
                return Ok((slot, state));
            }
        }
    }
    panic!("the box never settled\n{}", log.join("\n"));
}

/// Checks the settled box; returns the outcome's name.
fn check_outcome(
    disk: &Disk,
    slot: Slot,
    state: &UpdateState,
    offer: Offer,
    log: &[String],
) -> &'static str {
    let ctx = || format!("disk {disk:?}\n{}", log.join("\n"));
    assert_eq!(
        disk.record().update,
        *state,
        "the running state is the recorded one\n{}",
        ctx()
    );
    assert!(
        !disk.bundle || matches!(state, UpdateState::Idle),
        "bundle left behind\n{}",
        ctx()
    );
    match state {
        UpdateState::Idle => {
            assert_eq!(slot, Slot::A, "{}", ctx());
            assert_eq!(disk.slot(Slot::A), Image::Good(OLD), "{}", ctx());
            "no update (cut before it was recorded)"
        }
        UpdateState::Committed { version, slot: s } => {
            assert_eq!(offer, Offer::Good, "{}", ctx());
            assert_eq!(
                (version.as_str(), *s, slot),
                (NEW, Slot::B, Slot::B),
                "{}",
                ctx()
            );
            assert_eq!(disk.slot(Slot::B), Image::Good(NEW), "{}", ctx());
            assert_eq!(
                disk.slot(Slot::A),
                Image::Good(OLD),
                "old system kept\n{}",
                ctx()
            );
            assert_eq!(disk.env.first, Slot::B, "{}", ctx());
            assert_eq!(
                disk.env.left(Slot::A),
                MAX_TRIES,
                "old slot is the fallback\n{}",
                ctx()
            );
            "committed"
        }
        UpdateState::RolledBack {
            version,
            failed_slot,
            reason,
        } => {
            assert_eq!(offer, Offer::Failing, "{}", ctx());
            assert_eq!(
                (version.as_str(), *failed_slot, slot),
                (NEW, Slot::B, Slot::A),
                "{}",
                ctx()
            );
            assert!(reason.contains("slot B"), "{reason}");
            assert_eq!(disk.slot(Slot::A), Image::Good(OLD), "{}", ctx());
            assert_eq!(
                (disk.env.first, disk.env.left(Slot::B)),
                (Slot::A, 0),
                "{}",
                ctx()
            );
            "rolled back"
        }
        UpdateState::Failed { version, reason } => {
            assert_eq!(offer, Offer::Tampered, "{}", ctx());
            assert_eq!(version.as_deref(), Some(NEW));
            assert_eq!(reason, "bad signature");
            assert_eq!(slot, Slot::A, "{}", ctx());
            assert_eq!(disk.slot(Slot::A), Image::Good(OLD), "{}", ctx());
            assert_ne!(disk.env.first, Slot::B, "{}", ctx());
            "failed"
        }
        other => panic!("not settled: {other:?}"),
    }
}

/// A settled box keeps booting the same slot, in the same state.
fn check_stable(
    disk: &mut Disk,
    slot: Slot,
    state: &UpdateState,
    offer: Offer,
    log: &mut Vec<String>,
) {
    for _ in 0..4 {
        let mut power = Power {
            cut_at: None,
            writes: 0,
        };
        let got = life(disk, &mut power, offer, &mut false, log).unwrap();
        assert_eq!(got, (slot, state.clone()), "not stable\n{}", log.join("\n"));
    }
}

/// The uncut run: its number of durable writes and its outcome.
fn uncut(offer: Offer) -> (usize, Disk, Slot, UpdateState) {
    let mut disk = Disk::factory();
    let mut power = Power {
        cut_at: None,
        writes: 0,
    };
    let mut log = Vec::new();
    let (slot, state) = life(&mut disk, &mut power, offer, &mut true, &mut log).unwrap();
    (power.writes, disk, slot, state)
}

fn every_cut(offer: Offer, want_uncut: &str, want_cut_in: &[&str]) {
    let (total, mut disk, slot, state) = uncut(offer);
    let mut log = vec!["uncut".to_string()];
    assert_eq!(check_outcome(&disk, slot, &state, offer, &log), want_uncut);
    check_stable(&mut disk, slot, &state, offer, &mut log);

    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    let mut scenarios = 0;
    let mut cut_in = std::collections::BTreeSet::new();
    for k in 0..total {
        // First cut before write k.
        let mut disk = Disk::factory();
        let mut power = Power {
            cut_at: Some(k),
            writes: 0,
        };
        let mut log = vec![format!("{offer:?}: cut before write {k}")];
        let r = life(&mut disk, &mut power, offer, &mut true, &mut log);
        assert!(r.is_err(), "write {k} of {total} was never reached");
        let after_first = disk.clone();
        cut_in.insert(after_first.record().update.name());
        // Recovery with no cut, and with a second cut before each of its writes.
        let mut recovery_writes = None;
        let mut j = 0;
        loop {
            let mut disk = after_first.clone();
            let second = recovery_writes.map(|_| j);
            let mut power = Power {
                cut_at: second,
                writes: 0,
            };
            let mut log = log.clone();
            log.push(format!("power back (second cut: {second:?})"));
            let r = life(&mut disk, &mut power, offer, &mut false, &mut log);
            let (slot, state) = match r {
                Ok(v) => v,
                Err(PowerCut) => {
                    log.push("power back".into());
                    let mut power = Power {
                        cut_at: None,
                        writes: 0,
                    };
                    life(&mut disk, &mut power, offer, &mut false, &mut log).unwrap()
                }
            };
            let outcome = check_outcome(&disk, slot, &state, offer, &log);
            check_stable(&mut disk, slot, &state, offer, &mut log);
            *outcomes.entry(outcome).or_default() += 1;
            scenarios += 1;
            match recovery_writes {
                None => recovery_writes = Some(power.writes),
                Some(_) => j += 1,
            }
            if j >= recovery_writes.unwrap_or(0) && recovery_writes.is_some() {
                break;
            }
        }
    }
    println!(
        "{offer:?}: {total} durable writes uncut, {scenarios} cut scenarios, cut in states {cut_in:?}, outcomes {outcomes:?}"
    );
    let want: std::collections::BTreeSet<&str> = want_cut_in.iter().copied().collect();
    assert_eq!(cut_in, want, "the states the power was cut in");
    assert!(scenarios > total);
}

#[test]
fn good_update_survives_a_cut_before_any_write_and_any_pair_of_writes() {
    every_cut(
        Offer::Good,
        "committed",
        &[
            "idle",
            "downloading",
            "verifying",
            "writing",
            "switching",
            "rebooting",
            "testing",
            "committed",
        ],
    );
}

#[test]
fn failing_update_rolls_back_after_three_tries_whatever_the_cuts() {
    every_cut(
        Offer::Failing,
        "rolled back",
        &[
            "idle",
            "downloading",
            "verifying",
            "writing",
            "switching",
            "rebooting",
            "testing",
            "rolled_back",
        ],
    );
}

#[test]
fn refused_bundle_fails_with_the_reason_whatever_the_cuts() {
    every_cut(
        Offer::Tampered,
        "failed",
        &["idle", "downloading", "verifying", "failed"],
    );
}

#[test]
fn the_failing_system_gets_exactly_three_boots_then_the_old_one_reports() {
    let mut disk = Disk::factory();
    let mut power = Power {
        cut_at: None,
        writes: 0,
    };
    let mut log = Vec::new();
    let (slot, state) = life(&mut disk, &mut power, Offer::Failing, &mut true, &mut log).unwrap();
    let boots: Vec<&String> = log.iter().filter(|l| l.starts_with("boot ")).collect();
    let b_boots = boots.iter().filter(|l| l.starts_with("boot B")).count();
    assert_eq!(b_boots, MAX_TRIES as usize, "{log:#?}");
    assert_eq!(slot, Slot::A);
    match state {
        UpdateState::RolledBack { reason, .. } => assert_eq!(
            reason,
            "the new system in slot B failed its health check (3 of 3 tries): UI not up"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_good_update_commits_on_its_first_boot_and_keeps_the_old_slot() {
    let (_, disk, slot, state) = uncut(Offer::Good);
    assert_eq!(slot, Slot::B);
    assert_eq!(
        state,
        UpdateState::Committed {
            version: NEW.into(),
            slot: Slot::B
        }
    );
    assert_eq!(
        disk.env,
        BootEnv {
            first: Slot::B,
            a_left: 3,
            b_left: 3
        }
    );
    assert_eq!(disk.slots, [Image::Good(OLD), Image::Good(NEW)]);
}
