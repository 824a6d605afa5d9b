//! The crate list of the keel recipe (`keel-crates.inc`) against the
//! workspace's Cargo.lock: every crates.io package must be a
//! `crate://crates.io/NAME/VERSION` entry of SRC_URI with
//! `SRC_URI[NAME-VERSION.sha256sum]` equal to Cargo.lock's checksum, and
//! nothing else may be listed. `tools/yocto/gen_crates.py` writes the file;
//! this is the independent check. Pure: texts in, problems out.

use std::collections::BTreeMap;

/// A crates.io package of Cargo.lock: (name, version) -> sha256.
pub type Crates = BTreeMap<(String, String), String>;

/// The crates.io packages of a Cargo.lock (workspace members and other
/// sources are not fetched by crate://; a git source is an error).
pub fn from_lock(text: &str) -> Result<Crates, String> {
    let mut crates = Crates::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        let name = field("name").ok_or("a [[package]] without a name")?;
        let version = field("version").ok_or_else(|| format!("{name} has no version"))?;
        match field("source") {
            None => continue,
            Some(s) if s.starts_with("registry+https://github.com/rust-lang/crates.io-index") => {}
            Some(s) => {
                return Err(format!(
                "{name} {version} comes from {s}: only crates.io packages can be crate:// entries"
            ))
            }
        }
        let sum = field("checksum").ok_or_else(|| format!("{name} {version} has no checksum"))?;
        crates.insert((name, version), sum);
    }
    Ok(crates)
}

/// What the .inc lists: the crate:// entries, and the sha256sum flags.
pub fn from_inc(text: &str) -> (Vec<(String, String)>, BTreeMap<String, String>) {
    let mut uris = Vec::new();
    let mut sums = BTreeMap::new();
    for line in text.lines() {
        for word in line.split_whitespace() {
            let word = word.trim_start_matches('"');
            if let Some(rest) = word.strip_prefix("crate://crates.io/") {
                if let Some((name, version)) = rest.split_once('/') {
                    uris.push((name.to_string(), version.to_string()));
                }
            }
        }
        if let Some(rest) = line.trim().strip_prefix("SRC_URI[") {
            if let Some((key, value)) = rest.split_once(".sha256sum] = ") {
                sums.insert(key.to_string(), value.trim().trim_matches('"').to_string());
            }
        }
    }
    (uris, sums)
}

/// Every difference between Cargo.lock's crates and the .inc (empty when
/// the .inc is up to date).
pub fn compare(lock: &Crates, inc_text: &str) -> Vec<String> {
    let (uris, sums) = from_inc(inc_text);
    let mut problems = Vec::new();
    let mut listed = BTreeMap::new();
    for (name, version) in &uris {
        if listed.insert((name.clone(), version.clone()), ()).is_some() {
            problems.push(format!(
                "crate://crates.io/{name}/{version} is listed twice"
            ));
        }
    }
    for ((name, version), sum) in lock {
        let key = format!("{name}-{version}");
        if !listed.contains_key(&(name.clone(), version.clone())) {
            problems.push(format!("missing: crate://crates.io/{name}/{version}"));
        }
        match sums.get(&key) {
            None => problems.push(format!("missing: SRC_URI[{key}.sha256sum]")),
            Some(s) if s != sum => problems.push(format!(
                "SRC_URI[{key}.sha256sum] is {s}, Cargo.lock says {sum}"
            )),
            Some(_) => {}
        }
    }
    for (name, version) in listed.keys() {
        if !lock.contains_key(&(name.clone(), version.clone())) {
            problems.push(format!(
                "not in Cargo.lock: crate://crates.io/{name}/{version}"
            ));
        }
    }
    for key in sums.keys() {
        let known = lock
            .keys()
            .any(|(name, version)| format!("{name}-{version}") == *key);
        if !known {
            problems.push(format!("not in Cargo.lock: SRC_URI[{key}.sha256sum]"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 4

[[package]]
name = "keel-core"
version = "0.1.0"

[[package]]
name = "libc"
version = "0.2.170"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaaa"

[[package]]
name = "ring"
version = "0.17.14"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbbb"
dependencies = [
 "libc",
]
"#;

    const INC: &str = r#"# generated
SRC_URI += "crate://crates.io/libc/0.2.170 \
            crate://crates.io/ring/0.17.14 \
            "

SRC_URI[libc-0.2.170.sha256sum] = "aaaa"
SRC_URI[ring-0.17.14.sha256sum] = "bbbb"
"#;

    #[test]
    fn an_up_to_date_inc_passes() {
        let lock = from_lock(LOCK).expect("lock");
        assert_eq!(lock.len(), 2, "the workspace member is not a crate");
        assert_eq!(compare(&lock, INC), Vec::<String>::new());
    }

    #[test]
    fn a_stale_inc_is_refused_with_the_difference() {
        let lock = from_lock(&LOCK.replace("0.17.14", "0.17.15")).expect("lock");
        let problems = compare(&lock, INC);
        assert!(
            problems.contains(&"missing: crate://crates.io/ring/0.17.15".to_string()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"not in Cargo.lock: crate://crates.io/ring/0.17.14".to_string()),
            "{problems:?}"
        );

        let lock = from_lock(&LOCK.replace("bbbb", "cccc")).expect("lock");
        let problems = compare(&lock, INC);
        assert_eq!(
            problems,
            ["SRC_URI[ring-0.17.14.sha256sum] is bbbb, Cargo.lock says cccc"]
        );
    }

    #[test]
    fn a_git_dependency_is_an_error() {
        let lock = LOCK.replace(
            "registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"bbbb\"",
            "git+https://example.org/ring#abc\"",
        );
        assert!(from_lock(&lock).unwrap_err().contains("only crates.io"));
    }
}
