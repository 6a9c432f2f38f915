//! Small fixed-size complex matrix helpers used by the compiler and the block fuser.
//! (2×2 and 4×4 products by hand: a general linear-algebra crate would add allocation and
//! dispatch for matrices this small.)

use num_complex::Complex64 as C64;

use bfly_core::circuit::{Mat2, Mat4};

pub(crate) const ZERO: C64 = C64::new(0.0, 0.0);
pub(crate) const ONE: C64 = C64::new(1.0, 0.0);

/// The 2×2 identity.
pub(crate) fn id2() -> Mat2 {
    [[ONE, ZERO], [ZERO, ONE]]
}

/// The 4×4 identity.
#[cfg(test)]
pub(crate) fn id4() -> Mat4 {
    let mut m = [[ZERO; 4]; 4];
    for (i, row) in m.iter_mut().enumerate() {
        row[i] = ONE;
    }
    m
}

/// Pauli X.
pub(crate) fn pauli_x() -> Mat2 {
    [[ZERO, ONE], [ONE, ZERO]]
}

/// `a · b`.
pub(crate) fn mul2(a: &Mat2, b: &Mat2) -> Mat2 {
    let mut m = [[ZERO; 2]; 2];
    for r in 0..2 {
        for c in 0..2 {
            m[r][c] = a[r][0] * b[0][c] + a[r][1] * b[1][c];
        }
    }
    m
}

/// `a · b`.
pub(crate) fn mul4(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut m = [[ZERO; 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            m[r][c] = (0..4).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    m
}

/// Conjugate transpose.
pub(crate) fn dagger2(a: &Mat2) -> Mat2 {
    [
        [a[0][0].conj(), a[1][0].conj()],
        [a[0][1].conj(), a[1][1].conj()],
    ]
}

/// `a ⊗ b` on `|q_a q_b>` (first factor = high bit).
pub(crate) fn kron(a: &Mat2, b: &Mat2) -> Mat4 {
    let mut m = [[ZERO; 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            m[r][c] = a[r >> 1][c >> 1] * b[r & 1][c & 1];
        }
    }
    m
}

/// The same two-qubit operator with its qubits listed in the other order.
pub(crate) fn swap_order(m: &Mat4) -> Mat4 {
    let p = |i: usize| ((i & 1) << 1) | (i >> 1);
    let mut out = [[ZERO; 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            out[p(r)][p(c)] = m[r][c];
        }
    }
    out
}

/// `max |a - e^{iγ} b|` minimised over the global phase γ (γ aligned on the largest entry).
pub(crate) fn distance_up_to_phase<const N: usize>(a: &[[C64; N]; N], b: &[[C64; N]; N]) -> f64 {
    let overlap: C64 = (0..N)
        .flat_map(|r| (0..N).map(move |c| (r, c)))
        .map(|(r, c)| b[r][c].conj() * a[r][c])
        .sum();
    let phase = if overlap.norm() > 0.0 {
        overlap / overlap.norm()
    } else {
        ONE
    };
    let mut worst: f64 = 0.0;
    for r in 0..N {
        for c in 0..N {
            worst = worst.max((a[r][c] - phase * b[r][c]).norm());
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfly_core::circuit::gate::{ry_matrix, rz_matrix};

    #[test]
    fn kron_and_swap_order_agree() {
        let (a, b) = (ry_matrix(0.3), rz_matrix(1.1));
        assert!(distance_up_to_phase(&swap_order(&kron(&a, &b)), &kron(&b, &a)) < 1e-15);
        assert!(distance_up_to_phase(&mul2(&a, &dagger2(&a)), &id2()) < 1e-15);
        assert!(distance_up_to_phase(&mul4(&id4(), &kron(&a, &b)), &kron(&a, &b)) < 1e-15);
    }
}
