//! What can be wrong with a config file, each with the file, the place in
//! it, and what to write instead.

use std::path::PathBuf;

use crate::error::UnknownName;

/// Why the config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error(
        "[coord::E0901] cannot read the config file {}: {source}; check the path given to --config or COORD_CONFIG",
        .path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("[coord::E0902] the config file {} is not valid TOML: {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// A key the file may not have.
    #[error(
        "[coord::E0903] {section} in {}: unknown key `{key}`{}; valid keys: {}",
        .path.display(),
        .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        .valid.join(", ")
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `[daemons.auto_sync]`.
        section: String,
        /// The key.
        key: String,
        /// The closest valid key, if one is close.
        suggestion: Option<String>,
        /// Every valid key.
        valid: Vec<&'static str>,
    },
    /// A daemon or coordinator name that nothing registered has.
    #[error("[coord::E0904] {section} in {}: {name}", .path.display())]
    UnknownName {
        /// The file.
        path: PathBuf,
        /// Where the name is.
        section: String,
        /// The name, and the valid ones.
        name: Box<UnknownName>,
    },
    /// A value of the wrong type or form.
    #[error("[coord::E0905] {section} in {}: `{key}` {problem}", .path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// Where, e.g. `[daemons.auto_sync]`.
        section: String,
        /// The key.
        key: String,
        /// What is wrong and what to write.
        problem: String,
    },
    /// Health settings for a daemon whose attribute names no health check.
    #[error(
        "[coord::E0906] [daemons.{daemon}] in {}: `health_interval` and `health_threshold` tune the check named by \
         `#[daemon(..., health = path::to::check)]`, and daemon '{daemon}' has none; add one to its attribute \
         or remove these keys (a check is code, so the file cannot name one)",
        .path.display()
    )]
    NoHealthCheck {
        /// The file.
        path: PathBuf,
        /// The daemon.
        daemon: String,
    },
}
