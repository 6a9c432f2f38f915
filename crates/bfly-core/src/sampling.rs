//! Random draws shared by the whole workspace, from well-kept crates: a standard normal
//! through [`rand_distr::StandardNormal`] and a categorical sampler through
//! [`rand::distr::weighted::WeightedIndex`]; measurement counts of many shots at once
//! through [`multinomial_counts`] (conditional [`rand_distr::Binomial`] draws). Loaders,
//! models, validation inputs and every shot sampler draw through these functions, so a
//! seeded stream means the same thing everywhere.
//!
//! ```
//! use bfly_core::sampling::{sample_indices, standard_normal};
//! use rand::SeedableRng;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! assert!(standard_normal(&mut rng).is_finite());
//! let shots = sample_indices(&[0.25, 0.0, 0.75], 1000, &mut rng).unwrap();
//! assert!(shots.iter().all(|&i| i == 0 || i == 2));
//! assert!(sample_indices(&[0.5, -0.1], 10, &mut rng).is_err());
//! ```

use rand::distr::weighted::{Error as WeightError, WeightedIndex};
use rand::distr::Distribution;
use rand::Rng;
use rand_distr::{Binomial, StandardNormal};

use crate::error::{Error, Result};

/// One draw from the standard normal distribution N(0, 1).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// `shots` indices drawn independently with probabilities proportional to
/// `probabilities` (they need not sum to 1; zero entries are never drawn).
///
/// Refused with [`Error::InvalidWeights`]: an empty list, a negative, NaN or infinite
/// entry, or entries that are all zero.
pub fn sample_indices(
    probabilities: &[f64],
    shots: usize,
    rng: &mut impl Rng,
) -> Result<Vec<usize>> {
    if let Some(i) = probabilities.iter().position(|p| !p.is_finite()) {
        return Err(Error::InvalidWeights(format!(
            "probability {i} is {}; probabilities must be finite and non-negative",
            probabilities[i]
        )));
    }
    let index = WeightedIndex::new(probabilities).map_err(|e| {
        Error::InvalidWeights(match e {
            WeightError::InvalidInput => "the probability list is empty".to_string(),
            WeightError::InvalidWeight => {
                let i = probabilities.iter().position(|&p| p < 0.0).unwrap_or(0);
                format!(
                    "probability {i} is {}; probabilities must be finite and non-negative",
                    probabilities[i]
                )
            }
            WeightError::InsufficientNonZero => {
                "every probability is zero; nothing can be drawn".to_string()
            }
            other => format!("the probabilities are unusable ({other})"),
        })
    })?;
    Ok((0..shots).map(|_| index.sample(rng)).collect())
}

/// One draw from the binomial distribution: successes in `trials` (any `u64`) independent
/// trials of probability `p`, clamped to `[0, 1]` (NaN counts as 0).
///
/// ```
/// use bfly_core::sampling::binomial;
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// assert_eq!(binomial(u64::MAX, 1.0, &mut rng), u64::MAX);
/// assert_eq!(binomial(10, 0.0, &mut rng), 0);
/// assert!(binomial(1000, 0.5, &mut rng) <= 1000);
/// ```
pub fn binomial(trials: u64, p: f64, rng: &mut impl Rng) -> u64 {
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    Binomial::new(trials, p)
        .expect("a probability in [0, 1]")
        .sample(rng)
}

/// Entries per block of [`multinomial_counts`]: the block sums are drawn first, then each
/// block that received shots.
const MULTINOMIAL_BLOCK: usize = 4096;

/// Counts of `shots` independent draws from the categorical distribution proportional to
/// `weight(0..len)`, without drawing the shots one by one: a multinomial sample as
/// conditional binomials (entry `i` gets `Binomial(remaining, w_i / Σ_{j≥i} w_j)`), first
/// over blocks of 4096 entries, then inside each block that received shots. Time and
/// memory are `O(len / 4096 + 4096)` plus one pair per outcome drawn, whatever `shots`
/// is (up to `u64::MAX`). Returns `(index, count)` for every index drawn, by index; the
/// counts sum to `shots`. Reproducible from the state of `rng`.
///
/// `admit(k)` is called once the weights are read, before any pair is stored, with the
/// most pairs the result can hold (`min(shots, non-zero weights)`); its error is returned
/// (a caller checks its memory budget there). Refused with [`Error::InvalidWeights`] as
/// [`sample_indices`] refuses them.
///
/// ```
/// use bfly_core::sampling::multinomial_counts;
/// use rand::SeedableRng;
/// let p = [0.25, 0.0, 0.75];
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
/// let counts = multinomial_counts(3, |i| p[i], 1_000_000_000, &mut rng, |_| Ok(())).unwrap();
/// assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), 1_000_000_000);
/// assert_eq!(counts.len(), 2); // index 1 has weight 0
/// assert!((counts[0].1 as f64 / 1e9 - 0.25).abs() < 1e-3);
/// ```
pub fn multinomial_counts(
    len: usize,
    weight: impl Fn(usize) -> f64,
    shots: u64,
    rng: &mut impl Rng,
    admit: impl FnOnce(u64) -> Result<()>,
) -> Result<Vec<(usize, u64)>> {
    if len == 0 {
        return Err(Error::InvalidWeights(
            "the probability list is empty".to_string(),
        ));
    }
    let blocks = len.div_ceil(MULTINOMIAL_BLOCK);
    let block_range = |b: usize| b * MULTINOMIAL_BLOCK..((b + 1) * MULTINOMIAL_BLOCK).min(len);
    let mut sums = Vec::with_capacity(blocks);
    let mut nonzero = 0u64;
    for b in 0..blocks {
        let mut sum = 0.0;
        for i in block_range(b) {
            let w = weight(i);
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::InvalidWeights(format!(
                    "probability {i} is {w}; probabilities must be finite and non-negative"
                )));
            }
            nonzero += u64::from(w > 0.0);
            sum += w;
        }
        sums.push(sum);
    }
    if nonzero == 0 {
        return Err(Error::InvalidWeights(
            "every probability is zero; nothing can be drawn".to_string(),
        ));
    }
    admit(shots.min(nonzero))?;
    let mut out = Vec::new();
    if shots == 0 {
        return Ok(out);
    }
    let mut local = Vec::with_capacity(MULTINOMIAL_BLOCK.min(len));
    for (b, block_shots) in split_counts(&sums, shots, rng) {
        local.clear();
        local.extend(block_range(b).map(&weight));
        let start = b * MULTINOMIAL_BLOCK;
        out.extend(
            split_counts(&local, block_shots, rng)
                .into_iter()
                .map(|(i, c)| (start + i, c)),
        );
    }
    Ok(out)
}

/// `shots` split over `weights` (finite, non-negative, not all zero) by conditional
/// binomials with exact suffix sums; `(index, count)` for every non-zero count.
fn split_counts(weights: &[f64], shots: u64, rng: &mut impl Rng) -> Vec<(usize, u64)> {
    let mut suffix = vec![0.0; weights.len() + 1];
    for i in (0..weights.len()).rev() {
        suffix[i] = suffix[i + 1] + weights[i];
    }
    let last = weights.iter().rposition(|&w| w > 0.0);
    let mut out = Vec::new();
    let mut remaining = shots;
    for (i, &w) in weights.iter().enumerate() {
        if remaining == 0 {
            break;
        }
        if w == 0.0 {
            continue;
        }
        let q = w / suffix[i];
        let k = if Some(i) == last || q >= 1.0 {
            remaining
        } else {
            binomial(remaining, q, rng)
        };
        if k > 0 {
            out.push((i, k));
            remaining -= k;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn standard_normal_has_zero_mean_unit_variance_and_normal_tails() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors: 1/√n ≈ 0.0022 for the mean, √(2/n) ≈ 0.0032 for the variance.
        assert!(mean.abs() < 0.012, "mean {mean}");
        assert!((var - 1.0).abs() < 0.016, "variance {var}");
        // P(|Z| > 2) = 0.0455 (normal table), standard error ≈ 0.00047.
        let tail = draws.iter().filter(|z| z.abs() > 2.0).count() as f64 / n as f64;
        assert!((tail - 0.0455).abs() < 0.0025, "tail {tail}");
    }

    #[test]
    fn indices_follow_the_probabilities() {
        let p = [0.1, 0.0, 0.6, 0.3];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 100_000;
        let mut counts = [0usize; 4];
        for i in sample_indices(&p, n, &mut rng).unwrap() {
            counts[i] += 1;
        }
        assert_eq!(counts[1], 0);
        for (c, q) in counts.iter().zip(p) {
            // Binomial standard error ≤ 0.0016 at n = 10⁵.
            assert!((*c as f64 / n as f64 - q).abs() < 0.008, "{counts:?}");
        }
        // Unnormalised weights give the same draws as their normalised version.
        let scaled: Vec<f64> = p.iter().map(|q| q * 8.0).collect();
        let a = sample_indices(&p, 50, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        let b = sample_indices(&scaled, 50, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        assert_eq!(a, b);
        assert!(sample_indices(&p, 0, &mut rng).unwrap().is_empty());
    }

    #[test]
    fn multinomial_counts_follow_the_probabilities_at_any_shot_count() {
        // More entries than one block, with zero runs and a tiny tail.
        let len = 3 * MULTINOMIAL_BLOCK + 17;
        let w = |i: usize| {
            if i.is_multiple_of(5) {
                0.0
            } else {
                1.0 + (i % 7) as f64
            }
        };
        let total: f64 = (0..len).map(w).sum();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let shots = 50_000_000u64;
        let counts = multinomial_counts(len, w, shots, &mut rng, |_| Ok(())).unwrap();
        assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), shots);
        assert!(counts.windows(2).all(|p| p[0].0 < p[1].0));
        assert!(counts.iter().all(|&(i, c)| !i.is_multiple_of(5) && c > 0));
        // Every entry within 6 binomial standard deviations.
        for &(i, c) in &counts {
            let p = w(i) / total;
            let sd = (shots as f64 * p * (1.0 - p)).sqrt();
            assert!((c as f64 - shots as f64 * p).abs() < 6.0 * sd, "{i}: {c}");
        }
        // Same seed, same counts; u64::MAX shots neither overflow nor lose a shot.
        let again =
            multinomial_counts(len, w, shots, &mut ChaCha8Rng::seed_from_u64(2), |_| Ok(()));
        assert_eq!(again.unwrap(), counts);
        let all = multinomial_counts(len, w, u64::MAX, &mut rng, |_| Ok(())).unwrap();
        assert_eq!(
            all.iter().fold(0u64, |a, c| a.checked_add(c.1).unwrap()),
            u64::MAX
        );
        // One non-zero weight takes every shot; admit sees min(shots, non-zero entries).
        let one = multinomial_counts(
            4,
            |i| f64::from(u8::from(i == 2)),
            7,
            &mut rng,
            |k| {
                assert_eq!(k, 1);
                Ok(())
            },
        );
        assert_eq!(one.unwrap(), vec![(2, 7)]);
        let refused = multinomial_counts(
            4,
            |_| 1.0,
            3,
            &mut rng,
            |k| Err(Error::InvalidInput(format!("{k} entries"))),
        );
        assert_eq!(refused.unwrap_err().to_string(), "3 entries");
        assert!(multinomial_counts(2, |_| 1.0, 0, &mut rng, |_| Ok(()))
            .unwrap()
            .is_empty());
        for (len, says) in [(0, "empty"), (2, "every probability is zero")] {
            let e = multinomial_counts(len, |_| 0.0, 1, &mut rng, |_| Ok(())).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
        }
        let e = multinomial_counts(
            2,
            |i| if i == 1 { f64::NAN } else { 1.0 },
            1,
            &mut rng,
            |_| Ok(()),
        );
        assert!(e.unwrap_err().to_string().contains("probability 1 is NaN"));
    }

    #[test]
    fn bad_probabilities_are_typed_errors() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (p, says) in [
            (vec![], "empty"),
            (vec![0.0, 0.0], "every probability is zero"),
            (vec![0.5, -0.25], "probability 1 is -0.25"),
            (vec![0.5, f64::NAN], "probability 1 is NaN"),
            (vec![f64::INFINITY, 0.5], "probability 0 is inf"),
        ] {
            let e = sample_indices(&p, 3, &mut rng).unwrap_err();
            assert!(matches!(e, Error::InvalidWeights(_)), "{e:?}");
            assert!(e.to_string().contains(says), "{p:?}: {e}");
        }
    }
}
