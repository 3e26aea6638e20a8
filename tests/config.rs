//! The config file: every key of a daemon's table read and applied over its
//! attribute, coordinators' own tables, and a clear error for each mistake.

use std::path::PathBuf;
use std::time::Duration;

use coord::prelude::*;
use coord::{
    Backoff, BoxFuture, ConfigError, Coordination, CoordinatorSpec, DaemonSpec, GiveUp, Location,
    Registry, ServiceConfig,
};
use serde::Deserialize;

fn runner(ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async move {
        ctx.ready();
        ctx.cancelled().await;
        Ok(())
    })
}

fn daemon(name: &'static str, deps: &'static [&'static str]) -> &'static DaemonSpec {
    Box::leak(Box::new(DaemonSpec {
        name,
        kind: "ConfigTest",
        variant: name,
        depends_on: deps,
        soft_depends_on: &[],
        category: None,
        options: coord::DaemonOptions {
            max_restarts: Some(9),
            ready_timeout: Some(Duration::from_secs(7)),
            ..coord::DaemonOptions::NONE
        },
        runner,
        publishes: &[],
        location: Location {
            module_path: module_path!(),
            file: file!(),
            line: line!(),
        },
    }))
}

/// Writes `text` to a file of this test and returns its path.
fn file(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coord-config-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("coord.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn daemons() -> Vec<&'static DaemonSpec> {
    vec![
        daemon("cf_router", &[]),
        daemon("cf_pipeline", &["cf_router"]),
        daemon("cf_sync", &["cf_pipeline"]),
    ]
}

fn registry() -> Registry {
    Registry::from_specs(daemons(), [])
}

fn load(test: &str, text: &str) -> Result<ServiceConfig, ConfigError> {
    let config = ServiceConfig::load(&file(test, text))?;
    config.check_names(&registry())?;
    Ok(config)
}

#[tokio::test]
async fn every_daemon_key_is_read_and_wins_over_the_attribute() {
    let config = load(
        "keys",
        r#"
[daemons.cf_sync]
restart = "always"
ready_timeout = "90s"
shutdown_timeout = "2s"
max_restarts = 3
backoff = "2s..10m"
stable_after = "5m"
critical = true
after_give_up = "retry_every(30m)"

[profiles]
sync_only = ["cf_sync"]
"#,
    )
    .expect("valid");
    let specs = daemons();
    let builder = Coordination::builder().coordinators([]).daemons(specs);
    let manager = config
        .apply(builder)
        .build()
        .expect("builds")
        .start_daemon_manager();
    let sync = manager.daemon_config("cf_sync").expect("known");
    assert_eq!(sync.restart, RestartPolicy::Always);
    assert_eq!(sync.ready_timeout, Duration::from_secs(90));
    assert_eq!(sync.shutdown_timeout, Duration::from_secs(2));
    assert_eq!(sync.restart_config.max_restarts, 3);
    assert_eq!(
        (
            sync.restart_config.initial_backoff,
            sync.restart_config.max_backoff
        ),
        (Duration::from_secs(2), Duration::from_secs(600))
    );
    assert_eq!(sync.restart_config.stable_after, Duration::from_secs(300));
    assert!(sync.critical);
    assert_eq!(
        sync.restart_config.after_give_up,
        GiveUp::RetryEvery(Duration::from_secs(1800))
    );
    // Untouched by the file: the attribute's values stay.
    let router = manager.daemon_config("cf_router").expect("known");
    assert_eq!(router.restart_config.max_restarts, 9);
    assert_eq!(router.ready_timeout, Duration::from_secs(7));
    assert_eq!(manager.profile_names(), ["sync_only"]);
    let backoff = Backoff {
        initial: Duration::from_secs(2),
        max: Duration::from_secs(600),
    };
    assert_eq!(config.daemons[0].options.backoff, Some(backoff));
}

fn error(test: &str, text: &str) -> String {
    let err = load(test, text).expect_err("refused");
    err.to_string()
}

#[test]
fn an_unknown_daemon_is_refused_with_the_valid_names() {
    let text = error("unknown-daemon", "[daemons.cf_snyc]\nmax_restarts = 1\n");
    assert!(
        text.starts_with("[coord::E0904] [daemons.cf_snyc] in "),
        "{text}"
    );
    assert!(text.contains("did you mean 'cf_sync'?"), "{text}");
    assert!(text.contains("cf_router, cf_pipeline, cf_sync"), "{text}");
    let text = error("unknown-member", "[profiles]\nsync = [\"cf_sink\"]\n");
    assert!(text.contains("[profiles] sync"), "{text}");
    assert!(text.contains("did you mean 'cf_sync'?"), "{text}");
}

#[test]
fn an_unknown_key_is_refused_with_a_suggestion() {
    let text = error("unknown-key", "[daemons.cf_sync]\nmax_restart = 1\n");
    assert!(
        text.contains("[coord::E0903] [daemons.cf_sync] in ")
            && text.contains("unknown key `max_restart` (did you mean `max_restarts`?)"),
        "{text}"
    );
    assert!(
        text.contains("valid keys: enabled, restart, ready_timeout"),
        "{text}"
    );
    let text = error("unknown-section", "[deamons.cf_sync]\n");
    assert!(
        text.contains("the top level") && text.contains("(did you mean `daemons`?)"),
        "{text}"
    );
}

#[test]
fn a_value_of_the_wrong_type_or_form_is_refused_saying_what_to_write() {
    let cases = [
        (
            "max_restarts = \"three\"",
            "`max_restarts` must be a whole number from 0 up, not \"three\"",
        ),
        (
            "critical = \"yes\"",
            "`critical` must be true or false, not string",
        ),
        (
            "ready_timeout = 30",
            "`ready_timeout` must be a string in quotes, not integer",
        ),
        (
            "ready_timeout = \"30\"",
            "`ready_timeout` is \"30\": a duration is a number and a unit",
        ),
        (
            "ready_timeout = \"0s\"",
            "`ready_timeout` is \"0s\": zero makes no sense here",
        ),
        (
            "backoff = \"5m..1s\"",
            "`backoff` is \"5m..1s\": a backoff is the first and the longest delay",
        ),
        (
            "after_give_up = \"later\"",
            "`after_give_up` is \"later\": expected \"stop\" or \"retry_every(DURATION)\"",
        ),
        (
            "restart = \"sometimes\"",
            "`restart` is \"sometimes\": [coord::E0501] unknown restart policy",
        ),
        (
            "health = \"check\"",
            "`health` cannot be set here: a health check is code",
        ),
        (
            "health_threshold = 0",
            "`health_threshold` is 0, which makes no sense",
        ),
    ];
    for (line, expected) in cases {
        let text = error("bad-value", &format!("[daemons.cf_sync]\n{line}\n"));
        assert!(text.contains("[daemons.cf_sync] in "), "{line}: {text}");
        assert!(text.contains(expected), "{line}: {text}");
    }
    let text = error(
        "health-without-check",
        "[daemons.cf_sync]\nhealth_interval = \"10s\"\n",
    );
    assert!(text.starts_with("[coord::E0906]"), "{text}");
}

#[test]
fn a_syntax_error_names_the_line_and_a_missing_file_the_path() {
    let text = error("syntax", "[daemons.cf_sync\nmax_restarts = 1\n");
    assert!(text.starts_with("[coord::E0902]"), "{text}");
    assert!(text.contains("line 1"), "{text}");
    let missing = std::env::temp_dir().join("coord-config-no-such-dir/coord.toml");
    let text = ServiceConfig::load(&missing)
        .expect_err("missing")
        .to_string();
    assert!(
        text.starts_with("[coord::E0901] cannot read the config file")
            && text.contains("coord-config-no-such-dir"),
        "{text}"
    );
}

#[test]
fn disabling_a_daemon_others_need_names_them() {
    let config = load("disabled", "[daemons.cf_pipeline]\nenabled = false\n").expect("valid file");
    let builder = Coordination::builder().coordinators([]).daemons(daemons());
    let err = config.apply(builder).build().expect_err("cf_sync needs it");
    assert_eq!(
        err.to_string(),
        "[coord::E0104] daemon 'cf_pipeline' is disabled (`enabled = false`), but 'cf_sync' depends on it: disable it too, or enable 'cf_pipeline'"
    );
    // Disabling the dependent too is consistent.
    let config = load(
        "disabled-both",
        "[daemons.cf_pipeline]\nenabled = false\n[daemons.cf_sync]\nenabled = false\n",
    )
    .expect("valid file");
    let builder = Coordination::builder().coordinators([]).daemons(daemons());
    let manager = config
        .apply(builder)
        .build()
        .expect("builds")
        .start_daemon_manager();
    assert_eq!(manager.daemon_names(), ["cf_router"]);
}

// --- coordinators' own tables ---------------------------------------------

#[derive(Deserialize)]
struct StoreSettings {
    batch_size: u32,
    #[serde(default)]
    label: Option<String>,
}

#[coordinator]
pub struct ConfiguredStore {
    batch_size: u32,
    label: Option<String>,
}

impl Coordinator for ConfiguredStore {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let settings: StoreSettings = ctx.config()?;
        Ok(Self {
            batch_size: settings.batch_size,
            label: settings.label,
        })
    }
}

fn store_only() -> Vec<&'static CoordinatorSpec> {
    coord::registry()
        .coordinator_of::<ConfiguredStore>()
        .into_iter()
        .collect()
}

fn coordinator_file(test: &str, table: &str) -> ServiceConfig {
    let config = ServiceConfig::load(&file(
        test,
        &format!("[coordinators.configured_store]\n{table}"),
    ))
    .expect("valid file");
    config
        .check_names(&Registry::from_specs([], store_only()))
        .expect("known coordinator");
    config
}

#[tokio::test]
async fn a_coordinator_reads_its_table_from_the_file_or_the_builder() {
    let config = coordinator_file("coordinator", "batch_size = 64\nlabel = \"primary\"\n");
    let builder = Coordination::builder()
        .coordinators(store_only())
        .daemons([]);
    let coordination = config.apply(builder).build().expect("builds");
    assert!(coordination.bootstrap().await.is_ok());
    let store = coordination.get::<ConfiguredStore>().expect("ready");
    assert_eq!(
        (store.batch_size, store.label.as_deref()),
        (64, Some("primary"))
    );

    #[derive(serde::Serialize)]
    struct Given {
        batch_size: u32,
    }
    let coordination = Coordination::builder()
        .coordinators(store_only())
        .daemons([])
        .coordinator_config("configured_store", Given { batch_size: 8 })
        .expect("a table")
        .build()
        .expect("builds");
    assert!(coordination.bootstrap().await.is_ok());
    let store = coordination.get::<ConfiguredStore>().expect("ready");
    assert_eq!((store.batch_size, store.label.as_deref()), (8, None));
}

#[tokio::test]
async fn a_missing_or_ill_typed_key_fails_the_init_naming_coordinator_key_and_file() {
    for (table, expected) in [
        (
            "batch_size = \"ten\"\n",
            "key `batch_size`: invalid type: string \"ten\", expected u32",
        ),
        ("label = \"x\"\n", "missing field `batch_size`"),
    ] {
        let config = coordinator_file("coordinator-bad", table);
        let builder = Coordination::builder()
            .coordinators(store_only())
            .daemons([]);
        let coordination = config.apply(builder).build().expect("builds");
        let report = coordination.bootstrap().await;
        let error = report.status.errors[0].to_string();
        assert!(
            error.contains("[coord::E0206] coordinator 'configured_store': its configuration ([coordinators.configured_store] in "),
            "{error}"
        );
        assert!(error.contains("coord.toml) is not a"), "{error}");
        assert!(error.contains(expected), "{table}: {error}");
    }
}

#[test]
fn an_unknown_coordinator_is_refused_with_the_valid_names() {
    let config = ServiceConfig::load(&file(
        "unknown-coordinator",
        "[coordinators.configured_stor]\nbatch_size = 1\n",
    ))
    .expect("valid file");
    let text = config
        .check_names(&Registry::from_specs([], store_only()))
        .expect_err("unknown")
        .to_string();
    assert!(
        text.starts_with("[coord::E0904] [coordinators.configured_stor]"),
        "{text}"
    );
    assert!(text.contains("did you mean 'configured_store'?"), "{text}");
}

/// A handler, so that `[events] distributed` has an event to name.
mod distributed {
    use coord::prelude::*;
    use serde::{Deserialize, Serialize};

    /// An event the config file may distribute.
    #[derive(Event, Clone, Debug, Serialize, Deserialize)]
    pub struct CfShipped;

    /// Handles it.
    #[coordinator]
    pub struct CfShipping;

    impl Coordinator for CfShipping {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }

    #[subscriptions]
    impl CfShipping {
        #[subscribe]
        async fn on_shipped(&self, _event: &CfShipped) -> Result<(), BoxError> {
            Ok(())
        }
    }
}

#[test]
fn events_are_distributed_by_name_and_an_unknown_name_is_refused() {
    let config = load(
        "events-distributed",
        "[events]\ndistributed = [\"cf_shipped\"]\n",
    )
    .expect("a known event");
    assert_eq!(config.distributed_events, ["cf_shipped"]);
    let text = error(
        "events-unknown",
        "[events]\ndistributed = [\"cf_shiped\"]\n",
    );
    assert!(
        text.starts_with("[coord::E0904] [events] distributed in "),
        "{text}"
    );
    assert!(text.contains("did you mean 'cf_shipped'?"), "{text}");
    let text = error("events-key", "[events]\ndistribute = [\"cf_shipped\"]\n");
    assert!(
        text.contains("[coord::E0903]") && text.contains("distributed"),
        "{text}"
    );
}
