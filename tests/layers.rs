//! The layer rule, enforced: every `crate::<module>` path in `src/**/*.rs` points down (or
//! sideways within its own module) in the order below. docs/architecture.md draws the same order.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules of `src/`, bottom to top. A module may name only modules listed before it.
/// `lib.rs` and `main.rs` (which declare the modules) are exempt.
const ORDER: &[&str] = &[
    "net",
    "process_group",
    "config",
    "telemetry",
    "component",
    "models",
    "messages",
    "model_context",
    "memory",
    "code_executors",
    "termination",
    "workbench",
    "policy",
    "tools",
    "agents",
    "teams",
    "mcp",
    "gateway",
    "compose",
    "server",
    "demo",
    "cli",
];

/// Upward edges tolerated for now, as (from, to). Must end up empty.
const ALLOWED_UPWARD: &[(&str, &str)] = &[];

#[test]
fn layers_import_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rs(&src, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no sources under {}", src.display());

    let mut offending = Vec::new();
    let mut upward_seen = BTreeSet::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let Some(from) = top_module(rel) else {
            continue;
        };
        let Some(from_rank) = rank(&from) else {
            unknown.insert(format!("{} (file {})", from, rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        for (line, to) in crate_refs(&strip_comments_and_strings(&text)) {
            if to == from || to == "self" || to == "super" {
                continue;
            }
            let Some(to_rank) = rank(&to) else {
                unknown.insert(format!("{to} (named at src/{}:{line})", rel.display()));
                continue;
            };
            if to_rank > from_rank {
                upward_seen.insert((from.clone(), to.clone()));
                if !ALLOWED_UPWARD.contains(&(from.as_str(), to.as_str())) {
                    offending.push(format!("src/{}:{line}: {from} -> {to}", rel.display()));
                }
            }
        }
    }

    assert!(
        unknown.is_empty(),
        "modules missing from ORDER in tests/layers.rs: {unknown:#?}"
    );
    let stale: Vec<_> = ALLOWED_UPWARD
        .iter()
        .filter(|(a, b)| !upward_seen.contains(&(a.to_string(), b.to_string())))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED_UPWARD lists edges that no longer exist (remove them): {stale:?}"
    );
    assert!(
        offending.is_empty(),
        "upward imports (order, bottom to top: {}):\n{}",
        ORDER.join(" < "),
        offending.join("\n")
    );
}

fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `agents/assistant/mod.rs` → `agents`, `demo.rs` → `demo`; `lib.rs` / `main.rs` → None.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// The source with comments, string and char literals blanked out (newlines kept, so line numbers
/// stay right).
fn strip_comments_and_strings(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (at(i + 1) == '"' || at(i + 1) == '#')
            && !(i > 0 && is_ident(c[i - 1]))
        {
            // Raw string r"..." / r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &c[i..j.min(c.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && at(i + 1) == '\\' {
            // Escaped char literal: '\n', '\'', '\u{..}'.
            let mut j = i + 2;
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            for _ in i..=j.min(c.len() - 1) {
                out.push(' ');
            }
            i = j + 1;
        } else if c[i] == '\'' && at(i + 2) == '\'' {
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// Every module named right after `crate::` (including each item of `crate::{a::X, b}`), with
/// its 1-based line.
fn crate_refs(code: &str) -> Vec<(usize, String)> {
    let c: Vec<char> = code.chars().collect();
    let mut refs = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\n' {
            line += 1;
        }
        let starts = c[i..].starts_with(&['c', 'r', 'a', 't', 'e', ':', ':'])
            && !(i > 0 && (is_ident(c[i - 1]) || c[i - 1] == '$'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = skip_ws(&c, i + 7, &mut line);
        if c.get(j) == Some(&'{') {
            // Grouped: take the first identifier of each top-level item.
            j += 1;
            let mut depth = 0;
            let mut expect_item = true;
            while j < c.len() {
                match c[j] {
                    '\n' => line += 1,
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect_item = true,
                    ch if expect_item && is_ident(ch) => {
                        let (name, end) = ident_at(&c, j);
                        refs.push((line, name));
                        expect_item = false;
                        j = end;
                        continue;
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j;
        } else {
            let (name, end) = ident_at(&c, j);
            if !name.is_empty() {
                refs.push((line, name));
            }
            i = end.max(i + 7);
        }
    }
    refs
}

fn skip_ws(c: &[char], mut j: usize, line: &mut usize) -> usize {
    while j < c.len() && c[j].is_whitespace() {
        if c[j] == '\n' {
            *line += 1;
        }
        j += 1;
    }
    j
}

fn ident_at(c: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < c.len() && is_ident(c[end]) {
        end += 1;
    }
    (c[start..end].iter().collect(), end)
}
