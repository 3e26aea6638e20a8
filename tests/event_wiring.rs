//! Event wiring across everything linked: a handled event nothing declares
//! it publishes is a registry problem (E0413) that `validate_registry()`,
//! `validate` and `events` report; an `#[event(external)]` one is not; a
//! declared event nothing handles is a warning (E0414).

use coord::RegistryProblem;
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GamesSynced {
    pub total: u64,
}

/// Handled, and published by nothing in this program: the mistake.
#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ModelPromoted {
    pub model: String,
}

/// Handled, published from outside the items (a test, `main`).
#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(external)]
pub struct OperatorRequest {
    pub what: String,
}

/// Declared published, handled by nothing.
#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SyncLagged {
    pub seconds: u64,
}

#[coordinator(publishes = [GamesSynced, SyncLagged])]
pub struct DataPipeline;

impl Coordinator for DataPipeline {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator]
pub struct Trainer;

impl Coordinator for Trainer {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Trainer {
    #[subscribe]
    async fn on_games_synced(&self, _event: &GamesSynced) -> Result<(), BoxError> {
        Ok(())
    }

    #[subscribe]
    async fn on_model_promoted(&self, _event: &ModelPromoted) -> Result<(), BoxError> {
        Ok(())
    }

    #[subscribe]
    async fn on_operator_request(&self, _event: &OperatorRequest) -> Result<(), BoxError> {
        Ok(())
    }
}

#[test]
fn a_handled_event_without_a_declared_publisher_is_a_registry_problem_naming_its_handler() {
    let problems = coord::validate_registry().expect_err("model_promoted has no publisher");
    assert_eq!(
        problems.0,
        [RegistryProblem::NoPublisher {
            event: "model_promoted",
            handlers: vec!["Trainer::on_model_promoted"],
        }]
    );
    let text = problems.to_string();
    assert!(
        text.contains(
            "[coord::E0413] event `model_promoted` is handled by Trainer::on_model_promoted"
        ),
        "{text}"
    );
    assert!(text.contains("#[event(external)]"), "{text}");
}

#[test]
fn the_wiring_lists_publishers_and_handlers_by_event() {
    let wiring = coord::event_wiring();
    let row = |event: &str| {
        wiring
            .iter()
            .find(|w| w.event == event)
            .unwrap_or_else(|| panic!("{event} missing from {wiring:?}"))
    };
    assert_eq!(row("games_synced").publishers, ["data_pipeline"]);
    assert_eq!(row("games_synced").handlers, ["Trainer::on_games_synced"]);
    assert!(row("model_promoted").lacks_publisher());
    // External: handled with no declared publisher, and not a problem.
    assert!(row("operator_request").external);
    assert!(!row("operator_request").lacks_publisher());
    assert!(row("sync_lagged").is_unhandled());
}

#[test]
fn a_declared_event_nothing_handles_is_a_warning_not_a_problem() {
    let unhandled = coord::unhandled_events();
    assert_eq!(unhandled.len(), 1, "{unhandled:?}");
    assert_eq!(unhandled[0].event, "sync_lagged");
    assert_eq!(unhandled[0].publishers, ["data_pipeline"]);
    assert!(
        unhandled[0].to_string().starts_with(
            "[coord::E0414] event `sync_lagged` is declared published by data_pipeline"
        ),
        "{}",
        unhandled[0]
    );
}

#[tokio::test]
async fn validate_fails_on_the_missing_publisher() {
    let app = coord::cli::App::new("event_wiring");
    let code = coord::cli::run_with_args(app, ["event_wiring", "validate"]).await;
    assert_eq!(code, std::process::ExitCode::FAILURE);
}
