//! Two enums with a same-named variant: both compile (each enum is fine on
//! its own), and the run time refuses the pair the way `validate` does.

use coord::prelude::*;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

mod ingest {
    use coord::prelude::*;

    #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DaemonType {
        Worker,
    }

    #[daemon(DaemonType::Worker, runner = crate::run)]
    pub struct Worker;
}

mod export {
    use coord::prelude::*;

    #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DaemonType {
        Worker,
    }

    #[daemon(DaemonType::Worker, runner = crate::run)]
    pub struct Worker;
}

#[test]
fn build_refuses_what_validate_refuses_with_the_same_message() {
    let problems = coord::validate_registry().expect_err("two daemons named worker");
    assert_eq!(problems.0.len(), 1, "{problems}");
    let problem = problems.0[0].to_string();
    assert!(
        problem.starts_with("[coord::E0101] daemon name 'worker' is used twice: at "),
        "{problem}"
    );
    let refused = Coordination::builder()
        .build()
        .expect_err("the builder refuses the duplicate");
    assert_eq!(refused.to_string(), problem);
    // Each enum still finds its own entry.
    let registry = coord::registry();
    let ingest = registry
        .daemon_of(ingest::DaemonType::Worker)
        .expect("registered");
    let export = registry
        .daemon_of(export::DaemonType::Worker)
        .expect("registered");
    assert!(!std::ptr::eq(ingest, export));
    assert!(
        ingest.location.module_path.ends_with("::ingest"),
        "{}",
        ingest.location.module_path
    );
    assert!(
        export.location.module_path.ends_with("::export"),
        "{}",
        export.location.module_path
    );
}
