//! Finding the translatable strings in the sources: `@tr("...")` in `.slint`
//! files (with an optional `"context" =>` and an optional `| "plural" % n`)
//! and calls of the Rust helpers `tr("...")`, `trf("...", ...)`,
//! `trn("...", "...", n)` and `mark("...")` (see `keel_ui::i18n`), up to a file's
//! `#[cfg(test)]` (unit tests show nothing on screen). The result becomes the
//! `.pot` template (`cargo xtask i18n`) and is what the i18n test holds the
//! Indonesian catalogue against.
//!
//! Standard library only (`tools/xtask` compiles this file too, by
//! `#[path]`). A small lexer, not a parser: it skips comments and other
//! string literals, and reads the literal arguments of those calls. It must
//! not translate or know any language.

use super::po::PoEntry;
use std::fmt;

/// A translatable message found in the sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The explicit context (`@tr("ctx" => "...")`), empty when none.
    pub context: String,
    /// The English text, unescaped.
    pub msgid: String,
    /// The English plural, for plural messages.
    pub plural: Option<String>,
    /// The files it occurs in, in order of discovery (no line numbers, so
    /// the template changes only when texts do).
    pub references: Vec<String>,
}

/// A translatable call whose text is not a string literal (or is cut off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractError {
    /// `file:line` of the call.
    pub at: String,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.reason)
    }
}

impl std::error::Error for ExtractError {}

/// Which source language is being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// A `.slint` file: `@tr(...)`.
    Slint,
    /// A Rust file: `tr(...)`, `trf(...)`, `trn(...)`, `mark(...)`.
    Rust,
}

/// A cursor over a source text.
struct Scanner<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn line(&self) -> usize {
        1 + self.s[..self.pos.min(self.s.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    fn starts_with(&self, p: &str) -> bool {
        self.s[self.pos..].starts_with(p.as_bytes())
    }

    fn skip_ws_and_comments(&mut self) {
        loop {
            while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.starts_with("//") {
                self.skip_line();
            } else if self.starts_with("/*") {
                self.skip_block();
            } else {
                return;
            }
        }
    }

    fn skip_line(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    fn skip_block(&mut self) {
        self.pos += 2;
        while self.pos < self.s.len() && !self.starts_with("*/") {
            self.pos += 1;
        }
        self.pos = (self.pos + 2).min(self.s.len());
    }

    /// Reads a `"..."` literal at the cursor (after whitespace), unescaped.
    fn literal(&mut self) -> Result<String, String> {
        self.skip_ws_and_comments();
        if self.pos >= self.s.len() || self.s[self.pos] != b'"' {
            return Err("the text is not a string literal".to_string());
        }
        self.pos += 1;
        let mut out = String::new();
        let rest = &self.text[self.pos..];
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '\'')) => out.push('\''),
                    Some((_, 'u')) => {
                        let mut hex = String::new();
                        for (_, h) in chars.by_ref() {
                            match h {
                                '{' => {}
                                '}' => break,
                                h => hex.push(h),
                            }
                        }
                        let c = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad escape \\u{{{hex}}}"))?;
                        out.push(c);
                    }
                    Some((_, '{')) => {
                        return Err("@tr text cannot interpolate `\\{...}`".to_string())
                    }
                    Some((_, '\n')) => {
                        // Rust line continuation: skip the next line's indent.
                        let skip: String = chars
                            .clone()
                            .take_while(|(_, c)| c.is_whitespace())
                            .map(|(_, c)| c)
                            .collect();
                        for _ in 0..skip.chars().count() {
                            chars.next();
                        }
                    }
                    Some((_, o)) => return Err(format!("unknown escape `\\{o}`")),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("unterminated string".to_string())
    }

    /// Skips a literal the cursor is on (not a translatable one).
    fn skip_literal(&mut self) {
        self.pos += 1;
        while self.pos < self.s.len() {
            match self.s[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// Skips a Rust raw string (`r"..."`, `r#"..."#`) at `r`; false when
    /// the `r` starts something else.
    fn skip_raw(&mut self) -> bool {
        let rest = &self.s[self.pos + 1..];
        let hashes = rest.iter().take_while(|&&b| b == b'#').count();
        if rest.get(hashes) != Some(&b'"') {
            return false;
        }
        let close: Vec<u8> = std::iter::once(b'"')
            .chain(std::iter::repeat_n(b'#', hashes))
            .collect();
        let body = self.pos + 1 + hashes + 1;
        self.pos = self.s[body..]
            .windows(close.len())
            .position(|w| w == close.as_slice())
            .map_or(self.s.len(), |i| body + i + close.len());
        true
    }

    /// Skips a Rust char literal or lifetime at `'`.
    fn skip_quote(&mut self) {
        let rest = &self.text[self.pos + 1..];
        if rest.starts_with('\\') {
            // '\n', '\'', '\u{..}': up to the closing quote after the escape.
            if let Some(end) = rest[2..].find('\'') {
                self.pos += 1 + 2 + end + 1;
                return;
            }
        } else if let Some(c) = rest.chars().next() {
            if rest[c.len_utf8()..].starts_with('\'') {
                self.pos += 1 + c.len_utf8() + 1;
                return;
            }
        }
        self.pos += 1; // a lifetime
    }
}

/// True when `b` can be part of an identifier (so `xtr(` is not `tr(`).
fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Adds every message of `source` (a file called `file`) to `out`, merging
/// repeats (same context, text and plural) into one with several references.
pub fn extract(
    source: &str,
    file: &str,
    lang: Lang,
    out: &mut Vec<Message>,
) -> Result<(), ExtractError> {
    let mut sc = Scanner {
        s: source.as_bytes(),
        text: source,
        pos: 0,
    };
    while sc.pos < sc.s.len() {
        if sc.starts_with("//") {
            sc.skip_line();
            continue;
        }
        if sc.starts_with("/*") {
            sc.skip_block();
            continue;
        }
        let byte = sc.s[sc.pos];
        if byte == b'"' {
            sc.skip_literal();
            continue;
        }
        if lang == Lang::Rust && byte == b'\'' {
            sc.skip_quote();
            continue;
        }
        if lang == Lang::Rust && byte == b'#' && sc.starts_with("#[cfg(test)]") {
            // Unit tests (at the end of a file, by convention) show nothing.
            break;
        }
        if lang == Lang::Rust
            && byte == b'r'
            && (sc.pos == 0 || !ident_byte(sc.s[sc.pos - 1]))
            && sc.skip_raw()
        {
            continue;
        }
        let call = match lang {
            Lang::Slint if sc.starts_with("@tr(") => Some((4, false)),
            Lang::Rust if sc.pos == 0 || !ident_byte(sc.s[sc.pos - 1]) => {
                if sc.starts_with("tr(") {
                    Some((3, false))
                } else if sc.starts_with("trf(") {
                    Some((4, false))
                } else if sc.starts_with("trn(") {
                    Some((4, true))
                } else if sc.starts_with("mark(") {
                    Some((5, false))
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some((len, rust_plural)) = call else {
            sc.pos += source[sc.pos..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let at = format!("{file}:{}", sc.line());
        let fail = |reason: String| ExtractError {
            at: at.clone(),
            reason,
        };
        sc.pos += len;
        sc.skip_ws_and_comments();
        if lang == Lang::Rust && !sc.starts_with("\"") {
            // A definition (`fn tr(msgid: &str)`) or a text computed at run
            // time: nothing to extract.
            continue;
        }
        let mut context = String::new();
        let mut msgid = sc.literal().map_err(fail)?;
        let mut plural = None;
        sc.skip_ws_and_comments();
        if lang == Lang::Slint && sc.starts_with("=>") {
            sc.pos += 2;
            context = msgid;
            msgid = sc.literal().map_err(fail)?;
            sc.skip_ws_and_comments();
        }
        if lang == Lang::Slint && sc.starts_with("|") {
            sc.pos += 1;
            plural = Some(sc.literal().map_err(fail)?);
        }
        if rust_plural {
            sc.skip_ws_and_comments();
            if !sc.starts_with(",") {
                return Err(fail("trn needs a plural literal".to_string()));
            }
            sc.pos += 1;
            plural = Some(sc.literal().map_err(fail)?);
        }
        add(
            out,
            Message {
                context,
                msgid,
                plural,
                references: vec![file.to_string()],
            },
        );
    }
    Ok(())
}

/// Adds `m` to `out`, or its reference to an equal message already there.
fn add(out: &mut Vec<Message>, m: Message) {
    match out
        .iter_mut()
        .find(|o| o.context == m.context && o.msgid == m.msgid && o.plural == m.plural)
    {
        Some(o) => {
            for r in m.references {
                if !o.references.contains(&r) {
                    o.references.push(r);
                }
            }
        }
        None => out.push(m),
    }
}

/// The `.pot` template for `messages` (a header, then one entry each, empty
/// translations).
pub fn pot(messages: &[Message], project: &str) -> String {
    let mut out = format!(
        "# Translatable strings of {project}. Generated by `cargo xtask i18n`: do not edit;\n\
         # `cargo xtask i18n --merge` adds new texts to each <lang>/LC_MESSAGES/keel-ui.po.\n\
         msgid \"\"\n\
         msgstr \"\"\n\
         \"Project-Id-Version: {project}\\n\"\n\
         \"MIME-Version: 1.0\\n\"\n\
         \"Content-Type: text/plain; charset=UTF-8\\n\"\n\
         \"Content-Transfer-Encoding: 8bit\\n\"\n\n"
    );
    for m in messages {
        out.push_str(&super::po::write_entry(&PoEntry {
            context: m.context.clone(),
            msgid: m.msgid.clone(),
            plural: m.plural.clone(),
            msgstr: Vec::new(),
            references: m.references.clone(),
            fuzzy: false,
        }));
    }
    out
}

/// The messages of `messages` that `catalogue` has no usable translation
/// for (missing, empty or fuzzy).
pub fn untranslated<'m>(messages: &'m [Message], catalogue: &[PoEntry]) -> Vec<&'m Message> {
    messages
        .iter()
        .filter(|m| {
            !catalogue
                .iter()
                .any(|e| e.context == m.context && e.msgid == m.msgid && e.translated())
        })
        .collect()
}

/// Where the translatable strings live, relative to the workspace root:
/// the screens, the UI crate's Rust (texts it builds for the screens) and
/// the kiosk adapter.
pub const SOURCE_DIRS: &[(&str, Lang)] = &[
    ("ui-slint/ui", Lang::Slint),
    ("ui-slint/src", Lang::Rust),
    ("firmware/kiosk/src", Lang::Rust),
];

/// Why the sources could not be read.
#[derive(Debug)]
pub enum ScanError {
    /// Listing or reading a file.
    Io(String, std::io::Error),
    /// A translatable call without a literal text.
    Extract(ExtractError),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Io(path, e) => write!(f, "{path}: {e}"),
            ScanError::Extract(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ScanError {}

/// Every message in [`SOURCE_DIRS`] under the workspace `root`, files in
/// name order (so the template is stable), references relative to `root`.
pub fn extract_tree(root: &std::path::Path) -> Result<Vec<Message>, ScanError> {
    let mut out = Vec::new();
    for (dir, lang) in SOURCE_DIRS {
        let ext = match lang {
            Lang::Slint => "slint",
            Lang::Rust => "rs",
        };
        let mut files = Vec::new();
        list(&root.join(dir), ext, &mut files)?;
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| ScanError::Io(f.display().to_string(), e))?;
            let name = f.strip_prefix(root).unwrap_or(&f).display().to_string();
            extract(&text, &name, *lang, &mut out).map_err(ScanError::Extract)?;
        }
    }
    Ok(out)
}

/// The files under `dir` (recursively) whose name ends in `.ext`.
fn list(
    dir: &std::path::Path,
    ext: &str,
    out: &mut Vec<std::path::PathBuf>,
) -> Result<(), ScanError> {
    let io = |e| ScanError::Io(dir.display().to_string(), e);
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            list(&path, ext, out)?;
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slint(src: &str) -> Vec<Message> {
        let mut out = Vec::new();
        extract(src, "a.slint", Lang::Slint, &mut out).unwrap();
        out
    }

    #[test]
    fn slint_tr_with_context_plural_escapes_and_repeats() {
        let src = r#"
// @tr("in a comment")
/* @tr("in a block") */
Text { text: "not @tr(\"me\")"; }
Text { text: @tr("Pay {}", total); }
Text { text: @tr("Menu" => "Open"); }
Text { text: @tr("{n} item" | "{n} items" % count); }
Text { text: @tr("Say \"hi\"\n"); }
Text { text: @tr( "Pay {}" , other); }
"#;
        let m = slint(src);
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(m[0].msgid, "Pay {}");
        assert_eq!(m[0].references, vec!["a.slint"]);
        assert_eq!(
            (m[1].context.as_str(), m[1].msgid.as_str()),
            ("Menu", "Open")
        );
        assert_eq!(m[2].plural.as_deref(), Some("{n} items"));
        assert_eq!(m[3].msgid, "Say \"hi\"\n");
    }

    #[test]
    fn rust_calls_only_as_whole_identifiers_outside_comments() {
        let src = r##"
// tr("comment")
let a = tr("Online");
let b = i18n::trf("Receipt {}", &[&n]);
let c = trn("{} item", "{} items", n);
const R: [&str; 1] = [i18n::mark("Price match")];
let d = xtr("no"); let e = '"'; let f = "tr(\"no\")";
let r = r#"tr("raw")"#; pub fn tr(msgid: &str) {}
fn g<'a>(x: &'a str) -> String { tr("Synced") }
"##;
        let mut out = Vec::new();
        extract(src, "a.rs", Lang::Rust, &mut out).unwrap();
        let ids: Vec<_> = out.iter().map(|m| m.msgid.as_str()).collect();
        assert_eq!(
            ids,
            vec!["Online", "Receipt {}", "{} item", "Price match", "Synced"]
        );
        assert_eq!(out[2].plural.as_deref(), Some("{} items"));
    }

    #[test]
    fn a_non_literal_text_is_an_error_with_its_place() {
        let mut out = Vec::new();
        let err = extract(
            "\n\nText { text: @tr(name); }",
            "b.slint",
            Lang::Slint,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.at, "b.slint:3");
    }

    #[test]
    fn pot_round_trips_and_untranslated_lists_gaps() {
        let m = slint(r#"@tr("Pay") @tr("Total") @tr("{n} item" | "{n} items" % n)"#);
        let pot = pot(&m, "keel-ui");
        let entries = super::super::po::parse(&pot).unwrap();
        assert_eq!(entries.len(), 4); // header + 3
        let mut po = entries.clone();
        po[1].msgstr = vec!["Bayar".into()];
        let gaps: Vec<_> = untranslated(&m, &po)
            .iter()
            .map(|m| m.msgid.clone())
            .collect();
        assert_eq!(gaps, vec!["Total", "{n} item"]);
    }
}
