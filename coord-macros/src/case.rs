//! Name conversions shared by the macros.

/// `DataPipelineOrchestrator` -> `data_pipeline_orchestrator`, `HTTPServer` -> `http_server`.
pub fn snake_case(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // A new word starts after a lower-case letter or digit, or at the
            // last capital of an acronym ("HTTPServer": the S).
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Edit distance, for "did you mean" hints on unknown keys.
pub fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(given, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(
            snake_case("DataPipelineOrchestrator"),
            "data_pipeline_orchestrator"
        );
        assert_eq!(snake_case("AutoSync"), "auto_sync");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("Node2Vec"), "node2_vec");
        assert_eq!(snake_case("A"), "a");
    }

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(
            closest("depend_on", &["runner", "depends_on"]),
            Some("depends_on")
        );
        assert_eq!(closest("colour", &["runner", "depends_on"]), None);
    }
}
