//! Names of attribute keys, so the list of known keys and the code that
//! reads them cannot drift apart.

pub const RUNNER: &str = "runner";
pub const DEPENDS_ON: &str = "depends_on";
pub const SOFT_DEPENDS_ON: &str = "soft_depends_on";
pub const CATEGORY: &str = "category";
pub const RESTART: &str = "restart";
pub const CRATE: &str = "crate";
pub const NAME: &str = "name";
pub const READY_TIMEOUT: &str = "ready_timeout";
pub const SHUTDOWN_TIMEOUT: &str = "shutdown_timeout";
pub const MAX_RESTARTS: &str = "max_restarts";
pub const BACKOFF: &str = "backoff";
pub const STABLE_AFTER: &str = "stable_after";
pub const HEALTH: &str = "health";
pub const HEALTH_INTERVAL: &str = "health_interval";
pub const HEALTH_THRESHOLD: &str = "health_threshold";
pub const CRITICAL: &str = "critical";
pub const AFTER_GIVE_UP: &str = "after_give_up";
pub const DISTRIBUTED: &str = "distributed";
pub const SINGLETON: &str = "singleton";
pub const ONCE: &str = "once";
pub const PUBLISHES: &str = "publishes";
pub const EXTERNAL: &str = "external";

/// Keys of `#[daemon(...)]`.
pub const DAEMON_KEYS: &[&str] = &[
    RUNNER,
    DEPENDS_ON,
    SOFT_DEPENDS_ON,
    CATEGORY,
    RESTART,
    READY_TIMEOUT,
    SHUTDOWN_TIMEOUT,
    MAX_RESTARTS,
    BACKOFF,
    STABLE_AFTER,
    HEALTH,
    HEALTH_INTERVAL,
    HEALTH_THRESHOLD,
    CRITICAL,
    AFTER_GIVE_UP,
    SINGLETON,
    PUBLISHES,
    CRATE,
];
/// Keys of `#[coordinator(...)]`.
pub const COORDINATOR_KEYS: &[&str] = &[DEPENDS_ON, PUBLISHES, NAME, CRATE];
/// Keys of `#[event(...)]`.
pub const EVENT_KEYS: &[&str] = &[NAME, CRATE];

/// Values of `restart = ...`.
pub const RESTART_POLICIES: &[&str] = &["always", "on_failure", "never"];
