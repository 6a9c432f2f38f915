//! Fusing a compiled circuit into two-qubit blocks so the subspace simulator can run it.
//!
//! A single native gate (one MS, one GPi2) does not preserve Hamming weight, but the gates
//! that implement one RBS do as a whole. [`fuse_blocks`] multiplies consecutive gates that
//! act within the same qubit pair — and the single-qubit gates adjacent to them — into one
//! 4×4 unitary per block, and checks that each block preserves weight.
//!
//! Rules (each keeps the product equal to the circuit's unitary):
//! - a two-qubit gate on the pair of the block that both its qubits last joined extends
//!   that block; otherwise it opens a new block;
//! - a single-qubit gate joins the last block of its qubit (it commutes with every later
//!   block, none of which touches that qubit); before any block it waits and joins the
//!   qubit's first block;
//! - a qubit's first block may start by flipping a qubit that nothing touched before
//!   (a loader's X compiled into GPi(0) merged with basis changes): if the block is not
//!   weight-preserving but `B·(X^x ⊗ X^y)` is, for flips only on such fresh qubits, the
//!   X's move to the front of the circuit (they commute with everything before the
//!   block) where the subspace simulator applies them to the initial basis state;
//! - single-qubit gates on qubits no block touches stay single-qubit gates: diagonal ones
//!   run anywhere, basis-permuting ones (GPi, X, …) move to the front.
//! Anything else is a typed [`Error::UnfusableBlock`].

use crate::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use crate::compile::mat::{id2, kron, mul2, mul4, pauli_x, swap_order};
use crate::error::{Error, Result};

const TOL: f64 = 1e-12;

struct Block {
    qubits: [usize; 2],
    m: Mat4,
    fresh: [bool; 2],
    first_op: usize,
    last_op: usize,
}

/// The compiled circuit as weight-preserving two-qubit blocks plus single-qubit gates, in
/// an order the subspace simulator can run from `|0…0>`.
pub fn fuse_blocks(circuit: &Circuit, values: &Parameters) -> Result<Vec<BoundGate>> {
    let gates = circuit.bind(values)?;
    let n = circuit.qubits;
    let id2 = id2();
    let mut blocks: Vec<Block> = Vec::new();
    let mut last: Vec<Option<usize>> = vec![None; n];
    let mut pending: Vec<Option<(Mat2, usize)>> = vec![None; n];
    for (op, g) in gates.iter().enumerate() {
        match g {
            BoundGate::One { qubit, matrix } => {
                let q = *qubit;
                if let Some(bi) = last[q] {
                    let b = &mut blocks[bi];
                    let local = if b.qubits[0] == q {
                        kron(matrix, &id2)
                    } else {
                        kron(&id2, matrix)
                    };
                    b.m = mul4(&local, &b.m);
                    b.last_op = op;
                } else {
                    let (prev, first) = pending[q].unwrap_or((id2, op));
                    pending[q] = Some((mul2(matrix, &prev), first));
                }
            }
            BoundGate::Two { qubits, matrix } => {
                let [a, b] = *qubits;
                match (last[a], last[b]) {
                    (Some(x), Some(y)) if x == y => {
                        let blk = &mut blocks[x];
                        let m = if blk.qubits == [a, b] {
                            *matrix
                        } else {
                            swap_order(matrix)
                        };
                        blk.m = mul4(&m, &blk.m);
                        blk.last_op = op;
                    }
                    _ => {
                        let fresh = [last[a].is_none(), last[b].is_none()];
                        let (pa, fa) = pending[a].take().unwrap_or((id2, op));
                        let (pb, fb) = pending[b].take().unwrap_or((id2, op));
                        blocks.push(Block {
                            qubits: [a, b],
                            m: mul4(matrix, &kron(&pa, &pb)),
                            fresh,
                            first_op: op.min(fa).min(fb),
                            last_op: op,
                        });
                        last[a] = Some(blocks.len() - 1);
                        last[b] = Some(blocks.len() - 1);
                    }
                }
            }
        }
    }
    let mut front = Vec::new();
    let mut body = Vec::new();
    let x = pauli_x();
    for blk in blocks {
        let mut done = false;
        for (fa, fb) in [(false, false), (true, false), (false, true), (true, true)] {
            if (fa && !blk.fresh[0]) || (fb && !blk.fresh[1]) {
                continue;
            }
            let flip = kron(
                if fa { &x } else { &id2 },
                if fb { &x } else { &id2 },
            );
            let candidate = BoundGate::Two {
                qubits: blk.qubits,
                matrix: mul4(&blk.m, &flip),
            };
            if candidate.preserves_hamming_weight() {
                for (flipped, q) in [(fa, blk.qubits[0]), (fb, blk.qubits[1])] {
                    if flipped {
                        front.push(BoundGate::One { qubit: q, matrix: x });
                    }
                }
                body.push(candidate);
                done = true;
                break;
            }
        }
        if !done {
            return Err(Error::UnfusableBlock {
                qubits: blk.qubits.to_vec(),
                first_op: blk.first_op,
                last_op: blk.last_op,
            });
        }
    }
    for (q, p) in pending.into_iter().enumerate() {
        let Some((m, op)) = p else { continue };
        let gate = BoundGate::One { qubit: q, matrix: m };
        if gate.preserves_hamming_weight() {
            body.push(gate);
        } else if m[0][0].norm() < TOL && m[1][1].norm() < TOL {
            front.push(gate);
        } else {
            return Err(Error::UnfusableBlock {
                qubits: vec![q],
                first_op: op,
                last_op: op,
            });
        }
    }
    front.extend(body);
    Ok(front)
}
