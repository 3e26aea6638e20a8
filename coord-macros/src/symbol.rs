//! Names of attribute keys, so the list of known keys and the code that
//! reads them cannot drift apart.

pub const RUNNER: &str = "runner";
pub const DEPENDS_ON: &str = "depends_on";
pub const SOFT_DEPENDS_ON: &str = "soft_depends_on";
pub const CATEGORY: &str = "category";
pub const RESTART: &str = "restart";
pub const CRATE: &str = "crate";
pub const NAME: &str = "name";

/// Keys of `#[daemon(...)]`.
pub const DAEMON_KEYS: &[&str] = &[
    RUNNER,
    DEPENDS_ON,
    SOFT_DEPENDS_ON,
    CATEGORY,
    RESTART,
    CRATE,
];
/// Keys of `#[coordinator(...)]`.
pub const COORDINATOR_KEYS: &[&str] = &[DEPENDS_ON, NAME, CRATE];
/// Keys of `#[event(...)]`.
pub const EVENT_KEYS: &[&str] = &[NAME, CRATE];

/// Values of `restart = ...`.
pub const RESTART_POLICIES: &[&str] = &["always", "on_failure", "never"];
