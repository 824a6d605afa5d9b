//! Translations: English (the source language) and every catalogue under
//! `ui-slint/lang/<lang>/LC_MESSAGES/keel-ui.po` (Indonesian, `id`).
//!
//! - The `.slint` screens mark their texts `@tr("...")`; build.rs bundles
//!   the catalogues into the compiled screens (Slint's bundled translations:
//!   no gettext library, no `.mo` files to install), without the default
//!   per-component context, so a text has one translation everywhere.
//! - Texts built in Rust that reach the screen (status bar, grid title,
//!   receipt title, PIN pad title, cash change) go through [`tr`], [`trf`]
//!   and [`trn`], which read the same catalogues (embedded by build.rs) and
//!   fill `{}`/`{0}` placeholders as `@tr` does ([`format`]); [`mark`] marks
//!   a text kept in English to be translated later with `tr`.
//! - [`select_language`] picks the language for both, on the calling thread
//!   (Slint's translations are per thread, like its event loop): call it on
//!   the UI thread, before or after creating the [`crate::Ui`]. Until it is
//!   called the UI is in English whatever the machine's locale, so screens
//!   and screenshots do not depend on the machine.
//! - [`extract`] finds the translatable texts in the sources and [`po`]
//!   reads and writes catalogues; `cargo xtask i18n` uses both to write
//!   `lang/keel-ui.pot` and list what a catalogue lacks.
//!
//! This module owns the language choice and catalogue lookups; it must not
//! format money or dates (the core's formatters do) nor touch the models.

pub mod extract;
pub mod format;
pub mod po;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;
use std::rc::Rc;
use thiserror::Error;

mod bundled {
    // BUNDLED: &[(&str, &str)], (language, catalogue text), written by build.rs.
    include!(concat!(env!("OUT_DIR"), "/i18n_bundled.rs"));
}

/// The source language: the texts as written, no catalogue.
pub const SOURCE_LANGUAGE: &str = "en";

/// Why a language could not be selected.
#[derive(Debug, Error)]
pub enum I18nError {
    /// No catalogue for this language.
    #[error("unknown language `{lang}` (available: {})", available.join(", "))]
    UnknownLanguage {
        /// The language asked for.
        lang: String,
        /// The languages there are.
        available: Vec<String>,
    },
    /// The bundled catalogue does not parse (build.rs embeds it as it is).
    #[error("catalogue {lang}: {source}")]
    Catalogue {
        /// Its language.
        lang: String,
        /// What is wrong with it.
        #[source]
        source: po::PoError,
    },
    /// Slint refused the language although a catalogue exists for it.
    #[error("slint translations: {0}")]
    Slint(#[from] slint::SelectBundledTranslationError),
}

/// A language's translations of the texts built in Rust.
struct Catalogue {
    lang: &'static str,
    /// msgid -> forms (one, or one per plural form); context-free entries only.
    map: HashMap<String, Vec<String>>,
}

thread_local! {
    /// The language on this thread; `None` is the source language.
    static CURRENT: RefCell<Option<Rc<Catalogue>>> = const { RefCell::new(None) };
}

/// The languages there are: English first, then one per bundled catalogue.
pub fn languages() -> Vec<&'static str> {
    std::iter::once(SOURCE_LANGUAGE)
        .chain(bundled::BUNDLED.iter().map(|(l, _)| *l))
        .collect()
}

/// The bundled language `lang` names: exact (`id`), any case, or with a
/// region or encoding as in a locale (`id_ID`, `id-ID`, `id_ID.UTF-8`).
fn resolve(lang: &str) -> Option<&'static str> {
    let lang = lang.trim();
    let base = lang.split(['_', '-', '.', '@']).next().unwrap_or(lang);
    languages()
        .into_iter()
        .find(|l| l.eq_ignore_ascii_case(lang))
        .or_else(|| {
            languages()
                .into_iter()
                .find(|l| l.eq_ignore_ascii_case(base))
        })
}

/// Selects the language of the screens and of the texts built in Rust on
/// this thread (the UI thread): `"en"` or `"id"` (or a locale such as
/// `id_ID.UTF-8`). An unknown language is an error and changes nothing.
/// Screens already up switch at once; texts built in Rust follow with the
/// next snapshot shown.
pub fn select_language(lang: &str) -> Result<(), I18nError> {
    let Some(code) = resolve(lang) else {
        return Err(I18nError::UnknownLanguage {
            lang: lang.to_string(),
            available: languages().iter().map(|l| l.to_string()).collect(),
        });
    };
    let catalogue = match bundled::BUNDLED.iter().find(|(l, _)| *l == code) {
        Some((l, text)) => Some(Rc::new(parse(l, text)?)),
        None => None,
    };
    CURRENT.with(|c| *c.borrow_mut() = catalogue);
    log::info!("ui language: {code}");
    match slint::select_bundled_translation(code) {
        Ok(()) => Ok(()),
        // No component yet on this thread: Ui::new applies it (apply_to_slint).
        Err(slint::SelectBundledTranslationError::NoTranslationsBundled) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The language selected on this thread (`"en"` until one is selected).
pub fn language() -> &'static str {
    CURRENT.with(|c| c.borrow().as_ref().map_or(SOURCE_LANGUAGE, |c| c.lang))
}

/// Makes the screens on this thread show the selected language. Called by
/// [`crate::Ui::new`] once its window exists (Slint knows its bundled
/// languages only then), so the machine's locale never picks one.
pub(crate) fn apply_to_slint() {
    let lang = language();
    if let Err(e) = slint::select_bundled_translation(lang) {
        log::warn!("ui language {lang}: {e}");
    }
}

/// Parses a bundled catalogue into the lookup table.
fn parse(lang: &'static str, text: &str) -> Result<Catalogue, I18nError> {
    let entries = po::parse(text).map_err(|source| I18nError::Catalogue {
        lang: lang.to_string(),
        source,
    })?;
    let map = entries
        .into_iter()
        .filter(|e| e.context.is_empty() && !e.msgid.is_empty() && e.translated())
        .map(|e| (e.msgid, e.msgstr))
        .collect();
    Ok(Catalogue { lang, map })
}

/// The forms of `msgid` in the selected language, if it has them.
fn lookup(msgid: &str) -> Option<Vec<String>> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|c| c.map.get(msgid).cloned()))
}

/// Marks a text for translation without translating it: for texts kept in
/// English (constants, journaled words) and translated with [`tr`] where
/// they reach the screen. `cargo xtask i18n` extracts `mark("...")` like
/// `tr("...")`; a plain `tr(variable)` it cannot see.
pub const fn mark(msgid: &'static str) -> &'static str {
    msgid
}

/// `msgid` in the selected language (itself in English or when untranslated).
pub fn tr(msgid: &str) -> String {
    lookup(msgid)
        .and_then(|f| f.into_iter().next())
        .unwrap_or_else(|| msgid.to_string())
}

/// `msgid` translated, its `{}`/`{0}` placeholders filled with `args`.
pub fn trf(msgid: &str, args: &[&dyn Display]) -> String {
    format::format(&tr(msgid), args)
}

/// The singular `one` or the plural `many` for `n` in the selected
/// language, its `{}` filled with `n`. Languages with one form (Indonesian)
/// or two forms split at `n != 1` (English) are supported.
pub fn trn(one: &str, many: &str, n: i64) -> String {
    let template = match lookup(one) {
        Some(forms) if forms.len() == 1 => forms.into_iter().next(),
        Some(forms) => forms.into_iter().nth(usize::from(n != 1)),
        None => None,
    }
    .unwrap_or_else(|| if n == 1 { one } else { many }.to_string());
    format::format(&template, &[&n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_until_selected_then_indonesian_then_back() {
        assert_eq!(language(), "en");
        assert_eq!(trf("Receipt {}", &[&7]), "Receipt 7");
        select_language("id_ID.UTF-8").unwrap();
        assert_eq!(language(), "id");
        assert_eq!(trf("Receipt {}", &[&7]), "Struk 7");
        assert_eq!(trn("{} item", "{} items", 3), "3 barang");
        select_language("EN").unwrap();
        assert_eq!(trn("{} item", "{} items", 1), "1 item");
        assert_eq!(trn("{} item", "{} items", 2), "2 items");
    }

    #[test]
    fn unknown_language_is_refused_and_changes_nothing() {
        let err = select_language("fr").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "unknown language `fr` (available: {})",
                languages().join(", ")
            )
        );
        assert_eq!(language(), "en");
        assert!(languages().contains(&"id"));
    }
}
