//! Logging from the environment. Its own test binary with one test: the
//! logger is process-wide and the variables it reads are too.

use coord::prelude::*;
use coord::{BoxFuture, Coordination, DaemonSpec, Location, LoggingError};

fn runner(ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async move {
        tracing::info!("syncing shards");
        ctx.ready();
        Ok(())
    })
}

static LOGGED_DAEMON: DaemonSpec = DaemonSpec {
    name: "shard_sync",
    kind: "LogTest",
    variant: "ShardSync",
    depends_on: &[],
    soft_depends_on: &[],
    category: None,
    options: coord::DaemonOptions {
        restart: Some(RestartPolicy::Never),
        ..coord::DaemonOptions::NONE
    },
    runner,
    publishes: &[],
    location: Location {
        module_path: module_path!(),
        file: file!(),
        line: line!(),
    },
};

#[coordinator]
pub struct LoggedCoordinator;

impl Coordinator for LoggedCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        tracing::info!("opening the model registry");
        Ok(Self)
    }
}

fn set(key: &str, value: &str) {
    // SAFETY: this binary runs a single test on one thread, before any
    // runtime or logger thread exists that could read the environment.
    unsafe { std::env::set_var(key, value) }
}

#[test]
fn logging_is_configured_from_the_environment_and_names_who_wrote_each_line() {
    set("COORD_LOG", "info,[[bad");
    let err = coord::init_logging().expect_err("bad filter");
    assert!(matches!(err, LoggingError::Filter { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("[coord::E0701] COORD_LOG=\"info,[[bad\" is not a valid log filter"),
        "{err}"
    );

    set("COORD_LOG", "info");
    set("COORD_LOG_FORMAT", "yaml");
    let err = coord::init_logging().expect_err("bad format");
    assert_eq!(
        err.to_string(),
        "[coord::E0702] COORD_LOG_FORMAT=\"yaml\" is not a log format; use `text` (the default) or `json`"
    );

    let file = std::env::temp_dir().join(format!("coord-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&file);
    set("COORD_LOG_FORMAT", "json");
    set("COORD_LOG_FILE", file.to_str().expect("utf-8 temp path"));
    coord::init_logging().expect("installs");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let coordination = Coordination::builder()
            .enable(["logged_coordinator"])
            .daemons([&LOGGED_DAEMON])
            .build()
            .expect("valid");
        let manager = coordination.start_daemon_manager();
        assert!(coordination.bootstrap().await.is_ok());
        manager.start_all().await;
        manager.shutdown().await;
    });

    let text = std::fs::read_to_string(&file).expect("log file written");
    let line_of = |message: &str| {
        text.lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("no line with {message:?} in:\n{text}"))
            .to_owned()
    };
    let daemon_line = line_of("syncing shards");
    assert!(
        daemon_line.contains(r#""name":"shard_sync""#),
        "{daemon_line}"
    );
    let coordinator_line = line_of("opening the model registry");
    assert!(
        coordinator_line.contains(r#""name":"logged_coordinator""#),
        "{coordinator_line}"
    );
}
