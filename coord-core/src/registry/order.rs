//! Dependency levels: a deterministic topological order of a graph.
//!
//! Hard dependencies must be acyclic. A soft dependency only orders the
//! start, so a cycle that contains one is not an error: soft edges are added
//! in declaration order (dependents in the order given, each one's soft
//! dependencies in the order written), and an edge that would close a cycle
//! with the edges kept so far is dropped and reported.

use std::fmt;

/// One item to order: its dependencies by position in the same slice.
#[derive(Debug, Clone)]
pub struct OrderNode<'a> {
    /// The item's name.
    pub name: &'a str,
    /// Positions of hard dependencies.
    pub deps: Vec<usize>,
    /// Positions of soft dependencies (already filtered to present ones).
    pub soft_deps: Vec<usize>,
}

/// One step of a cycle: the item, and whether its edge to the next is soft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleStep {
    /// The item.
    pub name: &'static str,
    /// The edge from this item to the next one is a `soft_depends_on` entry.
    pub soft: bool,
}

/// A soft dependency left out of the order because it closed a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedSoftEdge {
    /// The item that soft-depends.
    pub from: &'static str,
    /// Its soft dependency, which it no longer starts after.
    pub to: &'static str,
    /// The cycle the edge closed, starting with `from`.
    pub cycle: Vec<CycleStep>,
}

impl fmt::Display for DroppedSoftEdge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[coord::E0110] soft dependency cycle: {}; the soft edge {} ~> {} is dropped from the startup order ({} starts without waiting for {})",
            format_cycle(&self.cycle),
            self.from,
            self.to,
            self.from,
            self.to
        )
    }
}

/// `a ~> b -> c -> a`: `~>` for a soft edge.
pub fn format_cycle(cycle: &[CycleStep]) -> String {
    let mut out = String::new();
    for step in cycle {
        out.push_str(step.name);
        out.push_str(if step.soft { " ~> " } else { " -> " });
    }
    if let Some(first) = cycle.first() {
        out.push_str(first.name);
    }
    out
}

/// Items grouped into dependency levels; a level's items may start together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartupOrder {
    levels: Vec<Vec<&'static str>>,
    dropped: Vec<DroppedSoftEdge>,
}

impl StartupOrder {
    /// Levels in order; level 0 has no dependencies.
    pub fn levels(&self) -> &[Vec<&'static str>] {
        &self.levels
    }

    /// Every item, level by level, declaration order within a level.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.levels.iter().flatten().copied()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// The level of `name`, if it is in the order.
    pub fn level_of(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|level| level.contains(&name))
    }

    /// Soft dependencies left out because each closed a cycle.
    pub fn dropped_soft_edges(&self) -> &[DroppedSoftEdge] {
        &self.dropped
    }
}

impl fmt::Display for StartupOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut position = 1;
        for (level, names) in self.levels.iter().enumerate() {
            for name in names {
                writeln!(f, "{position:>3}. {name} (level {level})")?;
                position += 1;
            }
        }
        Ok(())
    }
}

/// Groups `nodes` (given in declaration order) into levels.
///
/// Within a level, items keep their declaration order, so the result depends
/// only on the graph. On a cycle of hard dependencies, returns the cycle's
/// names, first repeated last.
pub fn levels(nodes: &[OrderNode<'static>]) -> Result<StartupOrder, Vec<&'static str>> {
    let hard: Vec<Vec<usize>> = nodes.iter().map(|n| n.deps.clone()).collect();
    if let Some(cycle) = find_cycle(nodes, &hard) {
        return Err(cycle);
    }
    // Kept edges per node; soft ones join one at a time.
    let mut kept = hard;
    let mut soft_kept = vec![Vec::new(); nodes.len()];
    let mut dropped = Vec::new();
    for (from, node) in nodes.iter().enumerate() {
        for &to in &node.soft_deps {
            if kept[from].contains(&to) {
                continue;
            }
            match path(&kept, to, from) {
                Some(back) => dropped.push(DroppedSoftEdge {
                    from: nodes[from].name,
                    to: nodes[to].name,
                    cycle: std::iter::once(CycleStep {
                        name: nodes[from].name,
                        soft: true,
                    })
                    .chain(back.windows(2).map(|w| CycleStep {
                        name: nodes[w[0]].name,
                        soft: soft_kept[w[0]].contains(&w[1]),
                    }))
                    .collect(),
                }),
                None => {
                    kept[from].push(to);
                    soft_kept[from].push(to);
                }
            }
        }
    }
    let mut order = layer(nodes, &kept);
    order.dropped = dropped;
    Ok(order)
}

/// Kahn's algorithm by levels over acyclic `edges` (dependencies per node).
fn layer(nodes: &[OrderNode<'static>], edges: &[Vec<usize>]) -> StartupOrder {
    let mut waiting_on = vec![0usize; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, deps) in edges.iter().enumerate() {
        let mut deps = deps.clone();
        deps.sort_unstable();
        deps.dedup();
        waiting_on[i] = deps.len();
        for dep in deps {
            dependents[dep].push(i);
        }
    }
    let mut current: Vec<usize> = (0..nodes.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut order = StartupOrder::default();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &d in &dependents[i] {
                waiting_on[d] -= 1;
                if waiting_on[d] == 0 {
                    next.push(d);
                }
            }
        }
        next.sort_unstable();
        order
            .levels
            .push(current.iter().map(|&i| nodes[i].name).collect());
        current = next;
    }
    order
}

/// A path of dependency edges from `from` to `to` (both included), if any.
fn path(edges: &[Vec<usize>], from: usize, to: usize) -> Option<Vec<usize>> {
    let mut came_from = vec![usize::MAX; edges.len()];
    let mut queue = std::collections::VecDeque::from([from]);
    came_from[from] = from;
    while let Some(at) = queue.pop_front() {
        if at == to {
            let mut path = vec![to];
            let mut cur = to;
            while cur != from {
                cur = came_from[cur];
                path.push(cur);
            }
            path.reverse();
            return Some(path);
        }
        for &next in &edges[at] {
            if came_from[next] == usize::MAX {
                came_from[next] = at;
                queue.push_back(next);
            }
        }
    }
    None
}

/// A cycle of `edges`, first name repeated last, if there is one.
fn find_cycle(nodes: &[OrderNode<'static>], edges: &[Vec<usize>]) -> Option<Vec<&'static str>> {
    const WHITE: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut color = vec![WHITE; nodes.len()];
    for root in 0..nodes.len() {
        if color[root] != WHITE {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        color[root] = ON_PATH;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            if *edge == edges[node].len() {
                color[node] = DONE;
                stack.pop();
                continue;
            }
            let next = edges[node][*edge];
            *edge += 1;
            match color[next] {
                ON_PATH => {
                    let start = stack.iter().position(|&(n, _)| n == next).unwrap_or(0);
                    let mut cycle: Vec<&'static str> =
                        stack[start..].iter().map(|&(n, _)| nodes[n].name).collect();
                    cycle.push(nodes[next].name);
                    return Some(cycle);
                }
                WHITE => {
                    color[next] = ON_PATH;
                    stack.push((next, 0));
                }
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &'static str, deps: &[usize]) -> OrderNode<'static> {
        OrderNode {
            name,
            deps: deps.to_vec(),
            soft_deps: Vec::new(),
        }
    }

    #[test]
    fn levels_follow_dependencies_and_declaration_order() {
        let nodes = [
            node("router", &[]),
            node("sync", &[2, 3]),
            node("pipeline", &[0]),
            node("feedback", &[0]),
            node("eval", &[]),
        ];
        let order = levels(&nodes).expect("acyclic");
        assert_eq!(
            order.levels(),
            &[
                vec!["router", "eval"],
                vec!["pipeline", "feedback"],
                vec!["sync"]
            ]
        );
        assert_eq!(order.level_of("sync"), Some(2));
        assert!(order.dropped_soft_edges().is_empty());
    }

    #[test]
    fn a_cycle_is_returned_in_full() {
        let nodes = [
            node("a", &[1]),
            node("b", &[2]),
            node("c", &[0]),
            node("d", &[]),
        ];
        let cycle = levels(&nodes).expect_err("cycle");
        assert_eq!(cycle, vec!["a", "b", "c", "a"]);
    }

    #[test]
    fn a_soft_edge_that_closes_a_cycle_is_dropped_and_reported() {
        // The real registry's shape: data_pipeline soft-depends on auto_sync,
        // which hard-depends on data_pipeline.
        let nodes = [
            OrderNode {
                name: "data_pipeline",
                deps: vec![],
                soft_deps: vec![1],
            },
            node("auto_sync", &[0]),
        ];
        let order = levels(&nodes).expect("a soft cycle is not an error");
        assert_eq!(order.levels(), &[vec!["data_pipeline"], vec!["auto_sync"]]);
        let dropped = order.dropped_soft_edges();
        assert_eq!(dropped.len(), 1);
        assert_eq!(
            (dropped[0].from, dropped[0].to),
            ("data_pipeline", "auto_sync")
        );
        assert_eq!(
            format_cycle(&dropped[0].cycle),
            "data_pipeline ~> auto_sync -> data_pipeline"
        );
    }

    #[test]
    fn soft_edges_are_kept_in_declaration_order_until_one_closes_a_cycle() {
        // a ~> b and b ~> a: the first one written (a's) is kept.
        let nodes = [
            OrderNode {
                name: "a",
                deps: vec![],
                soft_deps: vec![1],
            },
            OrderNode {
                name: "b",
                deps: vec![],
                soft_deps: vec![0],
            },
        ];
        let order = levels(&nodes).expect("soft only");
        assert_eq!(order.levels(), &[vec!["b"], vec!["a"]]);
        assert_eq!(
            format_cycle(&order.dropped_soft_edges()[0].cycle),
            "b ~> a ~> b"
        );
    }
}
