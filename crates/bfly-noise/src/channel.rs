//! The depolarizing channel, its convention, and the random Pauli insertions of a
//! Monte-Carlo trajectory.
//!
//! **Convention (Pauli form).** After a gate on `d` qubits (d = 1 or 2) with error
//! probability `p`,
//!
//! ```text
//! ρ → (1 − p) ρ + p/(4^d − 1) · Σ_{P ≠ I} P ρ P        (P over the d-qubit Paulis)
//! ```
//!
//! so `p` is the probability that *some* non-identity Pauli hits the gate's qubits, which
//! is the channel's process infidelity (its average gate infidelity is `p·2^d/(2^d + 1)`).
//! Since `Σ_P P ρ P = 4^d · Tr_Q(ρ) ⊗ I/2^d` over all `4^d` Paulis, the same channel is the
//! "replace by the maximally mixed state" form `ρ → (1 − λ) ρ + λ Tr_Q(ρ) ⊗ I/2^d` with
//! `λ = p · 4^d/(4^d − 1)` ([`mixing_weight`]); a caller whose rates follow that
//! convention passes `p = λ (4^d − 1)/4^d` ([`pauli_error_from_mixing_weight`]).
//! Both identities are pinned by tests against an explicit Kraus sum.
//!
//! A trajectory realises the channel by sampling: after each gate, with probability `p`,
//! insert one of the `4^d − 1` non-identity Paulis, uniformly.

use num_complex::Complex64 as C64;
use rand::Rng;

use bfly_core::circuit::{BoundGate, Mat2};

const ZERO: C64 = C64::new(0.0, 0.0);
const ONE: C64 = C64::new(1.0, 0.0);
const I: C64 = C64::new(0.0, 1.0);

/// The single-qubit Paulis `[I, X, Y, Z]`.
pub const PAULIS: [Mat2; 4] = [
    [[ONE, ZERO], [ZERO, ONE]],
    [[ZERO, ONE], [ONE, ZERO]],
    [[ZERO, C64::new(0.0, -1.0)], [I, ZERO]],
    [[ONE, ZERO], [ZERO, C64::new(-1.0, 0.0)]],
];

/// Weight `λ` of the maximally-mixed form for a Pauli-form error `p` on `d` qubits.
pub fn mixing_weight(p: f64, d: usize) -> f64 {
    let dim2 = 4f64.powi(d as i32);
    p * dim2 / (dim2 - 1.0)
}

/// The Pauli-form error `p` of a maximally-mixed-form weight `λ` on `d` qubits.
pub fn pauli_error_from_mixing_weight(lambda: f64, d: usize) -> f64 {
    let dim2 = 4f64.powi(d as i32);
    lambda * (dim2 - 1.0) / dim2
}

/// A Pauli error inserted after gate `after_gate`: `paulis[k]` (0 = I, 1 = X, 2 = Y,
/// 3 = Z) acts on `qubits[k]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PauliInsertion {
    /// Index of the gate it follows.
    pub after_gate: usize,
    /// Number of qubits (1 or 2).
    pub arity: usize,
    /// The qubits (only the first `arity` are used).
    pub qubits: [usize; 2],
    /// The Pauli on each qubit (never all identity).
    pub paulis: [u8; 2],
}

impl PauliInsertion {
    /// The non-identity single-qubit factors as gates.
    pub fn gates(&self) -> impl Iterator<Item = BoundGate> + '_ {
        (0..self.arity)
            .filter(|&k| self.paulis[k] != 0)
            .map(|k| BoundGate::One {
                qubit: self.qubits[k],
                matrix: PAULIS[self.paulis[k] as usize],
            })
    }
}

/// One gate of a noisy circuit: the bound gate, its error probability and how many times
/// the channel follows it (more than 1 to stand for a gate that compiles to several native
/// gates, e.g. an RBS = two MS).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoisyGate {
    /// The unitary.
    pub gate: BoundGate,
    /// Pauli-form error probability of the channel after it.
    pub error: f64,
    /// Number of times the channel is applied after the gate.
    pub repeats: u32,
}

/// Draw the Pauli insertions of one trajectory. The stream of random numbers depends only
/// on the gate list and `rng`, so every engine running the same draws sees the same errors:
/// per gate and per repeat, one uniform `u`; if `u < p`, one uniform index in `1..4^d`.
pub fn draw_insertions(gates: &[NoisyGate], rng: &mut impl Rng) -> Vec<PauliInsertion> {
    let mut out = Vec::new();
    for (i, g) in gates.iter().enumerate() {
        if g.error == 0.0 {
            continue;
        }
        let qubits = g.gate.qubits();
        let arity = qubits.len();
        for _ in 0..g.repeats {
            if rng.random::<f64>() < g.error {
                let idx = rng.random_range(1..(1usize << (2 * arity)));
                let (paulis, qs) = if arity == 1 {
                    ([idx as u8, 0], [qubits[0], qubits[0]])
                } else {
                    ([(idx >> 2) as u8, (idx & 3) as u8], [qubits[0], qubits[1]])
                };
                out.push(PauliInsertion {
                    after_gate: i,
                    arity,
                    qubits: qs,
                    paulis,
                });
            }
        }
    }
    out
}

/// The gate sequence of one trajectory: every gate followed by its inserted Paulis.
pub fn trajectory_gates(gates: &[NoisyGate], insertions: &[PauliInsertion]) -> Vec<BoundGate> {
    let mut out = Vec::with_capacity(gates.len() + 2 * insertions.len());
    let mut next = insertions.iter().peekable();
    for (i, g) in gates.iter().enumerate() {
        out.push(g.gate);
        while let Some(ins) = next.next_if(|ins| ins.after_gate == i) {
            out.extend(ins.gates());
        }
    }
    out
}
