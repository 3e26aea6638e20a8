//! Error types shared across coord.

use std::fmt;

/// The error type runners, initialisers and handlers return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A name given on the CLI, in config or in code that matches no known item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[coord::E0501] unknown {kind} '{given}'{}; valid names: {}", Suggestion(.suggestion.as_deref()), .valid.join(", "))]
pub struct UnknownName {
    /// What was looked up: "daemon", "coordinator", "profile", ...
    pub kind: &'static str,
    /// The name as given.
    pub given: String,
    /// Every name that would have been accepted.
    pub valid: Vec<String>,
    /// The closest valid name, if one is close enough to be a typo.
    pub suggestion: Option<String>,
}

struct Suggestion<'a>(Option<&'a str>);

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, " (did you mean '{name}'?)"),
            None => Ok(()),
        }
    }
}

impl UnknownName {
    /// Builds the error, suggesting the closest of `valid` to `given`.
    pub fn new<I, S>(kind: &'static str, given: &str, valid: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let valid: Vec<String> = valid.into_iter().map(Into::into).collect();
        let suggestion = closest(given, &valid).map(str::to_owned);
        Self {
            kind,
            given: given.to_owned(),
            valid,
            suggestion,
        }
    }
}

/// The candidate within a typo's distance of `given`, if any.
pub(crate) fn closest<'a, S: AsRef<str>>(given: &str, candidates: &'a [S]) -> Option<&'a str> {
    let given = given.to_ascii_lowercase().replace('-', "_");
    candidates
        .iter()
        .map(AsRef::as_ref)
        .map(|c| (edit_distance(&given, &c.to_ascii_lowercase()), c))
        // A third of the name, at least 2 edits: catches typos, not unrelated names.
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
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
    fn suggests_the_closest_name_and_lists_all() {
        let err = UnknownName::new("daemon", "auto_snyc", ["auto_sync", "evaluation"]);
        assert_eq!(err.suggestion.as_deref(), Some("auto_sync"));
        assert_eq!(
            err.to_string(),
            "[coord::E0501] unknown daemon 'auto_snyc' (did you mean 'auto_sync'?); valid names: auto_sync, evaluation"
        );
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        let err = UnknownName::new("daemon", "zzz", ["auto_sync", "evaluation"]);
        assert_eq!(err.suggestion, None);
    }
}
