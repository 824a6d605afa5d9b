//! Structural checks of meta-keel that need the files: `conf/layer.conf`
//! parses and declares the collection, its series and its dependencies;
//! every recipe and append sits where BBFILES (or BBFILES_DYNAMIC) makes
//! bitbake parse it; every `file://` of a SRC_URI exists on the recipe's
//! search path; the distro's board includes name the boards of board/ and
//! agree with their kernel arguments; the image's WKS_FILE exists. Reads
//! files; it must not write any.

use super::bitbake::{self, Metadata};
use super::Finding;
use std::path::{Component, Path, PathBuf};

/// Yocto release series this layer may declare (LAYERSERIES_COMPAT): the
/// maintained ones whose Rust can build the workspace (see yocto-layer/README.md).
pub const SUPPORTED_SERIES: &[&str] = &["wrynose", "blacksail"];

/// Machines the distro supports: (MACHINE, Keel board name).
pub const MACHINES: &[(&str, &str)] = &[
    ("qemux86-64", "qemu-x86_64"),
    ("genericx86-64", "generic-x86_64"),
    ("raspberrypi4-64", "raspberrypi4-64"),
];

fn read(path: &Path, findings: &mut Vec<Finding>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            findings.push(Finding::file(path, format!("cannot read: {e}")));
            None
        }
    }
}

fn parse(path: &Path, findings: &mut Vec<Finding>) -> Option<Metadata> {
    let text = read(path, findings)?;
    match bitbake::parse(&text) {
        Ok(meta) => Some(meta),
        Err(e) => {
            findings.push(Finding::at(path, e.line, e.reason));
            None
        }
    }
}

/// Every file under `dir` (recursively) whose name ends with one of `exts`.
pub fn files_with(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `layer.conf`: it parses; the collection `keel` with its pattern and a
/// numeric priority; LAYERDEPENDS has core; LAYERSERIES_COMPAT only names
/// supported series; and every .bb/.bbappend is matched by BBFILES or
/// BBFILES_DYNAMIC.
pub fn check_layer_conf(layer: &Path, findings: &mut Vec<Finding>) {
    let conf = layer.join("conf/layer.conf");
    let Some(meta) = parse(&conf, findings) else {
        return;
    };
    let words = |name: &str| -> Vec<String> {
        meta.values(name)
            .filter(|a| a.name == name)
            .flat_map(|a| {
                a.value
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut need = |ok: bool, message: &str| {
        if !ok {
            findings.push(Finding::file(&conf, message.to_string()));
        }
    };
    need(
        words("BBFILE_COLLECTIONS").iter().any(|c| c == "keel"),
        "BBFILE_COLLECTIONS must add `keel`",
    );
    need(
        meta.get("BBFILE_PATTERN_keel") == Some("^${LAYERDIR}/"),
        "BBFILE_PATTERN_keel must be \"^${LAYERDIR}/\"",
    );
    need(
        meta.get("BBFILE_PRIORITY_keel")
            .is_some_and(|p| p.parse::<u32>().is_ok()),
        "BBFILE_PRIORITY_keel must be a number",
    );
    need(
        words("LAYERDEPENDS_keel").iter().any(|c| c == "core"),
        "LAYERDEPENDS_keel must include core",
    );
    let series = words("LAYERSERIES_COMPAT_keel");
    need(!series.is_empty(), "LAYERSERIES_COMPAT_keel is not set");
    for s in &series {
        need(
            SUPPORTED_SERIES.contains(&s.as_str()),
            &format!("LAYERSERIES_COMPAT_keel names `{s}`, not one of {SUPPORTED_SERIES:?}"),
        );
    }
    let layer_str = layer.to_string_lossy().into_owned();
    let expand_layerdir = |p: &str| p.replace("${LAYERDIR}", &layer_str);
    let bbfiles: Vec<String> = words("BBFILES")
        .iter()
        .map(|p| expand_layerdir(p))
        .collect();
    let dynamic: Vec<String> = words("BBFILES_DYNAMIC")
        .iter()
        .filter_map(|p| p.split_once(':').map(|(_, pat)| expand_layerdir(pat)))
        .collect();
    for recipe in files_with(layer, &[".bb", ".bbappend"]) {
        let path = recipe.to_string_lossy();
        let parsed_by = |patterns: &[String]| patterns.iter().any(|p| glob_match(p, &path));
        if !parsed_by(&bbfiles) && !parsed_by(&dynamic) {
            findings.push(Finding::file(
                &recipe,
                "no BBFILES or BBFILES_DYNAMIC pattern of layer.conf matches it: bitbake never reads it",
            ));
        }
    }
}

/// Shell-style match of `path` against `pattern`, `*` within one path segment.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(p, s)| segment_match(p.as_bytes(), s.as_bytes()))
}

fn segment_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            segment_match(&p[1..], s) || (!s.is_empty() && segment_match(p, &s[1..]))
        }
        (Some(a), Some(b)) if a == b => segment_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// `a/b/../c` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The prefix of the expression recipes use for KEEL_REPO_DIR.
const REPO_DIR_EXPR: &str = "${@os.path.normpath(d.getVar('THISDIR') + '";

/// Every `file://` of every SRC_URI (any override) of every recipe and
/// append exists on the recipe's file search path: FILESEXTRAPATHS, then
/// `<recipe dir>/<BP>`, `<BPN>` and `files`. A recipe's KEEL_REPO_DIR must
/// lead from its directory to `repo`.
pub fn check_src_uri_files(layer: &Path, repo: &Path, findings: &mut Vec<Finding>) {
    for recipe in files_with(layer, &[".bb", ".bbappend"]) {
        let Some(meta) = parse(&recipe, findings) else {
            continue;
        };
        let dir = recipe.parent().unwrap_or(layer).to_path_buf();
        let mut repo_dir = None;
        if let Some(a) = meta.values("KEEL_REPO_DIR").last() {
            let rel = a
                .value
                .strip_prefix(REPO_DIR_EXPR)
                .and_then(|r| r.strip_suffix("')}"));
            match rel {
                Some(rel) if normalize(&dir.join(rel.trim_start_matches('/'))) == normalize(repo) => {
                    repo_dir = Some(normalize(repo));
                }
                _ => findings.push(Finding::at(
                    &recipe,
                    a.line,
                    format!("KEEL_REPO_DIR does not lead from this recipe's directory to the repository root {}", repo.display()),
                )),
            }
        }
        let lookup = |name: &str| match name {
            "THISDIR" => Some(dir.to_string_lossy().into_owned()),
            "KEEL_REPO_DIR" => repo_dir.as_ref().map(|p| p.to_string_lossy().into_owned()),
            _ => None,
        };
        let mut search: Vec<PathBuf> = Vec::new();
        for a in meta.values("FILESEXTRAPATHS") {
            match bitbake::expand(&a.value, lookup) {
                Ok(v) => search.extend(
                    v.split(':')
                        .filter(|p| !p.is_empty())
                        .map(|p| normalize(Path::new(p))),
                ),
                Err(r) => findings.push(Finding::at(
                    &recipe,
                    a.line,
                    format!("FILESEXTRAPATHS: cannot resolve {r}"),
                )),
            }
        }
        let stem = recipe
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bpn = stem.split('_').next().unwrap_or(&stem).to_string();
        search.extend([dir.join(&stem), dir.join(&bpn), dir.join("files")]);
        for a in meta.values("SRC_URI") {
            for entry in a.value.split_whitespace() {
                let Some(rest) = entry.strip_prefix("file://") else {
                    continue;
                };
                let file = rest.split(';').next().unwrap_or(rest);
                if !search.iter().any(|d| d.join(file).exists()) {
                    findings.push(Finding::at(
                        &recipe,
                        a.line,
                        format!(
                            "SRC_URI names file://{file}, which is in none of: {}",
                            search
                                .iter()
                                .map(|d| d.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
        for inc in &meta.includes {
            if !inc.contains("${") && !dir.join(inc).is_file() {
                findings.push(Finding::file(
                    &recipe,
                    format!("requires {inc}, which is not beside it"),
                ));
            }
        }
    }
}

/// The distro: `conf/distro/keel.conf` parses and includes the board files;
/// each supported machine's include sets KEEL_BOARD to the Keel board name,
/// and where `board/<name>/board.toml` exists, its partition labels are the
/// layer's disk's and its `kernel_args` are KEEL_KERNEL_ARGS.
pub fn check_boards(layer: &Path, repo: &Path, findings: &mut Vec<Finding>) {
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
        let Ok(text) = std::fs::read_to_string(&toml) else {
            continue; // the board's description is not written yet
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

/// The image recipe's WKS_FILE is in the layer's `files/wic/` (where
/// wrynose's wic class looks), and returns its path.
pub fn wks_file(layer: &Path, findings: &mut Vec<Finding>) -> Option<PathBuf> {
    let image = layer.join("recipes-core/images/keel-image.bb");
    let meta = parse(&image, findings)?;
    let Some(name) = meta.get("WKS_FILE") else {
        findings.push(Finding::file(&image, "WKS_FILE is not set"));
        return None;
    };
    let path = layer.join("files/wic").join(name);
    if path.is_file() {
        Some(path)
    } else {
        findings.push(Finding::file(
            &image,
            format!("WKS_FILE {name} is not in files/wic/"),
        ));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_within_segments() {
        assert!(glob_match(
            "/l/recipes-*/*/*.bb",
            "/l/recipes-core/images/keel-image.bb"
        ));
        assert!(glob_match(
            "/l/recipes-*/*/*.bbappend",
            "/l/recipes-core/base-files/base-files_%.bbappend"
        ));
        assert!(!glob_match(
            "/l/recipes-*/*/*.bb",
            "/l/recipes-core/keel.bb"
        ));
        assert!(!glob_match(
            "/l/recipes-*/*/*.bb",
            "/l/dynamic-layers/x/recipes-a/b/c.bb"
        ));
        assert!(!glob_match(
            "/l/recipes-*/*/*.bb",
            "/l/recipes-a/b/c.bbappend"
        ));
    }

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

    #[test]
    fn normalize_resolves_parent_components() {
        assert_eq!(
            normalize(Path::new("/a/b/c/../../d")),
            PathBuf::from("/a/d")
        );
    }
}
