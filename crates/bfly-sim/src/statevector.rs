//! Dense state-vector simulator, rayon-parallel. Qubit `q` is bit `q` of the index
//! (qubit 0 = least significant bit).

use num_complex::Complex64 as C64;
use rayon::prelude::*;

use super::{check_bits, count_amplitudes, sample_amplitudes, Simulator};
use bfly_core::bits::BitString;
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Mat2, Mat4};
use bfly_core::error::{Error, Result};

/// Below this many amplitudes, gates run on one thread (rayon overhead dominates).
const PARALLEL_THRESHOLD: usize = 1 << 14;

/// `2^n` complex amplitudes.
#[derive(Clone, Debug)]
pub struct StateVector {
    n: usize,
    amps: Vec<C64>,
}

/// Shares a mutable pointer across rayon tasks that touch disjoint indices.
/// (A raw pointer because each task updates four strided entries; slices cannot split so.)
#[derive(Clone, Copy)]
struct SharedMut(*mut C64);
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

/// Memory the OS reports as available, in bytes (Linux `/proc/meminfo`); see
/// [`bfly_core::budget::available_memory`].
pub fn available_memory() -> Option<u64> {
    bfly_core::budget::available_memory()
}

impl StateVector {
    /// `|0…0>` on `n` qubits. Refuses with [`Error::ResourceExceeded`], stating the memory
    /// needed, if it does not fit the [`bfly_core::budget`].
    pub fn new(n: usize) -> Result<Self> {
        Need::state_vector(n).check()?;
        let mut amps = vec![C64::new(0.0, 0.0); 1usize << n];
        amps[0] = C64::new(1.0, 0.0);
        Ok(StateVector { n, amps })
    }

    /// From explicit amplitudes (length must be a power of two).
    pub fn from_amplitudes(amps: Vec<C64>) -> Result<Self> {
        if !amps.len().is_power_of_two() {
            return Err(Error::InvalidInput(format!(
                "a state vector needs 2^n amplitudes, got {}",
                amps.len()
            )));
        }
        Ok(StateVector {
            n: amps.len().trailing_zeros() as usize,
            amps,
        })
    }

    /// The amplitudes, index bit `q` = qubit `q`.
    pub fn amplitudes(&self) -> &[C64] {
        &self.amps
    }

    fn apply_one(&mut self, q: usize, m: &Mat2) {
        let stride = 1usize << q;
        let kernel = |chunk: &mut [C64]| {
            let (lo, hi) = chunk.split_at_mut(stride);
            for (a0, a1) in lo.iter_mut().zip(hi.iter_mut()) {
                let (x0, x1) = (*a0, *a1);
                *a0 = m[0][0] * x0 + m[0][1] * x1;
                *a1 = m[1][0] * x0 + m[1][1] * x1;
            }
        };
        if self.amps.len() < PARALLEL_THRESHOLD {
            self.amps.chunks_mut(2 * stride).for_each(kernel);
        } else if self.amps.len() / (2 * stride) >= 16 {
            self.amps.par_chunks_mut(2 * stride).for_each(kernel);
        } else {
            for chunk in self.amps.chunks_mut(2 * stride) {
                let (lo, hi) = chunk.split_at_mut(stride);
                lo.par_iter_mut()
                    .zip(hi.par_iter_mut())
                    .with_min_len(4096)
                    .for_each(|(a0, a1)| {
                        let (x0, x1) = (*a0, *a1);
                        *a0 = m[0][0] * x0 + m[0][1] * x1;
                        *a1 = m[1][0] * x0 + m[1][1] * x1;
                    });
            }
        }
    }

    fn apply_two(&mut self, qa: usize, qb: usize, m: &Mat4) {
        let (lo, hi) = (qa.min(qb), qa.max(qb));
        let (ba, bb) = (1usize << qa, 1usize << qb);
        let groups = self.amps.len() >> 2;
        let ptr = SharedMut(self.amps.as_mut_ptr());
        let body = move |g: usize| {
            // Insert zero bits at positions `lo` and `hi` into the group index.
            let low_mask = (1usize << lo) - 1;
            let t = (g & low_mask) | ((g & !low_mask) << 1);
            let mid_mask = (1usize << hi) - 1;
            let base = (t & mid_mask) | ((t & !mid_mask) << 1);
            // Matrix index 2*q_a + q_b.
            let idx = [base, base | bb, base | ba, base | ba | bb];
            let p = ptr;
            // SAFETY: distinct groups map to disjoint index quadruples inside the vector.
            unsafe {
                let x = idx.map(|i| *p.0.add(i));
                for (r, &i) in idx.iter().enumerate() {
                    *p.0.add(i) = m[r][0] * x[0] + m[r][1] * x[1] + m[r][2] * x[2] + m[r][3] * x[3];
                }
            }
        };
        if self.amps.len() < PARALLEL_THRESHOLD {
            (0..groups).for_each(body);
        } else {
            (0..groups)
                .into_par_iter()
                .with_min_len(4096)
                .for_each(body);
        }
    }
}

impl Simulator for StateVector {
    fn backend_name(&self) -> &'static str {
        "statevector"
    }

    fn n_qubits(&self) -> usize {
        self.n
    }

    fn apply(&mut self, gate: &BoundGate) -> Result<()> {
        for q in gate.qubits() {
            if q >= self.n {
                return Err(Error::InvalidInput(format!(
                    "gate on qubit {q} but the state has {} qubits",
                    self.n
                )));
            }
        }
        match gate {
            BoundGate::One { qubit, matrix } => self.apply_one(*qubit, matrix),
            BoundGate::Two { qubits, matrix } => self.apply_two(qubits[0], qubits[1], matrix),
        }
        Ok(())
    }

    fn amplitude(&self, bits: &BitString) -> Result<C64> {
        check_bits(bits, self.n)?;
        let index = bits.to_index().expect("a state vector has < 64 qubits") as usize;
        Ok(self.amps[index])
    }

    fn marginals(&self) -> Vec<f64> {
        let n = self.n;
        self.amps
            .par_iter()
            .enumerate()
            .with_min_len(1 << 12)
            .fold(
                || vec![0.0; n],
                |mut acc, (i, a)| {
                    let p = a.norm_sqr();
                    if p != 0.0 {
                        let mut bits = i;
                        while bits != 0 {
                            let q = bits.trailing_zeros() as usize;
                            acc[q] += p;
                            bits &= bits - 1;
                        }
                    }
                    acc
                },
            )
            .reduce(
                || vec![0.0; n],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            )
    }

    fn norm_squared(&self) -> f64 {
        self.amps.par_iter().map(|a| a.norm_sqr()).sum()
    }

    fn explicit_amplitudes(&self) -> Option<Vec<(BitString, C64)>> {
        Some(
            self.amps
                .iter()
                .enumerate()
                .filter(|(_, a)| a.norm_sqr() > 0.0)
                .map(|(i, a)| (BitString::from_index(self.n, i as u64), *a))
                .collect(),
        )
    }

    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString> {
        sample_amplitudes(&self.amps, shots, seed)
            .into_iter()
            .map(|i| BitString::from_index(self.n, i as u64))
            .collect()
    }

    fn sample_counts(&self, shots: u64, seed: u64) -> Result<Vec<(BitString, u64)>> {
        count_amplitudes(&self.amps, self.n, shots, seed, |i| {
            BitString::from_index(self.n, i as u64)
        })
    }
}
