//! Post-selection on Hamming weight: keep only the outcomes with exactly `k` ones (for a
//! unary circuit, `k = 1` discards every shot that left the one-hot subspace) and report
//! the kept fraction.

use serde::{Deserialize, Serialize};

use crate::bits::BitString;
use crate::error::{Error, Result};
use crate::train::executor::Histogram;

/// What post-selection kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostSelection {
    /// The Hamming weight kept.
    pub weight: usize,
    /// Probability mass (exact) or fraction of shots (sampled) with that weight.
    pub kept_fraction: f64,
    /// `P(q_i = 1 | weight = k)`; all zero if nothing was kept.
    pub marginals: Vec<f64>,
    /// Shots kept, when sampled.
    pub kept_shots: Option<usize>,
}

/// Check `k ≤ n`.
pub fn check_weight(k: usize, n: usize) -> Result<()> {
    if k > n {
        return Err(Error::NoisySimulation(format!(
            "post-selection weight {k} is larger than the number of qubits ({n}); use 0..={n}"
        )));
    }
    Ok(())
}

/// Post-select a distribution over `2^n` basis states on weight `k`.
pub fn postselect_distribution(p: &[f64], k: usize) -> PostSelection {
    let n = p.len().trailing_zeros() as usize;
    let mut kept = 0.0;
    let mut joint = vec![0.0; n];
    for (i, &pi) in p.iter().enumerate() {
        if i.count_ones() as usize == k && pi != 0.0 {
            kept += pi;
            let mut bits = i;
            while bits != 0 {
                joint[bits.trailing_zeros() as usize] += pi;
                bits &= bits - 1;
            }
        }
    }
    finish(k, kept, joint, None)
}

/// The distribution conditioned on weight `k` (renormalised; all zero if no mass).
pub fn conditioned_distribution(p: &[f64], k: usize) -> Vec<f64> {
    let kept: f64 = p
        .iter()
        .enumerate()
        .filter(|(i, _)| i.count_ones() as usize == k)
        .map(|(_, x)| x)
        .sum();
    p.iter()
        .enumerate()
        .map(|(i, &x)| {
            if i.count_ones() as usize == k && kept > 0.0 {
                x / kept
            } else {
                0.0
            }
        })
        .collect()
}

/// Post-select measured shots on weight `k`.
pub fn postselect_histogram(h: &Histogram, n: usize, k: usize) -> PostSelection {
    let mut kept = 0u64;
    let mut joint = vec![0.0; n];
    for (bits, count) in &h.counts {
        if bits.count_ones() == k {
            kept += count;
            for q in bits.ones() {
                joint[q] += *count as f64;
            }
        }
    }
    let frac = if h.shots == 0 {
        0.0
    } else {
        kept as f64 / h.shots as f64
    };
    // joint holds counts; scale to fractions of all shots first.
    let scale = 1.0 / h.shots.max(1) as f64;
    joint.iter_mut().for_each(|x| *x *= scale);
    finish(k, frac, joint, Some(kept as usize))
}

/// From the kept mass and `P(q_i = 1, weight = k)`.
pub(crate) fn finish(k: usize, kept: f64, joint: Vec<f64>, shots: Option<usize>) -> PostSelection {
    let marginals = if kept > 0.0 {
        joint.into_iter().map(|x| x / kept).collect()
    } else {
        vec![0.0; joint.len()]
    };
    PostSelection {
        weight: k,
        kept_fraction: kept,
        marginals,
        kept_shots: shots,
    }
}

/// True if `bits` has weight `k` (for filtering raw samples).
pub fn has_weight(bits: &BitString, k: usize) -> bool {
    bits.count_ones() == k
}
