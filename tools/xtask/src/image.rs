//! `cargo xtask image`: builds the bootable x86_64 GPT disk image of the dev
//! appliance from Debian packages and the workspace's keel-kiosk, without
//! loop devices or mounts (docs/image.md).
//!
//! The steps, each in its own module: the board's constants ([`board`]), the
//! partition layout ([`layout`]), the rendered config files ([`files`]), the
//! root file system tree ([`rootfs`]: debootstrap, cached) and the file
//! systems and disk ([`disk`]). This module parses the options, runs the
//! steps in order and reports their times; it must not hold any step's logic.

pub mod board;
pub mod disk;
pub mod files;
pub mod layout;
pub mod modules;
pub mod ota_key;
pub mod rootfs;

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// Options of `cargo xtask image`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageOptions {
    /// The image file to write.
    pub out: PathBuf,
    /// The board's name.
    pub board: String,
    /// A keel-kiosk binary to use instead of building it.
    pub kiosk: Option<PathBuf>,
    /// The operator's OTA public keys (`keel-bundle keygen`'s `.pub` files)
    /// the image trusts, besides the dev key unless `dev_key` is off.
    pub ota_keys: Vec<PathBuf>,
    /// Whether the build's dev OTA key goes into the image (off for an image
    /// that ships: only the operator's keys are trusted then).
    pub dev_key: bool,
}

/// Usage of `cargo xtask image`.
pub const USAGE: &str = "usage: cargo xtask image [--out FILE] [--board NAME] \
     [--kiosk PATH-TO-keel-kiosk] [--ota-key FILE.pub]... [--no-dev-key]";

/// The image a board's build writes by default.
pub fn default_out(board: &str) -> PathBuf {
    cmd::repo_root()
        .join("target/image")
        .join(format!("keel-{board}.img"))
}

/// Parses `image` arguments.
pub fn parse(args: &[String]) -> Result<ImageOptions> {
    let mut out = None;
    let mut board = "qemu-x86_64".to_string();
    let mut kiosk = None;
    let mut ota_keys = Vec::new();
    let mut dev_key = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::usage(format!("{name} needs a value ({USAGE})")))
        };
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--board" => board = value("--board")?,
            "--kiosk" => kiosk = Some(PathBuf::from(value("--kiosk")?)),
            "--ota-key" => ota_keys.push(PathBuf::from(value("--ota-key")?)),
            "--no-dev-key" => dev_key = false,
            other => {
                return Err(Error::usage(format!(
                    "unknown image argument `{other}` ({USAGE})"
                )))
            }
        }
    }
    if board::find(&board).is_none() {
        let known: Vec<&str> = board::BOARDS.iter().map(|b| b.name).collect();
        return Err(Error::usage(format!(
            "unknown board `{board}` (known: {})",
            known.join(", ")
        )));
    }
    if !dev_key && ota_keys.is_empty() {
        return Err(Error::usage(format!(
            "--no-dev-key needs at least one --ota-key: an image that trusts no key can never be updated ({USAGE})"
        )));
    }
    let out = out.unwrap_or_else(|| default_out(&board));
    Ok(ImageOptions {
        out,
        board,
        kiosk,
        ota_keys,
        dev_key,
    })
}

/// What a build did, for the report line and the boot test.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// The image file.
    pub image: PathBuf,
    /// Its size in MiB.
    pub image_mib: u64,
    /// debootstrap's seconds when it ran (not cached).
    pub debootstrap_s: Option<f64>,
    /// The whole build's seconds (debootstrap and the keel-kiosk build included).
    pub build_s: f64,
    /// Whether the A/B GRUB script went onto the ESP.
    pub ab_script: bool,
}

/// Runs `cargo xtask image`.
pub fn image(opts: &ImageOptions) -> Result<i32> {
    let report = build(opts)?;
    println!(
        "IMAGE path={} image_mb={} debootstrap_s={} build_s={:.1} ab_script={}",
        report.image.display(),
        report.image_mib,
        report
            .debootstrap_s
            .map(|s| format!("{s:.1}"))
            .unwrap_or_else(|| "cached".into()),
        report.build_s,
        report.ab_script
    );
    Ok(0)
}

/// The programs the build runs, and the Debian package each comes from.
const TOOLS: &[(&str, &str)] = &[
    ("debootstrap", "debootstrap"),
    ("mkfs.ext4", "e2fsprogs"),
    ("mkfs.fat", "dosfstools"),
    ("mcopy", "mtools"),
    ("sgdisk", "gdisk"),
    ("grub-mkimage", "grub-efi-amd64-bin"),
    ("grub-editenv", "grub-common"),
    ("readelf", "binutils"),
    ("strip", "binutils"),
];

/// Builds the image.
pub fn build(opts: &ImageOptions) -> Result<BuildReport> {
    let started = Instant::now();
    let board = board::find(&opts.board)
        .ok_or_else(|| Error::usage(format!("unknown board `{}`", opts.board)))?;
    if !layout::data_holds_a_bundle(board.rootfs_mib, board.data_mib) {
        return Err(Error::msg(format!(
            "board {}: the data partition ({} MiB) must hold a slot-sized bundle ({} MiB) and {} MiB more (docs/image.md)",
            board.name,
            board.data_mib,
            board.rootfs_mib,
            layout::DATA_HEADROOM_MIB
        )));
    }
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(tool, _)| !cmd::on_path(tool) && !Path::new("/usr/sbin").join(tool).exists())
        .map(|(tool, pkg)| format!("{tool} ({pkg})"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::msg(format!(
            "missing tools: {}; run `cargo xtask setup`",
            missing.join(", ")
        )));
    }
    if !Path::new(disk::GRUB_EFI_DIR).is_dir() {
        return Err(Error::msg(
            "no GRUB EFI modules in /usr/lib/grub/x86_64-efi; run `cargo xtask setup` (grub-efi-amd64-bin)",
        ));
    }
    // debootstrap, chroot and file ownership in the trees need root.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?);
    if uid != 0 {
        return Err(Error::msg(
            "cargo xtask image needs root (debootstrap, chroot, root-owned files in the image)",
        ));
    }
    let root = cmd::repo_root();
    let work = root.join("target/image/work").join(board.name);
    std::fs::create_dir_all(&work)?;
    let kiosk = match &opts.kiosk {
        Some(path) => path.clone(),
        None => build_kiosk()?,
    };
    let uinput_scan = build_uinput_scan()?;
    let tflite = root.join("target/tflite/lib/libtensorflowlite_c.so");
    if !tflite.is_file() {
        crate::tflite::prepare().context("preparing the TensorFlow Lite library")?;
    }
    // Checked before anything is built: a bad key file fails fast.
    let mut trusted = Vec::new();
    for path in &opts.ota_keys {
        trusted.push(ota_key::operator_key(path)?);
    }
    if opts.dev_key {
        let dev_key = ota_key::ensure(&ota_key::keel_bundle()?, &root.join("target/image/keys"))?;
        trusted.push(ota_key::TrustedKey {
            name: format!("{}.pub", ota_key::KEY_NAME),
            path: dev_key.public,
        });
    }
    ota_key::check_names_unique(&trusted)?;
    let (base, debootstrap) = rootfs::base_tree(board, &root.join("target/image/cache"))?;
    let step = Instant::now();
    let tree = work.join("rootfs");
    rootfs::stage_tree(
        board,
        &base,
        &tree,
        &rootfs::KeelFiles {
            kiosk: &kiosk,
            tflite: &tflite,
            board_toml: &root.join("board").join(board.name).join("board.toml"),
            units: &root.join("board/common/systemd"),
            ota_public_keys: &trusted,
            uinput_scan: &uinput_scan,
        },
    )?;
    let data = stage_data(&root, &work)?;
    println!(
        "xtask image: trees staged in {:.1} s",
        step.elapsed().as_secs_f64()
    );
    let layout = layout::place(&layout::ab_partitions(board.rootfs_mib, board.data_mib))
        .map_err(|e| Error::msg(e.to_string()))?;
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = opts.out.with_extension("img.partial");
    disk::partition(&layout, &partial)?;
    // One partition at a time, written into the disk and deleted at once, so
    // the build needs little more disk space than the image itself.
    let step = Instant::now();
    let mut ab_script = false;
    for p in &layout.partitions {
        let img = work.join(format!("{}.part", p.spec.label));
        match p.spec.label {
            "boot" => {
                ab_script = disk::build_esp(
                    board,
                    &work,
                    p.size_bytes(),
                    &root.join("board/common/grub/keel-ab.cfg"),
                    &img,
                )?
            }
            "rootfs-a" | "rootfs-b" => disk::build_ext4(&tree, p.spec.label, p.size_bytes(), &img)?,
            "data" => disk::build_ext4(&data, p.spec.label, p.size_bytes(), &img)?,
            other => return Err(Error::msg(format!("no content for partition `{other}`"))),
        }
        let written = disk::write_partition(&partial, p, &img);
        let _ = std::fs::remove_file(&img);
        written?;
    }
    println!(
        "xtask image: file systems made and written in {:.1} s",
        step.elapsed().as_secs_f64()
    );
    // The staged trees are made afresh by every build.
    rootfs::remove_dir(&work)?;
    std::fs::rename(&partial, &opts.out)
        .with_context(|| format!("moving the image to {}", opts.out.display()))?;
    Ok(BuildReport {
        image: opts.out.clone(),
        image_mib: layout.disk_bytes / layout::MIB,
        debootstrap_s: debootstrap.map(|d| d.as_secs_f64()),
        build_s: started.elapsed().as_secs_f64(),
        ab_script,
    })
}

/// The `cargo build` arguments of the image's keel-kiosk: the appliance UI
/// (`kms`, as `cargo xtask test` builds it) with the AI on the real
/// TensorFlow Lite library (`tflite`). Debug profile, sharing the test
/// suite's artifacts (Slint's are the same); no release build of Slint.
pub fn kiosk_build_args() -> Vec<String> {
    [
        "build",
        "--locked",
        "-p",
        "keel-kiosk",
        "--features",
        "kms,tflite",
    ]
    .map(String::from)
    .to_vec()
}

/// Builds keel-kiosk for the image (a no-op when it is up to date) and
/// returns its path.
fn build_kiosk() -> Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo.args(kiosk_build_args()).stdin(Stdio::null());
    println!("xtask image: {}", cmd::display(&cargo));
    let started = Instant::now();
    cmd::run(&mut cargo).context("building keel-kiosk for the image")?;
    println!(
        "xtask image: keel-kiosk ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(cmd::repo_root().join("target/debug/keel-kiosk"))
}

/// Builds keel-uinput-scan (the boot test's virtual scanner) for the image.
fn build_uinput_scan() -> Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo
        .args(["build", "-p", "keel-uinput-scan"])
        .stdin(Stdio::null());
    println!("xtask image: {}", cmd::display(&cargo));
    cmd::run(&mut cargo).context("building keel-uinput-scan for the image")?;
    Ok(cmd::repo_root().join("target/debug/keel-uinput-scan"))
}

/// The data partition's tree: `models/` (the repository's models, without
/// the test fixtures) and an empty `images/`.
fn stage_data(root: &Path, work: &Path) -> Result<PathBuf> {
    let data = work.join("data");
    rootfs::remove_dir(&data)?;
    let models = data.join("models");
    std::fs::create_dir_all(&models)?;
    std::fs::create_dir_all(data.join("images"))?;
    for entry in std::fs::read_dir(root.join("models"))? {
        let entry = entry?;
        let name = entry.file_name();
        if entry.path().join("manifest.toml").is_file() {
            cmd::run(
                std::process::Command::new("cp")
                    .arg("-a")
                    .arg(entry.path())
                    .arg(models.join(&name)),
            )?;
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_default_to_the_qemu_board() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.board, "qemu-x86_64");
        assert!(o.out.ends_with("target/image/keel-qemu-x86_64.img"));
        let o = parse(&args("--out /tmp/x.img --kiosk /tmp/k")).unwrap();
        assert_eq!(o.out, PathBuf::from("/tmp/x.img"));
        assert_eq!(o.kiosk, Some(PathBuf::from("/tmp/k")));
    }

    #[test]
    fn bad_options_are_usage_errors() {
        assert_eq!(parse(&args("--board pdp-11")).unwrap_err().exit_code, 2);
        assert_eq!(parse(&args("--out")).unwrap_err().exit_code, 2);
        assert_eq!(parse(&args("--fast")).unwrap_err().exit_code, 2);
        // An image that trusts no key could never be updated.
        assert_eq!(parse(&args("--no-dev-key")).unwrap_err().exit_code, 2);
        assert_eq!(parse(&args("--ota-key")).unwrap_err().exit_code, 2);
    }

    #[test]
    fn operator_keys_add_to_or_replace_the_dev_key() {
        let o = parse(&[]).unwrap();
        assert!(o.dev_key);
        assert!(o.ota_keys.is_empty());
        let o = parse(&args("--ota-key /k/a.pub --ota-key /k/b.pub --no-dev-key")).unwrap();
        assert!(!o.dev_key);
        assert_eq!(
            o.ota_keys,
            [PathBuf::from("/k/a.pub"), PathBuf::from("/k/b.pub")]
        );
    }

    #[test]
    fn the_kiosk_is_the_appliance_build_plus_tflite() {
        let ours = kiosk_build_args();
        let suite = crate::test::appliance_build_args();
        assert_eq!(ours[..4], suite[..4]);
        assert!(ours[5].split(',').any(|f| f == "kms") && ours[5].contains("tflite"));
    }
}
