// Every spelling that names an item reaches the same item, and behaves like
// the canonical one: `use ... as`, type aliases, `crate::`/`self::`/`super::`
// paths, `macro_rules!` fragments ($x:path, $x:ty, $x:ident), items in nested
// modules and in a function body, and `#[subscriptions]` on an alias; an
// event declared in `publishes` under one spelling and published under another.
use std::sync::atomic::{AtomicUsize, Ordering};

use coord::prelude::*;

pub mod kinds {
    use coord::prelude::*;

    #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DaemonType {
        EventRouter,
        DataPipeline,
        FeedbackLoop,
        AutoSync,
        Evaluation,
        r#Type,
    }
}

use kinds::DaemonType as Kind;
type KindAlias = kinds::DaemonType;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

macro_rules! by_path {
    ($variant:path, $name:ident, [$($dep:path),*]) => {
        #[daemon($variant, runner = run, depends_on = [$($dep),*])]
        pub struct $name;
    };
}

macro_rules! by_ident {
    ($kind:ident, $variant:ident, $name:ident) => {
        #[daemon($kind::$variant, runner = crate::run, depends_on = [$kind::EventRouter])]
        pub struct $name;
    };
}

#[daemon(Kind::EventRouter, runner = run)]
pub struct EventRouter;

by_path!(KindAlias::DataPipeline, DataPipeline, [crate::kinds::DaemonType::EventRouter]);
by_ident!(Kind, FeedbackLoop, FeedbackLoop);

mod deeper {
    pub mod sync {
        use coord::prelude::*;

        #[daemon(super::super::Kind::AutoSync, runner = crate::run,
                 depends_on = [self::super::super::KindAlias::DataPipeline, crate::Kind::FeedbackLoop],
                 soft_depends_on = [super::super::kinds::DaemonType::Evaluation])]
        pub struct AutoSync;
    }
}

#[daemon(kinds::DaemonType::Evaluation, runner = evaluate, depends_on = [Kind::EventRouter],
         publishes = [TrainedAlias])]
pub struct Evaluation;

/// Declared as `TrainedAlias`, published as `Trained`: one type.
async fn evaluate(ctx: DaemonContext<Evaluation>) -> Result<(), BoxError> {
    ctx.ready();
    ctx.publish(Trained { loss: 0.1 }).await;
    ctx.cancelled().await;
    Ok(())
}

fn register_in_a_function_body() {
    #[daemon(Kind::r#Type, runner = run)]
    struct TypeDaemon;
}

pub mod stores {
    use coord::prelude::*;

    #[coordinator]
    pub struct Store;

    impl Coordinator for Store {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

use stores::Store as Storage;
type StoreAlias = stores::Store;

macro_rules! coordinator_over {
    ($dep:ty, $name:ident) => {
        #[coordinator(depends_on = [$dep])]
        pub struct $name;

        impl Coordinator for $name {
            async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                let _store = ctx.dep::<$dep>();
                Ok(Self)
            }
        }
    };
}

coordinator_over!(StoreAlias, Trainer);

#[coordinator(depends_on = [Storage, self::Trainer], publishes = [crate::events::Renamed])]
pub struct Promoter {
    events: Publisher<Self>,
}

impl Coordinator for Promoter {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _store = ctx.dep::<stores::Store>();
        let _trainer = ctx.dep::<crate::Trainer>();
        Ok(Self {
            events: ctx.publisher(),
        })
    }
}

pub mod events {
    pub use crate::Trained as Renamed;
}
type TrainedAlias = Trained;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Trained {
    pub loss: f64,
}

static HANDLED: AtomicUsize = AtomicUsize::new(0);

#[subscriptions]
impl StoreAlias {
    #[subscribe]
    async fn on_trained(&self, _event: &Trained) -> Result<(), BoxError> {
        HANDLED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

macro_rules! subscriptions_on {
    ($coordinator:ty) => {
        #[subscriptions]
        impl $coordinator {
            #[subscribe]
            async fn on_trained(&self, _event: &crate::Trained) -> Result<(), BoxError> {
                HANDLED.fetch_add(10, Ordering::SeqCst);
                Ok(())
            }
        }
    };
}

subscriptions_on!(crate::Trainer);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    register_in_a_function_body();
    coord::validate_registry().expect("every spelling registers the same items");
    let order = coord::startup_order().expect("acyclic");
    assert_eq!(
        order.levels(),
        &[
            vec!["event_router", "type"],
            vec!["data_pipeline", "feedback_loop", "evaluation"],
            vec!["auto_sync"],
        ]
    );
    let registry = coord::registry();
    let sync = registry.daemon_of(Kind::AutoSync).expect("registered");
    assert_eq!(sync.name, "auto_sync");
    assert_eq!(sync.kind, "DaemonType");
    assert_eq!(sync.depends_on, ["data_pipeline", "feedback_loop"]);
    assert_eq!(sync.soft_depends_on, ["evaluation"]);
    assert_eq!(
        registry.daemon_of(KindAlias::r#Type).map(|d| d.name),
        Some("type")
    );
    assert_eq!("type".parse::<Kind>(), Ok(Kind::r#Type));
    assert_eq!(
        registry.coordinator_of::<StoreAlias>().map(|c| c.name),
        Some("store")
    );
    assert_eq!(
        registry.coordinator_of::<Promoter>().map(|c| c.depends_on),
        Some(&["store", "trainer"][..])
    );

    let coordination = Coordination::builder().build().expect("builds");
    assert!(coordination.bootstrap().await.is_ok());
    let mut handlers: Vec<String> = coordination
        .subscription_status()
        .into_iter()
        .map(|s| {
            assert!(s.wired, "{s:?}");
            s.handler.to_owned()
        })
        .collect();
    handlers.sort();
    assert_eq!(handlers, ["Store::on_trained", "Trainer::on_trained"]);
    coordination.publish(Trained { loss: 0.5 }).await;
    assert_eq!(HANDLED.load(Ordering::SeqCst), 11);
    let promoter = coordination.get::<Promoter>().expect("initialised");
    promoter.events.publish(events::Renamed { loss: 0.2 }).await;
    assert_eq!(HANDLED.load(Ordering::SeqCst), 22);

    // One event type under three spellings: one row, both publishers.
    let wiring = coord::event_wiring();
    assert_eq!(wiring.len(), 1, "{wiring:?}");
    assert_eq!(wiring[0].event, "trained");
    assert_eq!(wiring[0].publishers, ["evaluation", "promoter"]);
    assert_eq!(wiring[0].handlers, ["Store::on_trained", "Trainer::on_trained"]);
}
