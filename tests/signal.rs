//! SIGTERM ends `run_until(shutdown_signal())` gracefully. In its own test
//! binary: the signal handler it installs is process-wide.

use std::sync::atomic::{AtomicUsize, Ordering};

use coord::prelude::*;
use coord::{BoxFuture, Coordination, DaemonSpec, Location};

static STOPPED: AtomicUsize = AtomicUsize::new(0);

fn runner(ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async move {
        ctx.ready();
        ctx.cancelled().await;
        STOPPED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    })
}

static SIGNAL_DAEMON: DaemonSpec = DaemonSpec {
    name: "signal_daemon",
    kind: "SignalTest",
    variant: "SignalDaemon",
    depends_on: &[],
    soft_depends_on: &[],
    category: None,
    options: coord::DaemonOptions::NONE,
    runner,
    publishes: &[],
    location: Location {
        module_path: module_path!(),
        file: file!(),
        line: line!(),
    },
};

#[tokio::test]
async fn sigterm_stops_a_running_service_gracefully() {
    let coordination = Coordination::builder()
        .coordinators([])
        .daemons([&SIGNAL_DAEMON])
        .build()
        .expect("valid");
    // Listening starts here, before the service does: no window to lose the signal in.
    let signal = coord::shutdown_signal().expect("signal handlers install");
    // The same manager run_until will use: starting it is idempotent.
    let manager = coordination.start_daemon_manager();
    let service = coordination.clone();
    let run = tokio::spawn(async move { service.run_until(signal).await });
    manager
        .wait_for("signal_daemon", |s| s.state.is_ready())
        .await
        .expect("known");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let report = run.await.expect("run completes");
    assert_eq!(report.ended_by, "\"SIGTERM\"");
    assert_eq!(report.daemons_stopped.stopped, ["signal_daemon"]);
    assert_eq!(STOPPED.load(Ordering::SeqCst), 1);
}
