//! A reader for the small part of BitBake's metadata syntax the layer checks
//! need: variable assignments (with overrides, flags, `export` and line
//! continuations), `require`/`include` lines, and the `${VAR}` references in
//! a value. Function bodies (`do_x() { ... }`, `python ... { ... }`, `def`)
//! are skipped. Pure: text in, assignments out; it must not read files or
//! evaluate inline Python.

/// One `NAME op "value"` line (continuations joined with single spaces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The variable as written, overrides and flag included
    /// (`SRC_URI:append:keel`, `SRC_URI[foo.sha256sum]`).
    pub name: String,
    /// The operator: `=`, `?=`, `??=`, `:=`, `+=`, `=+`, `.=`, `=.`.
    pub op: String,
    /// The value between the quotes, continuation lines joined.
    pub value: String,
    /// 1-based line of the assignment's first line.
    pub line: usize,
}

impl Assignment {
    /// The variable name without overrides or flag (`SRC_URI`).
    pub fn base(&self) -> &str {
        let end = self.name.find([':', '[']).unwrap_or(self.name.len());
        &self.name[..end]
    }

    /// The flag in brackets, if any (`sha256sum` part of `SRC_URI[x.sha256sum]`).
    pub fn flag(&self) -> Option<&str> {
        let open = self.name.find('[')?;
        self.name[open + 1..].strip_suffix(']')
    }
}

/// What a metadata file says, as far as the checks read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Every assignment, in file order.
    pub assignments: Vec<Assignment>,
    /// Files named by `require` and `include` lines.
    pub includes: Vec<String>,
}

impl Metadata {
    /// The assignments to `base` with no flag (any override), in file order.
    pub fn values<'a>(&'a self, base: &'a str) -> impl Iterator<Item = &'a Assignment> + 'a {
        self.assignments
            .iter()
            .filter(move |a| a.base() == base && a.flag().is_none())
    }

    /// The value of the last plain assignment (`=`, `?=`, `??=`, `:=`) to
    /// exactly `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.assignments
            .iter()
            .rev()
            .find(|a| a.name == name && matches!(a.op.as_str(), "=" | "?=" | "??=" | ":="))
            .map(|a| a.value.as_str())
    }
}

/// A line the reader could not understand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

const OPERATORS: &[&str] = &["??=", "?=", ":=", "+=", "=+", ".=", "=.", "="];

/// Reads `text` (a .bb, .bbappend, .inc or .conf file).
pub fn parse(text: &str) -> Result<Metadata, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut meta = Metadata::default();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let line = lines[i].trim_end();
        let trimmed = line.trim_start();
        i += 1;
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with("def ") {
            // A top-level Python function: its body is indented.
            while i < lines.len()
                && (lines[i].starts_with([' ', '\t']) || lines[i].trim().is_empty())
            {
                i += 1;
            }
            continue;
        }
        if is_function_start(trimmed) {
            // Skip to the closing brace at the start of a line.
            while i < lines.len() && !lines[i].starts_with('}') {
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut words = trimmed.split_whitespace();
        match words.next() {
            Some("require" | "include") => {
                if let Some(file) = words.next() {
                    meta.includes.push(file.to_string());
                }
                continue;
            }
            Some(
                "inherit" | "inherit_defer" | "addtask" | "deltask" | "addhandler"
                | "EXPORT_FUNCTIONS" | "unset" | "include_all" | "addpylib",
            ) => continue,
            _ => {}
        }
        // Join continuation lines.
        let mut full = line.to_string();
        while full.ends_with('\\') {
            full.pop();
            match lines.get(i) {
                Some(next) => {
                    full.push(' ');
                    full.push_str(next.trim());
                    i += 1;
                }
                None => {
                    return Err(ParseError {
                        line: lineno,
                        reason: "a continuation backslash on the last line".into(),
                    })
                }
            }
        }
        meta.assignments.push(assignment(&full, lineno)?);
    }
    Ok(meta)
}

/// `name() {`, `name:append() {`, `python name() {`, `python () {`,
/// `fakeroot name() {`: a function body follows, up to a `}` line.
fn is_function_start(line: &str) -> bool {
    let Some(head) = line.strip_suffix('{') else {
        return false;
    };
    let Some(head) = head.trim_end().strip_suffix("()") else {
        return false;
    };
    let head = head.trim();
    let name = head
        .strip_prefix("python")
        .or_else(|| head.strip_prefix("fakeroot"))
        .unwrap_or(head)
        .trim();
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-:${}".contains(c))
}

fn assignment(line: &str, lineno: usize) -> Result<Assignment, ParseError> {
    let bad = |reason: &str| ParseError {
        line: lineno,
        reason: format!("{reason}: `{}`", line.trim()),
    };
    let body = line.trim_start();
    let body = body.strip_prefix("export ").unwrap_or(body).trim_start();
    let name = variable_name(body);
    let rest = body[name.len()..].trim_start();
    let op = OPERATORS
        .iter()
        .find(|op| rest.starts_with(**op))
        .ok_or_else(|| bad("no assignment operator"))?;
    let value = rest[op.len()..].trim();
    let quote = value.chars().next().ok_or_else(|| bad("no value"))?;
    if quote != '"' && quote != '\'' {
        return Err(bad("the value is not quoted"));
    }
    let inner = value[1..]
        .strip_suffix(quote)
        .ok_or_else(|| bad("the value's closing quote is missing"))?;
    if name.is_empty() {
        return Err(bad("no variable name"));
    }
    Ok(Assignment {
        name: name.to_string(),
        op: op.to_string(),
        value: inner.split_whitespace().collect::<Vec<_>>().join(" "),
        line: lineno,
    })
}

/// The variable name at the start of `body`: up to whitespace or an operator,
/// keeping override colons (`SRC_URI:append:keel`, but not the `:` of `:=`)
/// and a `[flag]`.
fn variable_name(body: &str) -> &str {
    let bytes = body.as_bytes();
    let mut end = 0;
    let mut in_flag = false;
    while end < bytes.len() {
        let c = bytes[end] as char;
        if in_flag {
            if c == ']' {
                in_flag = false;
            }
            end += 1;
            continue;
        }
        if c == '[' {
            in_flag = true;
            end += 1;
            continue;
        }
        if c.is_whitespace() {
            break;
        }
        if c == ':' && bytes.get(end + 1) == Some(&b'=') {
            break;
        }
        if "=?+.".contains(c) {
            break;
        }
        end += 1;
    }
    &body[..end]
}

/// Replaces `${NAME}` for the names `lookup` knows; `Err` names the first
/// reference it does not know.
pub fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{value}`"))?;
        let name = &after[..end];
        let replacement = lookup(name).ok_or_else(|| format!("${{{name}}}"))?;
        out.push_str(&replacement);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_assignments_overrides_flags_and_continuations() {
        let text = r#"
SUMMARY = "x"
# a comment
SRC_URI = "git://a;branch=main \
           file://b.cfg \
           "
SRC_URI:append:keel = " file://c.cfg"
SRC_URI[foo-1.0.sha256sum] = "abc"
export LIBCLANG_PATH = "${STAGING_LIBDIR_NATIVE}"
KEEL_REPO_DIR := "${@os.path.normpath(d.getVar('THISDIR') + '/../..')}"
FILESEXTRAPATHS:prepend:keel := "${THISDIR}/files:"
require keel-crates.inc
inherit cargo
do_install() {
    install -d ${D}${bindir}
    X = "not an assignment"
}
python do_foo() {
    pass
}
def keel_helper(d):
    return "x"

AFTER_DEF = "y"
"#;
        let meta = parse(text).expect("parses");
        let names: Vec<_> = meta.assignments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "SUMMARY",
                "SRC_URI",
                "SRC_URI:append:keel",
                "SRC_URI[foo-1.0.sha256sum]",
                "LIBCLANG_PATH",
                "KEEL_REPO_DIR",
                "FILESEXTRAPATHS:prepend:keel",
                "AFTER_DEF"
            ]
        );
        assert_eq!(
            meta.get("SRC_URI"),
            Some("git://a;branch=main file://b.cfg")
        );
        assert_eq!(meta.assignments[2].op, "=");
        assert_eq!(meta.assignments[3].flag(), Some("foo-1.0.sha256sum"));
        assert_eq!(meta.assignments[5].op, ":=");
        assert_eq!(meta.assignments[6].base(), "FILESEXTRAPATHS");
        assert_eq!(meta.assignments[6].line, 11);
        assert_eq!(meta.values("SRC_URI").count(), 2);
        assert_eq!(meta.includes, ["keel-crates.inc"]);
    }

    #[test]
    fn refuses_what_is_not_metadata() {
        assert_eq!(parse("FOO = bar\n").unwrap_err().line, 1);
        assert!(parse("\nFOO \"x\"\n").is_err());
        assert!(parse("FOO = \"x\n").is_err());
        assert!(parse("FOO = \"a \\").is_err());
    }

    #[test]
    fn expands_known_references_only() {
        let lookup = |n: &str| (n == "THISDIR").then(|| "/l/r".to_string());
        assert_eq!(
            expand("${THISDIR}/files:", lookup),
            Ok("/l/r/files:".into())
        );
        assert_eq!(expand("${WORKDIR}/x", lookup), Err("${WORKDIR}".into()));
    }
}
