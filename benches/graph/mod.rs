//! Dependency graphs the benchmarks share: random DAGs from a fixed seed.

/// Most dependencies one generated node has.
pub const MAX_DEPS: usize = 4;

/// A small deterministic generator; the graph must be the same in every run.
pub struct XorShift(pub u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Dependencies of each node: up to [`MAX_DEPS`] distinct earlier nodes, chosen uniformly.
pub fn random_dag(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = XorShift(seed);
    (0..n)
        .map(|i| {
            let want = rng.below(MAX_DEPS + 1).min(i);
            let mut deps = Vec::with_capacity(want);
            while deps.len() < want {
                let d = rng.below(i);
                if !deps.contains(&d) {
                    deps.push(d);
                }
            }
            deps.sort_unstable();
            deps
        })
        .collect()
}
