//! Distances between an ideal and a noisy output.

use bfly_core::error::{Error, Result};

/// Total variation distance `½ Σ |p_i − q_i|` between two distributions of equal length.
pub fn total_variation_distance(p: &[f64], q: &[f64]) -> Result<f64> {
    if p.len() != q.len() {
        return Err(Error::InvalidInput(format!(
            "total variation distance of distributions of different lengths ({} and {})",
            p.len(),
            q.len()
        )));
    }
    Ok(0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>())
}

/// Mean over qubits of `|a_i − b_i|` (e.g. noisy vs ideal marginals).
pub fn mean_abs_error(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::InvalidInput(format!(
            "mean absolute error of vectors of lengths {} and {} (need equal, non-zero)",
            a.len(),
            b.len()
        )));
    }
    Ok(a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64)
}
