//! Readout error applied to what a measurement returns: full distributions, marginals and
//! individual shots. Qubits flip independently (see [`ReadoutError`]).

use rand::Rng;

use super::model::ReadoutError;
use bfly_core::bits::BitString;

/// Apply the readout error to a distribution over `2^n` basis states (index bit `q` =
/// qubit `q`), in place: the per-qubit confusion matrix on every qubit in turn.
pub fn apply_to_distribution(readout: &ReadoutError, p: &mut [f64]) {
    if readout.is_none() {
        return;
    }
    let m = readout.matrix();
    let n = p.len().trailing_zeros() as usize;
    for q in 0..n {
        let stride = 1usize << q;
        for chunk in p.chunks_mut(2 * stride) {
            let (lo, hi) = chunk.split_at_mut(stride);
            for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
                let (x0, x1) = (*a, *b);
                *a = m[0][0] * x0 + m[0][1] * x1;
                *b = m[1][0] * x0 + m[1][1] * x1;
            }
        }
    }
}

/// `P(read 1)` per qubit from the true `P(1)` per qubit.
pub fn apply_to_marginals(readout: &ReadoutError, marginals: &[f64]) -> Vec<f64> {
    marginals
        .iter()
        .map(|&p| readout.apply_to_marginal(p))
        .collect()
}

/// Flip each bit of a measured shot with the readout error's probabilities.
pub fn apply_to_shot(readout: &ReadoutError, bits: &mut BitString, rng: &mut impl Rng) {
    if readout.is_none() {
        return;
    }
    for q in 0..bits.len() {
        let one = bits.get(q);
        let flip = if one {
            readout.p0_given_1
        } else {
            readout.p1_given_0
        };
        if rng.random::<f64>() < flip {
            bits.set(q, !one);
        }
    }
}
