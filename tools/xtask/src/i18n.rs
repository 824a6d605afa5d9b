//! `cargo xtask i18n`: extracts every translatable text of the UI
//! (`@tr("...")` in ui-slint/ui, `tr`/`trf`/`trn` calls in ui-slint/src and
//! firmware/kiosk/src) into `ui-slint/lang/keel-ui.pot`, and reports, per
//! language catalogue `ui-slint/lang/<lang>/LC_MESSAGES/keel-ui.po`, the
//! texts it does not translate yet and the entries no source uses any more.
//!
//! - `--merge` also appends the missing texts to each catalogue with an
//!   empty translation, for a translator to fill in.
//! - `--check` writes nothing and fails when the template is stale or a
//!   catalogue lacks a translation (for CI).
//!
//! The extractor and the catalogue reader are keel-ui's own
//! (`ui-slint/src/i18n/{extract,po}.rs`, standard library only), compiled
//! here by path so xtask keeps building without dependencies and both read
//! the sources the same way.

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};

#[path = "../../../ui-slint/src/i18n/po.rs"]
#[allow(dead_code)]
mod po;

// The extractor names the catalogue reader `super::po`: the module above.
#[path = "../../../ui-slint/src/i18n/extract.rs"]
#[allow(dead_code)]
mod extract;

/// What `cargo xtask i18n` was asked to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Append missing texts to the catalogues.
    pub merge: bool,
    /// Write nothing; fail on a stale template or a missing translation.
    pub check: bool,
}

/// Parses the task's arguments.
pub fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options::default();
    for a in args {
        match a.as_str() {
            "--merge" => o.merge = true,
            "--check" => o.check = true,
            other => return Err(Error::usage(format!("i18n: unknown option `{other}`"))),
        }
    }
    if o.merge && o.check {
        return Err(Error::usage("i18n: --merge and --check exclude each other"));
    }
    Ok(o)
}

/// The catalogues' directory.
fn lang_dir(root: &Path) -> PathBuf {
    root.join("ui-slint/lang")
}

/// Runs the task; returns the exit code.
pub fn i18n(o: &Options) -> Result<i32> {
    let root = cmd::repo_root();
    let messages = extract::extract_tree(&root)
        .map_err(|e| Error::msg(e.to_string()))
        .context("extracting translatable texts")?;
    let pot = extract::pot(&messages, "keel-ui");
    let pot_path = lang_dir(&root).join("keel-ui.pot");
    let old = std::fs::read_to_string(&pot_path).unwrap_or_default();
    let stale = old != pot;
    println!("{} translatable texts", messages.len());
    if o.check {
        if stale {
            println!(
                "{} is out of date (run `cargo xtask i18n`)",
                pot_path.display()
            );
        }
    } else if stale {
        std::fs::write(&pot_path, &pot)
            .with_context(|| format!("writing {}", pot_path.display()))?;
        println!("wrote {}", pot_path.display());
    } else {
        println!("{} is up to date", pot_path.display());
    }
    let mut incomplete = false;
    for (lang, path) in catalogues(&root)? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let entries = po::parse(&text)
            .map_err(|e| Error::msg(e.to_string()))
            .with_context(|| format!("reading {}", path.display()))?;
        let missing = extract::untranslated(&messages, &entries);
        let obsolete: Vec<_> = entries
            .iter()
            .filter(|e| !e.msgid.is_empty())
            .filter(|e| {
                !messages
                    .iter()
                    .any(|m| m.context == e.context && m.msgid == e.msgid)
            })
            .collect();
        println!(
            "{lang}: {} of {} translated, {} missing, {} obsolete",
            messages.len() - missing.len(),
            messages.len(),
            missing.len(),
            obsolete.len()
        );
        for m in &missing {
            println!("  missing  {:?}  ({})", m.msgid, m.references.join(" "));
        }
        for e in &obsolete {
            println!("  obsolete {:?}", e.msgid);
        }
        incomplete |= !missing.is_empty();
        if o.merge && !missing.is_empty() {
            let forms = plural_forms(&entries);
            let mut text = text;
            if !text.ends_with("\n\n") {
                text.push('\n');
            }
            for m in missing {
                // Texts the catalogue has but leaves empty or fuzzy stay where they are.
                if entries
                    .iter()
                    .any(|e| e.context == m.context && e.msgid == m.msgid)
                {
                    continue;
                }
                text.push_str(&po::write_entry(&po::PoEntry {
                    context: m.context.clone(),
                    msgid: m.msgid.clone(),
                    plural: m.plural.clone(),
                    msgstr: vec![String::new(); if m.plural.is_some() { forms } else { 1 }],
                    // Places go stale as the sources move: the template has them.
                    references: Vec::new(),
                    fuzzy: false,
                }));
            }
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            println!("  appended the missing texts to {}", path.display());
        }
    }
    if o.check && (stale || incomplete) {
        return Ok(1);
    }
    Ok(0)
}

/// `(language, path)` of every catalogue, in name order.
fn catalogues(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let dir = lang_dir(root);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path().join("LC_MESSAGES/keel-ui.po");
        if path.is_file() {
            out.push((entry.file_name().to_string_lossy().into_owned(), path));
        }
    }
    out.sort();
    Ok(out)
}

/// `nplurals` from a catalogue's header (2 when it does not say).
fn plural_forms(entries: &[po::PoEntry]) -> usize {
    entries
        .iter()
        .find(|e| e.msgid.is_empty())
        .and_then(|h| h.msgstr.first())
        .and_then(|h| {
            h.split(['\n', ';'])
                .find_map(|kv| kv.trim().strip_prefix("Plural-Forms:").map(str::trim))
                .or_else(|| h.split(';').find(|kv| kv.contains("nplurals")))
                .and_then(|kv| kv.split("nplurals=").nth(1))
                .and_then(|n| n.trim_start().split(';').next())
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(parse(&[]).unwrap(), Options::default());
        assert!(parse(&["--merge".into()]).unwrap().merge);
        assert!(parse(&["--check".into(), "--merge".into()]).is_err());
        assert!(parse(&["--bogus".into()]).is_err());
    }

    #[test]
    fn plural_forms_from_the_header() {
        let id = po::parse(
            "msgid \"\"\nmsgstr \"\"\n\"Language: id\\n\"\n\"Plural-Forms: nplurals=1; plural=0;\\n\"\n",
        )
        .unwrap();
        assert_eq!(plural_forms(&id), 1);
        assert_eq!(plural_forms(&[]), 2);
    }

    #[test]
    fn the_ui_sources_extract() {
        let messages = extract::extract_tree(&cmd::repo_root()).unwrap();
        assert!(messages.iter().any(|m| m.msgid == "Pay {}"));
    }
}
