//! The compile-time checks: each `tests/ui/*.rs` is a mistake a user can make
//! and its `.stderr` is the reviewed error; `pass_*.rs` must build and run.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    let mut failing: Vec<_> = std::fs::read_dir("tests/ui")
        .expect("tests/ui exists")
        .map(|entry| entry.expect("readable tests/ui entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pass_"))
        })
        .collect();
    failing.sort();
    assert!(
        failing.len() >= 14,
        "one case per mistake: found {}",
        failing.len()
    );
    for case in failing {
        cases.compile_fail(case);
    }
    cases.pass("tests/ui/pass_*.rs");
}
