// Two enums named `DaemonType` in different modules, each fully registered,
// and two coordinators named `Store`: every lookup finds its own item, and
// the coordinators' colliding runtime names are qualified by module path.
use coord::prelude::*;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

pub mod ingest {
    use coord::prelude::*;

    #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DaemonType {
        Reader,
        Parser,
    }

    #[daemon(DaemonType::Reader, runner = crate::run)]
    pub struct Reader;

    #[daemon(DaemonType::Parser, runner = crate::run, depends_on = [DaemonType::Reader])]
    pub struct Parser;

    #[coordinator]
    pub struct Store;

    impl Coordinator for Store {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

pub mod export {
    use coord::prelude::*;

    #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DaemonType {
        Writer,
    }

    #[daemon(DaemonType::Writer, runner = crate::run)]
    pub struct Writer;

    #[coordinator(depends_on = [crate::ingest::Store])]
    pub struct Store;

    impl Coordinator for Store {
        async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            let _ingest = ctx.dep::<crate::ingest::Store>();
            Ok(Self)
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    coord::validate_registry().expect("valid");
    let registry = coord::registry();
    assert_eq!(
        registry.daemon_of(ingest::DaemonType::Parser).map(|d| d.name),
        Some("parser")
    );
    assert_eq!(
        registry.daemon_of(export::DaemonType::Writer).map(|d| d.name),
        Some("writer")
    );
    assert_eq!(registry.daemon_kinds().count(), 2);
    let ingest = registry.coordinator_of::<ingest::Store>().expect("registered");
    let export = registry.coordinator_of::<export::Store>().expect("registered");
    assert!(ingest.name.ends_with("::ingest::store"), "{}", ingest.name);
    assert!(export.name.ends_with("::export::store"), "{}", export.name);
    assert_eq!(export.depends_on, [ingest.name]);
    // A unique suffix finds one; the bare name is ambiguous and lists both.
    assert_eq!(registry.coordinator("export::store").map(|c| c.name), Ok(export.name));
    let ambiguous = registry.coordinator("store").expect_err("two stores");
    assert_eq!(ambiguous.valid.len(), 2);

    let coordination = Coordination::builder()
        .enable(["export::store"])
        .build()
        .expect("builds");
    let report = coordination.bootstrap().await;
    assert_eq!(report.status.initialized_coordinators, [ingest.name, export.name]);
}
