//! Where a config error is: byte spans to line and column, a serde error's span back to the
//! key path it belongs to, and "did you mean" hints from the keys a table accepts.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::de::{DeTable, DeValue};

/// A 1-based line and column in the config text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte offset `offset` in `text`.
    pub fn of(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// Renders `:LINE:COLUMN` after a file name, or nothing when the place is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At(pub Option<Location>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(l) => write!(f, ":{}:{}", l.line, l.column),
            None => Ok(()),
        }
    }
}

/// What a span points at in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    /// Keys from the root; array elements add `[i]` to their key.
    pub path: Vec<String>,
    /// The span is a key itself (serde reports unknown keys at the key), not a value.
    pub at_key: bool,
}

/// The key path of the smallest key or value of `root` that covers `span`.
pub(super) fn find(root: &DeTable<'_>, span: &Range<usize>) -> Found {
    let mut best: Option<(usize, Found)> = None;
    walk(root, span, &mut Vec::new(), &mut best);
    best.map(|(_, found)| found).unwrap_or(Found {
        path: Vec::new(),
        at_key: false,
    })
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

fn consider(best: &mut Option<(usize, Found)>, size: usize, path: &[String], at_key: bool) {
    if best.as_ref().is_none_or(|(s, _)| size <= *s) {
        let path = path.to_vec();
        *best = Some((size, Found { path, at_key }));
    }
}

fn walk(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<String>,
    best: &mut Option<(usize, Found)>,
) {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        if key.span() == *span {
            consider(best, 0, path, true);
        }
        walk_value(value.get_ref(), &value.span(), span, path, best);
        path.pop();
    }
}

fn walk_value(
    value: &DeValue<'_>,
    value_span: &Range<usize>,
    span: &Range<usize>,
    path: &mut Vec<String>,
    best: &mut Option<(usize, Found)>,
) {
    if covers(value_span, span) {
        consider(best, value_span.len(), path, false);
    }
    match value {
        DeValue::Table(table) => walk(table, span, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(last) = path.last_mut() {
                    let key = std::mem::take(last);
                    *last = format!("{key}[{i}]");
                    walk_value(item.get_ref(), &item.span(), span, path, best);
                    if let Some(last) = path.last_mut() {
                        *last = key;
                    }
                }
            }
        }
        _ => {}
    }
}

/// The field names a derived `Deserialize` struct accepts (what serde hands to
/// `deserialize_struct`), for "did you mean" hints that never drift from the structs.
pub(super) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldProbe(&mut fields));
    fields
}

struct FieldProbe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Probed;

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Probed
    }
}

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Probed> {
        *self.0 = fields;
        Err(Probed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// " (did you mean `x`?)" when one of `known` is close to `key`, else nothing.
pub(super) fn suggestion(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(Location::of(text, 0), Location { line: 1, column: 1 });
        let x = text.find("\"x").expect("x");
        assert_eq!(Location::of(text, x), Location { line: 2, column: 6 });
        assert_eq!(
            Location::of(text, text.len() + 5),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn suggestions_only_for_close_keys() {
        let known = ["command", "args", "timeout_secs", "startup_timeout_secs"];
        assert_eq!(suggestion("comand", &known), " (did you mean `command`?)");
        assert_eq!(
            suggestion("timeout_sec", &known),
            " (did you mean `timeout_secs`?)"
        );
        assert_eq!(suggestion("argz", &known), " (did you mean `args`?)");
        assert_eq!(suggestion("banana", &known), "");
    }
}
