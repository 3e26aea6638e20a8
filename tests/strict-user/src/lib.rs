//! A service written the way strict users write one: coord under another
//! name (`runtime`), the strictest lint sets, aliases, paths and macro
//! fragments. Generated code must never ask for a fix here.
#![forbid(unsafe_code)]
#![deny(
    warnings,
    unreachable_pub,
    missing_docs,
    unused_results,
    rust_2018_idioms,
    unused_qualifications
)]
#![deny(clippy::pedantic)]

use runtime::prelude::DaemonType as Dt;
use runtime::prelude::{
    BoxError, Coordinator, DaemonContext, InitContext, coordinator, daemon, subscriptions,
};

/// The daemons of this service.
#[derive(Dt, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[daemon_type(crate = runtime)]
pub enum Daemons {
    /// Routes events.
    EventRouter,
    /// Moves data.
    DataPipeline,
    /// A variant named with a keyword.
    r#Type,
}

type Alias = Daemons;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

macro_rules! entry {
    ($variant:path, $name:ident $(, $dep:path)*) => {
        /// A daemon's entry.
        #[daemon($variant, runner = run, depends_on = [$($dep),*], crate = runtime)]
        pub struct $name;
    };
}

entry!(Daemons::EventRouter, EventRouter);

mod nested {
    use runtime::prelude::{BoxError, Coordinator, InitContext, coordinator, daemon};

    /// Moves data.
    #[daemon(super::Alias::DataPipeline, runner = crate::run,
             depends_on = [crate::Daemons::EventRouter], crate = ::runtime)]
    pub(crate) struct DataPipeline;

    /// Keeps state.
    #[coordinator(crate = runtime)]
    pub(crate) struct Store;

    impl Coordinator for Store {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

/// A daemon named with a keyword, found through `self::`; it publishes.
#[daemon(self::Daemons::r#Type, runner = train, soft_depends_on = [Alias::DataPipeline],
         publishes = [self::Trained], crate = runtime)]
pub struct RawType;

/// Publishes one `Trained` through the context that names its daemon.
async fn train(ctx: DaemonContext<RawType>) -> Result<(), BoxError> {
    ctx.ready();
    ctx.publish(Trained { loss: 0.5 }).await;
    ctx.cancelled().await;
    Ok(())
}

type StoreAlias = nested::Store;

macro_rules! coordinator_over {
    ($dep:ty, $name:ident) => {
        /// A coordinator over another.
        #[coordinator(depends_on = [$dep], crate = runtime)]
        pub struct $name;

        impl Coordinator for $name {
            async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                let _store = ctx.dep::<$dep>();
                Ok(Self)
            }
        }
    };
}

coordinator_over!(StoreAlias, Pipeline);

/// A model finished training.
#[derive(runtime::Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(crate = runtime)]
pub struct Trained {
    /// Its loss.
    pub loss: f64,
}

#[subscriptions(crate = runtime)]
impl StoreAlias {
    #[runtime::subscribe]
    async fn on_trained(&self, _event: &Trained) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Registers a daemon of an enum declared in a function body.
pub fn register_local() {
    #[derive(Dt, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[daemon_type(crate = runtime)]
    enum Local {
        Only,
    }

    #[daemon(Local::Only, runner = crate::run, crate = runtime)]
    struct Only;
}
