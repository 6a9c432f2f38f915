//! Fusing a compiled circuit into two-qubit blocks so the subspace simulator can run it.
//!
//! A single native gate (one MS, one GPi2) does not preserve Hamming weight, but the gates
//! that implement one RBS do as a whole, up to single-qubit basis changes that the compiler
//! has merged with the neighbouring RBS's. [`fuse_blocks`]:
//!
//! 1. groups consecutive two-qubit gates on the same qubit pair, with the single-qubit
//!    gates between them, into one 4×4 block `M`; single-qubit gates between two blocks of
//!    a qubit are kept as that qubit's *link*;
//! 2. walks the blocks in order, carrying per qubit a single-qubit unitary `c_q`: the block
//!    becomes `M·((l_a c_a) ⊗ (l_b c_b))` (`l` = the links before it), and is split as
//!    `(A ⊗ B)·G` with `G` weight-preserving. `A`, `B` follow from the images of `|00>`
//!    and `|11>`, which `G` keeps (up to phase), so `M|00> = A|0> ⊗ B|0>` and
//!    `M|11> = A|1> ⊗ B|1>`; `G` is simulated and `A`, `B` become the new carries;
//! 3. a qubit's first block may also start with a flip of a qubit nothing touched before
//!    (a loader's X merged into a basis change): then `M·(X^x ⊗ X^y)` is split instead and
//!    the X's move to the front of the circuit (they commute with everything before the
//!    block), where the subspace simulator applies them to the initial basis state;
//! 4. what is left on each qubit at the end must be diagonal (a phase per basis state), or
//!    — on a qubit no block touches — a basis permutation (GPi, X), moved to the front.
//!
//! The product of everything returned equals the circuit's unitary on the states reached
//! from `|0…0>`; a block that cannot be split, or a leftover that is neither diagonal nor
//! a permutation, is a typed [`Error::UnfusableBlock`].

use num_complex::Complex64 as C64;

use crate::compile::mat::{id2, kron, mul2, mul4, pauli_x, swap_order};
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// Tolerance for "zero" entries (diagonal leftovers, weight preservation).
const TOL: f64 = 1e-10;

struct Block {
    qubits: [usize; 2],
    /// Two-qubit gates of the block with the single-qubit gates between them.
    m: Mat4,
    /// Single-qubit gates on each qubit since its previous block (or the start).
    lead: [Mat2; 2],
    /// Nothing touched the qubit before this block.
    fresh: [bool; 2],
    first_op: usize,
    last_op: usize,
}

/// The compiled circuit as weight-preserving two-qubit blocks plus single-qubit gates, in
/// an order the subspace simulator can run from `|0…0>`.
///
/// Refused with [`bfly_core::error::Error::ResourceExceeded`] if its per-qubit tables (a
/// 2×2 matrix and a block index per qubit, twice) and the bound gates do not fit the
/// memory budget.
pub fn fuse_blocks(circuit: &Circuit, values: &Parameters) -> Result<Vec<BoundGate>> {
    let n = circuit.qubits;
    let ops = circuit.ops.len() as u64;
    Need::new(
        format!("fusing a circuit of {n} qubits and {ops} operations into blocks"),
        (n as u64)
            .saturating_mul(2 * 64 + 48)
            .saturating_add(ops.saturating_mul(2 * bfly_core::budget::MPS_GATE_BYTES)),
        "validate with the MPS engine (--engine mps), or a circuit with fewer qubits",
    )
    .check()?;
    let gates = circuit.bind(values)?;
    let mut blocks: Vec<Block> = Vec::new();
    let mut last: Vec<Option<usize>> = vec![None; n];
    let mut link: Vec<Mat2> = vec![id2(); n];
    let mut link_first_op: Vec<Option<usize>> = vec![None; n];
    for (op, g) in gates.iter().enumerate() {
        match g {
            BoundGate::One { qubit, matrix } => {
                link[*qubit] = mul2(matrix, &link[*qubit]);
                link_first_op[*qubit].get_or_insert(op);
            }
            BoundGate::Two { qubits, matrix } => {
                let [a, b] = *qubits;
                match (last[a], last[b]) {
                    (Some(x), Some(y)) if x == y => {
                        let blk = &mut blocks[x];
                        let (m, between) = if blk.qubits == [a, b] {
                            (*matrix, kron(&link[a], &link[b]))
                        } else {
                            (swap_order(matrix), kron(&link[b], &link[a]))
                        };
                        blk.m = mul4(&m, &mul4(&between, &blk.m));
                        blk.last_op = op;
                    }
                    _ => {
                        let first_op = [link_first_op[a], link_first_op[b], Some(op)]
                            .into_iter()
                            .flatten()
                            .min()
                            .unwrap_or(op);
                        blocks.push(Block {
                            qubits: [a, b],
                            m: *matrix,
                            lead: [link[a], link[b]],
                            fresh: [last[a].is_none(), last[b].is_none()],
                            first_op,
                            last_op: op,
                        });
                        last[a] = Some(blocks.len() - 1);
                        last[b] = Some(blocks.len() - 1);
                    }
                }
                for q in [a, b] {
                    link[q] = id2();
                    link_first_op[q] = None;
                }
            }
        }
    }

    let x = pauli_x();
    let one = id2();
    let mut carry: Vec<Mat2> = vec![id2(); n];
    let mut front = Vec::new();
    let mut body = Vec::with_capacity(blocks.len() + n);
    for blk in &blocks {
        let [a, b] = blk.qubits;
        let before = kron(
            &mul2(&blk.lead[0], &carry[a]),
            &mul2(&blk.lead[1], &carry[b]),
        );
        let m = mul4(&blk.m, &before);
        let mut split = None;
        for (fa, fb) in [(false, false), (true, false), (false, true), (true, true)] {
            if (fa && !blk.fresh[0]) || (fb && !blk.fresh[1]) {
                continue;
            }
            let flip = kron(if fa { &x } else { &one }, if fb { &x } else { &one });
            if let Some(parts) = split_local(&mul4(&m, &flip)) {
                split = Some((parts, fa, fb));
                break;
            }
        }
        let Some(((g, ca, cb), fa, fb)) = split else {
            return Err(Error::UnfusableBlock {
                qubits: blk.qubits.to_vec(),
                first_op: blk.first_op,
                last_op: blk.last_op,
            });
        };
        for (flipped, q) in [(fa, a), (fb, b)] {
            if flipped {
                front.push(BoundGate::One {
                    qubit: q,
                    matrix: x,
                });
            }
        }
        body.push(BoundGate::Two {
            qubits: blk.qubits,
            matrix: g,
        });
        carry[a] = ca;
        carry[b] = cb;
    }
    for q in 0..n {
        let m = mul2(&link[q], &carry[q]);
        let diagonal = m[0][1].norm() < TOL && m[1][0].norm() < TOL;
        let permutation = m[0][0].norm() < TOL && m[1][1].norm() < TOL;
        if diagonal {
            let zero = C64::new(0.0, 0.0);
            let d = [[m[0][0], zero], [zero, m[1][1]]];
            body.push(BoundGate::One {
                qubit: q,
                matrix: d,
            });
        } else if permutation && last[q].is_none() {
            front.push(BoundGate::One {
                qubit: q,
                matrix: m,
            });
        } else {
            let op = link_first_op[q].unwrap_or(gates.len().saturating_sub(1));
            return Err(Error::UnfusableBlock {
                qubits: vec![q],
                first_op: op,
                last_op: gates.len().saturating_sub(1),
            });
        }
    }
    front.extend(body);
    Ok(front)
}

/// Split `m = (A ⊗ B)·G` with `G` weight-preserving, or `None` if `m` has no such form.
fn split_local(m: &Mat4) -> Option<(Mat4, Mat2, Mat2)> {
    let (a0, b0) = factor_product(&[m[0][0], m[1][0], m[2][0], m[3][0]])?;
    let (a1, b1) = factor_product(&[m[0][3], m[1][3], m[2][3], m[3][3]])?;
    let a = [[a0[0], a1[0]], [a0[1], a1[1]]];
    let b = [[b0[0], b1[0]], [b0[1], b1[1]]];
    for u in [&a, &b] {
        let overlap = u[0][0].conj() * u[0][1] + u[1][0].conj() * u[1][1];
        if overlap.norm() > TOL {
            return None;
        }
    }
    let dagger = |u: &Mat2| {
        [
            [u[0][0].conj(), u[1][0].conj()],
            [u[0][1].conj(), u[1][1].conj()],
        ]
    };
    let mut g = mul4(&kron(&dagger(&a), &dagger(&b)), m);
    let weight = |i: usize| (i & 1) + (i >> 1);
    for (r, row) in g.iter_mut().enumerate() {
        for (c, entry) in row.iter_mut().enumerate() {
            if weight(r) != weight(c) {
                if entry.norm() > TOL {
                    return None;
                }
                // Rounding residue (< TOL, i.e. < 1e-20 in fidelity): drop it so the
                // subspace simulator's exact test accepts the block.
                *entry = C64::new(0.0, 0.0);
            }
        }
    }
    Some((g, a, b))
}

/// `v = a ⊗ b` (indexed `2·i + j`) with unit `a`, `b`, or `None` if `v` is entangled.
fn factor_product(v: &[C64; 4]) -> Option<([C64; 2], [C64; 2])> {
    let k = (0..4).max_by(|&x, &y| v[x].norm().total_cmp(&v[y].norm()))?;
    let (i, j) = (k >> 1, k & 1);
    let a = [v[j], v[2 + j]];
    let b = [v[2 * i], v[2 * i + 1]];
    let (na, nb) = (norm(&a), norm(&b));
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    let a = [a[0] / na, a[1] / na];
    let b = [b[0] / nb, b[1] / nb];
    // Rebuild and compare (up to the phase/scale of v).
    let scale = v[k] / (a[i] * b[j]);
    for r in 0..4 {
        if (v[r] - scale * a[r >> 1] * b[r & 1]).norm() > TOL {
            return None;
        }
    }
    Some((a, b))
}

fn norm(x: &[C64; 2]) -> f64 {
    (x[0].norm_sqr() + x[1].norm_sqr()).sqrt()
}
