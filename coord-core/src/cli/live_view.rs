//! The live view `run` shows on a terminal: the daemons' states in a status
//! area at the bottom of stderr, redrawn in place, with log lines printed
//! above it. Off a terminal there is none (the log and `status` tell).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::daemons::DaemonStatus;

/// The status area, while `run` runs on a terminal.
pub(super) struct LiveView {
    area: Option<ProgressBar>,
}

impl LiveView {
    pub(super) fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { area: None };
        }
        let area = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        area.set_style(
            ProgressStyle::with_template("{spinner} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        area.enable_steady_tick(Duration::from_millis(250));
        crate::logging::set_live_area(Some(area.clone()));
        Self { area: Some(area) }
    }

    pub(super) fn show(&mut self, statuses: &[DaemonStatus]) {
        if let Some(area) = &self.area {
            let line = statuses
                .iter()
                .map(|s| format!("{}={}", s.name, s.state))
                .collect::<Vec<_>>()
                .join(" ");
            area.set_message(line);
        }
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        if let Some(area) = self.area.take() {
            crate::logging::set_live_area(None);
            area.finish_and_clear();
        }
    }
}
