//! The Avahi harness itself: isolated, activation-free, usable, and cleaned up.

use keel_testkit::avahi::AvahiHarness;
use keel_testkit::process::ChildGuard;
use std::process::Command;
use std::time::{Duration, Instant};

fn netns_of(pid: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[test]
fn harness_is_isolated_publishes_and_cleans_up() {
    let started = Instant::now();
    let harness = AvahiHarness::start().expect("avahi harness (run `cargo xtask setup`)");
    eprintln!("harness ready in {:?}", started.elapsed());
    let netns = harness.netns().to_string();
    let avahi_pid = harness.avahi_pid().expect("avahi-daemon running");

    // avahi-daemon runs in the harness's namespace, not in ours.
    assert_ne!(netns_of(&avahi_pid.to_string()), netns_of("self"));

    // Nothing is activatable on the private bus: only the bus itself.
    let mut cmd = Command::new("dbus-send");
    cmd.args([
        "--system",
        "--print-reply",
        "--dest=org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.ListActivatableNames",
    ]);
    let out = harness.env_only(&mut cmd).output().expect("dbus-send");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("Avahi"), "activatable names: {text}");

    // The harness's avahi has only loopback.
    let log = harness.avahi_log();
    assert!(log.contains("New relevant interface lo.IPv4"), "{log}");
    assert!(!log.contains("eth"), "{log}");

    // A publication through the harness's environment is browsable there.
    let mut publish = Command::new("avahi-publish");
    publish.args(["-s", "harness check", "_keel-check._udp", "7000", "k=v"]);
    let mut publisher =
        ChildGuard::spawn("avahi-publish", harness.run_in_env(&mut publish)).expect("publish");
    let deadline = Instant::now() + Duration::from_secs(10);
    let records = loop {
        let records = harness.avahi_browse("_keel-check._udp").expect("browse");
        if !records.is_empty() || Instant::now() > deadline {
            break records;
        }
    };
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].name, "harness check");
    assert_eq!(records[0].address, "127.0.0.1");
    assert_eq!(records[0].txt_value("k"), Some("v"));
    publisher.kill();

    drop(harness);
    assert!(!std::path::Path::new("/run/netns").join(&netns).exists());
    assert!(
        !std::path::Path::new(&format!("/proc/{avahi_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{avahi_pid}/comm"))
                .map_or(true, |c| !c.starts_with("avahi"))
    );
    eprintln!("whole test {:?}", started.elapsed());
}
