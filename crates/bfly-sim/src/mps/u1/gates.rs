//! Gate application on the U(1) MPS: diagonal one-qubit gates scale blocks, two-qubit
//! weight-preserving gates are block-sparse two-site updates at the centre, routed by
//! SWAPs exactly as in the dense engine (same [`Routing`] plans, same layer scheduling).

use num_complex::Complex64 as C64;

use super::blocks::{BlockScalar, Blocks, Table};
use super::kernels::{conserves_weight4, on_rayon_worker, two_site, U1Split, U1Workspace};
use super::U1Mps;
use crate::mps::gates::{
    bind_in_layers, check_one_qubit_gate, check_two_qubit_gate, order_layer, route_and_apply,
    SwapChain,
};
use crate::mps::kernels::is_real4;
use crate::mps::truncation::TruncationStats;
use crate::mps::{MpsConfig, Routing, Truncation};
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// Run `circuit` from `|0…0>` with a resolved config: leading one-qubit gates of each
/// qubit (before its first two-qubit gate) form the initial product state, the rest runs
/// scheduled by layers as in [`crate::mps::Mps::run_scheduled`].
pub(crate) fn run_from_zero(
    circuit: &Circuit,
    values: &Parameters,
    config: &MpsConfig,
) -> Result<U1Mps> {
    let n = circuit.qubits;
    let (bound, layers) = bind_in_layers(circuit, values, n)?;
    let (states, folded) = fold_leading_one_qubit_gates(&bound, n);
    let mut psi = U1Mps::from_product_state(&states, config)?;
    let layers: Vec<Vec<usize>> = layers
        .into_iter()
        .map(|l| l.into_iter().filter(|&i| !folded[i]).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .collect();
    psi.run_layers(circuit, &bound, layers)?;
    Ok(psi)
}

/// The product state `|0…0>` with every qubit's one-qubit gates before its first
/// two-qubit gate applied (the loaders' X and RY), and which gates were so folded.
fn fold_leading_one_qubit_gates(bound: &[BoundGate], n: usize) -> (Vec<[C64; 2]>, Vec<bool>) {
    let mut states = vec![[C64::new(1.0, 0.0), C64::new(0.0, 0.0)]; n];
    let mut entangled = vec![false; n];
    let mut folded = vec![false; bound.len()];
    for (i, g) in bound.iter().enumerate() {
        match g {
            BoundGate::One { qubit, matrix } if !entangled[*qubit] => {
                let [a, b] = states[*qubit];
                states[*qubit] = [
                    matrix[0][0] * a + matrix[0][1] * b,
                    matrix[1][0] * a + matrix[1][1] * b,
                ];
                folded[i] = true;
            }
            BoundGate::One { .. } => {}
            BoundGate::Two { qubits, .. } => {
                entangled[qubits[0]] = true;
                entangled[qubits[1]] = true;
            }
        }
    }
    (states, folded)
}

/// The Hamming weight of `circuit`'s input if it is fixed, i.e. if the U(1) engine is the
/// one to use: `Some(k)` when every qubit's state after its leading one-qubit gates is a
/// basis state (weight `k` in all) and every later gate conserves Hamming weight. Then
/// the right-boundary label is constant, the U(1) engine truncates exactly as the dense
/// one does, and it was measured 4–5× faster (module docs). `None` for a mixed-weight
/// input (angle loader) or a gate that changes weight: use the dense engine.
///
/// ```
/// use bfly_core::circuit::{ButterflyWorkload, loaders::Loader};
/// use bfly_sim::mps::u1::fixed_input_weight;
/// let hw3 = ButterflyWorkload::full(16, Loader::HammingWeight(3), 1).build().unwrap();
/// assert_eq!(fixed_input_weight(&hw3, &hw3.parameters).unwrap(), Some(3));
/// let angle = ButterflyWorkload::full(16, Loader::Angle, 1).build().unwrap();
/// assert_eq!(fixed_input_weight(&angle, &angle.parameters).unwrap(), None);
/// ```
pub fn fixed_input_weight(circuit: &Circuit, values: &Parameters) -> Result<Option<usize>> {
    let n = circuit.qubits;
    let (bound, _) = bind_in_layers(circuit, values, n)?;
    let (states, folded) = fold_leading_one_qubit_gates(&bound, n);
    let rest_conserves = bound
        .iter()
        .zip(&folded)
        .all(|(g, &was_folded)| was_folded || conserves_weight(g));
    let mut weight = 0;
    for [a, b] in states {
        match (a.norm_sqr() == 0.0, b.norm_sqr() == 0.0) {
            (false, true) => {}
            (true, false) => weight += 1,
            _ => return Ok(None),
        }
    }
    Ok(rest_conserves.then_some(weight))
}

/// A name for gate errors: "op #i (name on qubits …)".
fn describe(circuit: &Circuit, i: usize) -> String {
    format!(
        "op #{i} ({} on qubits {:?})",
        circuit.ops[i].name(),
        circuit.ops[i].qubits()
    )
}

impl U1Mps {
    /// Run a circuit on this state (gates on disjoint qubits reordered as in the dense
    /// engine's [`crate::mps::Mps::run_scheduled`]). Every gate must conserve Hamming
    /// weight; errors name the op index.
    pub fn run_scheduled(&mut self, circuit: &Circuit, values: &Parameters) -> Result<()> {
        if circuit.qubits != self.n {
            return Err(Error::InvalidInput(format!(
                "circuit has {} qubits but the MPS has {}",
                circuit.qubits, self.n
            )));
        }
        let (bound, layers) = bind_in_layers(circuit, values, self.n)?;
        self.run_layers(circuit, &bound, layers)
    }

    fn run_layers(
        &mut self,
        circuit: &Circuit,
        bound: &[BoundGate],
        layers: Vec<Vec<usize>>,
    ) -> Result<()> {
        // Refuse up front (before any work) if a gate breaks the symmetry.
        for layer in &layers {
            for &i in layer {
                if !conserves_weight(&bound[i]) {
                    return Err(Error::NotChargeConserving {
                        gate: describe(circuit, i),
                    });
                }
            }
        }
        on_rayon_worker(|| {
            for (index, mut layer) in layers.into_iter().enumerate() {
                if index > 0 {
                    self.restore_home_if_cheap()?;
                }
                order_layer(self, &mut layer, bound);
                for i in layer {
                    self.apply_gate(&bound[i]).map_err(|e| match e {
                        Error::InvalidInput(msg) => Error::InvalidOp {
                            op: i,
                            message: msg,
                        },
                        Error::NotChargeConserving { .. } => Error::NotChargeConserving {
                            gate: describe(circuit, i),
                        },
                        other => other,
                    })?;
                }
            }
            Ok(())
        })
    }

    /// Reorder the chain back to its initial layout while every bond is tiny (the dense
    /// engine's rule, [`crate::mps::Mps::restore_home_if_cheap`]).
    pub fn restore_home_if_cheap(&mut self) -> Result<bool> {
        self.restore_home()
    }

    /// Permute the chain so that site `s` holds qubit `order[s]` (adjacent SWAPs).
    pub fn reorder(&mut self, order: &[usize]) -> Result<()> {
        self.reorder_to(order)
    }

    /// Apply a gate (qubit indices). Gates that change Hamming weight are refused with
    /// [`Error::NotChargeConserving`].
    pub fn apply_gate(&mut self, gate: &BoundGate) -> Result<()> {
        match gate {
            BoundGate::One { qubit, matrix } => self.apply_one_qubit(*qubit, matrix),
            BoundGate::Two { qubits, matrix } => self.apply_two_qubit(qubits[0], qubits[1], matrix),
        }
    }

    /// A diagonal (weight-preserving) unitary 2×2 gate: scales the `s = 0` and `s = 1`
    /// blocks of the qubit's site.
    pub fn apply_one_qubit(&mut self, qubit: usize, m: &Mat2) -> Result<()> {
        check_one_qubit_gate(self.n, qubit, m)?;
        if !conserves_weight2(m) {
            return Err(Error::NotChargeConserving {
                gate: format!("a non-diagonal single-qubit gate on qubit {qubit}"),
            });
        }
        let site = self.site_of_qubit[qubit];
        for idx in 0..2 * (self.n + 1) {
            let phase = m[idx % 2][idx % 2];
            if phase != C64::new(1.0, 0.0) {
                self.blocks.scale(site, idx, phase);
            }
        }
        Ok(())
    }

    /// A weight-preserving 4×4 gate on `|q_a q_b>` (index `2·q_a + q_b`), routed by SWAPs
    /// as in the dense engine.
    pub fn apply_two_qubit(&mut self, qa: usize, qb: usize, m: &Mat4) -> Result<()> {
        check_two_qubit_gate(self.n, qa, qb, m)?;
        if !conserves_weight4(m) {
            return Err(Error::NotChargeConserving {
                gate: format!("a two-qubit gate on qubits ({qa}, {qb})"),
            });
        }
        route_and_apply(self, qa, qb, m)
    }

    /// Swap the contents of sites `i` and `i + 1` (a routing SWAP).
    pub fn swap_sites(&mut self, i: usize, centre_right: bool) -> Result<()> {
        self.swap(i, centre_right)
    }

    /// Apply the weight-preserving `g` (site order) to sites `i, i+1`: blockwise SVDs, one
    /// global truncation, recorded in the truncation statistics as in the dense engine.
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
        if !is_real4(g) {
            self.blocks.make_complex();
        }
        let (dims, policy) = (&self.dims, &self.truncation);
        let split = match &mut self.blocks {
            Blocks::Real(t) => two_site_at(t, &mut self.work, dims, i, g, policy, centre_right)?,
            Blocks::Complex(t) => two_site_at(t, &mut self.work, dims, i, g, policy, centre_right)?,
        };
        let bond: usize = split.dims.iter().sum();
        self.dims[i + 1] = split.dims;
        self.centre = if centre_right { i + 1 } else { i };
        let c = split.choice;
        let eps = if c.total_weight > 0.0 {
            c.discarded_weight / c.total_weight
        } else {
            0.0
        };
        self.stats
            .record(i, eps, c.truncated, bond, split.svd_fallbacks);
        Ok(())
    }
}

/// [`two_site`] on sites `i`, `i + 1` of `table`.
fn two_site_at<T: BlockScalar>(
    table: &mut Table<T>,
    work: &mut U1Workspace,
    dims: &[Vec<usize>],
    i: usize,
    g: &Mat4,
    policy: &Truncation,
    centre_right: bool,
) -> Result<U1Split> {
    let (a, b) = table.split_at_mut(i + 1);
    let (dl, dm, dr) = (&dims[i], &dims[i + 1], &dims[i + 2]);
    two_site(
        T::bufs(work),
        &mut a[i],
        &mut b[0],
        dl,
        dm,
        dr,
        g,
        policy,
        centre_right,
    )
}

fn conserves_weight2(m: &Mat2) -> bool {
    let scale = m.iter().flatten().map(|z| z.norm()).fold(0.0, f64::max);
    let tol = 1e-12 * scale.max(1.0);
    m[0][1].norm() <= tol && m[1][0].norm() <= tol
}

/// True if the bound gate maps each Hamming-weight sector into itself.
pub fn conserves_weight(g: &BoundGate) -> bool {
    match g {
        BoundGate::One { matrix, .. } => conserves_weight2(matrix),
        BoundGate::Two { matrix, .. } => conserves_weight4(matrix),
    }
}

impl SwapChain for U1Mps {
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
    fn routing_policy(&self) -> Routing {
        self.routing
    }
    fn bond_and_cap(&self) -> (usize, usize) {
        (self.max_bond_dimension(), self.truncation.max_bond)
    }
    fn update(&mut self, i: usize, g: &Mat4, centre_right: bool) -> Result<()> {
        self.two_site_update(i, g, centre_right)
    }
    fn stats_mut(&mut self) -> &mut TruncationStats {
        &mut self.stats
    }
}
