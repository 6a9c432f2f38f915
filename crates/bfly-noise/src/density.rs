//! Exact density-matrix simulation for small `n` (≤ [`MAX_DENSITY_QUBITS`]).
//!
//! `ρ` is stored dense, row-major: entry `(r, c)` at `r·2^n + c`. Read as one vector of
//! `2n` "qubits", column bit `q` sits at position `q` and row bit `q` at position `n + q`,
//! so `U ρ U†` is `U` applied to the row bits and `conj(U)` to the column bits — the same
//! strided 2×2 / 4×4 updates as a state vector of `2n` qubits.
//!
//! Written by hand: the Rust ecosystem has no maintained density-matrix simulator to depend
//! on (the established ones — qiskit-aer, QuEST, cirq — are C++/Python), and the kernels
//! are a few strided loops over the vectorised `ρ` that reuse the IR's bound gate matrices.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use num_complex::Complex64 as C64;
use rayon::prelude::*;

use super::channel::mixing_weight;
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Mat2, Mat4};
use bfly_core::error::{Error, Result};

/// Largest `n` the density-matrix engine accepts (`4^12 · 16 B = 256 MiB`).
pub const MAX_DENSITY_QUBITS: usize = 12;

/// Below this many entries, kernels run on one thread.
const PARALLEL_THRESHOLD: usize = 1 << 14;

/// Shares a mutable pointer across rayon tasks that touch disjoint index groups.
#[derive(Clone, Copy)]
struct SharedMut(*mut C64);
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

/// `g` with a zero bit inserted at each of `positions` (ascending).
#[inline]
fn insert_zero_bits(mut g: usize, positions: &[usize]) -> usize {
    for &p in positions {
        let low = (1usize << p) - 1;
        g = (g & low) | ((g & !low) << 1);
    }
    g
}

/// Run `body(base)` for every index whose bits at `positions` are zero (disjoint groups),
/// in parallel for large arrays.
fn for_each_group(len: usize, positions: &[usize], body: impl Fn(usize) + Sync + Send) {
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    let groups = len >> sorted.len();
    let run = |g: usize| body(insert_zero_bits(g, &sorted));
    if len < PARALLEL_THRESHOLD {
        (0..groups).for_each(run);
    } else {
        (0..groups).into_par_iter().with_min_len(1024).for_each(run);
    }
}

fn conj2(m: &Mat2) -> Mat2 {
    m.map(|row| row.map(|z| z.conj()))
}

fn conj4(m: &Mat4) -> Mat4 {
    m.map(|row| row.map(|z| z.conj()))
}

/// A density matrix on `n` qubits (qubit 0 = least significant bit of `r` and `c`).
///
/// ```
/// use bfly_noise::DensityMatrix;
/// use bfly_core::circuit::{BoundGate, gate::ry_matrix};
/// let mut rho = DensityMatrix::new(1).unwrap();
/// rho.apply_gate(&BoundGate::One { qubit: 0, matrix: ry_matrix(std::f64::consts::PI) }).unwrap();
/// rho.depolarize(&[0], 0.03).unwrap(); // Pauli form: P(X, Y or Z) = 0.03
/// let p = rho.probabilities();
/// assert!((p[1] - (1.0 - 2.0 * 0.03 / 3.0)).abs() < 1e-12); // X and Y flip |1>
/// ```
#[derive(Clone, Debug)]
pub struct DensityMatrix {
    n: usize,
    rho: Vec<C64>,
}

impl DensityMatrix {
    /// `|0…0><0…0|`. Refuses `n > MAX_DENSITY_QUBITS`, or more memory than the budget
    /// allows ([`Error::ResourceExceeded`]).
    pub fn new(n: usize) -> Result<Self> {
        if n == 0 || n > MAX_DENSITY_QUBITS {
            return Err(Error::NoisySimulation(format!(
                "the density-matrix engine takes 1..={MAX_DENSITY_QUBITS} qubits (4^n entries), got {n}; use state-vector or MPS trajectories"
            )));
        }
        Need::density_matrix(n).check()?;
        let mut rho = vec![C64::new(0.0, 0.0); 1usize << (2 * n)];
        rho[0] = C64::new(1.0, 0.0);
        Ok(DensityMatrix { n, rho })
    }

    /// `|ψ><ψ|` from `2^n` amplitudes.
    pub fn from_pure(amps: &[C64]) -> Result<Self> {
        if !amps.len().is_power_of_two() {
            return Err(Error::InvalidInput(format!(
                "a pure state needs 2^n amplitudes, got {}",
                amps.len()
            )));
        }
        let n = amps.len().trailing_zeros() as usize;
        let mut dm = Self::new(n)?;
        let dim = amps.len();
        dm.rho
            .par_chunks_mut(dim)
            .zip(amps.par_iter())
            .for_each(|(row, a)| {
                for (x, b) in row.iter_mut().zip(amps) {
                    *x = a * b.conj();
                }
            });
        Ok(dm)
    }

    /// Number of qubits.
    pub fn n_qubits(&self) -> usize {
        self.n
    }

    /// `2^n`.
    pub fn dim(&self) -> usize {
        1 << self.n
    }

    /// Entry `ρ[r][c]`.
    pub fn get(&self, r: usize, c: usize) -> C64 {
        self.rho[r * self.dim() + c]
    }

    /// All entries, row-major.
    pub fn entries(&self) -> &[C64] {
        &self.rho
    }

    /// `Tr ρ`.
    pub fn trace(&self) -> f64 {
        (0..self.dim()).map(|i| self.get(i, i).re).sum()
    }

    /// The diagonal: probability of each basis state (index bit `q` = qubit `q`).
    pub fn probabilities(&self) -> Vec<f64> {
        (0..self.dim())
            .map(|i| self.get(i, i).re.max(0.0))
            .collect()
    }

    fn check_qubits(&self, qubits: &[usize]) -> Result<()> {
        for &q in qubits {
            if q >= self.n {
                return Err(Error::InvalidInput(format!(
                    "gate on qubit {q} but the density matrix has {} qubits",
                    self.n
                )));
            }
        }
        if qubits.len() == 2 && qubits[0] == qubits[1] {
            return Err(Error::InvalidInput(format!(
                "two-qubit operation on qubit {} twice",
                qubits[0]
            )));
        }
        Ok(())
    }

    /// `ρ → U ρ U†`.
    pub fn apply_gate(&mut self, gate: &BoundGate) -> Result<()> {
        self.check_qubits(&gate.qubits())?;
        let n = self.n;
        match gate {
            BoundGate::One { qubit, matrix } => {
                self.apply_mat2(n + qubit, matrix);
                self.apply_mat2(*qubit, &conj2(matrix));
            }
            BoundGate::Two { qubits, matrix } => {
                let [a, b] = *qubits;
                self.apply_mat4(n + a, n + b, matrix);
                self.apply_mat4(a, b, &conj4(matrix));
            }
        }
        Ok(())
    }

    /// 2×2 matrix on bit `bit` of the vectorised ρ.
    fn apply_mat2(&mut self, bit: usize, m: &Mat2) {
        let ptr = SharedMut(self.rho.as_mut_ptr());
        let stride = 1usize << bit;
        for_each_group(self.rho.len(), &[bit], move |base| {
            let p = ptr;
            // SAFETY: groups are disjoint index pairs inside the vector.
            unsafe {
                let (i0, i1) = (base, base | stride);
                let (x0, x1) = (*p.0.add(i0), *p.0.add(i1));
                *p.0.add(i0) = m[0][0] * x0 + m[0][1] * x1;
                *p.0.add(i1) = m[1][0] * x0 + m[1][1] * x1;
            }
        });
    }

    /// 4×4 matrix on bits `(ba, bb)` (matrix index `2·bit_a + bit_b`).
    fn apply_mat4(&mut self, ba: usize, bb: usize, m: &Mat4) {
        let ptr = SharedMut(self.rho.as_mut_ptr());
        let (ma, mb) = (1usize << ba, 1usize << bb);
        for_each_group(self.rho.len(), &[ba, bb], move |base| {
            let idx = [base, base | mb, base | ma, base | ma | mb];
            let p = ptr;
            // SAFETY: groups are disjoint index quadruples inside the vector.
            unsafe {
                let x = idx.map(|i| *p.0.add(i));
                for (r, &i) in idx.iter().enumerate() {
                    *p.0.add(i) = m[r][0] * x[0] + m[r][1] * x[1] + m[r][2] * x[2] + m[r][3] * x[3];
                }
            }
        });
    }

    /// The depolarizing channel with Pauli-form error `p` on `qubits` (1 or 2 of them):
    /// `ρ → (1 − λ) ρ + λ Tr_Q(ρ) ⊗ I/2^d` with `λ = p·4^d/(4^d − 1)`, which equals
    /// `(1 − p) ρ + p/(4^d − 1) Σ_{P≠I} P ρ P` (see [`super::channel`]).
    pub fn depolarize(&mut self, qubits: &[usize], p: f64) -> Result<()> {
        if !(1..=2).contains(&qubits.len()) {
            return Err(Error::InvalidInput(format!(
                "depolarizing channel on {} qubits; 1 or 2 supported",
                qubits.len()
            )));
        }
        if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
            return Err(Error::InvalidNoiseRate {
                model: "depolarizing channel".into(),
                what: "p".into(),
                value: p,
            });
        }
        self.check_qubits(qubits)?;
        if p == 0.0 {
            return Ok(());
        }
        let n = self.n;
        let d = qubits.len();
        let lambda = mixing_weight(p, d);
        let keep = 1.0 - lambda;
        let share = lambda / (1usize << d) as f64;
        // Offsets of (row bits a, column bits b) on the gate's qubits within a group.
        let offset = |bits: usize, shift: usize| -> usize {
            qubits
                .iter()
                .enumerate()
                .map(|(k, &q)| ((bits >> (d - 1 - k)) & 1) << (q + shift))
                .sum()
        };
        let dd = 1usize << d;
        let rows: Vec<usize> = (0..dd).map(|a| offset(a, n)).collect();
        let cols: Vec<usize> = (0..dd).map(|b| offset(b, 0)).collect();
        let positions: Vec<usize> = qubits.iter().flat_map(|&q| [q, q + n]).collect();
        let ptr = SharedMut(self.rho.as_mut_ptr());
        for_each_group(self.rho.len(), &positions, move |base| {
            let p = ptr;
            // SAFETY: each group is the 4^d entries base|row(a)|col(b), disjoint across groups.
            unsafe {
                let mut trace = C64::new(0.0, 0.0);
                for a in 0..dd {
                    trace += *p.0.add(base | rows[a] | cols[a]);
                }
                for a in 0..dd {
                    for b in 0..dd {
                        let e = p.0.add(base | rows[a] | cols[b]);
                        *e *= keep;
                        if a == b {
                            *e += trace * share;
                        }
                    }
                }
            }
        });
        Ok(())
    }
}
