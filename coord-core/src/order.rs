//! Dependency levels: a deterministic topological order of a graph.

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

/// Items grouped into dependency levels; a level's items may start together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StartupOrder {
    levels: Vec<Vec<&'static str>>,
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
/// only on the graph. On a cycle, returns the cycle's names, first repeated last.
pub fn levels(nodes: &[OrderNode<'static>]) -> Result<StartupOrder, Vec<&'static str>> {
    let mut waiting_on = vec![0usize; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let mut deps: Vec<usize> = node.deps.iter().chain(&node.soft_deps).copied().collect();
        deps.sort_unstable();
        deps.dedup();
        waiting_on[i] = deps.len();
        for dep in deps {
            dependents[dep].push(i);
        }
    }
    let mut current: Vec<usize> = (0..nodes.len()).filter(|&i| waiting_on[i] == 0).collect();
    let mut order = StartupOrder::default();
    let mut placed = 0;
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
        placed += current.len();
        order
            .levels
            .push(current.iter().map(|&i| nodes[i].name).collect());
        current = next;
    }
    if placed == nodes.len() {
        Ok(order)
    } else {
        Err(find_cycle(nodes, &waiting_on))
    }
}

/// A cycle among the nodes that could not be placed (those still waiting).
fn find_cycle(nodes: &[OrderNode<'static>], waiting_on: &[usize]) -> Vec<&'static str> {
    // Every unplaced node has an unplaced dependency, so following those edges
    // from any unplaced node must revisit one: that stretch is a cycle.
    let Some(mut at) = (0..nodes.len()).find(|&i| waiting_on[i] > 0) else {
        return Vec::new();
    };
    let mut seen_at = vec![usize::MAX; nodes.len()];
    let mut walk = Vec::new();
    while seen_at[at] == usize::MAX {
        seen_at[at] = walk.len();
        walk.push(at);
        let node = &nodes[at];
        match node
            .deps
            .iter()
            .chain(&node.soft_deps)
            .find(|&&d| waiting_on[d] > 0)
        {
            Some(&dep) => at = dep,
            None => return Vec::new(),
        }
    }
    // The walk follows dependency edges; a cycle reads best as "a needs b needs a".
    let mut cycle: Vec<&'static str> = walk[seen_at[at]..].iter().map(|&i| nodes[i].name).collect();
    cycle.push(nodes[at].name);
    cycle
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
}
