//! The layer checks on the real meta-keel (they must pass) and on broken
//! copies and fixtures (they must fail, naming the problem).

use super::*;
use std::process::Command;

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("keel-yocto-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn repo() -> PathBuf {
    cmd::repo_root()
}

fn show(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("\n  {f}")).collect()
}

#[test]
fn the_layer_passes_the_structural_checks() {
    let findings = structural(&repo());
    assert!(
        findings.is_empty(),
        "meta-keel structural problems:{}",
        show(&findings)
    );
}

#[test]
fn the_layer_is_lint_clean() {
    let files = lint_files(&repo());
    assert!(files.len() >= 15, "only {} files to lint", files.len());
    let findings = lint(&repo()).expect("oelint-adv runs (cargo xtask setup installs it)");
    assert!(
        findings.is_empty(),
        "oelint-adv findings in meta-keel:\n{}",
        findings.join("\n")
    );
}

#[test]
fn the_linter_reports_a_bad_recipe() {
    let scratch = Scratch::new("lint");
    // No LICENSE, a hard-coded path, an unordered DEPENDS after inherit.
    let recipe = scratch.write(
        "recipes-x/bad/bad_1.0.bb",
        "SUMMARY = \"bad\"\ninherit allarch\nDEPENDS = \"zlib bzip2\"\ndo_install() {\n    install -d ${D}/usr/bin\n}\n",
    );
    let findings = oelint::run(&oelint_config(&repo()), &[recipe]).expect("oelint-adv runs");
    let all = findings.join("\n");
    for rule in [
        "oelint.var.mandatoryvar.LICENSE",
        "oelint.vars.dependsappend",
        "oelint.vars.pathhardcode.bindir",
    ] {
        assert!(all.contains(rule), "expected {rule} among:\n{all}");
    }
}

#[test]
fn gen_crates_check_agrees_with_the_committed_inc_and_catches_a_stale_one() {
    let script = repo().join("tools/yocto/gen_crates.py");
    let ok = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .expect("python3 runs");
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );

    let scratch = Scratch::new("crates");
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let extra = "\n[[package]]\nname = \"zzz-not-a-crate\"\nversion = \"9.9.9\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"0000000000000000000000000000000000000000000000000000000000000000\"\n";
    let lock_path = scratch.write("Cargo.lock", &format!("{lock}{extra}"));
    let stale = Command::new("python3")
        .arg(&script)
        .args(["--check", "--lock"])
        .arg(&lock_path)
        .output()
        .expect("python3 runs");
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("crate://crates.io/zzz-not-a-crate/9.9.9")
    );

    // The Rust check sees the same difference.
    let inc = std::fs::read_to_string(crates_inc(&repo())).expect("inc");
    let lock = crates::from_lock(&format!("{lock}{extra}")).expect("lock");
    let problems = crates::compare(&lock, &inc);
    assert!(
        problems.iter().any(|p| p.contains("zzz-not-a-crate")),
        "{problems:?}"
    );
}

#[test]
fn a_missing_file_a_wrong_repo_path_and_an_unread_recipe_are_found() {
    let scratch = Scratch::new("layer");
    let layer = scratch.0.join("yocto-layer/meta-keel");
    let real_conf =
        std::fs::read_to_string(layer_dir(&repo()).join("conf/layer.conf")).expect("layer.conf");
    scratch.write("yocto-layer/meta-keel/conf/layer.conf", &real_conf);
    scratch.write(
        "yocto-layer/meta-keel/recipes-x/foo/foo_1.0.bb",
        "KEEL_REPO_DIR := \"${@os.path.normpath(d.getVar('THISDIR') + '/../../..')}\"\n\
         FILESEXTRAPATHS:prepend := \"${KEEL_REPO_DIR}/board:\"\n\
         SRC_URI = \"file://here.cfg file://nope.cfg\"\n",
    );
    scratch.write("yocto-layer/meta-keel/recipes-x/foo/files/here.cfg", "x\n");
    scratch.write(
        "yocto-layer/meta-keel/recipes-x/misplaced.bb",
        "SUMMARY = \"x\"\n",
    );

    let mut findings = Vec::new();
    src_uri::check(&layer, &scratch.0, &mut findings);
    let text = show(&findings);
    assert!(text.contains("KEEL_REPO_DIR does not lead"), "{text}");
    assert!(text.contains("file://nope.cfg"), "{text}");
    assert!(!text.contains("file://here.cfg"), "{text}");

    let mut findings = Vec::new();
    layer::check_layer_conf(&layer, &mut findings);
    let text = show(&findings);
    assert!(
        text.contains("misplaced.bb") && text.contains("never reads it"),
        "{text}"
    );
    assert!(!text.contains("foo_1.0.bb"), "{text}");

    scratch.write(
        "yocto-layer/meta-keel/conf/layer.conf",
        &real_conf.replace(
            "LAYERSERIES_COMPAT_keel = \"wrynose\"",
            "LAYERSERIES_COMPAT_keel = \"scarthgap\"",
        ),
    );
    let mut findings = Vec::new();
    layer::check_layer_conf(&layer, &mut findings);
    assert!(
        show(&findings).contains("`scarthgap`"),
        "{}",
        show(&findings)
    );
}

/// The body of shell function `name` of a recipe (between `name() {` and
/// the `}` line).
fn shell_function(text: &str, name: &str) -> String {
    let head = format!("{name}() {{");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == head)
        .unwrap_or_else(|| panic!("no {head}"));
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == "}")
            .expect("closing brace");
    lines[start + 1..end].join("\n")
}

/// Runs a recipe's shell `body` with `${VAR}` replaced from `vars` (every
/// reference must be known) and bitbake's bbfatal defined; its exit status.
fn run_recipe_shell(body: &str, vars: &[(&str, String)]) -> std::process::ExitStatus {
    let mut script = body.to_string();
    for (name, value) in vars {
        script = script.replace(&format!("${{{name}}}"), value);
    }
    assert!(!script.contains("${"), "unexpanded variable in:\n{script}");
    let script = format!("set -e\nbbfatal() {{ echo \"$*\" >&2; exit 1; }}\n{script}\n");
    Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .expect("sh")
}

fn board_var(machine: &str, name: &str) -> String {
    let inc = layer_dir(&repo()).join(format!("conf/machine/include/keel-{machine}.inc"));
    let meta = bitbake::parse(&std::fs::read_to_string(inc).expect("inc")).expect("parses");
    meta.get(name)
        .unwrap_or_else(|| panic!("{name} of {machine}"))
        .to_string()
}

#[test]
fn keel_boot_grub_writes_grub_cfg_and_a_grubenv_grub_editenv_reads() {
    let dir = layer_dir(&repo()).join("recipes-bsp/keel-boot-grub");
    let text = std::fs::read_to_string(dir.join("keel-boot-grub_1.0.bb")).expect("recipe");
    let meta = bitbake::parse(&text).expect("parses");
    let scratch = Scratch::new("grub");
    let src = scratch.0.join("S");
    std::fs::create_dir_all(&src).expect("S");
    std::fs::copy(dir.join("files/grub.cfg.in"), src.join("grub.cfg.in")).expect("copy");
    let args = board_var("qemux86-64", "KEEL_KERNEL_ARGS");
    let st = run_recipe_shell(
        &shell_function(&text, "do_compile"),
        &[
            ("S", src.to_string_lossy().into_owned()),
            ("B", scratch.0.to_string_lossy().into_owned()),
            ("KEEL_KERNEL_ARGS", args.clone()),
            (
                "KEEL_GRUBENV_VARS",
                meta.get("KEEL_GRUBENV_VARS").expect("vars").to_string(),
            ),
        ],
    );
    assert!(st.success());

    let cfg = std::fs::read_to_string(scratch.0.join("grub.cfg")).expect("grub.cfg");
    assert!(!cfg.contains('@'), "a placeholder is left:\n{cfg}");
    assert!(
        cfg.contains(&format!("rootwait {args} keel.slot=$keel_slot")),
        "{cfg}"
    );
    assert!(cfg.contains("source \"${prefix}/keel-ab.cfg\""), "{cfg}");

    let env = std::fs::read(scratch.0.join("grubenv")).expect("grubenv");
    assert_eq!(env.len(), 1024, "a GRUB environment block is 1024 bytes");
    let listed = Command::new("grub-editenv")
        .arg(scratch.0.join("grubenv"))
        .arg("list")
        .output()
        .expect("grub-editenv (grub-common, from cargo xtask setup)");
    assert!(listed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "KEEL_ORDER=A B\nKEEL_A_LEFT=3\nKEEL_B_LEFT=3\n"
    );
}

#[test]
fn keel_boot_uboot_makes_a_boot_scr_that_sets_what_keel_ab_cmd_needs() {
    let dir = layer_dir(&repo()).join("recipes-bsp/keel-boot-uboot");
    let text = std::fs::read_to_string(dir.join("keel-boot-uboot_1.0.bb")).expect("recipe");
    let scratch = Scratch::new("uboot");
    let src = scratch.0.join("S");
    std::fs::create_dir_all(&src).expect("S");
    std::fs::copy(
        dir.join("files/keel-rpi-env.cmd.in"),
        src.join("keel-rpi-env.cmd.in"),
    )
    .expect("copy");
    std::fs::copy(
        repo().join("board/common/u-boot/keel-ab.cmd"),
        src.join("keel-ab.cmd"),
    )
    .expect("copy");
    let args = board_var("raspberrypi4-64", "KEEL_KERNEL_ARGS");
    let st = run_recipe_shell(
        &shell_function(&text, "do_compile"),
        &[
            ("S", src.to_string_lossy().into_owned()),
            ("B", scratch.0.to_string_lossy().into_owned()),
            ("UBOOT_ARCH", "arm64".to_string()),
            ("KEEL_KERNEL_ARGS", args.clone()),
        ],
    );
    assert!(
        st.success(),
        "mkimage (u-boot-tools, from cargo xtask setup) failed"
    );

    let cmd = std::fs::read_to_string(scratch.0.join("boot.cmd")).expect("boot.cmd");
    let ab = std::fs::read_to_string(src.join("keel-ab.cmd")).expect("keel-ab.cmd");
    assert!(
        cmd.ends_with(&ab),
        "boot.cmd must end with keel-ab.cmd as it is"
    );
    assert!(
        cmd.contains(&format!("setenv keel_bootargs \"{args}\"")),
        "{cmd}"
    );
    // Every variable keel-ab.cmd expects from the board is set before it runs.
    let preamble = &cmd[..cmd.len() - ab.len()];
    for var in ["keel_bootargs", "keel_part_a", "keel_part_b", "keel_load"] {
        assert!(ab.contains(var), "keel-ab.cmd no longer uses {var}");
        assert!(
            preamble
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("setenv {var} "))),
            "the board part does not set {var}"
        );
    }

    let listed = Command::new("mkimage")
        .arg("-l")
        .arg(scratch.0.join("boot.scr"))
        .output()
        .expect("mkimage");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("Script"), "{listed}");
    assert!(listed.contains("Keel A/B boot"), "{listed}");
}

#[test]
fn a_boot_file_nobody_deploys_and_an_unset_wks_variable_are_found() {
    let scratch = Scratch::new("bootfiles");
    let layer = scratch.0.clone();
    scratch.write(
        "conf/machine/include/keel-grub-efi.inc",
        "IMAGE_BOOT_FILES = \"grub-efi-bootx64.efi;EFI/BOOT/bootx64.efi keel-boot/grub.cfg;EFI/BOOT/grub.cfg keel-boot/extra.cfg;EFI/BOOT/extra.cfg\"\n",
    );
    scratch.write(
        "recipes-bsp/keel-boot-grub/keel-boot-grub_1.0.bb",
        "do_deploy() {\n    install -m 0644 ${B}/grub.cfg ${DEPLOYDIR}/keel-boot/grub.cfg\n}\n",
    );
    scratch.write(
        "recipes-core/images/keel-image.bb",
        "KEEL_ROOTFS_PART_MIB ??= \"1024\"\n",
    );
    let mut findings = Vec::new();
    boot_files::check_grub_deploy(&layer, &mut findings);
    let wks = "part / --fixed-size ${KEEL_ROOTFS_PART_MIB}M --rootfs-dir=${IMAGE_ROOTFS}\npart --size ${KEEL_DATA_PART_MIB}M\n";
    boot_files::check_wks_vars(&layer, &layer.join("x.wks.in"), wks, &mut findings);
    let text = show(&findings);
    assert_eq!(findings.len(), 2, "{text}");
    assert!(
        text.contains("keel-boot/extra.cfg, which keel-boot-grub does not deploy"),
        "{text}"
    );
    assert!(text.contains("${KEEL_DATA_PART_MIB}"), "{text}");
}
