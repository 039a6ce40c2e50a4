//! Byte-exact Go encodings the node side depends on: `encoding/json`'s HTML escaping and
//! `url.QueryEscape`.

use serde::Serialize;
use std::io;

/// serde_json's compact formatter, plus Go's HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Compact JSON as Go's `json.Marshal` writes it.
///
/// # Errors
/// Only for values serde cannot serialise (never for the plain structs of this crate).
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space becomes `+`, every other byte
/// is `%XX` in upper-case hex.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            // Written digit by digit: a `format!` per byte made the large OSC's escaping the bulk
            // of its allocations.
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_like_go() {
        let json =
            to_json(&serde_json::json!({"c": "a && b > c < d\n\t\"x\"\\ é \u{2028}"})).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"c":"a \u0026\u0026 b \u003e c \u003c d\n\t\"x\"\\ é \u2028"}"#
        );
    }

    /// Checklist item 18.
    #[test]
    fn query_escape_matches_go() {
        assert_eq!(query_escape("bar"), "bar");
        assert_eq!(
            query_escape("<<BOOTSTRAP_TOKEN>>"),
            "%3C%3CBOOTSTRAP_TOKEN%3E%3E"
        );
        assert_eq!(query_escape("a b"), "a+b");
        assert_eq!(query_escape("x=1&y/z~é\n"), "x%3D1%26y%2Fz~%C3%A9%0A");
    }
}
