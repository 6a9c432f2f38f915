//! Gate application: one-qubit gates contract into a site; two-qubit gates become two-site
//! SVD updates at the orthogonality centre, routed along the chain by SWAPs.

use num_complex::Complex64 as C64;

use super::kernels::{is_real4, two_site};
use super::Mps;
use bfly_core::circuit::gate::unitarity_defect;
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// Gates must be unitary to this tolerance (the circuit IR's own check is 1e-8).
const UNITARITY_TOLERANCE: f64 = 1e-8;

/// Largest bond dimension at which [`Mps::restore_home_if_cheap`] reorders the chain.
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

impl Mps {
    /// Run a circuit, reordering gates that commute trivially (disjoint qubits) so the
    /// orthogonality centre travels less: maximal runs of consecutive gates on pairwise
    /// disjoint qubits (a Butterfly layer, a loader level) are applied in order of the
    /// gates' current sites (left to right, or right to left under
    /// [`Routing::MoveLowerThrough`](super::Routing::MoveLowerThrough)). The state is
    /// exactly the one the circuit order gives; on a coupling-first Butterfly this cuts
    /// the QR steps of centre moves by ~5× (26,145 → 4,791 at n = 128), because a layer's
    /// gates in circuit order jump around the bit-reversed chain. Between layers the
    /// initial layout is restored while that is cheap ([`Mps::restore_home_if_cheap`]).
    /// Layers whose gates fall into independent segments of the chain (bonds of dimension
    /// 1 between them) run on several threads (see `parallel.rs`).
    ///
    /// Errors name the op index in circuit order.
    pub fn run_scheduled(&mut self, circuit: &Circuit, values: &Parameters) -> Result<()> {
        if circuit.qubits != self.n {
            return Err(Error::InvalidInput(format!(
                "circuit has {} qubits but the MPS has {}",
                circuit.qubits, self.n
            )));
        }
        let (bound, layers) = bind_in_layers(circuit, values, self.n)?;
        for (index, mut layer) in layers.into_iter().enumerate() {
            if index > 0 {
                self.restore_home_if_cheap()?;
            }
            order_layer(self, &mut layer, &bound);
            if self.apply_layer_in_parallel(&layer, &bound)? {
                continue;
            }
            for i in layer {
                self.apply_gate(&bound[i]).map_err(|e| match e {
                    Error::InvalidInput(msg) => Error::InvalidOp {
                        op: i,
                        message: msg,
                    },
                    other => other,
                })?;
            }
        }
        Ok(())
    }

    /// Reorder the chain back to its initial layout if that is cheap: every bond is at most
    /// `RESTORE_MAX_BOND` (8) and at most a quarter of χ (so the SWAPs cannot truncate
    /// anything that matters). Routing drifts the layout away from home; early in a circuit
    /// (e.g. during a data loader, whose gates the bit-reversed layout makes long-range) the
    /// drift would otherwise scramble the layout the rest of the circuit was laid out for.
    /// Undoing it costs at most as many SWAPs as caused it (each SWAP changes the number of
    /// inversions by one), all on tiny bonds.
    pub fn restore_home_if_cheap(&mut self) -> Result<bool> {
        self.restore_home()
    }

    /// Apply a gate (qubit indices, not sites).
    pub fn apply_gate(&mut self, gate: &BoundGate) -> Result<()> {
        match gate {
            BoundGate::One { qubit, matrix } => self.apply_one_qubit(*qubit, matrix),
            BoundGate::Two { qubits, matrix } => self.apply_two_qubit(qubits[0], qubits[1], matrix),
        }
    }

    /// Contract a unitary 2×2 matrix into the site of `qubit` (a unitary leaves the
    /// canonical form intact; non-unitary or non-finite matrices are refused).
    pub fn apply_one_qubit(&mut self, qubit: usize, m: &Mat2) -> Result<()> {
        check_one_qubit_gate(self.n, qubit, m)?;
        let site = self.site_of_qubit[qubit];
        let dl = self.bonds[site];
        let t = &mut self.tensors[site];
        // Layout l + dl·(s + 2r): for each r the two physical slices are consecutive.
        for block in t.chunks_exact_mut(2 * dl) {
            let (x0, x1) = block.split_at_mut(dl);
            for (a, b) in x0.iter_mut().zip(x1.iter_mut()) {
                let (u, v) = (*a, *b);
                *a = m[0][0] * u + m[0][1] * v;
                *b = m[1][0] * u + m[1][1] * v;
            }
        }
        if m.iter().flatten().any(|z| z.im != 0.0) {
            self.real = false;
        }
        Ok(())
    }

    /// Apply a 4×4 matrix on `|q_a q_b>` (index `2·q_a + q_b`). If the qubits are not
    /// adjacent on the chain, one walks to the other by SWAPs (see [`super::Routing`]); the
    /// permutation is tracked, not undone.
    pub fn apply_two_qubit(&mut self, qa: usize, qb: usize, m: &Mat4) -> Result<()> {
        check_two_qubit_gate(self.n, qa, qb, m)?;
        route_and_apply(self, qa, qb, m)
    }

    /// Swap the contents of sites `i` and `i + 1` (a routing SWAP; the permutation follows).
    pub fn swap_sites(&mut self, i: usize, centre_right: bool) -> Result<()> {
        self.swap(i, centre_right)
    }

    /// Apply `g` (site order) to sites `i, i+1` with an SVD split and truncation; the
    /// centre ends on `i + 1` if `centre_right`, else on `i`.
    pub(crate) fn two_site_update(&mut self, i: usize, g: &Mat4, centre_right: bool) -> Result<()> {
        if i + 1 >= self.n {
            return Err(Error::InvalidInput(format!(
                "two-site update at sites ({i}, {}) but the chain has {} sites",
                i + 1,
                self.n
            )));
        }
        if self.centre < i {
            self.move_centre_to(i);
        } else if self.centre > i + 1 {
            self.move_centre_to(i + 1);
        }
        let gate_real = is_real4(g);
        let dims = (self.bonds[i], self.bonds[i + 1], self.bonds[i + 2]);
        let (a, b) = self.tensors.split_at_mut(i + 1);
        let (left, right) = (&mut a[i], &mut b[0]);
        let split = if self.real && gate_real {
            two_site(
                &mut self.work.re,
                left,
                right,
                dims,
                g,
                &self.truncation,
                centre_right,
            )?
        } else {
            two_site(
                &mut self.work.cx,
                left,
                right,
                dims,
                g,
                &self.truncation,
                centre_right,
            )?
        };
        if !gate_real {
            self.real = false;
        }
        self.bonds[i + 1] = split.bond;
        self.centre = if centre_right { i + 1 } else { i };
        let c = split.choice;
        let eps = if c.total_weight > 0.0 {
            c.discarded_weight / c.total_weight
        } else {
            0.0
        };
        self.stats
            .record(i, eps, c.truncated, split.bond, split.svd_fallbacks);
        Ok(())
    }

    /// Permute the chain so that site `s` holds qubit `order[s]`, by adjacent SWAPs (with
    /// the current truncation policy, so this may truncate if χ is tight).
    pub fn reorder(&mut self, order: &[usize]) -> Result<()> {
        self.reorder_to(order)
    }
}

/// A chain whose two-qubit gates are routed by SWAPs: what the walk, the layer order and
/// the gate checks need from either MPS engine (dense [`Mps`], U(1)
/// [`U1Mps`](super::u1::U1Mps)), so both route identically.
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

impl SwapChain for Mps {
    fn layout(&self) -> (&[usize], &[usize]) {
        (&self.qubit_at_site, &self.site_of_qubit)
    }
    fn layout_mut(&mut self) -> (&mut [usize], &mut [usize]) {
        (&mut self.qubit_at_site, &mut self.site_of_qubit)
    }
    fn home_layout(&self) -> &[usize] {
        &self.home
    }
    fn centre_site(&self) -> usize {
        self.centre
    }
    fn routing_policy(&self) -> super::Routing {
        self.routing
    }
    fn bond_and_cap(&self) -> (usize, usize) {
        (self.max_bond_dimension(), self.truncation.max_bond)
    }
    fn update(&mut self, i: usize, g: &Mat4, centre_right: bool) -> Result<()> {
        self.two_site_update(i, g, centre_right)
    }
    fn stats_mut(&mut self) -> &mut super::truncation::TruncationStats {
        &mut self.stats
    }
}
