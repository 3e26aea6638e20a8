//! The compile-time checks: each `tests/ui/<category>/*.rs` is a mistake a
//! user can make and its `.stderr` is the reviewed error; `tests/ui/pass/*.rs`
//! must build and run.

use std::path::{Path, PathBuf};

fn cases(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for category in std::fs::read_dir(dir).expect("tests/ui exists") {
        let category = category.expect("readable tests/ui entry").path();
        if !category.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&category).expect("readable category") {
            let path = entry.expect("readable case").path();
            if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_pass(path: &Path) -> bool {
    path.parent().and_then(Path::file_name) == Some("pass".as_ref())
}

#[test]
fn ui() {
    let cases_run = trybuild::TestCases::new();
    let failing: Vec<PathBuf> = cases("tests/ui", "rs")
        .into_iter()
        .filter(|p| !is_pass(p))
        .collect();
    assert!(
        failing.len() >= 40,
        "one case per mistake: found {}",
        failing.len()
    );
    for case in failing {
        cases_run.compile_fail(case);
    }
    cases_run.pass("tests/ui/pass/*.rs");
}

/// What a user sees never names coord's generated items or hidden paths.
#[test]
fn no_snapshot_shows_internals() {
    let mut leaks = Vec::new();
    for snapshot in cases("tests/ui", "stderr") {
        let text = std::fs::read_to_string(&snapshot).expect("readable snapshot");
        for internal in [
            "__coord",
            "__INVENTORY",
            "__private",
            "CoordinatorNode",
            "DependsOn<",
        ] {
            if text.contains(internal) {
                leaks.push(format!("{} shows `{internal}`", snapshot.display()));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}

/// Every error coord writes into a snapshot carries a code the README explains.
#[test]
fn every_code_in_a_snapshot_is_in_the_readme() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let mut missing = Vec::new();
    for snapshot in cases("tests/ui", "stderr") {
        let text = std::fs::read_to_string(&snapshot).expect("readable snapshot");
        for (at, _) in text.match_indices("coord::E") {
            let code = &text[at..(at + "coord::E0000".len()).min(text.len())];
            if !readme.contains(&format!("`{code}`")) {
                missing.push(format!("{code} ({})", snapshot.display()));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "codes not in README.md: {missing:#?}");
}
