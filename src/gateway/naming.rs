//! Exposed names: namespacing (`always` / `on-conflict` / `never`), filters and overrides.

use std::collections::HashMap;

use crate::config::{PrefixMode, ToolFilter};

/// One upstream name offered by one member, before namespacing.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Index of the member.
    pub member: usize,
    /// The member's name (prefix).
    pub server: String,
    /// The name at the member.
    pub upstream: String,
    /// The name after overrides, before the prefix.
    pub local: String,
}

/// A name two members both want under `prefix = "never"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The contested exposed name.
    pub name: String,
    /// The member that keeps it.
    pub kept: String,
    /// The member whose item is dropped.
    pub dropped: String,
}

/// Apply a member's filter and renames to its upstream names.
pub fn candidates<'a>(
    member: usize,
    server: &str,
    filter: &ToolFilter,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<Candidate> {
    names
        .into_iter()
        .filter(|n| filter.admits(n))
        .map(|n| Candidate {
            member,
            server: server.to_string(),
            upstream: n.to_string(),
            local: filter
                .overrides
                .get(n)
                .and_then(|o| o.name.clone())
                .unwrap_or_else(|| n.to_string()),
        })
        .collect()
}

/// Give every candidate its exposed name; returns `(exposed, candidate)` pairs and collisions.
pub fn assign(
    candidates: Vec<Candidate>,
    mode: PrefixMode,
    separator: &str,
) -> (Vec<(String, Candidate)>, Vec<Collision>) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in &candidates {
        *counts.entry(c.local.as_str()).or_default() += 1;
    }
    let prefixed = |c: &Candidate| {
        if c.server.is_empty() {
            c.local.clone()
        } else {
            format!("{}{separator}{}", c.server, c.local)
        }
    };
    let names: Vec<String> = candidates
        .iter()
        .map(|c| match mode {
            PrefixMode::Always => prefixed(c),
            PrefixMode::OnConflict if counts[c.local.as_str()] > 1 => prefixed(c),
            PrefixMode::OnConflict | PrefixMode::Never => c.local.clone(),
        })
        .collect();
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(candidates.len());
    let mut collisions = Vec::new();
    for (name, c) in names.into_iter().zip(candidates) {
        if let Some(kept) = owner.get(&name) {
            collisions.push(Collision {
                name,
                kept: kept.clone(),
                dropped: c.server.clone(),
            });
            continue;
        }
        owner.insert(name.clone(), c.server.clone());
        out.push((name, c));
    }
    (out, collisions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ToolOverride;

    fn cands() -> Vec<Candidate> {
        let mut filter = ToolFilter::default();
        filter.overrides.insert(
            "echo".into(),
            ToolOverride {
                name: Some("say".into()),
                description: None,
            },
        );
        filter.deny = vec!["secret".into()];
        let mut all = candidates(0, "a", &filter, ["echo", "add", "secret"]);
        all.extend(candidates(1, "b", &ToolFilter::default(), ["add", "fetch"]));
        all
    }

    fn names(v: &[(String, Candidate)]) -> Vec<&str> {
        v.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn always_prefixes_everything_with_overrides_applied() {
        let (out, coll) = assign(cands(), PrefixMode::Always, "__");
        assert_eq!(names(&out), ["a__say", "a__add", "b__add", "b__fetch"]);
        assert_eq!(out[0].1.upstream, "echo");
        assert!(coll.is_empty());
    }

    #[test]
    fn on_conflict_prefixes_only_collisions() {
        let (out, coll) = assign(cands(), PrefixMode::OnConflict, "-");
        assert_eq!(names(&out), ["say", "a-add", "b-add", "fetch"]);
        assert!(coll.is_empty());
    }

    #[test]
    fn a_member_named_empty_is_never_prefixed() {
        let mut all = cands();
        all.extend(candidates(2, "", &ToolFilter::default(), ["research_team"]));
        let (out, coll) = assign(all, PrefixMode::Always, "__");
        assert_eq!(
            names(&out),
            ["a__say", "a__add", "b__add", "b__fetch", "research_team"]
        );
        assert!(coll.is_empty());
    }

    #[test]
    fn never_reports_collisions_and_keeps_the_first() {
        let (out, coll) = assign(cands(), PrefixMode::Never, "__");
        assert_eq!(names(&out), ["say", "add", "fetch"]);
        assert_eq!(
            coll,
            [Collision {
                name: "add".into(),
                kept: "a".into(),
                dropped: "b".into()
            }]
        );
    }
}
