//! Commands that read the registry linked into this binary: `order`,
//! `validate`, `graph`. They need no state store and no running service.

use std::path::Path;

use super::{App, CliError, GraphFormat};
use crate::config::ServiceConfig;
use std::any::TypeId;

use crate::coordination::{unhandled_events, validate_registry};
use crate::events::subscription_specs;
use crate::registry::StartupOrder;
use crate::registry::registry;

/// Prints the startup order of daemons and coordinators, level by level.
pub(super) fn order(out: &mut String) -> Result<bool, CliError> {
    let registry = registry();
    let (daemons, coordinators) = match (registry.startup_order(), registry.coordinator_order()) {
        (Ok(d), Ok(c)) => (d, c),
        (Err(error), _) | (_, Err(error)) => {
            crate::util::write_stderr(&format!("error: {error}\n"));
            return Ok(false);
        }
    };
    say!(
        out,
        "daemons (a level starts together, once the level above is ready):"
    );
    print_levels(&daemons, out);
    for dropped in daemons.dropped_soft_edges() {
        say!(out, "  warning: {dropped}");
    }
    say!(
        out,
        "coordinators (a coordinator initialises once its dependencies have):"
    );
    print_levels(&coordinators, out);
    Ok(true)
}

fn print_levels(order: &StartupOrder, out: &mut String) {
    if order.is_empty() {
        say!(out, "  (none)");
    }
    for (level, names) in order.levels().iter().enumerate() {
        say!(out, "  level {level}  {}", names.join(", "));
    }
}

/// Checks the registry and builds the service's coordination; prints what it
/// found. Warnings fail it only when `strict`.
pub(super) fn validate(app: &App, config: Option<&Path>, strict: bool, out: &mut String) -> bool {
    let mut ok = true;
    let mut warnings: Vec<String> = registry()
        .warnings()
        .iter()
        .map(ToString::to_string)
        .collect();
    warnings.extend(unhandled_events().iter().map(ToString::to_string));
    for warning in &warnings {
        say!(out, "warning: {warning}");
    }
    if strict && !warnings.is_empty() {
        say!(
            out,
            "{} warning(s), and --strict fails on warnings",
            warnings.len()
        );
        ok = false;
    }
    match validate_registry() {
        Ok(()) => {
            let registry = registry();
            say!(
                out,
                "registry ok: {} daemons ({} DaemonType enums), {} coordinators, {} subscriptions",
                registry.daemons().len(),
                registry.daemon_kinds().count(),
                registry.coordinators().len(),
                subscription_specs().count()
            );
        }
        Err(problems) => {
            say!(out, "{problems}");
            ok = false;
        }
    }
    // Profiles, enabled names and timeouts come from the application's
    // configuration (code, environment, config file), so they are only known now.
    let built = ServiceConfig::discover(config)
        .map_err(CliError::from)
        .and_then(|config| {
            if let Some(config) = &config {
                say!(out, "config file: {}", config.path.display());
            }
            app.build(config.as_ref())
        });
    match built {
        Ok(_) => say!(out, "configuration ok"),
        Err(error) => {
            say!(out, "configuration invalid: {error}");
            ok = false;
        }
    }
    ok
}

/// A node of the graph: its id (prefixed, as a daemon, a coordinator and an
/// event may share a name), its name, and what it is.
struct Node {
    id: String,
    name: &'static str,
    kind: NodeKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Coordinator,
    Daemon,
    Event,
}

/// An edge from a dependent to what it depends on, or, for event flow, from
/// a publisher to an event and from an event to the coordinator handling it.
struct Edge {
    from: String,
    to: String,
    kind: EdgeKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EdgeKind {
    Hard,
    Soft,
    /// Publisher -> event (`publishes = [...]`).
    Publishes,
    /// Event -> the coordinator whose `#[subscribe]` handler takes it.
    HandledBy,
}

fn nodes_and_edges() -> (Vec<Node>, Vec<Edge>) {
    let registry = registry();
    // Ids are identifiers in both formats; a qualified name has `::` in it.
    let id = |prefix: &str, name: &str| {
        let name: String = name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        format!("{prefix}_{name}")
    };
    let daemon_id = |name: &str| id("d", name);
    let coordinator_id = |name: &str| id("c", name);
    // An event's id carries its type's position: two events may share a name.
    let mut events: Vec<(TypeId, &'static str)> = Vec::new();
    let mut event_id = |type_id: TypeId, name: &'static str| {
        let position = events
            .iter()
            .position(|(t, _)| *t == type_id)
            .unwrap_or_else(|| {
                events.push((type_id, name));
                events.len() - 1
            });
        id("e", &format!("{name}_{position}"))
    };
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for c in registry.coordinators() {
        nodes.push(Node {
            id: coordinator_id(c.name),
            name: c.name,
            kind: NodeKind::Coordinator,
        });
        edges.extend(c.depends_on.iter().map(|dep| Edge {
            from: coordinator_id(c.name),
            to: coordinator_id(dep),
            kind: EdgeKind::Hard,
        }));
        for event in c.publishes {
            edges.push(Edge {
                from: coordinator_id(c.name),
                to: event_id(event.event_type(), event.name),
                kind: EdgeKind::Publishes,
            });
        }
    }
    for d in registry.daemons() {
        nodes.push(Node {
            id: daemon_id(d.name),
            name: d.name,
            kind: NodeKind::Daemon,
        });
        let hard = d.depends_on.iter().map(|dep| (dep, EdgeKind::Hard));
        let soft = d.soft_depends_on.iter().map(|dep| (dep, EdgeKind::Soft));
        edges.extend(hard.chain(soft).map(|(dep, kind)| Edge {
            from: daemon_id(d.name),
            to: daemon_id(dep),
            kind,
        }));
        for event in d.publishes {
            edges.push(Edge {
                from: daemon_id(d.name),
                to: event_id(event.event_type(), event.name),
                kind: EdgeKind::Publishes,
            });
        }
    }
    for spec in subscription_specs() {
        let Some(owner) = registry
            .coordinators()
            .iter()
            .find(|c| c.instance_type() == spec.coordinator_type())
        else {
            continue;
        };
        let edge = Edge {
            from: event_id(spec.event_type(), spec.event()),
            to: coordinator_id(owner.name),
            kind: EdgeKind::HandledBy,
        };
        // Two handlers of one coordinator on one event are one edge.
        if !edges.iter().any(|e| e.from == edge.from && e.to == edge.to) {
            edges.push(edge);
        }
    }
    nodes.extend(events.iter().enumerate().map(|(position, (_, name))| Node {
        id: id("e", &format!("{name}_{position}")),
        name,
        kind: NodeKind::Event,
    }));
    (nodes, edges)
}

/// The graph of daemons and coordinators; an edge points from a dependent to
/// what it depends on, dashed when the dependency is soft.
pub(super) fn graph(format: GraphFormat) -> String {
    let (nodes, edges) = nodes_and_edges();
    let of_kind = |kind: NodeKind| nodes.iter().filter(move |n| n.kind == kind);
    let groups = [
        ("coordinators", NodeKind::Coordinator),
        ("daemons", NodeKind::Daemon),
        ("events", NodeKind::Event),
    ];
    let mut out = String::new();
    match format {
        GraphFormat::Dot => {
            say!(out, "digraph coord {{\n  rankdir=BT;");
            for (label, kind) in groups {
                let shape = match kind {
                    NodeKind::Coordinator => "ellipse",
                    NodeKind::Daemon => "box",
                    NodeKind::Event => "note",
                };
                say!(out, "  subgraph cluster_{label} {{\n    label=\"{label}\";");
                for n in of_kind(kind) {
                    say!(out, "    {} [label=\"{}\", shape={shape}];", n.id, n.name);
                }
                say!(out, "  }}");
            }
            for e in &edges {
                let style = match e.kind {
                    EdgeKind::Hard => "",
                    EdgeKind::Soft => " [style=dashed, label=\"soft\"]",
                    // Event flow runs against the dependency arrows' direction.
                    EdgeKind::Publishes => " [style=dotted, label=\"publishes\", constraint=false]",
                    EdgeKind::HandledBy => {
                        " [style=dotted, label=\"handled by\", constraint=false]"
                    }
                };
                say!(out, "  {} -> {}{style};", e.from, e.to);
            }
            say!(out, "}}");
        }
        GraphFormat::Mermaid => {
            say!(out, "flowchart BT");
            for (label, kind) in groups {
                say!(out, "  subgraph {label}");
                for n in of_kind(kind) {
                    match kind {
                        NodeKind::Coordinator => say!(out, "    {}([{}])", n.id, n.name),
                        NodeKind::Daemon => say!(out, "    {}[{}]", n.id, n.name),
                        NodeKind::Event => say!(out, "    {}{{{{{}}}}}", n.id, n.name),
                    }
                }
                say!(out, "  end");
            }
            for e in &edges {
                let arrow = match e.kind {
                    EdgeKind::Hard => "-->",
                    EdgeKind::Soft => "-. soft .->",
                    EdgeKind::Publishes => "-. publishes .->",
                    EdgeKind::HandledBy => "-. handled by .->",
                };
                say!(out, "  {} {arrow} {}", e.from, e.to);
            }
        }
    }
    out
}
