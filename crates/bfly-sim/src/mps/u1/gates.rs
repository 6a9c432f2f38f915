//! Gate application on the U(1) MPS: diagonal one-qubit gates scale blocks, two-qubit
//! weight-preserving gates are block-sparse two-site updates at the centre, routed by
//! SWAPs exactly as in the dense engine (same [`Routing`] plans, same layer scheduling).

use num_complex::Complex64 as C64;
use std::collections::{BTreeMap, BTreeSet};

use super::blocks::{BlockScalar, Blocks, Table};
use super::kernels::{conserves_weight4, two_site, U1Split, U1Workspace};
use super::{U1Mps, U1Sites};
use crate::mps::chain::SiteSplit;
use crate::mps::gates::bind_in_layers;
use crate::mps::kernels::is_real4;
use crate::mps::{MpsConfig, Truncation};
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// Run `circuit` from `|0…0>` with a resolved config: leading one-qubit gates of each
/// qubit (before its first two-qubit gate) form the initial product state, the rest runs
/// scheduled by layers as in the chain's [`Simulator::run`](crate::Simulator::run).
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
    // As fold_leading_one_qubit_gates, but only for the qubits the circuit touches (the
    // others stay |0>, weight 0): nothing is allocated per qubit.
    let n = circuit.qubits;
    let zero = [C64::new(1.0, 0.0), C64::new(0.0, 0.0)];
    let mut states: BTreeMap<usize, [C64; 2]> = BTreeMap::new();
    let mut entangled: BTreeSet<usize> = BTreeSet::new();
    let mut rest_conserves = true;
    for (i, op) in circuit.ops.iter().enumerate() {
        let g = op.bind(i, values)?;
        if let Some(&q) = g.qubits().iter().find(|&&q| q >= n) {
            return Err(Error::QubitOutOfRange {
                op: i,
                gate: op.name().into(),
                qubit: q,
                n_qubits: n,
            });
        }
        match &g {
            BoundGate::One { qubit, matrix } if !entangled.contains(qubit) => {
                let state = states.entry(*qubit).or_insert(zero);
                let [a, b] = *state;
                *state = [
                    matrix[0][0] * a + matrix[0][1] * b,
                    matrix[1][0] * a + matrix[1][1] * b,
                ];
            }
            BoundGate::One { .. } => rest_conserves &= conserves_weight(&g),
            BoundGate::Two { qubits, .. } => {
                entangled.extend(qubits.iter().copied());
                rest_conserves &= conserves_weight(&g);
            }
        }
    }
    let mut weight = 0;
    for [a, b] in states.into_values() {
        match (a.norm_sqr() == 0.0, b.norm_sqr() == 0.0) {
            (false, true) => {}
            (true, false) => weight += 1,
            _ => return Ok(None),
        }
    }
    Ok(rest_conserves.then_some(weight))
}

impl U1Sites {
    /// A diagonal (weight-preserving) unitary 2×2 gate on `qubit` at `site`: scales the
    /// `s = 0` and `s = 1` blocks of the site; a non-diagonal one is refused with
    /// [`Error::NotChargeConserving`].
    pub(crate) fn diagonal_one_qubit(&mut self, site: usize, qubit: usize, m: &Mat2) -> Result<()> {
        if !conserves_weight2(m) {
            return Err(Error::NotChargeConserving {
                gate: format!("a non-diagonal single-qubit gate on qubit {qubit}"),
            });
        }
        for idx in 0..2 * (self.len() + 1) {
            let phase = m[idx % 2][idx % 2];
            if phase != C64::new(1.0, 0.0) {
                self.blocks.scale(site, idx, phase);
            }
        }
        Ok(())
    }

    /// Apply the weight-preserving `g` (site order) to sites `i, i+1`: blockwise SVDs, one
    /// global truncation over all sectors.
    pub(crate) fn two_site_update(
        &mut self,
        i: usize,
        g: &Mat4,
        t: &Truncation,
        right: bool,
    ) -> Result<SiteSplit> {
        if !is_real4(g) {
            self.blocks.make_complex();
        }
        let (dims, policy, centre_right) = (&self.dims, t, right);
        let split = match &mut self.blocks {
            Blocks::Real(t) => two_site_at(t, &mut self.work, dims, i, g, policy, centre_right)?,
            Blocks::Complex(t) => two_site_at(t, &mut self.work, dims, i, g, policy, centre_right)?,
        };
        let bond: usize = split.dims.iter().sum();
        self.dims[i + 1] = split.dims;
        Ok(SiteSplit {
            bond,
            choice: split.choice,
            svd_fallbacks: split.svd_fallbacks,
        })
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
