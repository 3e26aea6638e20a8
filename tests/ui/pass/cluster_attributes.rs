// Cluster attributes in the spellings users write: a full path to the
// attribute, the flags before and after other keys.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    Promotion,
    Sync,
    Report,
    Audit,
    Ledger,
}

#[daemon(DaemonType::Promotion, singleton, runner = promote, restart = always)]
pub struct Promotion;

#[daemon(DaemonType::Sync, runner = promote)]
pub struct SyncDaemon;

#[daemon(DaemonType::Report, runner = promote, singleton = true)]
pub struct Report;

#[daemon(DaemonType::Audit, runner = promote, singleton = false)]
pub struct Audit;

macro_rules! singleton_daemon {
    ($variant:path, $name:ident, $flag:path) => {
        #[daemon($variant, runner = promote, $flag)]
        pub struct $name;
    };
}

singleton_daemon!(DaemonType::Ledger, Ledger, singleton);

async fn promote(ctx: DaemonContext) -> Result<(), BoxError> {
    assert_eq!(ctx.fencing_token(), None, "no token outside a cluster");
    ctx.ready();
    Ok(())
}

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(distributed, name = "model_promoted")]
pub struct ModelPromoted {
    pub model: String,
}

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LocalOnly;

#[coordinator]
pub struct Uploads;

impl Coordinator for Uploads {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Uploads {
    #[coord::subscribe(once)]
    async fn upload(&self, _event: &ModelPromoted) -> Result<(), BoxError> {
        Ok(())
    }

    #[subscribe]
    async fn count(&self, _event: &ModelPromoted) -> Result<(), BoxError> {
        Ok(())
    }
}

// The same flags passed through `macro_rules!` fragments (a `path`
// fragment arrives wrapped in an invisible group).
macro_rules! distributed_event {
    ($name:ident, $flag:path) => {
        #[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
        #[event($flag)]
        pub struct $name;
    };
}

distributed_event!(FromMacro, distributed);

macro_rules! once_handler {
    ($coordinator:ident, $event:ty, $scope:path) => {
        #[coordinator]
        pub struct $coordinator;

        impl Coordinator for $coordinator {
            async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                Ok(Self)
            }
        }

        #[subscriptions]
        impl $coordinator {
            #[subscribe($scope)]
            async fn handle(&self, _event: &$event) -> Result<(), BoxError> {
                Ok(())
            }
        }
    };
}

once_handler!(MacroUploads, FromMacro, once);

fn main() {
    assert!(<FromMacro as coord::Event>::DISTRIBUTED);
    assert!(<ModelPromoted as coord::Event>::DISTRIBUTED);
    assert!(!<LocalOnly as coord::Event>::DISTRIBUTED);
    let registry = coord::registry();
    let singleton = |name: &str| {
        registry
            .daemon(name)
            .map(|spec| coord::DaemonConfig::default().with_options(&spec.options).singleton)
            .expect("registered")
    };
    assert!(singleton("promotion"));
    assert!(!singleton("sync"));
    assert!(singleton("report"));
    assert!(!singleton("audit"));
    assert!(singleton("ledger"));
}
