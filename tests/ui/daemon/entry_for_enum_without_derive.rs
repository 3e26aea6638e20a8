// Entries for an enum that does not derive DaemonType: without a dependency
// (which used to compile and never start) and with one.
use coord::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workers {
    Ingest,
    Export,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(Workers::Ingest, runner = run)]
pub struct Ingest;

#[daemon(Workers::Export, runner = run, depends_on = [Workers::Ingest])]
pub struct Export;

fn main() {}
