//! Using more than one core: wherever a bond has dimension 1 the chain is a product of
//! independent MPSs, each with its own orthogonality centre, so gates confined to
//! different segments can run on different threads with every truncation still optimal
//! (each segment's environment is just the boundary bond of dimension 1).
//!
//! This is exactly the situation in a Butterfly with product (angle) input: before layer
//! `k` the state is a product of independent clusters of `2^(k−1)` qubits, contiguous in the
//! bit-reversed layout, so every layer but the last runs on all cores. Per layer, the
//! chain is cut into at most one chunk per thread at bond-1 cuts (balancing estimated
//! work), each chunk becomes a standalone [`Mps`] (tensors moved, not copied), runs its
//! gates, parks its centre at the edge facing the global centre, and is stitched back.
//! Results do not depend on the thread count, up to rounding.

use rayon::prelude::*;

use super::truncation::TruncationStats;
use super::{DenseSites, Mps};
use crate::Simulator;
use bfly_core::circuit::BoundGate;
use bfly_core::error::{Error, Result};

/// Below this largest bond dimension a layer is too cheap to be worth splitting.
const MIN_BOND_FOR_PARALLEL: usize = 8;

/// One standalone piece of the chain, sites `lo..lo + state.n`.
struct Chunk {
    lo: usize,
    state: Mps,
    /// Global qubit of each local qubit.
    global: Vec<usize>,
    gates: Vec<usize>,
    /// Where to leave the local centre: `Some(true)` = last site, `Some(false)` = first
    /// site, `None` = this chunk holds the global centre.
    park_right: Option<bool>,
}

impl Mps {
    /// Apply the mutually commuting `layer` (ops on pairwise disjoint qubits) on several
    /// threads if the chain splits into independent segments with enough work; returns
    /// `false` (having done nothing) otherwise.
    pub(crate) fn apply_layer_in_parallel(
        &mut self,
        layer: &[usize],
        bound: &[BoundGate],
    ) -> Result<bool> {
        let threads = rayon::current_num_threads();
        let n = self.n;
        if threads < 2 || n < 4 || self.max_bond_dimension() < MIN_BOND_FOR_PARALLEL {
            return Ok(false);
        }
        // Segments between bonds of dimension 1.
        let mut starts = vec![0];
        let mut segment_of_site = vec![0; n];
        for (site, segment) in segment_of_site.iter_mut().enumerate().skip(1) {
            if self.sites.bonds[site] == 1 {
                starts.push(site);
            }
            *segment = starts.len() - 1;
        }
        let segments = starts.len();
        if segments < 2 {
            return Ok(false);
        }
        // A gate (and its routing walk) covers the segments between its qubits' sites:
        // merge overlapping ranges into components, which must not be split.
        let mut reach: Vec<usize> = (0..segments).collect(); // furthest segment joined
        let mut gate_segment = Vec::with_capacity(layer.len());
        for &i in layer {
            let segs: Vec<usize> = bound[i]
                .qubits()
                .into_iter()
                .map(|q| segment_of_site[self.site_of_qubit[q]])
                .collect();
            let (a, b) = (
                segs.iter().copied().min().unwrap_or(0),
                segs.iter().copied().max().unwrap_or(0),
            );
            reach[a] = reach[a].max(b);
            gate_segment.push(a);
        }
        let mut component_of = vec![0; segments];
        let mut components: Vec<(usize, usize)> = Vec::new(); // (first, last) segment
        let mut s = 0;
        while s < segments {
            let (first, mut last) = (s, reach[s]);
            let mut t = s;
            while t <= last {
                last = last.max(reach[t]);
                component_of[t] = components.len();
                t += 1;
            }
            components.push((first, last));
            s = last + 1;
        }
        let mut local: Vec<Vec<usize>> = vec![Vec::new(); components.len()];
        for (&i, &seg) in layer.iter().zip(&gate_segment) {
            local[component_of[seg]].push(i);
        }
        // Work estimate per component: gates × (largest bond)³.
        let end_of = |s: usize| if s + 1 < segments { starts[s + 1] } else { n };
        let weight: Vec<f64> = components
            .iter()
            .zip(&local)
            .map(|(&(first, last), gates)| {
                let chi = self.sites.bonds[starts[first]..=end_of(last)]
                    .iter()
                    .copied()
                    .max()
                    .unwrap_or(1) as f64;
                gates.len() as f64 * chi * chi * chi
            })
            .collect();
        let total: f64 = weight.iter().sum();
        let busy = weight.iter().filter(|&&w| w > 0.0).count();
        if busy < 2 || total <= 0.0 {
            return Ok(false);
        }
        // Contiguous chunks of components with about total/threads work each.
        let target = total / threads.min(busy) as f64;
        let mut bounds: Vec<(usize, usize)> = Vec::new(); // (first, last) component
        let (mut first, mut acc) = (0, 0.0);
        for (c, w) in weight.iter().enumerate() {
            acc += w;
            let remaining_chunks = threads.saturating_sub(bounds.len() + 1);
            if acc >= target && remaining_chunks > 0 && c + 1 < components.len() {
                bounds.push((first, c));
                first = c + 1;
                acc = 0.0;
            }
        }
        bounds.push((first, components.len() - 1));
        if bounds.len() < 2 {
            return Ok(false);
        }
        // Cut the chain into standalone states.
        let centre = self.centre;
        let mut chunks: Vec<Chunk> = Vec::with_capacity(bounds.len());
        for &(c0, c1) in &bounds {
            let (lo, hi) = (starts[components[c0].0], end_of(components[c1].1) - 1);
            let gates: Vec<usize> = (c0..=c1).flat_map(|c| local[c].iter().copied()).collect();
            let park_right = if (lo..=hi).contains(&centre) {
                None
            } else {
                Some(hi < centre)
            };
            chunks.push(self.take_chunk(lo, hi, gates, park_right));
        }
        let results: Vec<Result<()>> = chunks
            .par_iter_mut()
            .map(|chunk| chunk.run(bound))
            .collect();
        for chunk in chunks {
            self.put_chunk(chunk);
        }
        for r in results {
            r?;
        }
        Ok(true)
    }

    /// Move sites `lo..=hi` (bond-1 boundaries) out into a standalone state.
    fn take_chunk(
        &mut self,
        lo: usize,
        hi: usize,
        gates: Vec<usize>,
        park_right: Option<bool>,
    ) -> Chunk {
        let len = hi - lo + 1;
        debug_assert!(self.sites.bonds[lo] == 1 && self.sites.bonds[hi + 1] == 1);
        let tensors: Vec<_> = self.sites.tensors[lo..=hi]
            .iter_mut()
            .map(std::mem::take)
            .collect();
        let global = self.qubit_at_site[lo..=hi].to_vec();
        // Sites left of the global centre are left-orthonormal (so the last one, holding
        // a unit-norm piece, is a valid centre), sites right of it right-orthonormal.
        let centre = if self.centre < lo {
            0
        } else if self.centre > hi {
            len - 1
        } else {
            self.centre - lo
        };
        let mut sites = DenseSites::from_tensors(
            tensors,
            self.sites.bonds[lo..=hi + 1].to_vec(),
            self.sites.real,
        );
        sites.work = self.sites.pool.pop().unwrap_or_default();
        let state = Mps {
            n: len,
            sites,
            centre,
            qubit_at_site: (0..len).collect(),
            site_of_qubit: (0..len).collect(),
            home: (0..len).collect(),
            truncation: self.truncation,
            routing: self.routing,
            stats: TruncationStats::new(len),
        };
        Chunk {
            lo,
            state,
            global,
            gates,
            park_right,
        }
    }

    /// Stitch a chunk back in (whatever happened to it, so the state stays whole).
    fn put_chunk(&mut self, mut chunk: Chunk) {
        let lo = chunk.lo;
        let state = &mut chunk.state;
        let len = state.n;
        for (j, t) in state.sites.tensors.iter_mut().enumerate() {
            self.sites.tensors[lo + j] = std::mem::take(t);
        }
        self.sites.bonds[lo + 1..lo + len].copy_from_slice(&state.sites.bonds[1..len]);
        for j in 0..len {
            let q = chunk.global[state.qubit_at_site[j]];
            self.qubit_at_site[lo + j] = q;
            self.site_of_qubit[q] = lo + j;
        }
        self.sites.real &= state.sites.real;
        if chunk.park_right.is_none() {
            self.centre = lo + state.centre;
        }
        let s = &state.stats;
        let g = &mut self.stats;
        g.truncations += s.truncations;
        g.two_site_updates += s.two_site_updates;
        g.swaps += s.swaps;
        g.total_discarded += s.total_discarded;
        g.log_fidelity += s.log_fidelity;
        g.svd_fallbacks += s.svd_fallbacks;
        g.max_bond_reached = g.max_bond_reached.max(s.max_bond_reached);
        for (b, w) in s.discarded_per_bond.iter().enumerate() {
            g.discarded_per_bond[lo + b] += w;
        }
        self.sites.pool.push(std::mem::take(&mut state.sites.work));
    }
}

impl Chunk {
    fn run(&mut self, bound: &[BoundGate]) -> Result<()> {
        let mut local_of = std::collections::HashMap::with_capacity(self.global.len());
        for (j, &q) in self.global.iter().enumerate() {
            local_of.insert(q, j);
        }
        for &i in &self.gates {
            let gate = match bound[i] {
                BoundGate::One { qubit, matrix } => BoundGate::One {
                    qubit: local_of[&qubit],
                    matrix,
                },
                BoundGate::Two { qubits, matrix } => BoundGate::Two {
                    qubits: [local_of[&qubits[0]], local_of[&qubits[1]]],
                    matrix,
                },
            };
            self.state.apply(&gate).map_err(|e| with_op(e, i))?;
        }
        match self.park_right {
            Some(true) => self.state.move_centre_to(self.state.n - 1),
            Some(false) => self.state.move_centre_to(0),
            None => {}
        }
        Ok(())
    }
}

fn with_op(e: Error, op: usize) -> Error {
    match e {
        Error::InvalidInput(message) => Error::InvalidOp { op, message },
        other => other,
    }
}
