//! The distro's boards: `conf/distro/keel.conf` includes the board files;
//! each supported machine's include names its Keel board, whose description
//! (`board/<name>/board.toml`) exists, and the layer agrees with it: partition labels, sizes, mount points (in the fstab that machine
//! gets) and kernel arguments. Reads files; it must not write any.

use super::bitbake;
use super::layer::{parse, read};
use super::Finding;
use std::path::Path;

/// Machines the distro supports: (MACHINE, Keel board name).
pub const MACHINES: &[(&str, &str)] = &[
    ("qemux86-64", "qemu-x86_64"),
    ("genericx86-64", "generic-x86_64"),
    ("raspberrypi4-64", "raspberrypi4-64"),
];

/// The distro: `conf/distro/keel.conf` parses and includes the board files;
/// each supported machine's include sets KEEL_BOARD to the Keel board name;
/// `board/<name>/board.toml` exists (the keel recipe installs it), its
/// partition labels are the layer's disk's, its partition sizes are the
/// include's KEEL_*_PART_MIB, its mount points are in the fstab the machine
/// gets, and its `kernel_args` are KEEL_KERNEL_ARGS.
pub fn check(layer: &Path, repo: &Path, findings: &mut Vec<Finding>) {
    let distro = layer.join("conf/distro/keel.conf");
    if let Some(text) = read(&distro, findings) {
        if let Err(e) = bitbake::parse(&text) {
            findings.push(Finding::at(&distro, e.line, e.reason));
        }
        if !text.contains("include conf/machine/include/keel-${MACHINE}.inc") {
            findings.push(Finding::file(
                &distro,
                "does not include conf/machine/include/keel-${MACHINE}.inc",
            ));
        }
    }
    for (machine, board) in MACHINES {
        let inc = layer.join(format!("conf/machine/include/keel-{machine}.inc"));
        let Some(meta) = parse(&inc, findings) else {
            continue;
        };
        if meta.get("KEEL_BOARD") != Some(board) {
            findings.push(Finding::file(
                &inc,
                format!("KEEL_BOARD must be \"{board}\" for {machine}"),
            ));
        }
        let toml = repo.join("board").join(board).join("board.toml");
        // The keel recipe installs it as /etc/keel/board.toml.
        let Some(text) = read(&toml, findings) else {
            continue;
        };
        let args = text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "kernel_args").then(|| v.trim().trim_matches('"').to_string())
        });
        let partitions = board_partitions(&text);
        let labels: Vec<&str> = partitions.iter().map(|p| p.label.as_str()).collect();
        if !labels.is_empty() && labels != super::wks::LABELS {
            findings.push(Finding::file(
                &toml,
                format!(
                    "the board's partitions are {labels:?}; the layer's disk has {:?}",
                    super::wks::LABELS
                ),
            ));
        }
        for (label, var) in [
            ("boot", "KEEL_BOOT_PART_MIB"),
            ("rootfs-a", "KEEL_ROOTFS_PART_MIB"),
            ("data", "KEEL_DATA_PART_MIB"),
        ] {
            let board_size = partitions
                .iter()
                .find(|p| p.label == label)
                .and_then(|p| p.size_mib.clone());
            if board_size.is_some() && meta.get(var) != board_size.as_deref() {
                findings.push(Finding::file(
                    &inc,
                    format!(
                        "{var} must be {board_size:?} MiB, the size of `{label}` in {}",
                        toml.display()
                    ),
                ));
            }
        }
        let fstab_dir = layer.join("recipes-core/base-files/files");
        let fstab = [
            fstab_dir.join(machine).join("fstab"),
            fstab_dir.join("fstab"),
        ]
        .into_iter()
        .find(|p| p.is_file());
        if let Some(fstab) = fstab {
            let text = std::fs::read_to_string(&fstab).unwrap_or_default();
            for p in &partitions {
                let (Some(mount), false) = (&p.mount, p.label.starts_with("rootfs-")) else {
                    continue;
                };
                let mounted = text.lines().any(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    w.len() > 1 && w[0] == format!("PARTLABEL={}", p.label) && w[1] == mount
                });
                if !mounted {
                    findings.push(Finding::file(
                        &fstab,
                        format!(
                            "{machine}: no `PARTLABEL={} {mount}` line ({} mounts it there)",
                            p.label,
                            toml.display()
                        ),
                    ));
                }
            }
        }
        if let Some(args) = args {
            if meta.get("KEEL_KERNEL_ARGS") != Some(args.as_str()) {
                findings.push(Finding::file(
                    &inc,
                    format!(
                        "KEEL_KERNEL_ARGS must be \"{args}\" ({} says so)",
                        toml.display()
                    ),
                ));
            }
        }
    }
}

/// A `[[partition]]` of a board description.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoardPartition {
    /// `label`.
    pub label: String,
    /// `size_mib`.
    pub size_mib: Option<String>,
    /// `mount`.
    pub mount: Option<String>,
}

/// The `[[partition]]` tables of a `board.toml`, in order.
pub fn board_partitions(text: &str) -> Vec<BoardPartition> {
    let mut out: Vec<BoardPartition> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            inside = line == "[[partition]]";
            if inside {
                out.push(BoardPartition::default());
            }
            continue;
        }
        let (Some(p), Some((k, v))) = (out.last_mut().filter(|_| inside), line.split_once('='))
        else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "label" => p.label = v,
            "size_mib" => p.size_mib = Some(v),
            "mount" => p.mount = Some(v),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_partitions_are_read_in_order() {
        let text = "[boot]\nkernel_args = \"x\"\n[[partition]]\nlabel = \"boot\"\nsize_mib = 64\nmount = \"/boot/efi\" # ESP\n[[partition]]\nlabel = \"data\"\n[display]\nlabel = \"not a partition\"\n";
        let p = board_partitions(text);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].size_mib.as_deref(), Some("64"));
        assert_eq!(p[0].mount.as_deref(), Some("/boot/efi"));
        assert_eq!(p[1].label, "data");
        assert_eq!(p[1].mount, None);
    }
}
