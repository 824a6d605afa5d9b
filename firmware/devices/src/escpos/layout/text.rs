//! Fitting text into columns: rules, word wrap and label/amount lines.
//!
//! Counts characters, which the code pages print one byte (one column)
//! each. Produces strings only; styles and commands are the callers'.

fn count(s: &str) -> usize {
    s.chars().count()
}

/// A rule of `-` across `width` columns.
pub(super) fn rule(width: usize) -> String {
    "-".repeat(width)
}

/// `text` word-wrapped into lines of at most `width` characters, keeping
/// its leading indentation on every line; words longer than a line are
/// broken. Never returns an empty list.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let body = text.trim_start_matches(' ');
    let indent = count(text) - count(body);
    let indent = if indent + 1 < width { indent } else { 0 };
    let pad = " ".repeat(indent);
    let width = (width - indent).max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in body.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = count(&cur);
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= width {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(format!("{pad}{}", std::mem::take(&mut cur)));
                continue;
            }
            // The word alone is too long: break it.
            let rest = word.split_off(width);
            lines.push(format!("{pad}{}", word.iter().collect::<String>()));
            word = rest;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(format!("{pad}{cur}"));
    }
    lines
}

/// `left` flush left and `right` flush right on one line of `width` columns,
/// as the core's plain-text receipt lays them out. When both do not fit,
/// `left` is wrapped and `right` goes flush right on its last line, or on a
/// line of its own if it does not fit there either.
pub(super) fn left_right(left: &str, right: &str, width: usize) -> Vec<String> {
    let rn = count(right);
    let ln = count(left);
    if ln + rn < width {
        return vec![format!("{left}{}{right}", " ".repeat(width - ln - rn))];
    }
    let mut lines = wrap(left, width);
    let last = lines.pop().unwrap_or_default();
    let lastn = count(&last);
    if lastn + rn < width {
        lines.push(format!("{last}{}{right}", " ".repeat(width - lastn - rn)));
    } else {
        lines.push(last);
        let pad = width.saturating_sub(rn);
        lines.push(format!("{}{right}", " ".repeat(pad)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_like_the_core() {
        assert_eq!(
            left_right("Subtotal", "12.50", 20),
            ["Subtotal       12.50"]
        );
    }

    #[test]
    fn wraps_long_labels() {
        let l = left_right("Extra long product name here", "1234.00 A", 20);
        assert_eq!(l, ["Extra long product", "name here  1234.00 A"]);
        assert!(l.iter().all(|s| s.chars().count() <= 20));
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(wrap("  2 x 2.20 each", 10), ["  2 x 2.20", "  each"]);
    }
}
