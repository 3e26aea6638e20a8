//! The main job end to end: `training_pipeline --duration` runs and stops by
//! itself, and `status` from a second process sees it running, then ended.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The example binary `cargo test` builds next to this test's directory.
fn example() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary");
    path.pop(); // the test binary
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples")
        .join(format!("training_pipeline{}", std::env::consts::EXE_SUFFIX))
}

fn status(data_dir: &std::path::Path) -> (bool, String) {
    let output = Command::new(example())
        .arg("status")
        .env("COORD_DATA_DIR", data_dir)
        .output()
        .expect("status runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn status_from_another_process_sees_the_run_then_its_end() {
    let data_dir = std::env::temp_dir().join(format!("coord-main-job-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut run = Command::new(example())
        .args(["--duration", "3"])
        .env("COORD_DATA_DIR", &data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the main job starts");
    let mut stdout = run.stdout.take().expect("piped");
    // The live view redraws one line with '\r'; its first full line means
    // every daemon's state has been recorded once.
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("auto_promotion=ready") {
        if stdout.read(&mut byte).expect("read") == 0 {
            panic!(
                "the main job ended early: {}",
                String::from_utf8_lossy(&seen)
            );
        }
        seen.push(byte[0]);
    }
    let (ok, text) = status(&data_dir);
    assert!(ok, "{text}");
    assert!(text.contains(": running"), "{text}");
    assert!(text.contains("auto_sync"), "{text}");

    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read");
    assert!(run.wait().expect("exits").success(), "{rest}");
    assert!(rest.contains("summary (\"duration elapsed\")"), "{rest}");
    assert!(
        rest.contains("daemons stopped in order: auto_sync"),
        "{rest}"
    );
    let (ok, text) = status(&data_dir);
    assert!(ok, "{text}");
    assert!(text.contains("ended: clean"), "{text}");
}

#[test]
fn an_unknown_argument_is_an_error_with_the_usage() {
    let output = Command::new(example())
        .arg("stauts")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown argument 'stauts'"), "{stderr}");
    assert!(stderr.contains("usage: training_pipeline"), "{stderr}");
}
