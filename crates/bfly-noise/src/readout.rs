//! Readout error applied to what a measurement returns: full distributions, marginals,
//! individual shots and measurement counts. Qubits flip independently (see
//! [`ReadoutError`]).

use rand::Rng;
use std::collections::BTreeMap;

use super::model::ReadoutError;
use bfly_core::bits::BitString;
use bfly_core::sampling::binomial;

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

/// Apply the readout error to measurement counts (`(outcome, count)`, as
/// [`bfly_sim::Simulator::sample_counts`] returns them): the same distribution as
/// [`apply_to_shot`] on every shot, drawn as one binomial per outcome and qubit (how many
/// of its shots flip that qubit), merging outcomes that meet. Memory grows with the
/// distinct outcomes, at most `min(shots, 2^n)`, never with the shots. Sorted by outcome.
pub fn apply_to_counts(
    readout: &ReadoutError,
    counts: Vec<(BitString, u64)>,
    rng: &mut impl Rng,
) -> Vec<(BitString, u64)> {
    let mut current: BTreeMap<BitString, u64> = BTreeMap::new();
    for (bits, count) in counts {
        *current.entry(bits).or_default() += count;
    }
    if readout.is_none() {
        return current.into_iter().collect();
    }
    let n = current.keys().next().map_or(0, BitString::len);
    for q in 0..n {
        let mut next: BTreeMap<BitString, u64> = BTreeMap::new();
        for (bits, count) in current {
            let one = bits.get(q);
            let flip = if one {
                readout.p0_given_1
            } else {
                readout.p1_given_0
            };
            let flipped = binomial(count, flip, rng);
            if flipped > 0 {
                let mut other = bits.clone();
                other.set(q, !one);
                *next.entry(other).or_default() += flipped;
            }
            if flipped < count {
                *next.entry(bits).or_default() += count - flipped;
            }
        }
        current = next;
    }
    current.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn readout_on_counts_keeps_the_shots_and_flips_at_the_rates() {
        let readout = ReadoutError {
            p1_given_0: 0.1,
            p0_given_1: 0.3,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let shots = 10_000_000u64;
        let start = vec![(BitString::from_ones(3, &[0]).unwrap(), shots)];
        let out = apply_to_counts(&readout, start.clone(), &mut rng);
        assert_eq!(out.iter().map(|c| c.1).sum::<u64>(), shots);
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(out.len(), 8);
        // P(q0 reads 0) = 0.3, P(q1 reads 1) = P(q2 reads 1) = 0.1.
        let frac = |q: usize, v: bool| {
            out.iter()
                .filter(|c| c.0.get(q) == v)
                .map(|c| c.1)
                .sum::<u64>() as f64
                / shots as f64
        };
        assert!((frac(0, false) - 0.3).abs() < 1e-3);
        assert!((frac(1, true) - 0.1).abs() < 1e-3);
        assert!((frac(2, true) - 0.1).abs() < 1e-3);
        // No readout error: unchanged.
        let none = apply_to_counts(&ReadoutError::none(), start.clone(), &mut rng);
        assert_eq!(none, start);
    }
}
