//! The live view `run` prints: one line of daemon states.

use std::io::{IsTerminal, Write};

use crate::daemons::DaemonStatus;

/// One line of daemon states: redrawn in place on a terminal; elsewhere
/// (a pipe, a log) written again only when it changes.
pub(super) struct LiveView {
    terminal: bool,
    last: String,
}

impl LiveView {
    pub(super) fn new() -> Self {
        Self {
            terminal: std::io::stdout().is_terminal(),
            last: String::new(),
        }
    }

    pub(super) fn show(&mut self, statuses: &[DaemonStatus]) {
        let line = statuses
            .iter()
            .map(|s| format!("{}={}", s.name, s.state))
            .collect::<Vec<_>>()
            .join(" ");
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the service: the view is a convenience.
        let _ = if self.terminal {
            write!(out, "\r{line}\x1b[K").and_then(|()| out.flush())
        } else if line != self.last {
            writeln!(out, "{line}")
        } else {
            Ok(())
        };
        self.last = line;
    }
}
