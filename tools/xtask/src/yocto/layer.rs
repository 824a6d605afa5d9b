//! Checks of meta-keel's layer configuration: `conf/layer.conf` parses and
//! declares the collection, its series and its dependencies; every recipe
//! and append sits where BBFILES (or BBFILES_DYNAMIC) makes bitbake parse
//! it; the image's WKS_FILE exists. Also the helpers the other file checks
//! share (reading and parsing a metadata file, listing files). Reads files;
//! it must not write any.

use super::bitbake::{self, Metadata};
use super::Finding;
use std::path::{Path, PathBuf};

/// Yocto release series this layer may declare (LAYERSERIES_COMPAT): the
/// maintained ones whose Rust builds the workspace and that the layer was
/// checked against (see yocto-layer/README.md).
pub const SUPPORTED_SERIES: &[&str] = &["wrynose"];

/// The file's text, or a finding that it cannot be read.
pub fn read(path: &Path, findings: &mut Vec<Finding>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            findings.push(Finding::file(path, format!("cannot read: {e}")));
            None
        }
    }
}

/// The file's metadata, or a finding where it does not parse.
pub fn parse(path: &Path, findings: &mut Vec<Finding>) -> Option<Metadata> {
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
}
