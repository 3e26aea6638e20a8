//! The command line of a coord service, built on clap: the application's
//! `main` hands [`run`] an [`App`] and returns the exit code it gets back.
//!
//! ```no_run
//! # async fn main_() -> std::process::ExitCode {
//! coord_core::cli::run(coord_core::cli::App::new("my_service")).await
//! # }
//! ```
//!
//! Exit codes: 0 when all is well, 1 when the command found a problem (a
//! failed daemon, registry problems, a run that ended with errors) or could
//! not do its work, 2 for a command line clap rejects.

/// `println!` into a `String` page that [`emit`] prints at once. Writing to
/// a `String` cannot fail.
macro_rules! say {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

mod cluster;
mod dlq;
mod error;
mod http;
mod inspect;
mod live_view;
mod recorder;
mod registry_view;
mod serve;
mod status;
mod timeline;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

pub use error::CliError;

use std::sync::Arc;

use crate::config::ServiceConfig;
use crate::coordination::{Coordination, CoordinationBuilder};
use crate::interface::{ClusterConnector, ClusterLink};
use crate::logging::LoggingError;
use crate::store::DEFAULT_DATA_DIR;

type Configure = dyn Fn(CoordinationBuilder) -> CoordinationBuilder + Send + Sync;
type OnStart = dyn Fn(&Coordination) + Send + Sync;

/// A service as its command line sees it: its name and how to build its coordination.
pub struct App {
    name: String,
    configure: Box<Configure>,
    default_duration: Option<Duration>,
    on_start: Option<Box<OnStart>>,
    cluster_connector: Option<ClusterConnector>,
}

impl App {
    /// A service called `name` (used in help, messages and the state store).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            configure: Box::new(|builder| builder),
            default_duration: None,
            on_start: None,
            cluster_connector: None,
        }
    }

    /// How `--cluster URL` connects: `coord::cli::run` sets it when coord's
    /// `nats` feature is on; without one, `--cluster` is refused with the fix.
    pub fn cluster_connector(mut self, connector: ClusterConnector) -> Self {
        self.cluster_connector = Some(connector);
        self
    }

    /// The application's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets up the coordination builder (profiles, timeouts, restart policies).
    pub fn configure(
        mut self,
        configure: impl Fn(CoordinationBuilder) -> CoordinationBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Box::new(configure);
        self
    }

    /// How long `run` runs without `--duration`; unset, it runs until a signal.
    pub fn default_duration(mut self, duration: Duration) -> Self {
        self.default_duration = Some(duration);
        self
    }

    /// Called with the coordination before bootstrap, e.g. to keep a handle for handlers.
    pub fn on_start(mut self, on_start: impl Fn(&Coordination) + Send + Sync + 'static) -> Self {
        self.on_start = Some(Box::new(on_start));
        self
    }

    /// The coordination the application configures, with the config file's
    /// settings over it (its names checked first).
    fn build(&self, config: Option<&ServiceConfig>) -> Result<Coordination, CliError> {
        self.build_in(config, None)
    }

    /// [`build`](Self::build), joining `cluster` when given.
    fn build_in(
        &self,
        config: Option<&ServiceConfig>,
        cluster: Option<Arc<dyn ClusterLink>>,
    ) -> Result<Coordination, CliError> {
        let mut builder = (self.configure)(Coordination::builder());
        if let Some(config) = config {
            config.check_names(crate::registry::registry())?;
            builder = config.apply(builder);
        }
        if let Some(link) = cluster {
            builder = builder.cluster(link);
        }
        Ok(builder.build()?)
    }
}

#[derive(Parser, Debug)]
#[command(
    about = "Runs and inspects a coord service",
    disable_help_subcommand = true
)]
struct Cli {
    /// The state store's directory.
    #[arg(long, global = true, env = "COORD_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// The config file (default: coord.toml in the working directory, when there is one).
    #[arg(long, global = true, env = "COORD_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Without a command: `run` with these options.
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

impl Cli {
    /// Run options given before a subcommand belong to `run`: they are moved
    /// into `run` (`--profile x run`), refused when given twice, and refused
    /// for the commands that do not run the service.
    fn with_run_options_checked(mut self) -> Result<Self, clap::Error> {
        let top_level = std::mem::take(&mut self.run);
        let given = top_level.given();
        if given.is_empty() {
            return Ok(self);
        }
        let conflict = |message: String| {
            Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message)
        };
        match &mut self.command {
            None => self.run = top_level,
            Some(Command::Run(args)) => {
                let twice: Vec<&str> = args
                    .given()
                    .into_iter()
                    .filter(|flag| given.contains(flag))
                    .collect();
                if !twice.is_empty() {
                    return Err(conflict(format!(
                        "{} given both before and after `run`; give it once",
                        twice.join(", ")
                    )));
                }
                args.profile = args.profile.take().or(top_level.profile);
                args.duration = args.duration.or(top_level.duration);
                args.http = args.http.or(top_level.http);
                args.cluster = args.cluster.take().or(top_level.cluster);
                args.node = args.node.take().or(top_level.node);
                args.lease = args.lease.or(top_level.lease);
            }
            Some(other) => {
                return Err(conflict(format!(
                    "{} only applies to `run`, not to `{}`; remove it from this command",
                    given.join(" and "),
                    other.name(),
                )));
            }
        }
        Ok(self)
    }
}

impl RunArgs {
    /// The flags that were given, as typed.
    fn given(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.profile.is_some() {
            flags.push("--profile");
        }
        if self.duration.is_some() {
            flags.push("--duration");
        }
        if self.http.is_some() {
            flags.push("--http");
        }
        if self.cluster.is_some() {
            flags.push("--cluster");
        }
        if self.node.is_some() {
            flags.push("--node");
        }
        if self.lease.is_some() {
            flags.push("--lease");
        }
        flags
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Bootstrap, start the daemons, run until SIGINT/SIGTERM or --duration, shut down
    Run(RunArgs),
    /// The latest run from the state store: process, bootstrap, daemons (exit 1 if one failed)
    Status {
        /// One JSON document instead of tables.
        #[arg(long)]
        json: bool,
        /// Redraw every second until Ctrl-C.
        #[arg(long)]
        watch: bool,
        /// The whole cluster instead of this data directory's run: nodes,
        /// singleton leaders and tokens, daemon states (URL default: COORD_CLUSTER).
        #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
        cluster: Option<String>,
    },
    /// The startup order of daemons and coordinators, by level
    Order,
    /// Check the registry and the service's configuration (exit 1 on problems)
    Validate {
        /// Also exit 1 on warnings (a soft dependency dropped from a cycle).
        #[arg(long)]
        strict: bool,
    },
    /// The dependency graph of daemons and coordinators (hard and soft edges)
    Graph {
        /// The output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Event subscriptions, orphaned and unused events, and the latest run's counts
    Events,
    /// The latest run's startup timeline as SVG, one bar per unit (`plot > startup.svg`)
    Plot,
    /// The chain of dependencies that set the latest run's time to ready
    CriticalChain {
        /// The daemon or coordinator to trace (default: the last one to become ready).
        name: Option<String>,
    },
    /// The dead-letter queue of the latest run
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
}

impl Command {
    /// The subcommand's name as typed on the command line.
    fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Status { .. } => "status",
            Command::Order => "order",
            Command::Validate { .. } => "validate",
            Command::Graph { .. } => "graph",
            Command::Events => "events",
            Command::CriticalChain { .. } => "critical-chain",
            Command::Plot => "plot",
            Command::Dlq { .. } => "dlq",
        }
    }
}

#[derive(clap::Args, Debug, Default)]
struct RunArgs {
    /// Start only this profile's daemons (and the dependencies they need).
    #[arg(long)]
    profile: Option<String>,
    /// Stop after this many seconds instead of waiting for a signal.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Serve /livez, /readyz, /metrics, /status and a status page here
    /// (a port binds 127.0.0.1; `COORD_HTTP` when not given; off by default).
    #[arg(long, value_name = "ADDR", value_parser = http::parse_address)]
    http: Option<std::net::SocketAddr>,
    /// Join the cluster at this NATS server, e.g. nats://127.0.0.1:4222
    /// (`COORD_CLUSTER` when not given; off by default). Each node keeps its
    /// state store in a folder of its own under --data-dir.
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
    /// This node's name in the cluster (`COORD_NODE`; default: host name and pid).
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// A singleton's lease in the cluster: how long a dead leader holds it
    /// (`COORD_LEASE`; default 10).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    lease: Option<Duration>,
}

#[derive(Subcommand, Debug)]
enum DlqAction {
    /// Every dead letter: handler, event, state, attempts, last error
    List,
    /// Deliver one dead letter again now (needs the service running)
    Replay {
        /// The dead letter's id, as `dlq list` shows it.
        id: u64,
    },
    /// Remove the dead letters that are out of retries
    Purge,
}

/// How `graph` writes the graph.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum GraphFormat {
    /// Graphviz: `dot -Tsvg`.
    Dot,
    /// Mermaid: paste into Markdown.
    Mermaid,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (e.g. 15 or 2.5)"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("'{text}' is not a positive number of seconds"))
}

/// Runs the command line of `app` from the process's arguments; returns the exit code.
pub async fn run(app: App) -> ExitCode {
    run_with_args(app, std::env::args_os()).await
}

/// Runs the command line of `app` from `args` (the first is the program name).
pub async fn run_with_args<I, T>(app: App, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::command()
        .name(app.name.clone())
        .try_get_matches_from(args)
    {
        Ok(matches) => match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(error) => return usage_error(error),
        },
        Err(error) => return usage_error(error),
    };
    let cli = match cli.with_run_options_checked() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match dispatch(&app, cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            crate::util::write_stderr(&format!("error: {error}\n"));
            ExitCode::FAILURE
        }
    }
}

/// Prints clap's message; an unknown command also gets the list of valid ones.
fn usage_error(error: clap::Error) -> ExitCode {
    let code = error.exit_code();
    let _ = error.print();
    if error.kind() == clap::error::ErrorKind::InvalidSubcommand {
        let commands: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        crate::util::write_stderr(&format!("valid commands: {}\n", commands.join(", ")));
    }
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Runs one command; `Ok(false)` means it ran and found a problem to report.
async fn dispatch(app: &App, cli: Cli) -> Result<bool, CliError> {
    let data_dir = cli.data_dir;
    let config_path = cli.config;
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    // A service logs its progress; the other commands print what they were
    // asked for, and log only warnings unless COORD_LOG says otherwise.
    let default_level = if matches!(command, Command::Run(_)) {
        "info"
    } else {
        "warn"
    };
    match crate::logging::init_logging_or(default_level) {
        Ok(()) | Err(LoggingError::AlreadyInstalled) => {}
        Err(error) => return Err(error.into()),
    }
    // Output goes to a page printed at the end, after an error too, so
    // what was found before the error is still shown.
    let mut out = String::new();
    let result = match command {
        Command::Run(args) => match ServiceConfig::discover(config_path.as_deref()) {
            Ok(config) => serve::run(app, config.as_ref(), &data_dir, args).await,
            Err(error) => Err(error.into()),
        },
        Command::Status {
            json,
            cluster: Some(url),
            ..
        } => cluster::status(app, &url, json, &mut out).await,
        Command::Status { json, watch, .. } => status::status(app, &data_dir, json, watch).await,
        Command::Order => registry_view::order(&mut out),
        Command::Validate { strict } => Ok(registry_view::validate(
            app,
            config_path.as_deref(),
            strict,
            &mut out,
        )),
        Command::Graph { format } => {
            out = registry_view::graph(format);
            Ok(true)
        }
        Command::Events => inspect::events(app, &data_dir, &mut out),
        Command::Plot => inspect::plot(app, &data_dir, &mut out),
        Command::CriticalChain { name } => {
            inspect::critical_chain(app, &data_dir, name.as_deref(), &mut out)
        }
        Command::Dlq { action } => dlq::dlq(app, &data_dir, action, &mut out).await,
    };
    emit(&out);
    result
}

/// Prints `text` to stdout. A reader that went away (`| head`) is not an
/// error worth a panic; any other write error is reported once on stderr.
fn emit(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        crate::util::write_stderr(&format!("error: cannot write to stdout: {error}\n"));
    }
}
