//! Messages to stderr that survive a closed stderr.

/// Writes `text` to stderr, ignoring failure: a closed or full stderr must
/// never turn a message into a panic (`eprintln!` would).
pub(crate) fn write_stderr(text: &str) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}
