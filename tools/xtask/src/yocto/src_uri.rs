//! The `file://` entries of every SRC_URI of meta-keel exist: each recipe's
//! and append's search path (FILESEXTRAPATHS, then `<dir>/<BP>`, `<BPN>` and
//! `files`) is resolved the way bitbake would, with `${THISDIR}` and the
//! recipe's KEEL_REPO_DIR, which must lead to the repository root. Reads
//! files; it must not write any.

use super::bitbake;
use super::layer::{files_with, parse};
use super::Finding;
use std::path::{Component, Path, PathBuf};

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
pub fn check(layer: &Path, repo: &Path, findings: &mut Vec<Finding>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_parent_components() {
        assert_eq!(
            normalize(Path::new("/a/b/c/../../d")),
            PathBuf::from("/a/d")
        );
    }
}
