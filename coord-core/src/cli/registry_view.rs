//! Commands that read the registry linked into this binary: `order`,
//! `validate`, `graph`. They need no state store and no running service.

use std::fmt::Write as _;

use super::{App, CliError, GraphFormat};
use crate::events::subscription_specs;
use crate::order::StartupOrder;
use crate::registry::{registry, validate_registry};

/// Prints the startup order of daemons and coordinators, level by level.
pub(super) fn order(out: &mut String) -> Result<bool, CliError> {
    let registry = registry();
    let (daemons, coordinators) = match (registry.startup_order(), registry.coordinator_order()) {
        (Ok(d), Ok(c)) => (d, c),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: {error}");
            return Ok(false);
        }
    };
    say!(
        out,
        "daemons (a level starts together, once the level above is ready):"
    );
    print_levels(&daemons, out);
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

/// Checks the registry and builds the service's coordination; prints what it found.
pub(super) fn validate(app: &App, out: &mut String) -> bool {
    let mut ok = true;
    match validate_registry() {
        Ok(()) => {
            let registry = registry();
            say!(
                out,
                "registry ok: {} daemons ({} DaemonType enums), {} coordinators, {} subscriptions",
                registry.daemons().len(),
                registry.daemon_kinds().len(),
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
    // configuration (code or environment), so they are only known now.
    match app.build() {
        Ok(_) => say!(out, "configuration ok"),
        Err(error) => {
            say!(out, "configuration invalid: {error}");
            ok = false;
        }
    }
    ok
}

/// The graph of daemons and coordinators; an edge points from a dependent to
/// what it depends on, dashed when the dependency is soft.
pub(super) fn graph(format: GraphFormat) -> String {
    let registry = registry();
    let mut out = String::new();
    // Ids carry a prefix: a daemon and a coordinator may share a name.
    let daemon_id = |name: &str| format!("d_{name}");
    let coordinator_id = |name: &str| format!("c_{name}");
    match format {
        GraphFormat::Dot => {
            out.push_str("digraph coord {\n  rankdir=BT;\n");
            out.push_str("  subgraph cluster_coordinators {\n    label=\"coordinators\";\n");
            for c in registry.coordinators() {
                let _ = writeln!(
                    out,
                    "    {} [label=\"{}\", shape=ellipse];",
                    coordinator_id(c.name),
                    c.name
                );
            }
            out.push_str("  }\n  subgraph cluster_daemons {\n    label=\"daemons\";\n");
            for d in registry.daemons() {
                let _ = writeln!(
                    out,
                    "    {} [label=\"{}\", shape=box];",
                    daemon_id(d.name),
                    d.name
                );
            }
            out.push_str("  }\n");
            for c in registry.coordinators() {
                for dep in c.depends_on {
                    let _ = writeln!(
                        out,
                        "  {} -> {};",
                        coordinator_id(c.name),
                        coordinator_id(dep)
                    );
                }
            }
            for d in registry.daemons() {
                for dep in d.depends_on {
                    let _ = writeln!(out, "  {} -> {};", daemon_id(d.name), daemon_id(dep));
                }
                for dep in d.soft_depends_on {
                    let _ = writeln!(
                        out,
                        "  {} -> {} [style=dashed, label=\"soft\"];",
                        daemon_id(d.name),
                        daemon_id(dep)
                    );
                }
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("flowchart BT\n  subgraph coordinators\n");
            for c in registry.coordinators() {
                let _ = writeln!(out, "    {}([{}])", coordinator_id(c.name), c.name);
            }
            out.push_str("  end\n  subgraph daemons\n");
            for d in registry.daemons() {
                let _ = writeln!(out, "    {}[{}]", daemon_id(d.name), d.name);
            }
            out.push_str("  end\n");
            for c in registry.coordinators() {
                for dep in c.depends_on {
                    let _ = writeln!(
                        out,
                        "  {} --> {}",
                        coordinator_id(c.name),
                        coordinator_id(dep)
                    );
                }
            }
            for d in registry.daemons() {
                for dep in d.depends_on {
                    let _ = writeln!(out, "  {} --> {}", daemon_id(d.name), daemon_id(dep));
                }
                for dep in d.soft_depends_on {
                    let _ = writeln!(
                        out,
                        "  {} -. soft .-> {}",
                        daemon_id(d.name),
                        daemon_id(dep)
                    );
                }
            }
        }
    }
    out
}
