//! `events` and `critical-chain`: what the registry declares, with the
//! latest run's figures from the state store when there is one.

use std::collections::BTreeSet;
use std::path::Path;

use super::status::{RunState, latest_run, liveness, open_existing};
use super::timeline::{startup_units, timeline_svg};
use super::{App, CliError};
use crate::coordination::event_wiring;
use crate::error::UnknownName;
use crate::store::{DATABASE_FILE, StateStore};

/// `events`: declared and wired subscriptions, then the latest run's counts.
pub(super) fn events(app: &App, data_dir: &Path, out: &mut String) -> Result<bool, CliError> {
    say!(
        out,
        "event wiring (publishers declared with `publishes = [...]` -> event -> #[subscribe] handlers):"
    );
    let wiring = event_wiring();
    if wiring.is_empty() {
        say!(out, "  (none)");
    }
    for row in &wiring {
        let (publishers, handlers) = (row.publishers_label(), row.handlers_label());
        say!(out, "  {publishers:<28} -> {:<24} -> {handlers}", row.event);
    }
    // The counts need a run; without a store the declared wiring is still useful.
    let Some(store) = StateStore::open_read_only(data_dir)? else {
        say!(
            out,
            "\nno run recorded yet (no state store at {}); counts appear after `{} run`",
            data_dir.join(DATABASE_FILE).display(),
            app.name
        );
        return Ok(true);
    };
    let run = latest_run(&app.name, &store)?;
    let records = store.events(run.id)?;
    say!(
        out,
        "\nrun {} ({}):",
        run.id,
        match liveness(&run, &store).state {
            RunState::Running => "running",
            RunState::Unresponsive => "unresponsive",
            RunState::Ended => "ended",
            RunState::Gone => "process gone",
            RunState::Unknown => "state unknown",
        }
    );
    say!(
        out,
        "  {:<28} {:>9} {:>9} {:>7} {:>8}  handlers",
        "event",
        "published",
        "delivered",
        "failed",
        "orphaned"
    );
    for r in &records {
        say!(
            out,
            "  {:<28} {:>9} {:>9} {:>7} {:>8}  {}",
            r.event,
            r.counts.published,
            r.counts.delivered,
            r.counts.failed,
            r.counts.orphaned,
            if r.handlers.is_empty() {
                "-".to_owned()
            } else {
                r.handlers.join(", ")
            }
        );
    }
    let orphaned: Vec<&str> = records
        .iter()
        .filter(|r| r.counts.orphaned > 0)
        .map(|r| r.event.as_str())
        .collect();
    let unused: Vec<&str> = records
        .iter()
        .filter(|r| !r.handlers.is_empty() && r.counts.published == 0)
        .map(|r| r.event.as_str())
        .collect();
    let show = |list: &[&str]| {
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    };
    say!(
        out,
        "orphaned (published with no subscriber): {}",
        show(&orphaned)
    );
    say!(
        out,
        "unused (subscribed, never published in this run): {}",
        show(&unused)
    );
    Ok(true)
}

/// `critical-chain [NAME]`: from `NAME` (or the unit ready last), each step
/// goes to the dependency that became ready last, as `systemd-analyze critical-chain` does.
pub(super) fn critical_chain(
    app: &App,
    data_dir: &Path,
    name: Option<&str>,
    out: &mut String,
) -> Result<bool, CliError> {
    let store = open_existing(&app.name, data_dir)?;
    let run = latest_run(&app.name, &store)?;
    let units = startup_units(&store, &run)?;
    let find = |name: &str| units.iter().find(|u| u.name == name);
    let target = match name {
        Some(name) => find(name).ok_or_else(|| {
            UnknownName::new(
                "daemon or coordinator",
                name,
                units.iter().map(|u| u.name.clone()),
            )
        })?,
        None => match units
            .iter()
            .filter(|u| u.ready.is_some())
            .max_by_key(|u| u.ready)
        {
            Some(unit) => unit,
            None => {
                say!(out, "nothing became ready in run {}", run.id);
                return Ok(false);
            }
        },
    };
    say!(
        out,
        "The time when a unit became ready is printed after \"@\" (from the start of run {}).",
        run.id
    );
    say!(
        out,
        "The time the unit took to start is printed after \"+\".\n"
    );
    let seconds = |ms: i64| format!("{:.3}s", ms as f64 / 1000.0);
    let mut seen = BTreeSet::new();
    let mut unit = target;
    let mut depth = 0;
    loop {
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}└─", "  ".repeat(depth - 1))
        };
        match unit.ready {
            Some(ready) => {
                let took = unit
                    .started
                    .map(|s| format!(" +{}", seconds(ready - s)))
                    .unwrap_or_default();
                say!(out, "{indent}{} @{}{took}", unit.name, seconds(ready));
            }
            None => say!(out, "{indent}{} (never ready: {})", unit.name, unit.state),
        }
        seen.insert(unit.name.as_str());
        // Next: the dependency that became ready last (a never-ready one first: it is the blocker).
        let next = unit
            .deps
            .iter()
            .filter_map(|d| find(d))
            .filter(|d| !seen.contains(d.name.as_str()))
            .max_by_key(|d| d.ready.map_or(i64::MAX, |r| r));
        match next {
            Some(next) => {
                unit = next;
                depth += 1;
            }
            None => break,
        }
    }
    Ok(target.ready.is_some())
}

/// `plot`: the latest run's startup timeline as SVG on stdout.
pub(super) fn plot(app: &App, data_dir: &Path, out: &mut String) -> Result<bool, CliError> {
    let store = open_existing(&app.name, data_dir)?;
    let run = latest_run(&app.name, &store)?;
    let units = startup_units(&store, &run)?;
    out.push_str(&timeline_svg(
        &units,
        &format!("{} run {}: startup", app.name, run.id),
    ));
    Ok(true)
}
