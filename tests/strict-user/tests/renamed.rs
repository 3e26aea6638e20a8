//! The strict crate's items are registered and wired as if spelled plainly.

use runtime::Coordination;
use strict_user::{Daemons, Trained};

#[tokio::test]
async fn items_behind_a_renamed_dependency_register_and_wire() {
    strict_user::register_local();
    runtime::validate_registry().expect("valid");
    let registry = runtime::registry();
    assert_eq!(
        registry.daemon_of(Daemons::r#Type).map(|d| d.name),
        Some("type")
    );
    assert_eq!(
        runtime::startup_order().expect("order").levels(),
        &[
            vec!["event_router", "only"],
            vec!["data_pipeline"],
            vec!["type"]
        ]
    );
    let coordination = Coordination::builder().build().expect("builds");
    assert!(coordination.bootstrap().await.is_ok());
    let status = coordination.subscription_status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].handler, "Store::on_trained");
    assert!(status[0].wired);
    coordination.publish(Trained { loss: 0.1 }).await;
    assert_eq!(coordination.events().counts()["trained"].delivered, 1);
}
