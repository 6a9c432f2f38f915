//! Single-qubit synthesis: any 2×2 unitary into IonQ natives (GPi/GPi2 plus a virtual Z
//! left over) or into QIS `rz·ry·rz`.
//!
//! Native synthesis solves `W = diag(1, e^{iδ}) · V` up to global phase, where `V` is
//! nothing (W diagonal), one `GPi` (W anti-diagonal), one `GPi2` (|W₀₀| = 1/√2) or
//! `GPi2(a)·GPi2(b)` (everything else). The diagonal factor is a Z rotation that is not
//! emitted: the compiler keeps it as a per-qubit frame and folds it into later phases
//! (see [`super`]). Every synthesis is checked against its input before it is returned.

use num_complex::Complex64 as C64;
use std::f64::consts::{FRAC_1_SQRT_2, PI, TAU};

use super::mat::{dagger2, distance_up_to_phase, mul2};
use bfly_core::circuit::gate::{gpi2_matrix, gpi_matrix, ry_matrix, rz_matrix};
use bfly_core::circuit::Mat2;
use bfly_core::error::{Error, Result};

/// Below this, an entry of a unitary counts as zero (the error it leaves is below 1e-24
/// in fidelity).
pub(crate) const ZERO_TOL: f64 = 1e-12;

/// A native single-qubit pulse, phase in turns in `[0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Native1 {
    Gpi(f64),
    Gpi2(f64),
}

impl Native1 {
    pub(crate) fn matrix(&self) -> Mat2 {
        match *self {
            Native1::Gpi(p) => gpi_matrix(p),
            Native1::Gpi2(p) => gpi2_matrix(p),
        }
    }
}

/// Reduce a phase in turns to `[0, 1)` (never returns 1.0 through rounding). Values within
/// 1e-13 of a multiple of 1/4096 are snapped to it, so rounding residue such as
/// `0.25000000000000006` prints as `0.25` (a phase error of 1e-13 turns changes a state's
/// fidelity by ~1e-25).
pub fn fold_turns(phase: f64) -> f64 {
    let mut r = phase.rem_euclid(1.0);
    let snapped = (r * 4096.0).round() / 4096.0;
    if (r - snapped).abs() < 1e-13 {
        r = snapped;
    }
    if r >= 1.0 {
        0.0
    } else {
        r
    }
}

/// Reduce an angle in radians to `(-π, π]`.
pub(crate) fn fold_radians(angle: f64) -> f64 {
    let r = angle.rem_euclid(TAU);
    if r > PI {
        r - TAU
    } else {
        r
    }
}

/// `diag(1, e^{iδ})`.
pub(crate) fn frame_matrix(delta: f64) -> Mat2 {
    let zero = C64::new(0.0, 0.0);
    [
        [C64::new(1.0, 0.0), zero],
        [zero, C64::from_polar(1.0, delta)],
    ]
}

fn numerical(what: &str, err: f64) -> Error {
    Error::Numerical(format!(
        "single-qubit synthesis ({what}) missed its target by {err:.3e}; the input matrix is probably not unitary"
    ))
}

/// Natives `V` (in application order) and the frame angle δ with `W = diag(1,e^{iδ})·V`
/// up to global phase.
pub(crate) fn natives_with_frame(w: &Mat2) -> Result<(Vec<Native1>, f64)> {
    let (a00, a01) = (w[0][0].norm(), w[0][1].norm());
    let pulses = if a01 < ZERO_TOL {
        vec![]
    } else if a00 < ZERO_TOL {
        vec![Native1::Gpi(0.0)]
    } else if (a00 - FRAC_1_SQRT_2).abs() < ZERO_TOL {
        // W ∝ diag(w00, w11)·GPi2(φ) with e^{-2πiφ} = i·w01/w00.
        let phi = -(C64::i() * w[0][1] / w[0][0]).arg() / TAU;
        vec![Native1::Gpi2(fold_turns(phi))]
    } else {
        // GPi2(a)·GPi2(b) has w01/w00 = e^{-iB}·cot(Δ/2), Δ = B − A (radians).
        let delta = 2.0 * a00.atan2(a01);
        let b = w[0][0].arg() - w[0][1].arg();
        let a = b - delta;
        vec![
            Native1::Gpi2(fold_turns(b / TAU)),
            Native1::Gpi2(fold_turns(a / TAU)),
        ]
    };
    // D = W·V† must be diagonal.
    let v = pulses
        .iter()
        .fold(super::mat::id2(), |acc, p| mul2(&p.matrix(), &acc));
    let d = mul2(w, &dagger2(&v));
    let off = d[0][1].norm().max(d[1][0].norm());
    if off > 1e-9 {
        return Err(numerical("GPi/GPi2", off));
    }
    let delta = fold_radians(d[1][1].arg() - d[0][0].arg());
    let check = mul2(&frame_matrix(delta), &v);
    let err = distance_up_to_phase(&check, w);
    if err > 1e-9 {
        return Err(numerical("GPi/GPi2", err));
    }
    Ok((pulses, delta))
}

/// Natives that realise `W` exactly up to global phase (no frame left over): the frame
/// δ is emitted as `GPi(−δ/4π)` then `GPi(0)`, since `σ_0·σ_φ ∝ diag(1, e^{4πiφ})`.
pub(crate) fn natives_exact(w: &Mat2) -> Result<Vec<Native1>> {
    let (mut pulses, delta) = natives_with_frame(w)?;
    if let [Native1::Gpi(_)] = pulses.as_slice() {
        // An anti-diagonal W is one GPi exactly: e^{4πiφ} = w10/w01.
        let phi = (w[1][0] / w[0][1]).arg() / (2.0 * TAU);
        return Ok(vec![Native1::Gpi(fold_turns(phi))]);
    }
    if delta.abs() > ZERO_TOL {
        pulses.push(Native1::Gpi(fold_turns(-delta / (2.0 * TAU))));
        pulses.push(Native1::Gpi(0.0));
    }
    Ok(pulses)
}

/// `W = e^{iγ}·RZ(α)·RY(β)·RZ(λ)`: returns the rotations in application order
/// (`rz λ`, `ry β`, `rz α`), each in `(-π, π]`, dropping those that are identities.
pub(crate) fn zyz(w: &Mat2) -> Result<Vec<(char, f64)>> {
    let (c, s) = (w[0][0].norm(), w[1][0].norm());
    let beta = 2.0 * s.atan2(c);
    // In SU(2) form u11 = e^{i(α+λ)/2} cos, u10 = e^{i(α−λ)/2} sin; det removes γ.
    let det = w[0][0] * w[1][1] - w[0][1] * w[1][0];
    let root = det.sqrt();
    let (u11, u10) = (w[1][1] / root, w[1][0] / root);
    let (sum, diff) = if s < ZERO_TOL {
        (2.0 * u11.arg(), 0.0)
    } else if c < ZERO_TOL {
        (0.0, 2.0 * u10.arg())
    } else {
        (2.0 * u11.arg(), 2.0 * u10.arg())
    };
    let (alpha, lambda) = ((sum + diff) / 2.0, (sum - diff) / 2.0);
    let mut out = Vec::new();
    for (axis, angle) in [('z', lambda), ('y', beta), ('z', alpha)] {
        let angle = fold_radians(angle);
        if angle.abs() > ZERO_TOL {
            out.push((axis, angle));
        }
    }
    let v = out.iter().fold(super::mat::id2(), |acc, &(axis, angle)| {
        let m = if axis == 'z' {
            rz_matrix(angle)
        } else {
            ry_matrix(angle)
        };
        mul2(&m, &acc)
    });
    let err = distance_up_to_phase(&v, w);
    if err > 1e-9 {
        return Err(numerical("ZYZ", err));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfly_core::circuit::gate::rx_matrix;

    fn random_unitaries() -> Vec<Mat2> {
        let mut v = vec![
            super::super::mat::id2(),
            gpi_matrix(0.3),
            gpi2_matrix(0.7),
            rz_matrix(1.0),
            rx_matrix(PI),
        ];
        for i in 0..50 {
            let t = i as f64;
            v.push(mul2(
                &rz_matrix(0.37 * t - 3.0),
                &mul2(&ry_matrix(0.61 * t + 0.1), &rz_matrix(1.3 * t)),
            ));
        }
        v
    }

    #[test]
    fn native_synthesis_reproduces_random_unitaries() {
        for w in random_unitaries() {
            let (p, delta) = natives_with_frame(&w).unwrap();
            assert!(p.len() <= 2);
            let v = p
                .iter()
                .fold(super::super::mat::id2(), |a, g| mul2(&g.matrix(), &a));
            assert!(distance_up_to_phase(&mul2(&frame_matrix(delta), &v), &w) < 1e-12);
            let exact = natives_exact(&w).unwrap();
            let v = exact
                .iter()
                .fold(super::super::mat::id2(), |a, g| mul2(&g.matrix(), &a));
            assert!(distance_up_to_phase(&v, &w) < 1e-12);
            let z = zyz(&w).unwrap();
            assert!(z.len() <= 3);
        }
    }
}
