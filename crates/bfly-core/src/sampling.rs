//! Random draws shared by the whole workspace, from well-kept crates: a standard normal
//! through [`rand_distr::StandardNormal`] and a categorical sampler through
//! [`rand::distr::weighted::WeightedIndex`]. Loaders, models, validation inputs and every
//! shot sampler draw through these two functions, so a seeded stream means the same
//! thing everywhere.
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
use rand_distr::StandardNormal;

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
