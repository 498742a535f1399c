//! "Did you mean ...?" hints: the known name closest to a misspelt one (edit distance).

/// The candidate closest to `word`, when it is close enough to be a likely typo: at most one
/// edit for short names, two for longer ones (case is ignored).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` (did you mean `x`?)` for the closest candidate, or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance, counting an adjacent swap as one edit (`sytem` → `system` is one).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_known_name() {
        let keys = ["system_message", "name", "description"];
        assert_eq!(closest("sytem_message", keys), Some("system_message"));
        assert_eq!(closest("descripton", keys), Some("description"));
        assert_eq!(closest("nmae", keys), Some("name"));
        assert_eq!(hint("naem", keys), " (did you mean `name`?)");
    }

    #[test]
    fn an_unrelated_word_gets_no_hint() {
        assert_eq!(closest("temperature", ["system_message", "name"]), None);
        assert_eq!(hint("zzz", ["name"]), "");
        assert_eq!(closest("x", ["name"]), None);
    }
}
