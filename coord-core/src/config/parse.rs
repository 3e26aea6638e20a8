//! Reading the file: its sections, each key of a known kind, each value
//! of the form that key takes.

use std::path::Path;
use std::time::Duration;

use super::{ConfigError, CoordinatorSection, DaemonSection, ServiceConfig};
use crate::error::closest;
use crate::interface::{
    DaemonOptions, RestartPolicy, SettingError, parse_backoff, parse_give_up,
    parse_positive_duration,
};

const SECTIONS: &[&str] = &["daemons", "profiles", "coordinators", "events"];
const DAEMON_KEYS: &[&str] = &[
    "enabled",
    "restart",
    "ready_timeout",
    "shutdown_timeout",
    "max_restarts",
    "backoff",
    "stable_after",
    "health_interval",
    "health_threshold",
    "critical",
    "after_give_up",
    "singleton",
];

/// Reads the text of the file at `path`.
pub(super) fn parse(text: &str, path: &Path) -> Result<ServiceConfig, ConfigError> {
    let document: toml::Table = toml::from_str(text).map_err(|error| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: error.to_string().trim_end().to_owned(),
    })?;
    let file = File { path };
    let mut config = ServiceConfig {
        path: path.to_path_buf(),
        ..ServiceConfig::default()
    };
    for (key, value) in &document {
        match key.as_str() {
            "daemons" => {
                for (name, table) in file.tables(value, "[daemons]", key)? {
                    config.daemons.push(file.daemon(name, table)?);
                }
            }
            "profiles" => config.profiles = file.profiles(value)?,
            "events" => config.distributed_events = file.events(value)?,
            "coordinators" => {
                for (name, table) in file.tables(value, "[coordinators]", key)? {
                    let section = format!("[coordinators.{name}]");
                    let mut table = table.clone();
                    let enabled = match table.remove("enabled") {
                        Some(value) => file.boolean(&section, "enabled", &value)?,
                        None => true,
                    };
                    config.coordinators.push(CoordinatorSection {
                        name: name.clone(),
                        enabled,
                        table,
                    });
                }
            }
            other => return Err(file.unknown_key("the top level", other, SECTIONS)),
        }
    }
    Ok(config)
}

/// The file being read, for messages.
struct File<'a> {
    path: &'a Path,
}

impl File<'_> {
    fn unknown_key(&self, section: &str, key: &str, valid: &[&'static str]) -> ConfigError {
        ConfigError::UnknownKey {
            path: self.path.to_path_buf(),
            section: section.to_owned(),
            key: key.to_owned(),
            suggestion: closest(key, valid).map(str::to_owned),
            valid: valid.to_vec(),
        }
    }

    fn bad(&self, section: &str, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.to_path_buf(),
            section: section.to_owned(),
            key: key.to_owned(),
            problem: problem.into(),
        }
    }

    /// `[daemons.NAME]` / `[coordinators.NAME]`: a table of tables.
    fn tables<'v>(
        &self,
        value: &'v toml::Value,
        section: &str,
        key: &str,
    ) -> Result<Vec<(&'v String, &'v toml::Table)>, ConfigError> {
        let Some(outer) = value.as_table() else {
            return Err(self.bad(
                section,
                key,
                "must be a table of tables, e.g. [daemons.auto_sync]",
            ));
        };
        outer
            .iter()
            .map(|(name, value)| match value.as_table() {
                Some(table) => Ok((name, table)),
                None => Err(self.bad(
                    &format!("[{key}]"),
                    name,
                    format!(
                        "must be a table, e.g. [{key}.{name}], not {}",
                        value.type_str()
                    ),
                )),
            })
            .collect()
    }

    fn daemon(&self, name: &str, table: &toml::Table) -> Result<DaemonSection, ConfigError> {
        let section = format!("[daemons.{name}]");
        let mut options = DaemonOptions::NONE;
        let mut enabled = true;
        for (key, value) in table {
            let s = section.as_str();
            match key.as_str() {
                "enabled" => enabled = self.boolean(s, key, value)?,
                "restart" => {
                    let text = self.string(s, key, value)?;
                    options.restart = Some(
                        text.parse::<RestartPolicy>()
                            .map_err(|e| self.bad(s, key, format!("is {text:?}: {e}")))?,
                    );
                }
                "ready_timeout" => options.ready_timeout = Some(self.duration(s, key, value)?),
                "shutdown_timeout" => {
                    options.shutdown_timeout = Some(self.duration(s, key, value)?);
                }
                "stable_after" => options.stable_after = Some(self.duration(s, key, value)?),
                "health_interval" => {
                    options.health_interval = Some(self.duration(s, key, value)?);
                }
                "max_restarts" => options.max_restarts = Some(self.count(s, key, value, true)?),
                "health_threshold" => {
                    options.health_threshold = Some(self.count(s, key, value, false)?);
                }
                "critical" => options.critical = Some(self.boolean(s, key, value)?),
                "singleton" => options.singleton = Some(self.boolean(s, key, value)?),
                "backoff" => {
                    let text = self.string(s, key, value)?;
                    options.backoff = Some(self.setting(s, key, text, parse_backoff(text))?);
                }
                "after_give_up" => {
                    let text = self.string(s, key, value)?;
                    options.after_give_up =
                        Some(self.setting(s, key, text, parse_give_up(text))?);
                }
                "health" => {
                    return Err(self.bad(
                        s,
                        key,
                        "cannot be set here: a health check is code; name it in `#[daemon(..., health = path::to::check)]`, \
                         and tune it here with `health_interval` and `health_threshold`",
                    ));
                }
                other => return Err(self.unknown_key(s, other, DAEMON_KEYS)),
            }
        }
        Ok(DaemonSection {
            name: name.to_owned(),
            enabled,
            options,
        })
    }

    fn profiles(&self, value: &toml::Value) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
        let Some(table) = value.as_table() else {
            return Err(self.bad(
                "the top level",
                "profiles",
                "must be a table: [profiles] then `name = [\"daemon\", ...]`",
            ));
        };
        table
            .iter()
            .map(|(name, members)| {
                let list = members.as_array().ok_or_else(|| {
                    self.bad(
                        "[profiles]",
                        name,
                        "must be a list of daemon names, e.g. [\"data_pipeline\", \"auto_sync\"]",
                    )
                })?;
                let members = list
                    .iter()
                    .map(|m| {
                        m.as_str().map(str::to_owned).ok_or_else(|| {
                            self.bad(
                                "[profiles]",
                                name,
                                format!("lists {m}, which is not a daemon name in quotes"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Ok((name.clone(), members))
            })
            .collect()
    }

    /// `[events]`: `distributed = ["event_name", ...]`.
    fn events(&self, value: &toml::Value) -> Result<Vec<String>, ConfigError> {
        let Some(table) = value.as_table() else {
            return Err(self.bad(
                "the top level",
                "events",
                "must be a table: [events] then `distributed = [\"event_name\", ...]`",
            ));
        };
        let mut distributed = Vec::new();
        for (key, value) in table {
            if key != "distributed" {
                return Err(self.unknown_key("[events]", key, &["distributed"]));
            }
            let list = value.as_array().ok_or_else(|| {
                self.bad(
                    "[events]",
                    key,
                    "must be a list of event names, e.g. [\"model_promoted\"]",
                )
            })?;
            for item in list {
                let name = item.as_str().ok_or_else(|| {
                    self.bad(
                        "[events]",
                        key,
                        format!("lists {item}, which is not an event name in quotes"),
                    )
                })?;
                distributed.push(name.to_owned());
            }
        }
        Ok(distributed)
    }

    fn string<'v>(
        &self,
        section: &str,
        key: &str,
        value: &'v toml::Value,
    ) -> Result<&'v str, ConfigError> {
        value.as_str().ok_or_else(|| {
            self.bad(
                section,
                key,
                format!("must be a string in quotes, not {}", value.type_str()),
            )
        })
    }

    fn boolean(&self, section: &str, key: &str, value: &toml::Value) -> Result<bool, ConfigError> {
        value.as_bool().ok_or_else(|| {
            self.bad(
                section,
                key,
                format!("must be true or false, not {}", value.type_str()),
            )
        })
    }

    fn count(
        &self,
        section: &str,
        key: &str,
        value: &toml::Value,
        zero_ok: bool,
    ) -> Result<u32, ConfigError> {
        match value.as_integer().map(u32::try_from) {
            Some(Ok(0)) if !zero_ok => {
                Err(self.bad(section, key, "is 0, which makes no sense: give at least 1"))
            }
            Some(Ok(n)) => Ok(n),
            _ => Err(self.bad(
                section,
                key,
                format!("must be a whole number from 0 up, not {value}"),
            )),
        }
    }

    fn duration(
        &self,
        section: &str,
        key: &str,
        value: &toml::Value,
    ) -> Result<Duration, ConfigError> {
        let text = self.string(section, key, value)?;
        self.setting(section, key, text, parse_positive_duration(text))
    }

    fn setting<T>(
        &self,
        section: &str,
        key: &str,
        text: &str,
        parsed: Result<T, SettingError>,
    ) -> Result<T, ConfigError> {
        parsed.map_err(|error| self.bad(section, key, format!("is {text:?}: {}", error.expected())))
    }
}
