//! Filling a translated template with its arguments, with the placeholders
//! Slint's `@tr` uses so one catalogue serves both: `{}` (the next
//! argument), `{0}`, `{1}`… (by position), `{{` and `}}` (literal braces).
//! A placeholder without an argument is left as written. Owns nothing else.

use std::fmt::{Display, Write};

/// `template` with its placeholders replaced by `args`.
pub fn format(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = 0;
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            out.push('}');
            rest = after;
            continue;
        }
        let Some(end) = tail.find('}') else {
            out.push_str(tail);
            return out;
        };
        let name = &tail[1..end];
        let arg = if name.is_empty() {
            next += 1;
            args.get(next - 1)
        } else {
            name.parse::<usize>().ok().and_then(|n| args.get(n))
        };
        match arg {
            // Writing to a String cannot fail.
            Some(a) => {
                let _ = write!(out, "{a}");
            }
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn sequential_positional_escaped_and_missing() {
        assert_eq!(format("Pay {}", &[&"12.00"]), "Pay 12.00");
        assert_eq!(format("{1} of {0}", &[&3, &"x"]), "x of 3");
        assert_eq!(format("{} and {}", &[&1, &2]), "1 and 2");
        assert_eq!(format("{{literal}} {}", &[&5]), "{literal} 5");
        assert_eq!(format("{} {n} {7}", &[&1]), "1 {n} {7}");
        assert_eq!(format("open {", &[]), "open {");
        assert_eq!(format("“{}”", &[&"cro"]), "“cro”");
    }
}
