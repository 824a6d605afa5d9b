//! Scales through a pseudo-terminal with the emulated scale on the far end:
//! every protocol, the settled states, a load that never settles, silence,
//! garbage on the line, and the host opening the port by its path.

use keel_devices::emulator::scale::ScaleEmulator;
use keel_devices::scale::{Scale, ScaleError, ScaleProtocol, ScaleReading, ScaleState};
use serialport::{ClearBuffer, SerialPort, TTYPort};
use std::time::{Duration, Instant};

const ALL: [ScaleProtocol; 4] = [
    ScaleProtocol::ToledoContinuous,
    ScaleProtocol::Toledo8217,
    ScaleProtocol::CasContinuous,
    ScaleProtocol::CasRequest,
];

fn start(protocol: ScaleProtocol) -> (ScaleEmulator, TTYPort) {
    let (emulator, mut host) = ScaleEmulator::start(protocol).unwrap();
    host.set_timeout(Duration::from_millis(30)).unwrap();
    (emulator, host)
}

fn read(
    host: &mut TTYPort,
    protocol: ScaleProtocol,
    timeout_ms: u64,
) -> Result<ScaleReading, ScaleError> {
    host.clear(ClearBuffer::Input).unwrap();
    Scale::read(host, protocol, Duration::from_millis(timeout_ms))
}

fn reading(state: ScaleState, grams: i64) -> ScaleReading {
    ScaleReading { state, grams }
}

#[test]
fn stable_zero_and_overload_in_every_protocol() {
    for protocol in ALL {
        let (scale, mut host) = start(protocol);
        scale.set_weight(1234);
        let r = read(&mut host, protocol, 2_000).unwrap();
        assert_eq!(r, reading(ScaleState::Stable, 1234), "{protocol:?}");
        assert_eq!(r.sellable_grams(), Some(1234));

        scale.zero();
        let r = read(&mut host, protocol, 2_000).unwrap();
        assert_eq!(r, reading(ScaleState::Zero, 0), "{protocol:?}");
        assert_eq!(r.sellable_grams(), None);

        scale.set_overload(true);
        let r = read(&mut host, protocol, 2_000).unwrap();
        assert_eq!(r.state, ScaleState::Overload, "{protocol:?}");

        if protocol.request_byte().is_some() {
            assert!(
                scale.requests() >= 3,
                "{protocol:?}: {} requests",
                scale.requests()
            );
        }
    }
}

#[test]
fn a_load_that_never_settles_times_out_naming_the_state() {
    for protocol in ALL {
        let (scale, mut host) = start(protocol);
        scale.set_weight(500);
        scale.set_unstable(true);
        let started = Instant::now();
        let err = read(&mut host, protocol, 400).unwrap_err();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(400) && waited < Duration::from_millis(1_500));
        match &err {
            ScaleError::StillUnstable { last, .. } => {
                assert_eq!(last.state, ScaleState::Unstable);
                // The 8217 demand reply in motion is a status record, no weight.
                if protocol != ScaleProtocol::Toledo8217 {
                    assert!((last.grams - 500).abs() <= 10, "{last:?}");
                }
            }
            other => panic!("{protocol:?}: {other:?}"),
        }
        assert!(err.to_string().contains("unstable"), "{err}");
    }
}

#[test]
fn a_load_that_settles_in_time_is_read() {
    for protocol in [ScaleProtocol::ToledoContinuous, ScaleProtocol::CasRequest] {
        let (scale, mut host) = start(protocol);
        scale.set_weight(2_500);
        scale.set_unstable(true);
        let settle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(250));
            scale.set_unstable(false);
            scale
        });
        let r = read(&mut host, protocol, 3_000).unwrap();
        assert_eq!(r, reading(ScaleState::Stable, 2_500), "{protocol:?}");
        drop(settle.join().unwrap());
    }
}

#[test]
fn a_silent_scale_times_out_with_no_reply() {
    for protocol in ALL {
        let (scale, mut host) = start(protocol);
        scale.set_weight(100);
        scale.set_silent(true);
        let err = read(&mut host, protocol, 300).unwrap_err();
        assert!(
            matches!(err, ScaleError::NoReply { malformed: 0, .. }),
            "{protocol:?}: {err:?}"
        );
        assert!(err.to_string().contains("no reply"));
        if protocol.request_byte().is_some() {
            // Asked again while waiting.
            assert!(scale.requests() >= 2, "{protocol:?}");
        }
    }
}

#[test]
fn garbage_frames_are_skipped() {
    for protocol in ALL {
        let (scale, mut host) = start(protocol);
        scale.set_weight(750);
        scale.set_garbage(true);
        for _ in 0..3 {
            let r = read(&mut host, protocol, 2_000).unwrap();
            assert_eq!(r, reading(ScaleState::Stable, 750), "{protocol:?}");
        }
    }
}

#[test]
fn the_host_can_open_the_scale_by_path_and_switch_protocol() {
    let (scale, host) = start(ScaleProtocol::CasContinuous);
    let mut port = serialport::new(scale.path(), 9600)
        .timeout(Duration::from_millis(30))
        .open_native()
        .unwrap();
    drop(host);
    scale.set_weight(42);
    let r = read(&mut port, ScaleProtocol::CasContinuous, 2_000).unwrap();
    assert_eq!(r, reading(ScaleState::Stable, 42));
    scale.set_protocol(ScaleProtocol::Toledo8217);
    let r = read(&mut port, ScaleProtocol::Toledo8217, 2_000).unwrap();
    assert_eq!(r, reading(ScaleState::Stable, 42));
    assert!(scale.frames() >= 2);
}
