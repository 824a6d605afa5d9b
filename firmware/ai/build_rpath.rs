//! Build script shared by the crates whose binaries or tests may link the
//! TensorFlow Lite C library (keel-ai, keel-terminal, keel-kiosk): adds the
//! run-time search paths so `libtensorflowlite_c.so` is found
//! - next to the binary (`$ORIGIN`), as the appliance image installs it, or in
//!   `$ORIGIN/../lib`;
//! - in the directory `TFLITEC_PREBUILT_PATH` names (`.cargo/config.toml`
//!   points it at `target/tflite/lib`, where `cargo xtask setup` unpacks it),
//!   so `cargo test` and `cargo run` work on a developer's machine.
//!
//! Setting `KEEL_NO_DEV_RPATH=1` leaves the second out (an image build whose
//! library sits in the system's library path).

fn main() {
    println!("cargo:rerun-if-env-changed=TFLITEC_PREBUILT_PATH");
    println!("cargo:rerun-if-env-changed=KEEL_NO_DEV_RPATH");
    println!("cargo:rerun-if-changed=build_rpath.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:$ORIGIN/../lib");
    if std::env::var_os("KEEL_NO_DEV_RPATH").is_some() {
        return;
    }
    if let Ok(lib) = std::env::var("TFLITEC_PREBUILT_PATH") {
        if let Some(dir) = std::path::Path::new(&lib).parent() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
    }
}
