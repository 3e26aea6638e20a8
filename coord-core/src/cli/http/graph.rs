//! The dependency graph as SVG, drawn by coord: coordinators above daemons,
//! each in levels from left to right (a level starts once the one before it
//! is ready), hard edges solid, soft edges dashed; then the event flow,
//! publishers -> event -> handlers.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::cli::timeline::escape;
use crate::coordination::event_wiring;
use crate::registry::registry;

const BOX_W: usize = 190;
const BOX_H: usize = 26;
const GAP_X: usize = 70;
const GAP_Y: usize = 12;

/// One item to place: its name, level and dependencies (hard, soft).
struct Item {
    name: &'static str,
    level: usize,
    deps: Vec<(&'static str, bool)>,
}

/// The graph of every registered coordinator and daemon.
pub(super) fn dependency_svg() -> String {
    let registry = registry();
    let mut sections: Vec<(&str, Vec<Item>)> = Vec::new();
    if let Ok(order) = registry.coordinator_order() {
        let items = registry
            .coordinators()
            .iter()
            .map(|c| Item {
                name: c.name,
                level: order.level_of(c.name).unwrap_or(0),
                deps: c.depends_on.iter().map(|d| (*d, true)).collect(),
            })
            .collect();
        sections.push(("coordinators", items));
    }
    if let Ok(order) = registry.startup_order() {
        let items = registry
            .daemons()
            .iter()
            .map(|d| Item {
                name: d.name,
                level: order.level_of(d.name).unwrap_or(0),
                deps: d
                    .depends_on
                    .iter()
                    .map(|n| (*n, true))
                    .chain(d.soft_depends_on.iter().map(|n| (*n, false)))
                    .collect(),
            })
            .collect();
        sections.push(("daemons", items));
    }
    let mut body = String::new();
    let mut top = 10;
    let mut width = 0;
    for (title, items) in &sections {
        let _ = writeln!(
            body,
            r##"<text x="10" y="{}" font-weight="bold" fill="#333">{title}</text>"##,
            top + 14
        );
        top += 24;
        let mut per_level: HashMap<usize, usize> = HashMap::new();
        let mut place: HashMap<&str, (usize, usize)> = HashMap::new();
        for item in items {
            let row = per_level.entry(item.level).or_default();
            let x = 10 + item.level * (BOX_W + GAP_X);
            let y = top + *row * (BOX_H + GAP_Y);
            *row += 1;
            place.insert(item.name, (x, y));
            width = width.max(x + BOX_W + 10);
        }
        // Edges first, so boxes are drawn over them.
        for item in items {
            let Some(&(x, y)) = place.get(item.name) else {
                continue;
            };
            for (dep, hard) in &item.deps {
                let Some(&(dx, dy)) = place.get(dep) else {
                    continue;
                };
                let dash = if *hard {
                    ""
                } else {
                    r#" stroke-dasharray="5,4""#
                };
                let _ = writeln!(
                    body,
                    r##"<line class="edge {}" x1="{}" y1="{}" x2="{x}" y2="{}" stroke="#888"{dash} marker-end="url(#arrow)"/>"##,
                    if *hard { "hard" } else { "soft" },
                    dx + BOX_W,
                    dy + BOX_H / 2,
                    y + BOX_H / 2
                );
            }
        }
        for item in items {
            let (x, y) = place[item.name];
            let _ = writeln!(
                body,
                r##"<g class="node" data-name="{name}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="#eef3fb" stroke="#4c78a8"/><text x="{}" y="{}" fill="#222">{name}</text></g>"##,
                x + 8,
                y + 17,
                name = escape(item.name)
            );
        }
        let rows = per_level.values().copied().max().unwrap_or(0);
        top += rows * (BOX_H + GAP_Y) + 16;
    }
    // Event flow under the graph: one line per event, as `events` prints it.
    let wiring = event_wiring();
    if !wiring.is_empty() {
        let _ = writeln!(
            body,
            r##"<text x="10" y="{}" font-weight="bold" fill="#333">events (publishers -> event -> handlers)</text>"##,
            top + 14
        );
        top += 24;
        for row in &wiring {
            let line = format!(
                "{} -> {} -> {}",
                row.publishers_label(),
                row.event,
                row.handlers_label()
            );
            let _ = writeln!(
                body,
                r##"<text class="event-flow" data-event="{}" x="10" y="{}" fill="#222">{}</text>"##,
                escape(row.event),
                top + 12,
                escape(&line)
            );
            // About 7 px per character at this font size.
            width = width.max(20 + line.len() * 7);
            top += 18;
        }
        top += 8;
    }
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{top}" viewBox="0 0 {w} {top}" font-family="sans-serif" font-size="12">"#,
        w = width.max(300)
    );
    svg.push_str(
        r##"<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker></defs>"##,
    );
    svg.push('\n');
    svg.push_str(&body);
    svg.push_str("</svg>\n");
    svg
}
