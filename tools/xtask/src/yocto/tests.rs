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

#[test]
fn the_grubenv_the_recipe_writes_is_a_full_grub_environment_block() {
    let recipe = layer_dir(&repo()).join("recipes-bsp/keel-boot-grub/keel-boot-grub_1.0.bb");
    let text = std::fs::read_to_string(&recipe).expect("recipe");
    let meta = bitbake::parse(&text).expect("parses");
    let vars = meta
        .get("KEEL_GRUBENV_VARS")
        .expect("KEEL_GRUBENV_VARS")
        .to_string();
    // The recipe's own shell lines, from the header to the padding.
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("# GRUB Environment Block"))
        .expect("start");
    let end = lines
        .iter()
        .position(|l| l.contains("tr '\\0' '#'"))
        .expect("end");
    let scratch = Scratch::new("grubenv");
    let script = format!(
        "bbfatal() {{ echo \"$*\" >&2; exit 1; }}\n{}\n",
        lines[start..=end].join("\n")
    )
    .replace("${B}", &scratch.0.to_string_lossy())
    .replace("${KEEL_GRUBENV_VARS}", &vars);
    let st = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .expect("sh");
    assert!(st.success());
    let env = std::fs::read(scratch.0.join("grubenv")).expect("grubenv");
    assert_eq!(env.len(), 1024);
    let text = String::from_utf8(env).expect("ascii");
    let body = text.trim_end_matches('#');
    assert_eq!(
        body,
        "# GRUB Environment Block\nKEEL_ORDER=A B\nKEEL_A_LEFT=3\nKEEL_B_LEFT=3\n"
    );
}
