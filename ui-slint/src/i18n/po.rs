//! Reading and writing gettext `.po`/`.pot` catalogues: the subset Keel's
//! catalogues use (`msgctxt`, `msgid`, `msgid_plural`, `msgstr`,
//! `msgstr[n]`, `#,` flags, `#:` references, multi-line strings).
//!
//! Standard library only: `tools/xtask` compiles this file as well (by
//! `#[path]`), and xtask builds with no dependencies. That is also why
//! [`PoError`] implements `Display`/`Error` by hand instead of with
//! thiserror. This module must not know about Slint or about languages.

use std::fmt;

/// One message of a catalogue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoEntry {
    /// `msgctxt`, empty when none.
    pub context: String,
    /// `msgid`: the English text (empty for the header entry).
    pub msgid: String,
    /// `msgid_plural`, when the message has plural forms.
    pub plural: Option<String>,
    /// `msgstr` (one element) or `msgstr[0..n]` (one per plural form).
    pub msgstr: Vec<String>,
    /// `#:` references (file:line), one per element.
    pub references: Vec<String>,
    /// Marked `#, fuzzy`: not to be used until a translator checks it.
    pub fuzzy: bool,
}

impl PoEntry {
    /// True when the entry carries a usable translation: not fuzzy, and
    /// every form non-empty.
    pub fn translated(&self) -> bool {
        !self.fuzzy && !self.msgstr.is_empty() && self.msgstr.iter().all(|s| !s.is_empty())
    }
}

/// A malformed catalogue line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for PoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for PoError {}

/// Which string a continuation line (`"..."`) extends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    Context,
    Id,
    Plural,
    Str(usize),
}

/// Parses a catalogue. The header entry (empty msgid) is returned like any
/// other entry, first.
pub fn parse(text: &str) -> Result<Vec<PoEntry>, PoError> {
    let mut entries = Vec::new();
    let mut cur = PoEntry::default();
    let mut started = false;
    let mut field = Field::None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim();
        let err = |reason: &str| PoError {
            line: line_no,
            reason: reason.to_string(),
        };
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            // A comment after a complete entry starts the next one.
            if started && field != Field::None && !cur.msgstr.is_empty() {
                entries.push(std::mem::take(&mut cur));
                started = false;
                field = Field::None;
            }
            if let Some(flags) = rest.strip_prefix(',') {
                cur.fuzzy |= flags.split(',').any(|f| f.trim() == "fuzzy");
            } else if let Some(refs) = rest.strip_prefix(':') {
                cur.references
                    .extend(refs.split_whitespace().map(str::to_string));
            }
            continue;
        }
        if line.starts_with('"') {
            let s = unquote(line).map_err(|r| err(&r))?;
            match field {
                Field::None => return Err(err("a string continues nothing")),
                Field::Context => cur.context.push_str(&s),
                Field::Id => cur.msgid.push_str(&s),
                Field::Plural => cur.plural.get_or_insert_with(String::new).push_str(&s),
                Field::Str(i) => match cur.msgstr.get_mut(i) {
                    Some(m) => m.push_str(&s),
                    None => return Err(err("msgstr index out of order")),
                },
            }
            continue;
        }
        let (keyword, value) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| err("expected a keyword and a string"))?;
        let value = unquote(value.trim()).map_err(|r| err(&r))?;
        // msgctxt or msgid after a msgstr starts the next entry.
        if (keyword == "msgctxt" || keyword == "msgid") && !cur.msgstr.is_empty() {
            entries.push(std::mem::take(&mut cur));
        }
        started = true;
        match keyword {
            "msgctxt" => {
                cur.context = value;
                field = Field::Context;
            }
            "msgid" => {
                cur.msgid = value;
                field = Field::Id;
            }
            "msgid_plural" => {
                cur.plural = Some(value);
                field = Field::Plural;
            }
            "msgstr" => {
                cur.msgstr = vec![value];
                field = Field::Str(0);
            }
            k => {
                let idx = k
                    .strip_prefix("msgstr[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| err(&format!("unknown keyword `{k}`")))?;
                if idx != cur.msgstr.len() {
                    return Err(err("msgstr index out of order"));
                }
                cur.msgstr.push(value);
                field = Field::Str(idx);
            }
        }
    }
    if started {
        entries.push(cur);
    }
    Ok(entries)
}

/// The value of a `"..."` literal with C escapes.
fn unquote(s: &str) -> Result<String, String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| format!("expected a quoted string, got `{s}`"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(o) => return Err(format!("unknown escape `\\{o}`")),
            None => return Err("string ends in a backslash".to_string()),
        }
    }
    Ok(out)
}

/// `s` as a `.po` literal (quotes and escapes; one line).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One entry in `.po` syntax (references and flags first), ending in a blank line.
pub fn write_entry(e: &PoEntry) -> String {
    let mut out = String::new();
    for r in &e.references {
        out.push_str("#: ");
        out.push_str(r);
        out.push('\n');
    }
    if e.fuzzy {
        out.push_str("#, fuzzy\n");
    }
    if !e.context.is_empty() {
        out.push_str(&format!("msgctxt {}\n", quote(&e.context)));
    }
    out.push_str(&format!("msgid {}\n", quote(&e.msgid)));
    match &e.plural {
        Some(p) => {
            out.push_str(&format!("msgid_plural {}\n", quote(p)));
            let forms = if e.msgstr.is_empty() {
                vec![String::new(), String::new()]
            } else {
                e.msgstr.clone()
            };
            for (i, s) in forms.iter().enumerate() {
                out.push_str(&format!("msgstr[{i}] {}\n", quote(s)));
            }
        }
        None => {
            let s = e.msgstr.first().map(String::as_str).unwrap_or("");
            out.push_str(&format!("msgstr {}\n", quote(s)));
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_plain_plural_context_fuzzy_and_continuations() {
        let text = r#"
# comment
msgid ""
msgstr ""
"Language: id\n"
"Plural-Forms: nplurals=1; plural=0;\n"

#: ui/cart.slint:10
msgid "Pay"
msgstr "Bayar"

msgctxt "Tab"
msgid "A \"quoted\" word"
msgstr ""
"Kata "
"\"dikutip\""

#, fuzzy
msgid "Void"
msgstr "Batal"

msgid "{n} item"
msgid_plural "{n} items"
msgstr[0] "{n} barang"
"#;
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].msgid, "");
        assert!(e[0].msgstr[0].contains("Plural-Forms"));
        assert_eq!(
            (e[1].msgid.as_str(), e[1].msgstr[0].as_str()),
            ("Pay", "Bayar")
        );
        assert_eq!(e[1].references, vec!["ui/cart.slint:10"]);
        assert_eq!(e[2].context, "Tab");
        assert_eq!(e[2].msgid, "A \"quoted\" word");
        assert_eq!(e[2].msgstr[0], "Kata \"dikutip\"");
        assert!(e[3].fuzzy && !e[3].translated());
        assert_eq!(e[4].plural.as_deref(), Some("{n} items"));
        assert_eq!(e[4].msgstr, vec!["{n} barang"]);
        assert!(e[4].translated());
    }

    #[test]
    fn written_entries_parse_back() {
        let e = PoEntry {
            context: "ctx".into(),
            msgid: "Line\n\"two\"\\".into(),
            plural: None,
            msgstr: vec!["Baris".into()],
            references: vec!["a.slint:1".into()],
            fuzzy: true,
        };
        assert_eq!(parse(&write_entry(&e)).unwrap(), vec![e]);
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let err = parse("msgid \"a\"\nmsgstr \"b\nbogus").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse("msgid \"a\"\nmsgstr[1] \"b\"").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse("\"orphan\"").is_err());
        assert!(parse("msgid \"a\\q\"").is_err());
    }
}
