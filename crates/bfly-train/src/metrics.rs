//! Scores of the imputation study: ROC AUC (ties counted half), RMSE, mean ± standard
//! deviation, and Welch's unequal-variance t-test with its two-sided p-value.
//!
//! ```
//! use bfly_train::metrics::{auc, mean_std, welch_t_test};
//! // One positive above both negatives, one tied with a negative: AUC = (1 + 1 + 1 + ½)/4.
//! assert_eq!(auc(&[0.9, 0.4, 0.4, 0.1], &[true, true, false, false]).unwrap(), 0.875);
//! let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
//! assert_eq!((m, s), (2.0, 1.0));
//! let w = welch_t_test(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
//! assert!(w.t < 0.0 && w.p_value > 0.0 && w.p_value < 1.0);
//! ```

use serde::{Deserialize, Serialize};

use bfly_core::error::{Error, Result};

/// Area under the ROC curve of `scores` for the 0/1 `labels`: the probability that a
/// random positive scores above a random negative, ties counting ½ (Mann–Whitney U with
/// mid-ranks).
pub fn auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    if scores.len() != labels.len() {
        return Err(Error::Imputation(format!(
            "AUC: {} scores for {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::Imputation(format!(
            "AUC: score {i} is {}; scores must be finite",
            scores[i]
        )));
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(Error::Imputation(format!(
            "AUC needs both classes; got {n_pos} positives and {n_neg} negatives"
        )));
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += mid * idx[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let (np, nn) = (n_pos as f64, n_neg as f64);
    Ok((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * nn))
}

/// Root mean squared difference of two equally long slices.
pub fn rmse(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "rmse of slices of different lengths");
    if a.is_empty() {
        return 0.0;
    }
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

/// Mean and sample standard deviation (`n − 1`; 0 for fewer than two values).
pub fn mean_std(x: &[f64]) -> (f64, f64) {
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    if x.len() < 2 {
        return (m, 0.0);
    }
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// Welch's t-test of `mean(a) = mean(b)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WelchTest {
    /// `(mean a − mean b) / √(s_a²/n_a + s_b²/n_b)`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub dof: f64,
    /// Two-sided p-value from Student's t distribution with `dof` degrees of freedom.
    pub p_value: f64,
}

/// Welch's unequal-variance t-test (two-sided). Needs two values per sample and a
/// non-zero variance in at least one.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Result<WelchTest> {
    if a.len() < 2 || b.len() < 2 {
        return Err(Error::Imputation(format!(
            "Welch's t-test needs at least 2 values per sample, got {} and {}",
            a.len(),
            b.len()
        )));
    }
    let (ma, sa) = mean_std(a);
    let (mb, sb) = mean_std(b);
    let (va, vb) = (sa * sa / a.len() as f64, sb * sb / b.len() as f64);
    if va + vb == 0.0 {
        return Err(Error::Imputation(
            "Welch's t-test: both samples have zero variance".into(),
        ));
    }
    let t = (ma - mb) / (va + vb).sqrt();
    let dof =
        (va + vb).powi(2) / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0));
    Ok(WelchTest {
        t,
        dof,
        p_value: student_t_two_sided_p(t, dof),
    })
}

/// `P(|T| ≥ |t|)` for Student's t with `dof` degrees of freedom:
/// `I_{dof/(dof+t²)}(dof/2, 1/2)`.
pub fn student_t_two_sided_p(t: f64, dof: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    regularized_incomplete_beta(dof / (dof + t * t), dof / 2.0, 0.5)
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; ~1e-15 relative).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function `I_x(a, b)` (continued fraction, modified
/// Lentz; Numerical Recipes §6.4). Hand-written: the statistics crates that have it
/// (statrs) pull in a linear-algebra stack this crate does not otherwise need.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}
