//! Keel's developer tasks, run as `cargo xtask <task>` (alias in
//! `.cargo/config.toml`). Standard library only, so it compiles in seconds on a
//! fresh machine before anything else is built.
//!
//! - `setup`: install the Debian packages Keel needs ([`setup::APT_PACKAGES`]) and
//!   unpack the TensorFlow Lite library and headers ([`tflite`]).
//! - `test`:  setup, then the whole workspace's tests (the README's test command; `.ci/run`).
//! - `run`:   setup, build `keel`, provision and start the demo store (the README's run command).
//! - `demo-check`: start the demo store and its cloud, sell on terminal 1, and wait for the cloud's report ([`demo_check`]).
//! - `provision`: make a store's CA, terminal certificates and configs (`keel provision`).
//! - `bench`: run a benchmark from `tools/bench`.
//! - `i18n`:  extract the UI's translatable texts into the template and report what a language lacks.
//! - `yocto-lint`: lint and check the Yocto layer ([`yocto`]).
//! - `fuzz`:  build and run every fuzz target of `fuzz/` ([`fuzz`]).
//! - `sim`:   run seeds of the deterministic store simulator ([`sim`]).
//! - `image`: build the bootable x86_64 dev image from Debian packages ([`image`]).
//! - `boot-test`: boot the image in qemu and drive its serial console ([`boot_test`]).

mod bench;
mod boot_test;
mod cmd;
mod demo_check;
mod error;
mod fuzz;
mod i18n;
mod image;
mod run;
mod setup;
mod sim;
mod test;
mod tflite;
mod yocto;

use error::{Error, Result};

const HELP: &str = "\
Keel developer tasks

usage: cargo xtask <task> [options]

tasks:
  run   [--terminals N] [--data-dir DIR] [--fresh] [--no-tmux] [--no-ui] [--skip-setup] [-- CONSOLE-ARGS]
        Set up this machine, build keel (release), provision the demo store
        (N terminals, default 3, on 127.0.0.1 ports 7101..) and start it: with
        tmux on a terminal each terminal's console gets a pane; otherwise
        terminal 1's console runs here and the others in the background.
        Terminal 1 runs keel-kiosk: its touch UI opens in a window when
        DISPLAY or WAYLAND_DISPLAY is set, else renders headless (newest
        frame in target/keel-demo/t1-ui.png); --no-ui runs plain keel there.
        Data lives in target/keel-demo/store (or DIR/store); --fresh wipes it.
        CONSOLE-ARGS go to terminal 1's `keel console`, e.g. `-- --json`.
  demo-check [--bin-dir DIR] [--terminals N] [--sales N] [--skip-setup]
        The run command without a person: start a fresh demo store and its
        cloud (under target/tmp/demo-check; release builds unless --bin-dir
        holds keel and keel-cloud), make N cash sales (default 3) on terminal
        1's console and wait until `keel-cloud report` shows exactly them.
        Prints DEMO terminals=... sales=... gross_minor=... sale_to_cloud_s=...
        and the report; on failure the logs' last lines.
  provision --store S --terminals N --out DIR [--host IP] [--base-port P] [--mdns]
        Build keel and write a store CA, a certificate and key per terminal and
        DIR/t<n>/terminal.toml (static peers included) for `keel console --config`.
  test  [--skip-setup] [--crash-iterations N] [-- CARGO-TEST-ARGS]
        Set up this machine, then `cargo test --workspace --features
        keel-ai/tflite --locked --no-fail-fast` and a summary line; then
        (unless CARGO-TEST-ARGS pick a package) demo-check on the debug
        binaries just built, the appliance UI build (keel-kiosk --features
        kms), 1,000 simulator seeds (sim --seeds 1000 --vary), every fuzz
        target for 30 s (fuzz), and the dev image's qemu boot test with OTA
        (image, boot-test --ota); exits with the first failing step's exit
        code. This is what CI runs (.ci/run). KEEL_CRASH_ITERATIONS (default
        200) is passed through; --crash-iterations sets it.
  setup [--check] [--list]
        Install the missing Debian packages Keel needs (apt-get, via sudo when
        not root) and unpack the TensorFlow Lite 2.6 C library and headers from
        the cargo registry into target/tflite (the `tflite` feature builds
        against them). --check only reports; --list prints the packages and why.
  bench NAME [ARGS]
        `cargo run --release -p keel-bench -- NAME ARGS`. Benchmarks:
          journal   durable sale commits through keel-store vs SQLite (WAL, FULL)
          ui        the sale screen: frame and tap-to-frame p50/p99, RSS (keel-kiosk)
          ai        the AI models via real TFLite: recognize/score p50/p99, RSS (keel-terminal)
  i18n  [--merge | --check]
        Extract the UI's translatable texts (@tr in ui-slint/ui, tr/trf/trn
        in ui-slint/src and firmware/kiosk/src) into ui-slint/lang/keel-ui.pot
        and list, per language, the texts it does not translate yet.
        --merge appends them to each <lang>/LC_MESSAGES/keel-ui.po untranslated;
        --check writes nothing and exits 1 if anything is stale or missing.
  image [--out FILE] [--board NAME] [--kiosk PATH] [--ota-key FILE.pub]... [--no-dev-key]
        Build the bootable x86_64 GPT disk image of the dev appliance
        (default target/image/keel-qemu-x86_64.img, board qemu-x86_64):
        ESP with GRUB, rootfs-a and rootfs-b (Debian bookworm minbase from
        debootstrap, cached in target/image/cache, plus keel-kiosk --features
        kms,tflite), data (models). No loop devices or mounts. Trusts the
        build's dev OTA key and each --ota-key; --no-dev-key for an image that
        ships (docs/operator-guide.md). docs/image.md.
  boot-test [--image FILE] [--board NAME] [--timeout S] [--smp N] [--ota]
        Boot the image (built first when missing) headless in qemu (TCG,
        OVMF), wait for keel's console on ttyS0, check status (models ready),
        scan a barcode through /dev/uinput, make a cash sale, verify the
        journal, reset (slot marked good), power off through ACPI. --ota also
        installs a signed bundle into slot B (reboot, committed) and a failing
        one into slot A (three failed boots, rolled back to B); `cargo xtask
        test` runs it with --ota. Prints BOOT image_mb=... boot_to_console_s=...
        (and BOOT ota_install_s=... ota_rollback_s=... with --ota).
  yocto-lint
        Check yocto-layer/meta-keel without a Yocto build: oelint-adv (pinned,
        installed by setup into target/pyenv) over every recipe, append and
        config file, and the structural checks (layer.conf, every file://
        exists, the A/B partition labels, the boards, the crate list against
        Cargo.lock). yocto-layer/README.md.
  fuzz  [--seconds N] [--target NAME] [--jobs J] [--reproduce FILE]
        Build every libFuzzer target of fuzz/ once (cargo-fuzz, release with
        debug assertions, stable toolchain; setup installs cargo-fuzz) and
        run each for N seconds (default 30), J at a time (default: CPUs), on
        its committed corpus; new inputs go to target/fuzz-corpus. Prints
        FUZZ <target> runs=... execs_per_s=... corpus=... crashes=...
        A crash stops the run, is copied to fuzz/regressions/<target>/ and
        fails; --reproduce runs one target on one input. docs/fuzzing.md.
  sim   [--seeds N] [--from S] [--terminals K] [--sales N] [--vary]
        [--faults LIST] [--jobs J] [--shrink-runs N] [--quiet]
        [--plant-lying-fsync] [--plant-ack-unsaved]
        Run the deterministic store simulator (keel-sim, release): K
        terminals (3..15, default 3; --vary: sizes from each seed) on the
        real core, store, replication and raft with seeded faults (LIST:
        all, none or kinds such as power-cut,loss), seeds on J threads
        (default: all cores), printed in seed order. Prints seeds/s, faults
        by type and SIM seeds=... failed=...; a failing seed prints its
        replay command and a shrunk one. `cargo xtask test` runs
        --seeds 1000 --vary. docs/simulation.md.
  help  This text.
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match dispatch(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            if e.exit_code == 2 {
                eprintln!("(cargo xtask help lists the tasks)");
            }
            e.exit_code
        }
    };
    std::process::exit(code);
}

/// Runs the task named by `args[0]` and returns the process exit code.
fn dispatch(args: &[String]) -> Result<i32> {
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    match task {
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(0)
        }
        "setup" => setup::setup(&setup::parse(rest)?).map(|()| 0),
        "test" => test::test(&test::parse(rest)?),
        "run" => run::run(&run::parse(rest)?),
        "demo-check" => demo_check::demo_check(&demo_check::parse(rest)?),
        "provision" => run::provision(rest),
        "bench" => bench::bench(rest),
        "i18n" => i18n::i18n(&i18n::parse(rest)?),
        "yocto-lint" => yocto::yocto_lint(rest),
        "image" => image::image(&image::parse(rest)?),
        "boot-test" => boot_test::boot_test(&boot_test::parse(rest)?),
        "fuzz" => fuzz::fuzz(&fuzz::parse(rest)?),
        "sim" => sim::sim(rest),
        other => Err(Error::usage(format!("unknown task `{other}`"))),
    }
}
