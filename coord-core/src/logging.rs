//! Logging setup from the environment, on `tracing`.

use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `COORD_LOG` is not a valid filter.
    #[error(
        "[coord::E0701] COORD_LOG={value:?} is not a valid log filter: {reason}; use a level (`info`, `debug`) \
         or per-target directives (`info,coord_core::manager=debug`)"
    )]
    Filter {
        /// The value given.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// `COORD_LOG_FORMAT` names no known format.
    #[error(
        "[coord::E0702] COORD_LOG_FORMAT={0:?} is not a log format; use `text` (the default) or `json`"
    )]
    Format(String),
    /// `COORD_LOG_FILE` cannot be opened for appending.
    #[error(
        "[coord::E0703] cannot open the log file {}: {source}; create its directory or unset COORD_LOG_FILE to log to stderr",
        .path.display()
    )]
    File {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Another global subscriber is already installed.
    #[error(
        "[coord::E0704] a tracing subscriber is already installed; call init_logging() once, before anything else logs"
    )]
    AlreadyInstalled,
}

/// The filter `COORD_LOG` and `COORD_BOOTSTRAP_VERBOSE` describe (default `info`).
pub fn log_filter_from_env() -> Result<EnvFilter, LoggingError> {
    filter_from_env_or("info")
}

/// Levels a bare `COORD_LOG` directive may name.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Bare directives of `filter` that look like a misspelt level, each with the
/// level meant: `debgu` is read as a target name and matches nothing.
pub fn misspelt_levels(filter: &str) -> Vec<(String, &'static str)> {
    filter
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && !d.contains(['=', ':', '[']))
        .filter(|d| !LEVELS.contains(&d.to_ascii_lowercase().as_str()))
        .filter_map(|d| {
            let lower = d.to_ascii_lowercase();
            LEVELS
                .iter()
                .map(|level| (crate::error::edit_distance(&lower, level), *level))
                .filter(|(distance, _)| *distance <= 2)
                .min()
                .map(|(_, level)| (d.to_owned(), level))
        })
        .collect()
}

/// The filter from the environment, with `default` when `COORD_LOG` is unset.
fn filter_from_env_or(default: &str) -> Result<EnvFilter, LoggingError> {
    let value = std::env::var("COORD_LOG").unwrap_or_else(|_| default.to_owned());
    for (directive, level) in misspelt_levels(&value) {
        // Straight to stderr: the filter it is in may let no log line through.
        crate::util::write_stderr(&format!(
            "warning: [coord::E0705] COORD_LOG directive '{directive}' looks like a misspelt level \
             (did you mean '{level}'?); it is read as a target name, so it matches nothing\n"
        ));
    }
    let mut filter = EnvFilter::try_new(&value).map_err(|e| LoggingError::Filter {
        value: value.clone(),
        reason: e.to_string(),
    })?;
    if std::env::var("COORD_BOOTSTRAP_VERBOSE")
        .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    {
        // Each initialisation step is logged at debug by the bootstrap module.
        filter = filter.add_directive("coord_core::bootstrap=debug".parse().map_err(
            |e: tracing_subscriber::filter::ParseError| LoggingError::Filter {
                value: "coord_core::bootstrap=debug".to_owned(),
                reason: e.to_string(),
            },
        )?);
    }
    Ok(filter)
}

/// Installs the global logger: level from `COORD_LOG` (EnvFilter syntax,
/// default `info`), every initialisation step with `COORD_BOOTSTRAP_VERBOSE=1`,
/// `COORD_LOG_FORMAT=json` for JSON lines, `COORD_LOG_FILE` to append to a
/// file instead of stderr. Every line carries the span of the daemon or
/// coordinator that wrote it.
pub fn init_logging() -> Result<(), LoggingError> {
    init_logging_or("info")
}

/// [`init_logging`] with `default` as the level when `COORD_LOG` is unset.
pub(crate) fn init_logging_or(default: &str) -> Result<(), LoggingError> {
    let filter = filter_from_env_or(default)?;
    let json = match std::env::var("COORD_LOG_FORMAT").as_deref() {
        Err(_) | Ok("text") | Ok("") => false,
        Ok("json") => true,
        Ok(other) => return Err(LoggingError::Format(other.to_owned())),
    };
    let file = match std::env::var_os("COORD_LOG_FILE") {
        Some(path) => {
            let path = PathBuf::from(path);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|source| LoggingError::File { path, source })?;
            Some(std::sync::Mutex::new(file))
        }
        None => None,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match (json, file) {
        (false, None) => builder
            // Colours only for a person at a terminal, not for a file or a pipe.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(AboveLiveArea)
            .try_init(),
        (false, Some(file)) => builder.with_ansi(false).with_writer(file).try_init(),
        (true, None) => builder.json().with_writer(AboveLiveArea).try_init(),
        (true, Some(file)) => builder.json().with_writer(file).try_init(),
    };
    installed.map_err(|_| LoggingError::AlreadyInstalled)
}

/// The live status area `run` draws at the bottom of a terminal, if any:
/// log lines are printed above it, never into its row.
static LIVE_AREA: std::sync::RwLock<Option<indicatif::ProgressBar>> = std::sync::RwLock::new(None);

/// Makes `area` the live area log lines are printed above (`None`: there is none).
pub(crate) fn set_live_area(area: Option<indicatif::ProgressBar>) {
    *crate::util::write(&LIVE_AREA) = area;
}

/// stderr, with each log line printed above the live area when one is drawn.
struct AboveLiveArea;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for AboveLiveArea {
    type Writer = LogLine;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine(Vec::new())
    }
}

/// One formatted log line, written out when the formatter is done with it.
struct LogLine(Vec<u8>);

impl std::io::Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        match &*crate::util::read(&LIVE_AREA) {
            // The area is cleared, the line printed, and the area redrawn below it.
            Some(area) => area.suspend(|| crate::util::write_stderr(&text)),
            None => crate::util::write_stderr(&text),
        }
    }
}
