//! The startup timeline of a run: when each coordinator and daemon began
//! starting and became ready, from the state store; drawn as SVG by `plot`
//! and by the status page, and walked by `critical-chain`.

use std::fmt::Write as _;

use crate::bootstrap::CoordinatorState;
use crate::registry::registry;
use crate::store::{RunRecord, StateStore, StoreError};

/// What a unit of the timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UnitKind {
    Coordinator,
    Daemon,
}

impl UnitKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Coordinator => "coordinator",
            Self::Daemon => "daemon",
        }
    }
}

/// A coordinator or daemon of one run.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub(super) name: String,
    pub(super) kind: UnitKind,
    /// When it began starting, ms since the run started.
    pub(super) started: Option<i64>,
    /// When it became ready, ms since the run started.
    pub(super) ready: Option<i64>,
    pub(super) state: String,
    /// What it waited for: its dependencies, or for a daemon with none, the
    /// coordinator that finished bootstrap last.
    pub(super) deps: Vec<String>,
}

/// Every coordinator, then every daemon, of run `run`.
pub(super) fn startup_units(store: &StateStore, run: &RunRecord) -> Result<Vec<Unit>, StoreError> {
    let origin = run.started_at_ms;
    let registry = registry();
    let coordinators = store.coordinators(run.id)?;
    // Daemons start once bootstrap is over: the coordinator that finished
    // last is what a daemon with no daemon dependency waited for.
    let last_coordinator = coordinators
        .iter()
        .filter_map(|c| Some((c.started_at_ms? + c.duration_ms?, c.name.clone())))
        .max()
        .map(|(_, name)| name);
    let mut units: Vec<Unit> = coordinators
        .iter()
        .map(|c| Unit {
            name: c.name.clone(),
            kind: UnitKind::Coordinator,
            started: c.started_at_ms.map(|t| t - origin),
            ready: (c.state == CoordinatorState::Ready.as_str())
                .then_some(())
                .and_then(|()| Some(c.started_at_ms? + c.duration_ms? - origin)),
            state: c.state.clone(),
            deps: registry
                .coordinator(&c.name)
                .map(|spec| spec.depends_on.iter().map(|d| (*d).to_owned()).collect())
                .unwrap_or_default(),
        })
        .collect();
    for d in store.daemons(run.id)? {
        let mut deps: Vec<String> = registry
            .daemon(&d.name)
            .map(|spec| {
                spec.depends_on
                    .iter()
                    .chain(spec.soft_depends_on)
                    .map(|d| (*d).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        if deps.is_empty() {
            deps.extend(last_coordinator.clone());
        }
        units.push(Unit {
            name: d.name,
            kind: UnitKind::Daemon,
            started: d.first_started_at_ms.map(|t| t - origin),
            ready: d.first_ready_at_ms.map(|t| t - origin),
            state: d.state,
            deps,
        });
    }
    Ok(units)
}

/// `<`, `>`, `&` and quotes escaped, for text and attributes in SVG and HTML.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const ROW: i64 = 22;
const LABEL: i64 = 260;
const WIDTH: i64 = 1000;

/// The timeline as SVG, like `systemd-analyze plot`: one bar per unit from
/// when it began starting to when it became ready (to the end of the run
/// for one that never did), coordinators first, in start order.
pub(super) fn timeline_svg(units: &[Unit], title: &str) -> String {
    let mut rows: Vec<&Unit> = units.iter().collect();
    rows.sort_by_key(|u| {
        (
            u.kind != UnitKind::Coordinator,
            u.started.unwrap_or(i64::MAX),
        )
    });
    let end = rows
        .iter()
        .filter_map(|u| u.ready.or(u.started))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |ms: i64| LABEL + ms * (WIDTH - LABEL - 20) / end;
    let height = 40 + ROW * rows.len() as i64 + 30;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(title));
    let _ = writeln!(
        svg,
        r#"<text x="8" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    // Seconds along the top, a light line each.
    let step = [100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000]
        .into_iter()
        .find(|s| end / s <= 10)
        .unwrap_or(120_000);
    let mut t = 0;
    while t <= end {
        let x = scale(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x}" y1="28" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" fill="#666" text-anchor="middle">{:.1}s</text>"##,
            height - 24,
            height - 10,
            t as f64 / 1000.0
        );
        t += step;
    }
    for (i, unit) in rows.iter().enumerate() {
        let y = 36 + ROW * i as i64;
        let color = match (unit.kind, unit.ready.is_some()) {
            (UnitKind::Coordinator, true) => "#4c78a8",
            (UnitKind::Daemon, true) => "#59a14f",
            (_, false) => "#e15759",
        };
        let _ = writeln!(
            svg,
            r##"<text x="8" y="{}" fill="#222">{} <tspan fill="#888">{}</tspan></text>"##,
            y + 14,
            escape(&unit.name),
            unit.kind.as_str()
        );
        let (Some(start), end_ms) = (unit.started, unit.ready.unwrap_or(end)) else {
            continue;
        };
        let (x0, x1) = (scale(start), scale(end_ms.max(start)));
        let took = match unit.ready {
            Some(ready) => format!(
                "ready at {:.3}s, took {:.3}s",
                ready as f64 / 1000.0,
                (ready - start) as f64 / 1000.0
            ),
            None => format!("never ready ({})", unit.state),
        };
        let _ = writeln!(
            svg,
            r#"<rect class="bar" data-unit="{}" data-kind="{}" x="{x0}" y="{}" width="{}" height="{}" fill="{color}"><title>{}: {}</title></rect>"#,
            escape(&unit.name),
            unit.kind.as_str(),
            y + 3,
            (x1 - x0).max(2),
            ROW - 6,
            escape(&unit.name),
            took
        );
    }
    svg.push_str("</svg>\n");
    svg
}
