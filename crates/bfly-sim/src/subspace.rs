//! Exact simulator restricted to a fixed Hamming weight `k`.
//!
//! Weight-preserving circuits (RBS, SWAP, CZ, RZ, ZZ, …) never leave the `C(n,k)`-dimensional
//! span of weight-`k` basis states, so the state is stored there: 8,128 amplitudes for
//! `n = 128, k = 2`, 341,376 for `k = 3`. Basis states are indexed by the combinatorial
//! number system (rank of the sorted set `p_0 < … < p_{k-1}` of qubits reading 1 is
//! `Σ C(p_i, i+1)`), so no bit masks are involved and `n` is unbounded.
//!
//! The state starts in `|0…0>` (weight 0). While it is a single basis state, any gate that
//! maps basis states to basis states (X, CNOT, GPi, …) moves it to the new weight; this is
//! how loaders' leading X gates are handled. Any other gate that changes the weight is
//! refused with [`Error::NotWeightPreserving`].

use num_complex::Complex64 as C64;

use super::{check_bits, count_amplitudes, sample_amplitudes, Simulator};
use bfly_core::bits::BitString;
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Mat4};
use bfly_core::error::{Error, Result};

/// Largest subspace dimension accepted (2^28 amplitudes = 4 GiB).
pub const MAX_DIMENSION: usize = 1 << 28;

const TOL: f64 = 1e-14;

/// The state `Σ_S a_S |S>` over weight-`k` basis states `S`.
#[derive(Clone, Debug)]
pub struct SubspaceState {
    n: usize,
    k: usize,
    /// `binom[m][j] = C(m, j)` for `m ≤ n`, `j ≤ k + 1`.
    binom: Vec<Vec<u64>>,
    amps: Vec<C64>,
}

fn binomial_table(n: usize, k: usize) -> Vec<Vec<u64>> {
    let cols = k + 2;
    let mut t = vec![vec![0u64; cols]; n + 1];
    for m in 0..=n {
        t[m][0] = 1;
        for j in 1..cols.min(m + 1) {
            t[m][j] = t[m - 1][j - 1].saturating_add(if j < m { t[m - 1][j] } else { 0 });
        }
        if m < cols {
            t[m][m] = 1;
        }
    }
    t
}

/// `C(n, k)` as f64 (for messages and limits).
pub fn binomial(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Rank of `set ∪ extra` (both sorted, disjoint) without building the union.
fn rank_merged(binom: &[Vec<u64>], set: &[usize], extra: &[usize]) -> usize {
    let (mut i, mut j, mut pos, mut r) = (0, 0, 0, 0u64);
    while i < set.len() || j < extra.len() {
        let p = if j == extra.len() || (i < set.len() && set[i] < extra[j]) {
            i += 1;
            set[i - 1]
        } else {
            j += 1;
            extra[j - 1]
        };
        pos += 1;
        r += binom[p][pos];
    }
    r as usize
}

/// Calls `f` on every `r`-subset of `items` (sorted), in colexicographic order.
fn for_each_subset(items: &[usize], r: usize, f: impl FnMut(&[usize])) {
    for_each_subset_of(items.len(), |i| items[i], r, f)
}

/// Calls `f` on every `r`-subset of the qubits `0..n`, in colexicographic order (as
/// [`for_each_subset`] on `0..n`, without a list of the `n` qubits).
fn for_each_qubit_subset(n: usize, r: usize, f: impl FnMut(&[usize])) {
    for_each_subset_of(n, |i| i, r, f)
}

/// Calls `f` on every `r`-subset of the `m` sorted items `item(0..m)`, in colexicographic
/// order.
fn for_each_subset_of(
    m: usize,
    item: impl Fn(usize) -> usize,
    r: usize,
    mut f: impl FnMut(&[usize]),
) {
    if r > m {
        return;
    }
    let mut idx: Vec<usize> = (0..r).collect();
    let mut subset: Vec<usize> = idx.iter().map(|&i| item(i)).collect();
    loop {
        f(&subset);
        // Advance: smallest i whose index can grow without meeting the next one.
        let mut i = 0;
        while i < r && idx[i] + 1 == if i + 1 < r { idx[i + 1] } else { m } {
            i += 1;
        }
        if i == r {
            return;
        }
        idx[i] += 1;
        subset[i] = item(idx[i]);
        for j in 0..i {
            idx[j] = j;
            subset[j] = item(j);
        }
    }
}

impl SubspaceState {
    /// `|0…0>` on `n` qubits (weight 0). Allocates nothing per qubit: the binomial table
    /// is built (and checked against the memory budget) when a gate moves the state to a
    /// weight `k ≥ 1`.
    pub fn new(n: usize) -> Self {
        SubspaceState {
            n,
            k: 0,
            // Ranks of the empty set read no table entry.
            binom: Vec::new(),
            amps: vec![C64::new(1.0, 0.0)],
        }
    }

    /// The basis state whose qubits `ones` read 1.
    pub fn from_basis(n: usize, ones: &[usize]) -> Result<Self> {
        let bits = BitString::from_ones(n, ones)?;
        let k = bits.count_ones();
        let mut s = Self::with_weight(n, k)?;
        let r = s.rank(&bits.ones());
        s.amps[r] = C64::new(1.0, 0.0);
        Ok(s)
    }

    /// The weight-1 state `Σ_i y_i |e_i>` (`y_i` = amplitude of "only qubit `i` is 1"), as
    /// the unary engine produces it.
    pub fn from_weight_one(y: &[f64]) -> Result<Self> {
        let n = y.len();
        let mut s = Self::with_weight(n, 1)?;
        for (i, &a) in y.iter().enumerate() {
            let r = s.rank(&[i]);
            s.amps[r] = C64::new(a, 0.0);
        }
        Ok(s)
    }

    /// The zero vector of weight `k`: refused with [`Error::ResourceExceeded`] if it does
    /// not fit the memory budget, or [`Error::SubspaceTooLarge`] beyond
    /// [`MAX_DIMENSION`].
    fn with_weight(n: usize, k: usize) -> Result<Self> {
        if k == 0 {
            return Ok(SubspaceState {
                amps: vec![C64::new(0.0, 0.0)],
                ..Self::new(n)
            });
        }
        Need::subspace(n, k).check()?;
        let dim = binomial(n, k);
        if dim > MAX_DIMENSION as f64 {
            return Err(Error::SubspaceTooLarge {
                n_qubits: n,
                k,
                dim: format!("{dim:.3e}"),
                limit: MAX_DIMENSION,
            });
        }
        Ok(SubspaceState {
            n,
            k,
            binom: binomial_table(n, k),
            amps: vec![C64::new(0.0, 0.0); dim as usize],
        })
    }

    /// Hamming weight `k`.
    pub fn weight(&self) -> usize {
        self.k
    }

    /// Subspace dimension `C(n, k)`.
    pub fn dimension(&self) -> usize {
        self.amps.len()
    }

    /// Amplitudes in rank order (see [`SubspaceState::rank`]).
    pub fn amplitudes(&self) -> &[C64] {
        &self.amps
    }

    /// Index of the basis state with sorted qubit set `ones` (length `k`).
    pub fn rank(&self, ones: &[usize]) -> usize {
        ones.iter()
            .enumerate()
            .map(|(i, &p)| self.binom[p][i + 1])
            .sum::<u64>() as usize
    }

    /// Rank of `set ∪ extra` (both sorted, disjoint) without building the union.
    #[cfg(test)]
    fn rank_merged(&self, set: &[usize], extra: &[usize]) -> usize {
        rank_merged(&self.binom, set, extra)
    }

    /// Sorted qubit set of basis state `rank`.
    pub fn unrank(&self, mut rank: usize) -> Vec<usize> {
        let mut ones = vec![0; self.k];
        let mut p = self.n;
        for i in (0..self.k).rev() {
            // Largest p with C(p, i+1) ≤ rank.
            p -= 1;
            while self.binom[p][i + 1] as usize > rank {
                p -= 1;
            }
            rank -= self.binom[p][i + 1] as usize;
            ones[i] = p;
        }
        ones
    }

    /// Apply a diagonal phase to every basis state: `phase(set)`.
    fn apply_diagonal(&mut self, phase: impl Fn(&[usize]) -> C64) {
        let mut r = 0;
        let amps = &mut self.amps;
        for_each_qubit_subset(self.n, self.k, |set| {
            amps[r] *= phase(set);
            r += 1;
        });
    }

    fn apply_two_preserving(&mut self, a: usize, b: usize, m: &Mat4) {
        let is_one = |z: C64| (z - C64::new(1.0, 0.0)).norm() < TOL;
        let block_identity =
            is_one(m[1][1]) && is_one(m[2][2]) && m[1][2].norm() < TOL && m[2][1].norm() < TOL;
        if !block_identity && self.k >= 1 {
            let others: Vec<usize> = (0..self.n).filter(|&q| q != a && q != b).collect();
            let (binom, amps) = (&self.binom, &mut self.amps);
            for_each_subset(&others, self.k - 1, |set| {
                // Matrix index 1 = |q_a=0 q_b=1>, index 2 = |q_a=1 q_b=0>.
                let (ib, ia) = (rank_merged(binom, set, &[b]), rank_merged(binom, set, &[a]));
                let (x1, x2) = (amps[ib], amps[ia]);
                amps[ib] = m[1][1] * x1 + m[1][2] * x2;
                amps[ia] = m[2][1] * x1 + m[2][2] * x2;
            });
        }
        let (d00, d11) = (m[0][0], m[3][3]);
        if !is_one(d00) || !is_one(d11) {
            self.apply_diagonal(|set| {
                let (ha, hb) = (set.contains(&a), set.contains(&b));
                match (ha, hb) {
                    (false, false) => d00,
                    (true, true) => d11,
                    _ => C64::new(1.0, 0.0),
                }
            });
        }
    }

    /// If the state is a single basis state and `gate` maps it to a basis state, move to it.
    fn apply_to_basis_state(&mut self, gate: &BoundGate) -> Result<bool> {
        let mut nonzero = self.amps.iter().enumerate().filter(|(_, a)| a.norm() > TOL);
        let (index, amp) = match (nonzero.next(), nonzero.next()) {
            (Some((i, a)), None) => (i, *a),
            _ => return Ok(false),
        };
        let mut bits = BitString::from_ones(self.n, &self.unrank(index))?;
        let qubits = gate.qubits();
        let local = qubits
            .iter()
            .fold(0, |acc, &q| 2 * acc + usize::from(bits.get(q)));
        let column: Vec<C64> = match gate {
            BoundGate::One { matrix, .. } => (0..2).map(|r| matrix[r][local]).collect(),
            BoundGate::Two { matrix, .. } => (0..4).map(|r| matrix[r][local]).collect(),
        };
        let mut hits = column.iter().enumerate().filter(|(_, z)| z.norm() > TOL);
        let (out, factor) = match (hits.next(), hits.next()) {
            (Some((r, z)), None) => (r, *z),
            _ => return Ok(false),
        };
        for (j, &q) in qubits.iter().enumerate() {
            let shift = qubits.len() - 1 - j;
            bits.set(q, (out >> shift) & 1 == 1);
        }
        let mut next = Self::with_weight(self.n, bits.count_ones())?;
        let r = next.rank(&bits.ones());
        next.amps[r] = amp * factor;
        *self = next;
        Ok(true)
    }
}

impl Simulator for SubspaceState {
    fn backend_name(&self) -> &'static str {
        "subspace"
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
        if !gate.preserves_hamming_weight() {
            if self.apply_to_basis_state(gate)? {
                return Ok(());
            }
            return Err(Error::NotWeightPreserving {
                op: 0,
                gate: format!("gate on qubits {:?}", gate.qubits()),
            });
        }
        match gate {
            BoundGate::One { qubit, matrix } => {
                let (d0, d1, q) = (matrix[0][0], matrix[1][1], *qubit);
                if (d0 - 1.0).norm() > TOL || (d1 - 1.0).norm() > TOL {
                    self.apply_diagonal(|set| if set.contains(&q) { d1 } else { d0 });
                }
            }
            BoundGate::Two { qubits, matrix } => {
                self.apply_two_preserving(qubits[0], qubits[1], matrix)
            }
        }
        Ok(())
    }

    fn amplitude(&self, bits: &BitString) -> Result<C64> {
        check_bits(bits, self.n)?;
        if bits.count_ones() != self.k {
            return Ok(C64::new(0.0, 0.0));
        }
        Ok(self.amps[self.rank(&bits.ones())])
    }

    fn marginals(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.n];
        let mut r = 0;
        for_each_qubit_subset(self.n, self.k, |set| {
            let p = self.amps[r].norm_sqr();
            for &q in set {
                out[q] += p;
            }
            r += 1;
        });
        out
    }

    fn norm_squared(&self) -> f64 {
        self.amps.iter().map(|a| a.norm_sqr()).sum()
    }

    fn explicit_amplitudes(&self) -> Option<Vec<(BitString, C64)>> {
        let mut out = Vec::new();
        let mut r = 0;
        for_each_qubit_subset(self.n, self.k, |set| {
            let a = self.amps[r];
            if a.norm_sqr() > 0.0 {
                out.push((BitString::from_ones(self.n, set).expect("in range"), a));
            }
            r += 1;
        });
        Some(out)
    }

    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString> {
        sample_amplitudes(&self.amps, shots, seed)
            .into_iter()
            .map(|r| BitString::from_ones(self.n, &self.unrank(r)).expect("ranks unrank in range"))
            .collect()
    }

    fn sample_counts(&self, shots: u64, seed: u64) -> Result<Vec<(BitString, u64)>> {
        count_amplitudes(&self.amps, self.n, shots, seed, |r| {
            BitString::from_ones(self.n, &self.unrank(r)).expect("ranks unrank in range")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_unrank_round_trip_in_colex_order() {
        let s = SubspaceState::with_weight(9, 3).unwrap();
        let all: Vec<usize> = (0..9).collect();
        let mut r = 0;
        for_each_subset(&all, 3, |set| {
            assert_eq!(s.rank(set), r);
            assert_eq!(s.unrank(r), set);
            r += 1;
        });
        assert_eq!(r, 84);
        assert_eq!(s.rank_merged(&[1, 5], &[3]), s.rank(&[1, 3, 5]));
    }
}
