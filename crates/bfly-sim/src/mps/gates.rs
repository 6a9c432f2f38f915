//! Gate application: one-qubit gates contract into a site; two-qubit gates become two-site
//! SVD updates at the orthogonality centre, routed along the chain by SWAPs.

use num_complex::Complex64 as C64;

use bfly_core::circuit::gate::unitarity_defect;
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// Gates must be unitary to this tolerance (the circuit IR's own check is 1e-8).
const UNITARITY_TOLERANCE: f64 = 1e-8;

/// Largest bond dimension at which [`Chain::restore_home_if_cheap`](super::Chain::restore_home_if_cheap)
/// reorders the chain.
pub const RESTORE_MAX_BOND: usize = 8;

const ZERO: C64 = C64::new(0.0, 0.0);
const ONE: C64 = C64::new(1.0, 0.0);

/// The SWAP gate.
pub(crate) const SWAP: Mat4 = [
    [ONE, ZERO, ZERO, ZERO],
    [ZERO, ZERO, ONE, ZERO],
    [ZERO, ONE, ZERO, ZERO],
    [ZERO, ZERO, ZERO, ONE],
];

/// `P G P` with `P` = SWAP: the same gate with its two qubits listed the other way round.
pub(crate) fn exchange_qubits(g: &Mat4) -> Mat4 {
    let p = [0, 2, 1, 3];
    let mut out = [[ZERO; 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            out[r][c] = g[p[r]][p[c]];
        }
    }
    out
}

/// `SWAP · G` (apply `G`, then exchange the two sites' contents).
pub(crate) fn then_swap(g: &Mat4) -> Mat4 {
    [g[0], g[2], g[1], g[3]]
}

/// Bind `circuit`'s ops and group them into layers: maximal runs of consecutive ops on
/// pairwise disjoint qubits (shared by the dense and U(1) MPS engines). Errors name the op.
pub(crate) fn bind_in_layers(
    circuit: &Circuit,
    values: &Parameters,
    n: usize,
) -> Result<(Vec<BoundGate>, Vec<Vec<usize>>)> {
    let bound: Vec<BoundGate> = circuit
        .ops
        .iter()
        .enumerate()
        .map(|(i, g)| g.bind(i, values))
        .collect::<Result<_>>()?;
    // Layers: maximal runs of consecutive ops on pairwise disjoint qubits. (Grouping
    // only consecutive ops, rather than ASAP layering of the whole dependency graph,
    // keeps the circuit's coarse structure: a data loader still finishes before the
    // network it feeds starts, so the layout can be restored in between.)
    let mut busy = vec![false; n];
    let mut layers: Vec<Vec<usize>> = vec![Vec::new()];
    for (i, g) in bound.iter().enumerate() {
        let qubits = g.qubits();
        if let Some(&q) = qubits.iter().find(|&&q| q >= n) {
            return Err(Error::QubitOutOfRange {
                op: i,
                gate: circuit.ops[i].name().into(),
                qubit: q,
                n_qubits: n,
            });
        }
        if qubits.iter().any(|&q| busy[q]) {
            for &j in layers.last().expect("non-empty") {
                for q in bound[j].qubits() {
                    busy[q] = false;
                }
            }
            layers.push(Vec::new());
        }
        for &q in &qubits {
            busy[q] = true;
        }
        layers.last_mut().expect("non-empty").push(i);
    }
    Ok((bound, layers))
}

/// A chain whose two-qubit gates are routed by SWAPs: what the walk and the layer order
/// need from the [`Chain`](super::Chain) (both engines), kept as a trait so the routing
/// logic reads on its own.
pub(crate) trait SwapChain {
    /// `(qubit_at_site, site_of_qubit)`: the current layout and its inverse.
    fn layout(&self) -> (&[usize], &[usize]);
    /// The same, writable (kept mutually inverse by [`SwapChain::exchange`]).
    fn layout_mut(&mut self) -> (&mut [usize], &mut [usize]);
    /// The initial layout (`qubit_at_site`), which [`SwapChain::restore_home`] returns to.
    fn home_layout(&self) -> &[usize];
    /// The orthogonality centre.
    fn centre_site(&self) -> usize;
    /// The routing policy.
    fn routing_policy(&self) -> super::Routing;
    /// The largest bond dimension now, and the truncation's cap χ.
    fn bond_and_cap(&self) -> (usize, usize);
    /// Apply `g` (site order) to sites `i`, `i + 1`, centre ending right if `centre_right`.
    fn update(&mut self, i: usize, g: &Mat4, centre_right: bool) -> Result<()>;
    /// The truncation statistics (SWAPs are counted there).
    fn stats_mut(&mut self) -> &mut super::truncation::TruncationStats;

    /// The site holding `qubit`.
    fn site_of(&self, qubit: usize) -> usize {
        self.layout().1[qubit]
    }
    /// The qubit on `site`.
    fn qubit_at(&self, site: usize) -> usize {
        self.layout().0[site]
    }
    /// Record that sites `i` and `i + 1` exchanged their qubits.
    fn exchange(&mut self, i: usize) {
        let (qubit_at_site, site_of_qubit) = self.layout_mut();
        qubit_at_site.swap(i, i + 1);
        site_of_qubit[qubit_at_site[i]] = i;
        site_of_qubit[qubit_at_site[i + 1]] = i + 1;
    }
    /// A routing SWAP of sites `i`, `i + 1` (the permutation follows).
    fn swap(&mut self, i: usize, centre_right: bool) -> Result<()> {
        self.update(i, &SWAP, centre_right)?;
        self.exchange(i);
        self.stats_mut().swaps += 1;
        Ok(())
    }
    /// Permute the chain so that site `s` holds qubit `order[s]`, by adjacent SWAPs (with
    /// the current truncation policy). Each target qubit bubbles into place from the left:
    /// at most n(n−1)/2 SWAPs, each next to the previous one, so the centre never travels
    /// far.
    fn reorder_to(&mut self, order: &[usize]) -> Result<()> {
        let n = self.layout().0.len();
        let target = super::SiteOrdering::Custom(order.to_vec()).qubit_at_site(n)?;
        for (s, &qubit) in target.iter().enumerate() {
            let mut pos = self.site_of(qubit);
            while pos > s {
                self.swap(pos - 1, false)?;
                pos -= 1;
            }
        }
        Ok(())
    }
    /// Go back to the home layout if every bond is at most [`RESTORE_MAX_BOND`] and at
    /// most a quarter of χ; true if it did.
    fn restore_home(&mut self) -> Result<bool> {
        let (max_bond, cap) = self.bond_and_cap();
        if self.layout().0 == self.home_layout()
            || max_bond > RESTORE_MAX_BOND
            || max_bond.saturating_mul(4) > cap
        {
            return Ok(false);
        }
        let home = self.home_layout().to_vec();
        self.reorder_to(&home)?;
        Ok(true)
    }
}

/// `qubit` must be a valid index on `n` qubits.
pub(crate) fn check_qubit(n: usize, q: usize) -> Result<()> {
    if q >= n {
        return Err(Error::InvalidInput(format!(
            "gate on qubit {q} but the MPS has {n} qubits (valid: 0..={})",
            n - 1
        )));
    }
    Ok(())
}

/// A single-qubit gate on `qubit` must be unitary.
pub(crate) fn check_one_qubit_gate(n: usize, qubit: usize, m: &Mat2) -> Result<()> {
    check_qubit(n, qubit)?;
    let defect = unitarity_defect(m);
    if defect > UNITARITY_TOLERANCE {
        return Err(Error::InvalidInput(format!(
            "single-qubit gate on qubit {qubit} is not unitary (max |U U† − 1| = {defect:.3e}); an MPS keeps its canonical form only under unitary gates"
        )));
    }
    Ok(())
}

/// A two-qubit gate needs two distinct valid qubits and a unitary matrix.
pub(crate) fn check_two_qubit_gate(n: usize, qa: usize, qb: usize, m: &Mat4) -> Result<()> {
    check_qubit(n, qa)?;
    check_qubit(n, qb)?;
    if qa == qb {
        return Err(Error::InvalidInput(format!(
            "two-qubit gate on qubit {qa} twice; it needs two distinct qubits"
        )));
    }
    let defect = unitarity_defect(m);
    if defect > UNITARITY_TOLERANCE {
        return Err(Error::InvalidInput(format!(
            "two-qubit gate on qubits ({qa}, {qb}) is not unitary (max |U U† − 1| = {defect:.3e}); an MPS keeps its canonical form only under unitary gates"
        )));
    }
    Ok(())
}

/// Apply the (checked) 4×4 `m` on `|q_a q_b>`: walk one qubit next to the other by SWAPs
/// as the chain's [`Routing`](super::Routing) plans, then one two-site update (fused with
/// the last SWAP when the plan crosses). The permutation is tracked, not undone.
pub(crate) fn route_and_apply<C: SwapChain + ?Sized>(
    chain: &mut C,
    qa: usize,
    qb: usize,
    m: &Mat4,
) -> Result<()> {
    let walk =
        chain
            .routing_policy()
            .plan(chain.site_of(qa), chain.site_of(qb), chain.centre_site());
    let mut pos = walk.from;
    let upward = walk.to > pos;
    if upward {
        while pos + 1 < walk.to {
            chain.swap(pos, true)?;
            pos += 1;
        }
    } else {
        while pos > walk.to + 1 {
            chain.swap(pos - 1, false)?;
            pos -= 1;
        }
    }
    let lo = pos.min(walk.to);
    // The gate in site order: first index = lower site.
    let g = if chain.qubit_at(lo) == qa {
        *m
    } else {
        exchange_qubits(m)
    };
    let g = if walk.cross { then_swap(&g) } else { g };
    chain.update(lo, &g, upward)?;
    if walk.cross {
        chain.exchange(lo);
    }
    Ok(())
}

/// Order a layer's gates (mutually commuting, on disjoint qubits) by their current sites:
/// walks go down under `MoveHigher` (so take gates left to right) and up under
/// `MoveLowerThrough` (right to left), so a walk never crosses the qubits of gates still
/// to come in the layer (3,840 instead of 11,520 SWAPs on the 128-qubit Butterfly).
pub(crate) fn order_layer<C: SwapChain + ?Sized>(
    chain: &C,
    layer: &mut [usize],
    bound: &[BoundGate],
) {
    let descending = chain.routing_policy() == super::Routing::MoveLowerThrough;
    layer.sort_by_key(|&i| {
        let sites = bound[i].qubits().into_iter().map(|q| chain.site_of(q));
        if descending {
            std::cmp::Reverse(sites.max().unwrap_or(0))
        } else {
            std::cmp::Reverse(usize::MAX - sites.min().unwrap_or(0))
        }
    });
}
