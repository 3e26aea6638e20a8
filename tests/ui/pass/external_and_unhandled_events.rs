// An `#[event(external)]` event needs no declared publisher for its
// handlers, and an event declared in `publishes` that nothing handles is no
// error: both build, and `validate_registry()` accepts them (the second is a
// warning, `unhandled_events()`).
use coord::prelude::*;

/// Sent by an operator through `main`, not by any item.
#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(external)]
pub struct OperatorRequest {
    pub what: String,
}

/// Declared, and handled by nothing yet.
#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SyncLagged {
    pub seconds: u64,
}

#[coordinator(publishes = [SyncLagged])]
pub struct Sync {
    events: Publisher<Self>,
}

impl Coordinator for Sync {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self {
            events: ctx.publisher(),
        })
    }
}

#[subscriptions]
impl Sync {
    #[subscribe]
    async fn on_operator_request(&self, _event: &OperatorRequest) -> Result<(), BoxError> {
        self.events.publish(SyncLagged { seconds: 3 }).await;
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    coord::validate_registry().expect("an external event and an unhandled one are not problems");
    let unhandled = coord::unhandled_events();
    assert_eq!(unhandled.len(), 1);
    assert_eq!(unhandled[0].event, "sync_lagged");

    let coordination = Coordination::builder().build().expect("builds");
    assert!(coordination.bootstrap().await.is_ok());
    coordination
        .publish(OperatorRequest { what: "sync".into() })
        .await;
    let counts = coordination.events().counts();
    assert_eq!(counts["operator_request"].delivered, 1);
    // Published by the handler with nobody to take it: counted as orphaned.
    assert_eq!(counts["sync_lagged"].orphaned, 1);
}
