//! The config file (`coord.toml`): per-daemon settings that override the
//! attributes, daemons and coordinators turned off, profiles, and each
//! coordinator's own table.
//!
//! ```toml
//! [daemons.auto_sync]
//! max_restarts = 3
//! backoff = "2s..10m"
//! after_give_up = "retry_every(30m)"
//!
//! [daemons.evaluation]
//! enabled = false
//!
//! [profiles]
//! data = ["data_pipeline", "auto_sync"]
//!
//! [coordinators.data_pipeline_orchestrator]
//! batch_size = 64            # read by ctx.config::<T>()
//! ```
//!
//! Every name and key is checked when the file is read, and an unknown one
//! is an error listing the valid ones.
//!
//! May use: `coordination` and everything below it.

mod error;
mod parse;

use std::path::{Path, PathBuf};

pub use error::ConfigError;

use crate::coordination::CoordinationBuilder;
use crate::error::UnknownName;
use crate::interface::{CoordinatorConfig, DaemonOptions};
use crate::registry::Registry;

/// The file read when neither `--config` nor `COORD_CONFIG` names one.
pub const DEFAULT_CONFIG_FILE: &str = "coord.toml";

/// A service's config file, read and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceConfig {
    /// Where it was read from.
    pub path: PathBuf,
    /// `[daemons.NAME]` tables, in file order.
    pub daemons: Vec<DaemonSection>,
    /// `[profiles]`: name and members.
    pub profiles: Vec<(String, Vec<String>)>,
    /// `[coordinators.NAME]` tables, in file order.
    pub coordinators: Vec<CoordinatorSection>,
    /// `[events] distributed = [...]`: event types that cross nodes in cluster mode.
    pub distributed_events: Vec<String>,
}

/// One `[daemons.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSection {
    /// The daemon.
    pub name: String,
    /// `enabled = false` turns it off.
    pub enabled: bool,
    /// The settings it overrides.
    pub options: DaemonOptions,
}

/// One `[coordinators.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinatorSection {
    /// The coordinator.
    pub name: String,
    /// `enabled = false` turns it off.
    pub enabled: bool,
    /// The rest of the table: the coordinator's own configuration.
    pub table: toml::Table,
}

impl ServiceConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        parse::parse(&text, path)
    }

    /// Reads the file given by `explicit` (`--config`), else by `COORD_CONFIG`
    /// (both must exist), else `coord.toml` in the working directory if there
    /// is one; `None` when there is no file to read.
    pub fn discover(explicit: Option<&Path>) -> Result<Option<Self>, ConfigError> {
        if let Some(path) = explicit {
            return Self::load(path).map(Some);
        }
        if let Some(path) = std::env::var_os("COORD_CONFIG").filter(|p| !p.is_empty()) {
            return Self::load(Path::new(&path)).map(Some);
        }
        let default = Path::new(DEFAULT_CONFIG_FILE);
        if default.exists() {
            return Self::load(default).map(Some);
        }
        Ok(None)
    }

    /// Checks every daemon and coordinator name against `registry`, and that
    /// health settings are only given to daemons that have a health check.
    pub fn check_names(&self, registry: &Registry) -> Result<(), ConfigError> {
        let daemons = || registry.daemons().iter().map(|d| d.name);
        let unknown_daemon = |name: &str, section: String| ConfigError::UnknownName {
            path: self.path.clone(),
            section,
            name: Box::new(UnknownName::new("daemon", name, daemons())),
        };
        for section in &self.daemons {
            let spec = registry.daemon(&section.name).map_err(|_| {
                unknown_daemon(&section.name, format!("[daemons.{}]", section.name))
            })?;
            let health_tuned = section.options.health_interval.is_some()
                || section.options.health_threshold.is_some();
            if health_tuned && spec.options.health.is_none() {
                return Err(ConfigError::NoHealthCheck {
                    path: self.path.clone(),
                    daemon: section.name.clone(),
                });
            }
        }
        for (profile, members) in &self.profiles {
            for member in members {
                if registry.daemon(member).is_err() {
                    return Err(unknown_daemon(member, format!("[profiles] {profile}")));
                }
            }
        }
        let handled: std::collections::BTreeSet<&'static str> = crate::events::subscription_specs()
            .map(crate::events::SubscriptionSpec::event)
            .collect();
        for event in &self.distributed_events {
            if !handled.contains(event.as_str()) {
                return Err(ConfigError::UnknownName {
                    path: self.path.clone(),
                    section: "[events] distributed".to_owned(),
                    name: Box::new(UnknownName::new(
                        "event with a handler",
                        event,
                        handled.iter().copied(),
                    )),
                });
            }
        }
        for section in &self.coordinators {
            if let Err(name) = registry.coordinator(&section.name) {
                return Err(ConfigError::UnknownName {
                    path: self.path.clone(),
                    section: format!("[coordinators.{}]", section.name),
                    name: Box::new(name),
                });
            }
        }
        Ok(())
    }

    /// `builder` with this file's settings applied over what the code set.
    pub fn apply(&self, mut builder: CoordinationBuilder) -> CoordinationBuilder {
        for section in &self.daemons {
            builder = builder.daemon_options(section.name.as_str(), section.options);
            if !section.enabled {
                builder = builder.disable_daemon(section.name.as_str());
            }
        }
        for (profile, members) in &self.profiles {
            builder = builder.profile(profile.clone(), members.iter().map(String::as_str));
        }
        for event in &self.distributed_events {
            builder = builder.distributed_event(event.clone());
        }
        for section in &self.coordinators {
            if !section.enabled {
                builder = builder.disable_coordinator(section.name.clone());
            }
            builder = builder.coordinator_table(
                section.name.clone(),
                CoordinatorConfig {
                    table: section.table.clone(),
                    origin: format!("[coordinators.{}] in {}", section.name, self.path.display()),
                },
            );
        }
        builder
    }
}
