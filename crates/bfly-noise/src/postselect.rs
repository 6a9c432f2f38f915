//! Post-selection on Hamming weight: keep only the outcomes with exactly `k` ones (for a
//! unary circuit, `k = 1` discards every shot that left the one-hot subspace) and report
//! the kept fraction.

use serde::{Deserialize, Serialize};

use bfly_core::bits::BitString;
use bfly_core::error::{Error, Result};
use bfly_exec::Histogram;

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

/// Post-selection as error mitigation around any sampling executor (the IonQ client, its
/// emulator): every result's marginals are recomputed from the shots that have Hamming
/// weight `k`. Results without shots are refused — post-selection needs samples.
pub struct PostSelectedExecutor<E> {
    inner: E,
    weight: usize,
    kept: std::sync::Mutex<(u64, u64)>,
}

impl<E: bfly_exec::Executor> PostSelectedExecutor<E> {
    /// Keep only shots of weight `weight` (1 for unary circuits).
    pub fn new(inner: E, weight: usize) -> Self {
        PostSelectedExecutor {
            inner,
            weight,
            kept: std::sync::Mutex::new((0, 0)),
        }
    }

    /// Fraction of all shots so far that were kept.
    pub fn kept_fraction(&self) -> f64 {
        let (kept, total) = *self.kept.lock().expect("not poisoned");
        if total == 0 {
            f64::NAN
        } else {
            kept as f64 / total as f64
        }
    }
}

impl<E: bfly_exec::Executor> bfly_exec::Executor for PostSelectedExecutor<E> {
    fn name(&self) -> String {
        format!(
            "{} + post-selection (weight {})",
            self.inner.name(),
            self.weight
        )
    }

    fn execute(
        &self,
        batch: &[bfly_exec::CircuitRun<'_>],
        plan: &bfly_exec::ShotPlan,
    ) -> Result<Vec<bfly_exec::RunResult>> {
        let results = self.inner.execute(batch, plan)?;
        let mut out = Vec::with_capacity(results.len());
        for (r, run) in results.into_iter().zip(batch) {
            let h = r.histogram.as_ref().ok_or_else(|| {
                Error::NoisySimulation("post-selection needs shots; give a shot count".into())
            })?;
            let ps = postselect_histogram(h, run.circuit.qubits, self.weight);
            let mut k = self.kept.lock().expect("not poisoned");
            k.0 += ps.kept_shots.unwrap_or(0) as u64;
            k.1 += h.shots as u64;
            out.push(bfly_exec::RunResult {
                marginals: ps.marginals,
                histogram: r.histogram,
            });
        }
        Ok(out)
    }
}
