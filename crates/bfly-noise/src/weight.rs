//! Hamming-weight-resolved measurement statistics of an MPS, readout error included:
//! `P(weight = k)` and `P(q_i reads 1, weight = k)` for every qubit, without sampling.
//!
//! The measured bits `m` have probability `Σ_s |ψ(s)|² Π_q R(m_q | s_q)`. Sweeping the
//! chain with transfer matrices `Σ_s R(m|s) A_sᴴ E A_s` while counting the ones read
//! (a counter `c ∈ 0..=k` per environment) gives left and right environments; joining
//! them at each site gives the joint probabilities. Cost `O(n (k+1) χ³)`.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use num_complex::Complex64 as C64;

use super::model::ReadoutError;
use bfly_core::error::{Error, Result};
use bfly_sim::{Mps, Simulator};

/// `χ×χ` matrix, row-major, first index = bra (conjugated) bond.
type Env = Vec<C64>;

/// `A_sᴴ E A_s` for a site tensor `a` (`χl × 2 × χr`, layout `l + χl(s + 2r)`).
fn left_step(a: &[C64], dl: usize, dr: usize, s: usize, e: &Env) -> Env {
    let at = |l: usize, r: usize| a[l + dl * (s + 2 * r)];
    // T[l, r'] = Σ_l' E[l, l'] A[l', s, r']
    let mut t = vec![C64::new(0.0, 0.0); dl * dr];
    for l in 0..dl {
        for lp in 0..dl {
            let el = e[l * dl + lp];
            if el == C64::new(0.0, 0.0) {
                continue;
            }
            for rp in 0..dr {
                t[l * dr + rp] += el * at(lp, rp);
            }
        }
    }
    // X[r, r'] = Σ_l conj(A[l, s, r]) T[l, r']
    let mut x = vec![C64::new(0.0, 0.0); dr * dr];
    for r in 0..dr {
        for l in 0..dl {
            let c = at(l, r).conj();
            if c == C64::new(0.0, 0.0) {
                continue;
            }
            for rp in 0..dr {
                x[r * dr + rp] += c * t[l * dr + rp];
            }
        }
    }
    x
}

/// `A_s F A_sᴴ` (as a bra/ket environment on the left bond).
fn right_step(a: &[C64], dl: usize, dr: usize, s: usize, f: &Env) -> Env {
    let at = |l: usize, r: usize| a[l + dl * (s + 2 * r)];
    // T[r, l'] = Σ_r' F[r, r'] A[l', s, r']
    let mut t = vec![C64::new(0.0, 0.0); dr * dl];
    for r in 0..dr {
        for rp in 0..dr {
            let fr = f[r * dr + rp];
            if fr == C64::new(0.0, 0.0) {
                continue;
            }
            for lp in 0..dl {
                t[r * dl + lp] += fr * at(lp, rp);
            }
        }
    }
    // Y[l, l'] = Σ_r conj(A[l, s, r]) T[r, l']
    let mut y = vec![C64::new(0.0, 0.0); dl * dl];
    for l in 0..dl {
        for r in 0..dr {
            let c = at(l, r).conj();
            if c == C64::new(0.0, 0.0) {
                continue;
            }
            for lp in 0..dl {
                y[l * dl + lp] += c * t[r * dl + lp];
            }
        }
    }
    y
}

fn add_scaled(acc: &mut Env, x: &Env, w: f64) {
    if w != 0.0 {
        acc.iter_mut().zip(x).for_each(|(a, b)| *a += b * w);
    }
}

/// `(P(weight = k), [P(q reads 1, weight = k) for q in qubits])` of the measured bits,
/// with readout error, normalised by `<ψ|ψ>`.
pub fn weight_resolved(mps: &Mps, readout: &ReadoutError, k: usize) -> Result<(f64, Vec<f64>)> {
    let n = mps.n_qubits();
    if k > n {
        return Err(Error::NoisySimulation(format!(
            "post-selection weight {k} is larger than the number of qubits ({n})"
        )));
    }
    let r = readout.matrix(); // r[m][s] = P(read m | true s)
    let site = |i: usize| mps.site_tensor(i).expect("site in range");
    let zero = |d: usize| vec![C64::new(0.0, 0.0); d * d];
    // left[i][c]: environment of sites 0..i with c ones read.
    let mut left: Vec<Vec<Env>> = Vec::with_capacity(n + 1);
    let mut start = vec![zero(1); k + 1];
    start[0][0] = C64::new(1.0, 0.0);
    left.push(start);
    for i in 0..n {
        let (a, (dl, dr)) = site(i);
        let mut next = vec![zero(dr); k + 1];
        for c in 0..=k {
            if left[i][c].iter().all(|z| *z == C64::new(0.0, 0.0)) {
                continue;
            }
            for s in 0..2 {
                let x = left_step(a, dl, dr, s, &left[i][c]);
                add_scaled(&mut next[c], &x, r[0][s]);
                if c < k {
                    add_scaled(&mut next[c + 1], &x, r[1][s]);
                }
            }
        }
        left.push(next);
    }
    // right[i][c]: environment of sites i..n with c ones read.
    let mut right: Vec<Vec<Env>> = vec![Vec::new(); n + 1];
    let mut end = vec![zero(1); k + 1];
    end[0][0] = C64::new(1.0, 0.0);
    right[n] = end;
    for i in (0..n).rev() {
        let (a, (dl, dr)) = site(i);
        let mut next = vec![zero(dl); k + 1];
        for c in 0..=k {
            if right[i + 1][c].iter().all(|z| *z == C64::new(0.0, 0.0)) {
                continue;
            }
            for s in 0..2 {
                let y = right_step(a, dl, dr, s, &right[i + 1][c]);
                add_scaled(&mut next[c], &y, r[0][s]);
                if c < k {
                    add_scaled(&mut next[c + 1], &y, r[1][s]);
                }
            }
        }
        right[i] = next;
    }
    let norm = mps.norm_squared();
    if !(norm.is_finite() && norm > 0.0) {
        return Err(Error::Numerical(format!(
            "MPS norm is {norm}; cannot compute weight-resolved probabilities"
        )));
    }
    let kept = left[n][k][0].re / norm;
    let mut joint = vec![0.0; n];
    if k > 0 {
        for i in 0..n {
            let (a, (dl, dr)) = site(i);
            let mut total = 0.0;
            for c in 0..k {
                let f = &right[i + 1][k - 1 - c];
                for s in 0..2 {
                    if r[1][s] == 0.0 {
                        continue;
                    }
                    let x = left_step(a, dl, dr, s, &left[i][c]);
                    let v: C64 = x.iter().zip(f).map(|(p, q)| p * q).sum();
                    total += r[1][s] * v.re;
                }
            }
            joint[mps.qubit_at_site(i)] = total / norm;
        }
    }
    Ok((kept, joint))
}
