//! The boot partition's files: every file the x86 boards' IMAGE_BOOT_FILES
//! takes from `keel-boot/` of the deploy directory is one keel-boot-grub's
//! do_deploy installs there, and every `${VAR}` the wks file uses is set by
//! the image recipe (or is one of the image variables wic always has). Reads
//! files; it must not write any.

use super::layer::{parse, read};
use super::Finding;
use std::path::Path;

/// Variables of the image build a wks file may use without the layer
/// setting them.
const IMAGE_VARS: &[&str] = &[
    "IMAGE_ROOTFS",
    "DEPLOY_DIR_IMAGE",
    "MACHINE",
    "IMAGE_LINK_NAME",
];

/// Checks IMAGE_BOOT_FILES against keel-boot-grub's deploy step.
pub fn check_grub_deploy(layer: &Path, findings: &mut Vec<Finding>) {
    let inc = layer.join("conf/machine/include/keel-grub-efi.inc");
    let recipe = layer.join("recipes-bsp/keel-boot-grub/keel-boot-grub_1.0.bb");
    let (Some(meta), Some(text)) = (parse(&inc, findings), read(&recipe, findings)) else {
        return;
    };
    let Some(files) = meta.get("IMAGE_BOOT_FILES") else {
        findings.push(Finding::file(&inc, "IMAGE_BOOT_FILES is not set"));
        return;
    };
    for entry in files.split_whitespace() {
        let source = entry.split(';').next().unwrap_or(entry);
        let Some(name) = source.strip_prefix("keel-boot/") else {
            continue;
        };
        if !text.contains(&format!("${{DEPLOYDIR}}/keel-boot/{name}")) {
            findings.push(Finding::file(
                &inc,
                format!(
                    "IMAGE_BOOT_FILES takes keel-boot/{name}, which keel-boot-grub does not deploy"
                ),
            ));
        }
    }
}

/// Checks that the wks file's `${VAR}`s are set by the image recipe.
pub fn check_wks_vars(layer: &Path, wks: &Path, wks_text: &str, findings: &mut Vec<Finding>) {
    let image = layer.join("recipes-core/images/keel-image.bb");
    let Some(meta) = parse(&image, findings) else {
        return;
    };
    for var in super::wks::references(wks_text) {
        if !IMAGE_VARS.contains(&var.as_str()) && meta.get(&var).is_none() {
            findings.push(Finding::file(
                wks,
                format!("uses ${{{var}}}, which keel-image.bb does not set"),
            ));
        }
    }
}
