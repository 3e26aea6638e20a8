//! Commands that read the registry linked into this binary: `order`,
//! `validate`, `graph`. They need no state store and no running service.

use std::path::Path;

use super::{App, CliError, GraphFormat};
use crate::config::ServiceConfig;
use crate::events::subscription_specs;
use crate::registry::StartupOrder;
use crate::registry::{registry, validate_registry};

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
    let warnings = registry().warnings();
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

/// A node of the graph: its id (prefixed, as a daemon and a coordinator
/// may share a name), its name, and whether it is a coordinator.
struct Node {
    id: String,
    name: &'static str,
    coordinator: bool,
}

/// An edge from a dependent to what it depends on.
struct Edge {
    from: String,
    to: String,
    soft: bool,
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
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for c in registry.coordinators() {
        nodes.push(Node {
            id: coordinator_id(c.name),
            name: c.name,
            coordinator: true,
        });
        edges.extend(c.depends_on.iter().map(|dep| Edge {
            from: coordinator_id(c.name),
            to: coordinator_id(dep),
            soft: false,
        }));
    }
    for d in registry.daemons() {
        nodes.push(Node {
            id: daemon_id(d.name),
            name: d.name,
            coordinator: false,
        });
        let hard = d.depends_on.iter().map(|dep| (dep, false));
        let soft = d.soft_depends_on.iter().map(|dep| (dep, true));
        edges.extend(hard.chain(soft).map(|(dep, soft)| Edge {
            from: daemon_id(d.name),
            to: daemon_id(dep),
            soft,
        }));
    }
    (nodes, edges)
}

/// The graph of daemons and coordinators; an edge points from a dependent to
/// what it depends on, dashed when the dependency is soft.
pub(super) fn graph(format: GraphFormat) -> String {
    let (nodes, edges) = nodes_and_edges();
    let (coordinators, daemons): (Vec<&Node>, Vec<&Node>) =
        nodes.iter().partition(|n| n.coordinator);
    let mut out = String::new();
    match format {
        GraphFormat::Dot => {
            say!(out, "digraph coord {{\n  rankdir=BT;");
            for (label, members, shape) in [
                ("coordinators", &coordinators, "ellipse"),
                ("daemons", &daemons, "box"),
            ] {
                say!(out, "  subgraph cluster_{label} {{\n    label=\"{label}\";");
                for n in members {
                    say!(out, "    {} [label=\"{}\", shape={shape}];", n.id, n.name);
                }
                say!(out, "  }}");
            }
            for e in &edges {
                let style = if e.soft {
                    " [style=dashed, label=\"soft\"]"
                } else {
                    ""
                };
                say!(out, "  {} -> {}{style};", e.from, e.to);
            }
            say!(out, "}}");
        }
        GraphFormat::Mermaid => {
            say!(out, "flowchart BT");
            for (label, members) in [("coordinators", &coordinators), ("daemons", &daemons)] {
                say!(out, "  subgraph {label}");
                for n in members {
                    if n.coordinator {
                        say!(out, "    {}([{}])", n.id, n.name);
                    } else {
                        say!(out, "    {}[{}]", n.id, n.name);
                    }
                }
                say!(out, "  end");
            }
            for e in &edges {
                let arrow = if e.soft { "-. soft .->" } else { "-->" };
                say!(out, "  {} {arrow} {}", e.from, e.to);
            }
        }
    }
    out
}
