//! Reading commands out of the Markdown guides (`docs/operator-guide.md`,
//! `docs/technician-guide.md`) for the tests that keep the guides true: the
//! fenced code blocks, the shell command lines in ```` ```sh ```` blocks (split
//! into words the way a POSIX shell would for the simple lines guides hold),
//! the `keel> ` console lines with the replies printed under them, and a
//! line-by-line comparison where `…` stands for text that changes between runs.
//!
//! Owns only text handling. It must not run anything or know any tool's
//! arguments: each tool's test parses the words with that tool's own parser.
//! Standard library only, because xtask's test includes this file by path
//! (xtask has no dependencies).

use std::fmt;

/// The wildcard of expected output: within a line it matches any text; a line
/// that is only `…` matches any number of whole lines (none included).
pub const WILDCARD: &str = "…";

/// The prompt that marks a console command in a ```` ```console ```` block.
pub const CONSOLE_PROMPT: &str = "keel> ";

/// One fenced code block of a Markdown file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeBlock {
    /// The info string after the opening fence (`sh`, `console`, ...).
    pub info: String,
    /// The last non-blank line of text before the opening fence.
    pub preceding: String,
    /// The 1-based line number of the block's first content line.
    pub first_line: usize,
    /// The content lines.
    pub lines: Vec<String>,
}

/// A command line of a shell block, split into words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellCommand {
    /// The 1-based line number where the command starts.
    pub line: usize,
    /// The words, quotes removed, `sudo` dropped from the front.
    pub words: Vec<String>,
}

/// A console command of a ```` ```console ```` block and the reply printed under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleStep {
    /// The 1-based line number of the `keel> ` line.
    pub line: usize,
    /// The command without the prompt.
    pub command: String,
    /// The reply lines printed before the next command (may be empty).
    pub reply: Vec<String>,
}

/// Why a guide could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuideError {
    /// A code block is opened and never closed.
    UnclosedBlock {
        /// The line of the opening fence.
        line: usize,
    },
    /// A shell line has a quote that is never closed.
    UnbalancedQuote {
        /// The line of the command.
        line: usize,
    },
    /// A shell block ends in a line continued with a backslash.
    DanglingContinuation {
        /// The line of the command.
        line: usize,
    },
}

impl fmt::Display for GuideError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuideError::UnclosedBlock { line } => {
                write!(f, "line {line}: code block never closed")
            }
            GuideError::UnbalancedQuote { line } => {
                write!(f, "line {line}: a quote is never closed")
            }
            GuideError::DanglingContinuation { line } => {
                write!(f, "line {line}: the block ends inside a continued line")
            }
        }
    }
}

impl std::error::Error for GuideError {}

/// Every fenced (```` ``` ````) code block, in order.
pub fn code_blocks(markdown: &str) -> Result<Vec<CodeBlock>, GuideError> {
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    let mut preceding = String::new();
    for (i, line) in markdown.lines().enumerate() {
        let no = i + 1;
        let fence = line.trim_start().starts_with("```");
        match open.as_mut() {
            Some(block) if fence => {
                blocks.push(block.clone());
                open = None;
            }
            Some(block) => block.lines.push(line.to_string()),
            None if fence => {
                open = Some(CodeBlock {
                    info: line.trim_start().trim_start_matches('`').trim().to_string(),
                    preceding: preceding.clone(),
                    first_line: no + 1,
                    lines: Vec::new(),
                })
            }
            None => {
                if !line.trim().is_empty() {
                    preceding = line.trim().to_string();
                }
            }
        }
    }
    match open {
        Some(block) => Err(GuideError::UnclosedBlock {
            line: block.first_line - 1,
        }),
        None => Ok(blocks),
    }
}

/// The command lines of every block whose info string starts with `sh`:
/// backslash continuations joined, `#` comments dropped, words split with
/// single and double quotes and backslash escapes, a leading `sudo` dropped.
pub fn shell_commands(markdown: &str) -> Result<Vec<ShellCommand>, GuideError> {
    let mut out = Vec::new();
    for block in code_blocks(markdown)? {
        if block.info.split_whitespace().next() != Some("sh") {
            continue;
        }
        let mut pending = String::new();
        let mut start = 0;
        for (i, line) in block.lines.iter().enumerate() {
            if pending.is_empty() {
                start = block.first_line + i;
            }
            match line.trim_end().strip_suffix('\\') {
                Some(head) => {
                    pending.push_str(head);
                    pending.push(' ');
                }
                None => {
                    pending.push_str(line);
                    let mut words =
                        split_words(&pending).ok_or(GuideError::UnbalancedQuote { line: start })?;
                    if words.first().map(String::as_str) == Some("sudo") {
                        words.remove(0);
                    }
                    if !words.is_empty() {
                        out.push(ShellCommand { line: start, words });
                    }
                    pending.clear();
                }
            }
        }
        if !pending.is_empty() {
            return Err(GuideError::DanglingContinuation { line: start });
        }
    }
    Ok(out)
}

/// The arguments of every command that starts with the words of `program`
/// (`["keel-bundle"]`, `["cargo", "xtask"]`), with its line.
pub fn invocations(commands: &[ShellCommand], program: &[&str]) -> Vec<(usize, Vec<String>)> {
    commands
        .iter()
        .filter(|c| c.words.len() >= program.len() && c.words[..program.len()] == *program)
        .map(|c| (c.line, c.words[program.len()..].to_vec()))
        .collect()
}

/// The inline code spans (`` `...` ``) outside code blocks that start with
/// the words of `program`, split into words, with their line: the commands a
/// guide mentions in its text. A mention may be only a command's name (`keel
/// provision`); its test decides whether it must parse.
pub fn inline_invocations(markdown: &str, program: &[&str]) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (n, span) in line.split('`').enumerate() {
            // Odd pieces lie between backticks.
            if n % 2 == 0 {
                continue;
            }
            let Some(words) = split_words(span) else {
                continue;
            };
            if words.len() >= program.len() && words[..program.len()] == *program {
                out.push((i + 1, words[program.len()..].to_vec()));
            }
        }
    }
    out
}

/// Whether `mention` is, word by word, the start of one of `commands`: a
/// guide's text naming a command that one of its blocks shows in full.
pub fn is_prefix_of_any(mention: &[String], commands: &[(usize, Vec<String>)]) -> bool {
    commands.iter().any(|(_, c)| c.starts_with(mention))
}

/// Splits a shell line into words; `None` for an unclosed quote. A `#` that
/// starts a word starts a comment. Only what guides use: quotes, backslash
/// escapes, blanks; no expansions.
pub fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        c => w.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Some(words)
}

/// The `keel> ` steps of one console block. Lines before the first prompt
/// are ignored.
pub fn console_steps(block: &CodeBlock) -> Vec<ConsoleStep> {
    let mut steps: Vec<ConsoleStep> = Vec::new();
    for (i, line) in block.lines.iter().enumerate() {
        match line.strip_prefix(CONSOLE_PROMPT) {
            Some(command) => steps.push(ConsoleStep {
                line: block.first_line + i,
                command: command.to_string(),
                reply: Vec::new(),
            }),
            None => {
                if let Some(step) = steps.last_mut() {
                    step.reply.push(line.to_string());
                }
            }
        }
    }
    steps
}

/// Whether one actual line matches one expected line (`…` inside it matches
/// any text).
pub fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split(WILDCARD).collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Compares expected lines with actual ones: each line with
/// [`line_matches`], and a line that is only `…` takes any number of actual
/// lines. On a mismatch, says where.
pub fn lines_match(expected: &[String], actual: &[String]) -> Result<(), String> {
    fn go(e: &[String], a: &[String], ei: usize, ai: usize) -> bool {
        match e.get(ei) {
            None => ai == a.len(),
            Some(line) if line.trim() == WILDCARD => {
                (ai..=a.len()).any(|skip| go(e, a, ei + 1, skip))
            }
            Some(line) => a
                .get(ai)
                .is_some_and(|actual| line_matches(line, actual) && go(e, a, ei + 1, ai + 1)),
        }
    }
    if go(expected, actual, 0, 0) {
        return Ok(());
    }
    // Say where the first plain mismatch is, for the reader.
    let at = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e.trim() != WILDCARD && !line_matches(e, a))
        .unwrap_or(expected.len().min(actual.len()));
    Err(format!(
        "output differs at line {} of {}:\n  guide:  {:?}\n  actual: {:?}\nwhole actual output:\n{}",
        at + 1,
        expected.len(),
        expected.get(at),
        actual.get(at),
        actual.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_their_preceding_line() {
        let md = "intro\n\nChecked:\n\n```console\nkeel> status\nok\n```\n```sh\nls\n```\n";
        let b = code_blocks(md).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].info, "console");
        assert_eq!(b[0].preceding, "Checked:");
        assert_eq!(b[0].first_line, 6);
        assert_eq!(b[1].preceding, "Checked:");
        assert!(matches!(
            code_blocks("```sh\nls\n"),
            Err(GuideError::UnclosedBlock { line: 1 })
        ));
    }

    #[test]
    fn shell_lines_are_split_like_a_shell() {
        let md = "```sh\nsudo keel-cloud release publish --dir /srv \\\n    --notes \"a fix\" # why\n# only a comment\nx 'a b' c\\ d\n```\n```text\nnot a command\n```\n";
        let c = shell_commands(md).unwrap();
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].line, 2);
        assert_eq!(
            c[0].words,
            [
                "keel-cloud",
                "release",
                "publish",
                "--dir",
                "/srv",
                "--notes",
                "a fix"
            ]
        );
        assert_eq!(c[1].words, ["x", "a b", "c d"]);
        let inv = invocations(&c, &["keel-cloud"]);
        assert_eq!(inv, vec![(2, c[0].words[1..].to_vec())]);
        assert!(shell_commands("```sh\nx \"open\n```\n").is_err());
        assert!(shell_commands("```sh\nx \\\n```\n").is_err());
    }

    #[test]
    fn inline_mentions_are_found_outside_blocks() {
        let md = "Run `keel-cloud status --dir d` or `keel-cloud release`.\n```sh\n`keel-cloud x`\n```\nnot `keel` here, `keel-bundle sign`\n";
        let m = inline_invocations(md, &["keel-cloud"]);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(
            m[0],
            (1, vec!["status".to_string(), "--dir".into(), "d".into()])
        );
        assert_eq!(m[1].1, ["release"]);
        let full = vec![(9, vec!["release".to_string(), "list".into()])];
        assert!(is_prefix_of_any(&m[1].1, &full));
        assert!(!is_prefix_of_any(&m[0].1, &full));
    }

    #[test]
    fn console_steps_carry_their_replies() {
        let md = "```console\nkeel> login 0000\nlogged in\nkeel> status\nkeel> x\na\nb\n```\n";
        let b = &code_blocks(md).unwrap()[0];
        let s = console_steps(b);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].line, s[0].command.as_str()), (2, "login 0000"));
        assert_eq!(s[0].reply, ["logged in"]);
        assert!(s[1].reply.is_empty());
        assert_eq!(s[2].reply, ["a", "b"]);
    }

    #[test]
    fn wildcards_match_what_changes_and_nothing_else() {
        assert!(line_matches(
            "uptime … s, journal 30",
            "uptime 12 s, journal 30"
        ));
        assert!(!line_matches(
            "uptime … s, journal 30",
            "uptime 12 s, journal 31"
        ));
        assert!(line_matches("head …", "head abc"));
        assert!(line_matches("a…b…c", "a-x-b-y-c"));
        assert!(!line_matches("a…b…c", "a-x-c"));
        assert!(!line_matches("ab…ba", "aba"));
        assert!(line_matches("same", "same"));
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(lines_match(&v(&["a", "…", "z"]), &v(&["a", "b", "c", "z"])).is_ok());
        assert!(lines_match(&v(&["a", "…", "z"]), &v(&["a", "z"])).is_ok());
        assert!(lines_match(&v(&["a", "…"]), &v(&["a"])).is_ok());
        let e = lines_match(&v(&["a", "b"]), &v(&["a", "c"])).unwrap_err();
        assert!(e.contains("line 2 of 2"), "{e}");
        assert!(lines_match(&v(&["a"]), &v(&["a", "extra"])).is_err());
    }
}
