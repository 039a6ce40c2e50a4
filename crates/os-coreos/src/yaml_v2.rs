//! A block-style YAML writer laid out as Go's `gopkg.in/yaml.v2` marshals: sequences under a
//! mapping key at the key's column, multi-line strings as literal blocks (`|`, `|-`, `|+`), and
//! strings that YAML 1.1 would read as something else (`"off"`, `"644"`, `"0644"`) double-quoted.
//! coreos-cloudinit reads what the original os-coreos wrote; this keeps the bytes.

use std::borrow::Cow;

/// A YAML node; strings borrow from the OSC where they can (unit contents are written as they are).
#[derive(Clone, Debug, PartialEq)]
pub enum Node<'a> {
    /// A mapping, in key order.
    Map(Vec<(&'static str, Node<'a>)>),
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A string.
    Str(Cow<'a, str>),
    /// A boolean.
    Bool(bool),
}

/// Appends the document as yaml.v2 writes it to `out`.
pub fn write(out: &mut String, root: &[(&'static str, Node<'_>)]) {
    map(out, root, 0, false);
}

/// The document as yaml.v2 writes it.
pub fn to_string(root: &[(&'static str, Node<'_>)]) -> String {
    let mut out = String::new();
    write(&mut out, root);
    out
}

fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let chunk = n.min(SPACES.len());
        out.push_str(&SPACES[..chunk]);
        n -= chunk;
    }
}

/// Writes mapping entries at `indent`; the first one continues the current line when `inline`.
fn map(out: &mut String, entries: &[(&'static str, Node<'_>)], indent: usize, inline: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if !(inline && i == 0) {
            pad(out, indent);
        }
        out.push_str(key);
        out.push(':');
        match value {
            Node::Map(m) => {
                out.push('\n');
                map(out, m, indent + 2, false);
            }
            Node::Seq(items) => {
                out.push('\n');
                seq(out, items, indent);
            }
            scalar_node => {
                out.push(' ');
                scalar(out, scalar_node, indent);
            }
        }
    }
}

fn seq(out: &mut String, items: &[Node<'_>], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Node::Map(m) => map(out, m, indent + 2, true),
            Node::Seq(inner) => {
                out.push('\n');
                seq(out, inner, indent + 2);
            }
            scalar_node => scalar(out, scalar_node, indent),
        }
    }
}

fn scalar(out: &mut String, node: &Node<'_>, indent: usize) {
    match node {
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Str(s) => string(out, s, indent),
        Node::Map(_) | Node::Seq(_) => unreachable!("collections are written by map and seq"),
    }
    out.push('\n');
}

fn string(out: &mut String, s: &str, indent: usize) {
    if !all_printable(s) {
        // yaml.v2's "special characters": only the double-quoted style can carry them.
        double_quoted(out, s);
        return;
    }
    // Printable text has no control characters besides line breaks.
    let multi_line = s.contains('\n');
    if multi_line && literal_allowed(s) {
        literal(out, s, indent);
        return;
    }
    let non_string = resolves_to_non_string(s);
    if non_string || multi_line || !plain_allowed(s) {
        if !non_string && !multi_line && single_quote_allowed(s) {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        } else {
            double_quoted(out, s);
        }
    } else {
        out.push_str(s);
    }
}

/// Whether every character is [`printable`]. ASCII text (nearly all of it: scripts, units, base64)
/// is checked eight bytes at a time, as this check reads every byte of the user data.
fn all_printable(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut words = bytes.chunks_exact(8);
    let ascii = words.by_ref().all(|w| {
        printable_ascii_word(u64::from_le_bytes([
            w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
        ]))
    }) && words
        .remainder()
        .iter()
        .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b));
    ascii || (!s.is_ascii() && s.chars().all(printable))
}

/// Whether eight bytes are all printable ASCII or line feeds. With every byte's top bit set before
/// a subtraction, no borrow crosses into the next byte, so each byte's top bit answers for it alone.
fn printable_ascii_word(x: u64) -> bool {
    const TOP: u64 = 0x8080_8080_8080_8080;
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    if x & TOP != 0 {
        return false;
    }
    let at_least_space = ((x | TOP) - splat(0x20)) & TOP;
    let not_del = (((x ^ splat(0x7f)) | TOP) - splat(0x01)) & TOP;
    let line_feed = !(((x ^ splat(b'\n')) | TOP) - splat(0x01)) & TOP;
    (at_least_space & not_del) | line_feed == TOP
}

/// yaml.v2's `is_printable`: what its emitter writes unescaped. Tabs, other controls, DEL, the C1
/// range, surrogates, U+FEFF, U+FFFE/U+FFFF and everything beyond the BMP are not.
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

/// `|`, `|-` or `|+` by the trailing newlines; an indentation indicator when the text starts with
/// a space; lines two columns in from the key.
fn literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with(' ') {
        out.push('2');
    }
    let trailing = s.len() - s.trim_end_matches('\n').len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    // Lines found with memchr's vectorised search: this loop reads every byte of scripts and units.
    let body = s.trim_end_matches('\n');
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body.as_bytes()).chain([body.len()]) {
        let line = &body[start..end];
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent + 2);
            out.push_str(line);
        }
        start = end + 1;
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// Only called for printable text (no tabs or other controls): no line may end with a space.
fn literal_allowed(s: &str) -> bool {
    !s.contains(" \n") && !s.ends_with(' ')
}

/// yaml.v2's double-quoted scalar (without its folding of lines beyond 80 columns): breaks, quotes,
/// backslashes and unprintable characters escaped, named escapes where YAML has them. As in
/// yaml.v2, a value that starts with a byte-order mark has every character escaped.
fn double_quoted(out: &mut String, s: &str) {
    use std::fmt::Write;
    let escape_all = s.starts_with('\u{feff}');
    out.push('"');
    for c in s.chars() {
        let is_break = matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if !(escape_all || is_break || c == '"' || c == '\\' || !printable(c)) {
            out.push(c);
            continue;
        }
        let named = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        out.push('\\');
        let v = u32::from(c);
        let _ = match named {
            Some(n) => write!(out, "{n}"),
            None if v <= 0xff => write!(out, "x{v:02X}"),
            None if v <= 0xffff => write!(out, "u{v:04X}"),
            None => write!(out, "U{v:08X}"),
        };
    }
    out.push('"');
}

/// Only called for printable single-line text (no control characters).
fn single_quote_allowed(s: &str) -> bool {
    !s.is_empty() && !s.starts_with(' ') && !s.ends_with(' ')
}

/// yaml.v2's emitter analysis for block plain scalars; only called for printable single-line text.
fn plain_allowed(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let followed_by_blank = |i: usize| s[i + 1..].chars().next().is_none_or(|c| c == ' ');
    if "#,[]{}&*!|>'\"%@`".contains(first) || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if "-?:".contains(first) && followed_by_blank(0) {
        return false;
    }
    // Both pairs need a space; base64 has none, and a single-byte search is fast.
    let pairs = s.contains(' ') && (s.contains(": ") || s.contains(" #"));
    !(pairs || s.ends_with(':'))
}

/// Whether YAML 1.1 (as yaml.v2 resolves plain scalars) reads `s` as null, a bool, a number or a
/// timestamp: such strings must be quoted to stay strings.
fn resolves_to_non_string(s: &str) -> bool {
    match s.as_bytes().first() {
        // Numbers, base-60 values and timestamps start with a digit, a sign or a dot.
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
            special_word(s) || is_int(s) || is_float(s) || is_base60(s) || is_timestamp(s)
        }
        _ => special_word(s),
    }
}

/// YAML 1.1's null, bool, infinity and not-a-number words, and the merge key.
fn special_word(s: &str) -> bool {
    matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | "<<"
    )
}

fn digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '_' || c.is_digit(radix)) && !s.starts_with('_')
}

fn is_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if let Some(hex) = body.strip_prefix("0x") {
        return digits(hex, 16);
    }
    if let Some(bin) = body.strip_prefix("0b") {
        return digits(bin, 2);
    }
    if body.len() > 1 && body.starts_with('0') {
        return digits(&body[1..], 8);
    }
    digits(body, 10)
}

fn is_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac, 10),
        Some((int, frac)) => digits(int, 10) && (frac.is_empty() || digits(frac, 10)),
        None => digits(mantissa, 10),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

fn is_base60(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut parts = body.split(':');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && digits(first, 10)
        && rest.iter().enumerate().all(|(i, p)| {
            let p = if i == rest.len() - 1 {
                p.split('.').next().unwrap_or(p)
            } else {
                p
            };
            !p.is_empty()
                && p.len() <= 2
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n < 60)
        })
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[5..7].iter().chain(&b[8..10]).all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Node<'_> {
        Node::Str(v.into())
    }

    #[test]
    fn layout_follows_yaml_v2() {
        let doc = [
            (
                "coreos",
                Node::Map(vec![
                    ("update", Node::Map(vec![("reboot_strategy", s("off"))])),
                    (
                        "units",
                        Node::Seq(vec![Node::Map(vec![
                            ("name", s("a.service")),
                            ("mask", Node::Bool(true)),
                            (
                                "drop_ins",
                                Node::Seq(vec![Node::Map(vec![
                                    ("name", s("x.conf")),
                                    ("content", s("[Service]\nA=1")),
                                ])]),
                            ),
                        ])]),
                    ),
                ]),
            ),
            (
                "write_files",
                Node::Seq(vec![Node::Map(vec![
                    ("content", s("a\nb\n")),
                    ("permissions", s("644")),
                ])]),
            ),
        ];
        assert_eq!(
            to_string(&doc),
            "coreos:\n  update:\n    reboot_strategy: \"off\"\n  units:\n  - name: a.service\n    mask: true\n    drop_ins:\n    - name: x.conf\n      content: |-\n        [Service]\n        A=1\nwrite_files:\n- content: |\n    a\n    b\n  permissions: \"644\"\n"
        );
    }

    #[test]
    fn printable_words_agree_with_printable() {
        // Every byte value at every position of a word, beside printable neighbours.
        for b in 0..=0x7fu8 {
            for at in 0..8 {
                let mut word = *b"abc: #\n~";
                word[at] = b;
                let text = std::str::from_utf8(&word).unwrap();
                let want = text.chars().all(printable);
                assert_eq!(
                    printable_ascii_word(u64::from_le_bytes(word)),
                    want,
                    "{word:?}"
                );
                assert_eq!(all_printable(text), want, "{text:?}");
            }
        }
        assert!(all_printable("0123456789abcdef\nline two é"));
        assert!(!all_printable("0123456789abcdef\tline two"));
        assert!(!all_printable("0123456789abcdef\u{85}"));
    }

    #[test]
    fn strings_are_quoted_when_yaml_1_1_would_change_them() {
        for (value, want) in [
            ("off", "\"off\""),
            ("0644", "\"0644\""),
            ("644", "\"644\""),
            ("1.5", "\"1.5\""),
            ("", "\"\""),
            ("aGVsbG8=", "aGVsbG8="),
            ("/opt/bin/run-command.sh", "/opt/bin/run-command.sh"),
            ("a: b", "'a: b'"),
            ("- x", "'- x'"),
            ("2026-11-23", "\"2026-11-23\""),
            ("1:30", "\"1:30\""),
            ("stop", "stop"),
            // yaml.v2's special characters: double quotes, named or hex escapes.
            ("a\tb", "\"a\\tb\""),
            ("x\u{0}\u{7f}\u{85}y", "\"x\\0\\x7F\\Ny\""),
            ("line\n\twith tab\n", "\"line\\n\\twith tab\\n\""),
            ("emoji \u{1f600}", "\"emoji \\U0001F600\""),
            ("\u{feff}a\u{a0}", "\"\\uFEFF\\x61\\_\""),
        ] {
            let mut out = String::new();
            string(&mut out, value, 0);
            assert_eq!(out, want, "{value:?}");
        }
        let mut out = String::new();
        string(&mut out, "keep\n\n", 0);
        assert_eq!(
            out, "|+\n  keep\n",
            "the line break after the block comes from the caller"
        );
    }
}
