//! Compiler from the circuit IR to IonQ's gate sets, and an OpenQASM 2.0 exporter.
//!
//! | target | two-qubit gate | single-qubit gates |
//! |---|---|---|
//! | [`Target::Aria`] | `ms(φ0, φ1, t)`, `t ∈ (0, 0.25]` | `gpi(φ)`, `gpi2(φ)`, `φ ∈ [0, 1)` |
//! | [`Target::Forte`] | `zz(t)`, `t ∈ (0, 0.25]` (Forte rejects `ms`) | `gpi`, `gpi2` |
//! | [`Target::Qis`] | `cz` (RBS: two), `cnot` (MS, ZZ: two each), `cz`/`cnot`/`swap` kept | `rz`, `ry` |
//!
//! Output is a plain [`Circuit`] whose parameters are all bound ([`Param::Fixed`]), so the
//! IonQ job writer, the simulators and `Circuit::save` take it as it is.
//!
//! # How it works
//! Every two-qubit IR gate is lowered to single-qubit matrices and *interactions*
//! `exp(-iπ t P_a ⊗ P_b)` with `P` = Z or an equatorial Pauli `σ_φ = cos2πφ X + sin2πφ Y`:
//! - `RBS(θ) = MS(0, 0.25, a)·MS(0.75, 0, a)`, `a = θ/2π` (SCIENCE.md §6; the factors commute);
//! - `CZ = ZZ(-1/4)·(RZ(π/2) ⊗ RZ(π/2))`, `CNOT = (1⊗H)·CZ·(1⊗H)`,
//!   `SWAP ∝ exp(-iπ/4 (XX + YY + ZZ))` (three interactions);
//! - `MS` and `ZZ` in the input are interactions already.
//!
//! An interaction becomes the target's native gate after a basis change on each qubit
//! (Aria: `Z → X` by `RY(π/2)`; Forte: `σ_φ → Z` by `RY(-π/2)·RZ(-2πφ)`), its angle
//! folded into `(0, 0.25]`: `t` modulo 1 is a global phase, `t ≥ ½` peels off
//! `exp(-iπ/2 P⊗P) ∝ P⊗P` (single-qubit gates), `t ∈ (¼, ½)` becomes `½ − t` with the
//! sign flipped by `φ0 → φ0 + ½` (MS) or by conjugating with X on one qubit (ZZ);
//! `t ≈ 0` is removed. `RBS(kπ)` thus compiles to no two-qubit gate at all.
//!
//! Single-qubit gates are never emitted one by one: they accumulate per qubit and are
//! synthesised when a two-qubit gate (or the end) needs that qubit, so runs of adjacent
//! single-qubit gates merge and identities vanish.
//!
//! # Virtual Z (and virtual π turns)
//! IonQ natives have no Z rotation. The compiler keeps a per-qubit *frame* `F_q`, a
//! diagonal or anti-diagonal unitary (a Z rotation, possibly times a π turn `σ_φ`), with
//! `true state = (⊗ F_q) · (emitted circuit)`. A gate `G` is emitted as `F† G F`: for
//! `GPi`, `GPi2` and `MS` that is the same gate with each phase mapped by
//! `F† σ_φ F = σ_φ'` (a diagonal frame `diag(1, e^{iδ})` lowers φ by `δ/2π`; an
//! anti-diagonal one reflects it); `ZZ(t)` becomes `ZZ(±t)` by the frames' parity, and the
//! compiler picks qubit a's frame so that the emitted angle is positive. Pending
//! single-qubit unitaries `W` are synthesised as `W·F = F'·V`: `V` is nothing when `W·F`
//! is itself diagonal or anti-diagonal (loader X gates, `σ⊗σ` from angle folding, Z
//! rotations all cost nothing), else at most two GPi2; the frame becomes `F'`.
//!
//! At the end the frames are **emitted** by default (≤ 2 GPi per qubit, exactly:
//! `σ_0·σ_φ ∝ diag(1, e^{4πiφ})`, one GPi for an anti-diagonal frame), so the compiled
//! circuit prepares exactly the source state up to a global phase, which is what
//! [`crate::validate`] checks. With [`TrailingZ::Drop`] only the diagonal part is left
//! out: measurement probabilities are unchanged (a diagonal phase before a
//! computational-basis measurement) but the state differs by that diagonal phase, so its
//! state fidelity is not 1 (the [`Compiled::dropped_frames`] say by how much).
//!
//! ```
//! use bfly_core::circuit::{Circuit, Gate, Param};
//! use bfly_ionq::compile::{compile, CompileOptions, Target};
//! let mut c = Circuit::new(2);
//! c.push(Gate::X { qubit: 0 }).unwrap();
//! c.push(Gate::Rbs { qubits: [0, 1], theta: Param::Fixed(0.4) }).unwrap();
//! let aria = compile(&c, &c.parameters, Target::Aria, &CompileOptions::default()).unwrap();
//! assert_eq!(aria.report.compiled.two_qubit, 2); // two partial MS gates
//! assert!(aria.circuit.ops.iter().all(|g| ["gpi", "gpi2", "ms"].contains(&g.name())));
//! let forte = compile(&c, &c.parameters, Target::Forte, &CompileOptions::default()).unwrap();
//! assert!(forte.circuit.ops.iter().all(|g| g.name() != "ms"));
//! ```

pub(crate) mod mat;
pub mod qasm;
pub mod report;
mod single;

pub use report::{circuit_stats, CircuitStats, CompileReport};
pub use single::fold_turns;

use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_PI_2, PI, TAU};
use std::fmt;
use std::str::FromStr;

use self::mat::{dagger2, id2, mul2, pauli_x};
use self::single::{frame_matrix, natives_exact, natives_with_frame, zyz, Native1, ZERO_TOL};
use bfly_core::budget::Need;
use bfly_core::circuit::gate::{gpi_matrix, ry_matrix, rz_matrix};
use bfly_core::circuit::{BoundGate, Circuit, Gate, Mat2, Param, Parameters};
use bfly_core::error::{Error, Result};

/// A gate set to compile to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// IonQ Aria family: `ms` + `gpi`/`gpi2`.
    Aria,
    /// IonQ Forte family: `zz` + `gpi`/`gpi2` (no `ms`).
    Forte,
    /// IonQ's QIS gate set: `rz`, `ry`, `cnot`, `cz`, `swap` (RBS as two CZ).
    Qis,
}

impl Target {
    /// Gate names a circuit compiled for this target may contain.
    pub fn gate_names(&self) -> &'static [&'static str] {
        match self {
            Target::Aria => &["gpi", "gpi2", "ms"],
            Target::Forte => &["gpi", "gpi2", "zz"],
            Target::Qis => &["rz", "ry", "cnot", "cz", "swap"],
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Aria => "aria",
            Target::Forte => "forte",
            Target::Qis => "qis",
        })
    }
}

impl FromStr for Target {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "aria" | "aria-1" | "aria-2" | "qpu.aria-1" | "qpu.aria-2" => Ok(Target::Aria),
            "forte"
            | "forte-1"
            | "forte-enterprise-1"
            | "qpu.forte-1"
            | "qpu.forte-enterprise-1" => Ok(Target::Forte),
            "qis" => Ok(Target::Qis),
            _ => Err(Error::UnknownTarget {
                name: s.to_string(),
            }),
        }
    }
}

/// What to do with the Z frames left on each qubit at the end (native targets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrailingZ {
    /// Emit them (≤ 2 GPi per qubit): the compiled state equals the source state up to a
    /// global phase.
    #[default]
    Emit,
    /// Leave them out: same measurement distribution, state equal only up to a diagonal
    /// phase (see [`Compiled::dropped_frames`]).
    Drop,
}

/// Compiler settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileOptions {
    /// Trailing virtual-Z frames: emitted (default) or dropped.
    pub trailing_z: TrailingZ,
}

/// A compiled circuit with its statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// Only the target's gates, every parameter [`Param::Fixed`].
    pub circuit: Circuit,
    /// Gate counts and depth before and after.
    pub report: CompileReport,
    /// With [`TrailingZ::Drop`]: `(qubit, δ)` of each frame `diag(1, e^{iδ})` left out.
    pub dropped_frames: Vec<(usize, f64)>,
}

/// A Pauli axis of an interaction: Z or an equatorial `σ_φ` (φ in turns).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Axis {
    Z,
    Equator(f64),
}

impl Axis {
    fn matrix(&self) -> Mat2 {
        match *self {
            Axis::Z => rz_matrix(PI), // ∝ Z; only used as a single-qubit gate (global phase)
            Axis::Equator(phi) => gpi_matrix(phi),
        }
    }
}

/// `C_φ` with `C σ_φ C† = Z`: `RY(-π/2)·RZ(-2πφ)`.
fn to_z_basis(phi: f64) -> Mat2 {
    mul2(&ry_matrix(-FRAC_PI_2), &rz_matrix(-TAU * phi))
}

struct Lowering {
    target: Target,
    /// True-frame single-qubit unitary applied after everything emitted on the qubit.
    pending: Vec<Mat2>,
    /// Virtual frame `F_q` (a diagonal or anti-diagonal unitary), native targets only:
    /// true state = (⊗ F_q) · emitted state.
    frame: Vec<Mat2>,
    out: Circuit,
}

impl Lowering {
    fn new(n: usize, target: Target) -> Self {
        Lowering {
            target,
            pending: vec![id2(); n],
            frame: vec![id2(); n],
            out: Circuit::new(n),
        }
    }

    fn emit(&mut self, gate: Gate) -> Result<()> {
        self.out.push(gate)
    }

    /// Queue a single-qubit unitary (true frame) on `q`.
    fn one(&mut self, q: usize, m: &Mat2) {
        self.pending[q] = mul2(m, &self.pending[q]);
    }

    /// Emit the pending unitary of `q` (native: keeping a virtual frame; QIS: as rz/ry).
    fn flush(&mut self, q: usize) -> Result<()> {
        self.flush_with_frame(q, None)
    }

    /// As [`Lowering::flush`]; on native targets `anti` asks for a frame that is
    /// anti-diagonal (`Some(true)`) or diagonal (`Some(false)`) afterwards.
    fn flush_with_frame(&mut self, q: usize, anti: Option<bool>) -> Result<()> {
        let w = std::mem::replace(&mut self.pending[q], id2());
        match self.target {
            Target::Qis => {
                for (axis, angle) in zyz(&w)? {
                    let theta = Param::Fixed(angle);
                    self.emit(if axis == 'z' {
                        Gate::Rz { qubit: q, theta }
                    } else {
                        Gate::Ry { qubit: q, theta }
                    })?;
                }
            }
            Target::Aria | Target::Forte => {
                // W·F = F'·V with F' monomial and V the pulses to emit.
                let wf = mul2(&w, &self.frame[q]);
                let (mut pulses, mut frame) = split_frame(&wf)?;
                if anti.is_some_and(|want| want != is_anti_diagonal(&frame)) {
                    // W·F = (F'·X)·(X·V): one more π turn, merged into V.
                    let v = pulses.iter().fold(id2(), |acc, p| mul2(&p.matrix(), &acc));
                    let xv = mul2(&pauli_x(), &v);
                    let (p2, f2) = if is_monomial(&xv) {
                        (vec![Native1::Gpi(0.0)], mul2(&xv, &pauli_x()))
                    } else {
                        split_frame(&xv)?
                    };
                    frame = mul2(&mul2(&frame, &pauli_x()), &f2);
                    pulses = p2;
                }
                self.frame[q] = frame;
                for p in pulses {
                    self.emit_native1(q, p)?;
                }
            }
        }
        Ok(())
    }

    fn emit_native1(&mut self, q: usize, p: Native1) -> Result<()> {
        let phase = |x: f64| Param::Fixed(fold_turns(x));
        self.emit(match p {
            Native1::Gpi(x) => Gate::Gpi {
                qubit: q,
                phase: phase(x),
            },
            Native1::Gpi2(x) => Gate::Gpi2 {
                qubit: q,
                phase: phase(x),
            },
        })
    }

    /// `exp(-iπ t P_a ⊗ P_b)` on qubits `a`, `b`.
    fn interaction(&mut self, a: usize, b: usize, axes: [Axis; 2], t: f64) -> Result<()> {
        let qubits = [a, b];
        // Basis change so that the interaction is in the target's own axes.
        let mut native_axes = axes;
        let mut before = [id2(), id2()];
        for k in 0..2 {
            match (self.target, axes[k]) {
                (Target::Aria, Axis::Z) => {
                    before[k] = ry_matrix(FRAC_PI_2); // RY(π/2) Z RY(π/2)† = X
                    native_axes[k] = Axis::Equator(0.0);
                }
                (Target::Forte | Target::Qis, Axis::Equator(phi)) => {
                    before[k] = to_z_basis(phi);
                    native_axes[k] = Axis::Z;
                }
                _ => {}
            }
        }
        // exp(-iπt P⊗P) = (C†⊗C†)·exp(-iπt P'⊗P')·(C⊗C): C is applied first.
        for k in 0..2 {
            self.one(qubits[k], &before[k]);
        }
        self.native_interaction(a, b, native_axes, t)?;
        for k in 0..2 {
            self.one(qubits[k], &dagger2(&before[k]));
        }
        Ok(())
    }

    /// An interaction already in the target's axes (Aria: equatorial; others: ZZ), with
    /// its angle folded into `(0, ¼]`.
    fn native_interaction(&mut self, a: usize, b: usize, axes: [Axis; 2], t: f64) -> Result<()> {
        // t modulo 1 is a global phase; t ≥ ½ peels exp(-iπ/2 P⊗P) = -i P⊗P.
        let mut t = t.rem_euclid(1.0);
        let mut peel = false;
        if t >= 0.5 {
            t -= 0.5;
            peel = true;
        }
        // t ∈ (¼, ½): exp(-iπtP) = exp(-iπ/2 P)·exp(-iπ(t-½)P), i.e. peel and negate.
        let mut negate = false;
        if t > 0.25 {
            t = 0.5 - t;
            peel = !peel;
            negate = true;
        }
        if t > ZERO_TOL {
            self.emit_native_two(a, b, axes, t, negate)?;
        }
        if peel {
            // P⊗P as single-qubit gates; commutes with the interaction.
            self.one(a, &axes[0].matrix());
            self.one(b, &axes[1].matrix());
        }
        Ok(())
    }

    /// Emit `exp(-iπ s t P_a⊗P_b)` with `t ∈ (0, ¼]`, `s = -1` if `negate`.
    fn emit_native_two(
        &mut self,
        a: usize,
        b: usize,
        axes: [Axis; 2],
        t: f64,
        negate: bool,
    ) -> Result<()> {
        match (self.target, axes) {
            (Target::Aria, [Axis::Equator(p0), Axis::Equator(p1)]) => {
                // σ_{φ+½} = -σ_φ flips the sign.
                let p0 = if negate { p0 + 0.5 } else { p0 };
                self.flush(a)?;
                self.flush(b)?;
                // F† σ_φ F = σ_φ' for a monomial F.
                let (e0, e1) = (
                    conjugated_phase(&self.frame[a], p0),
                    conjugated_phase(&self.frame[b], p1),
                );
                self.emit(Gate::Ms {
                    qubits: [a, b],
                    phases: [Param::Fixed(e0), Param::Fixed(e1)],
                    angle: Param::Fixed(t),
                })
            }
            (Target::Forte, [Axis::Z, Axis::Z]) => {
                // F† Z F = -Z for an anti-diagonal frame, so the emitted angle is
                // ±t by the frames' parity: pick qubit a's frame to make it +t
                // (X_a ZZ(t) X_a = ZZ(-t) is the extra π turn when needed).
                self.flush(b)?;
                let want = negate != is_anti_diagonal(&self.frame[b]);
                self.flush_with_frame(a, Some(want))?;
                self.emit(Gate::Zz {
                    qubits: [a, b],
                    angle: Param::Fixed(t),
                })
            }
            (Target::Qis, [Axis::Z, Axis::Z]) => {
                // exp(-iπ s t ZZ) = CNOT·(1 ⊗ RZ(2π s t))·CNOT.
                let s = if negate { -1.0 } else { 1.0 };
                self.flush(a)?;
                self.flush(b)?;
                self.emit(Gate::Cnot { qubits: [a, b] })?;
                self.one(b, &rz_matrix(s * TAU * t));
                self.flush(b)?;
                self.emit(Gate::Cnot { qubits: [a, b] })
            }
            _ => unreachable!("interaction axes are normalised to the target before emission"),
        }
    }

    fn lower(&mut self, op: usize, gate: &Gate, values: &Parameters) -> Result<()> {
        let p = |param: &Param| values.resolve(param, op, gate.name());
        let eq = Axis::Equator;
        match gate {
            Gate::Rbs {
                qubits: [a, b],
                theta,
            } if self.target == Target::Qis => {
                // RBS(θ) = (H⊗H)·CZ·(RY(θ)⊗RY(−θ))·CZ·(H⊗H): two CZ instead of four CNOT.
                let theta = p(theta)?;
                let k = (theta / PI).round();
                if (theta - k * PI).abs() < ZERO_TOL {
                    // RBS(kπ) = (Z⊗Z)^k: single-qubit gates only.
                    if k.rem_euclid(2.0) == 1.0 {
                        self.one(*a, &rz_matrix(PI));
                        self.one(*b, &rz_matrix(PI));
                    }
                    return Ok(());
                }
                let (h, [a, b]) = (hadamard(), [*a, *b]);
                for q in [a, b] {
                    self.one(q, &h);
                    self.flush(q)?;
                }
                self.emit(Gate::Cz { qubits: [a, b] })?;
                for (rot, q) in [(theta, a), (-theta, b)] {
                    self.one(q, &ry_matrix(rot));
                    self.flush(q)?;
                }
                self.emit(Gate::Cz { qubits: [a, b] })?;
                self.one(a, &h);
                self.one(b, &h);
            }
            Gate::Rbs {
                qubits: [a, b],
                theta,
            } => {
                let t = p(theta)? / TAU;
                self.interaction(*a, *b, [eq(0.0), eq(0.25)], t)?;
                self.interaction(*a, *b, [eq(0.75), eq(0.0)], t)?;
            }
            Gate::Ms {
                qubits: [a, b],
                phases,
                angle,
            } => {
                let axes = [eq(p(&phases[0])?), eq(p(&phases[1])?)];
                self.interaction(*a, *b, axes, p(angle)?)?;
            }
            Gate::Zz {
                qubits: [a, b],
                angle,
            } => {
                self.interaction(*a, *b, [Axis::Z, Axis::Z], p(angle)?)?;
            }
            Gate::Cz { qubits: [a, b] } if self.target == Target::Qis => {
                self.flush(*a)?;
                self.flush(*b)?;
                self.emit(gate.clone())?;
            }
            Gate::Cnot { qubits: [a, b] } if self.target == Target::Qis => {
                self.flush(*a)?;
                self.flush(*b)?;
                self.emit(gate.clone())?;
            }
            Gate::Swap { qubits: [a, b] } if self.target == Target::Qis => {
                self.flush(*a)?;
                self.flush(*b)?;
                self.emit(gate.clone())?;
            }
            Gate::Cz { qubits: [a, b] } => self.cz(*a, *b)?,
            Gate::Cnot { qubits: [c, t] } => {
                let h = hadamard();
                self.one(*t, &h);
                self.cz(*c, *t)?;
                self.one(*t, &h);
            }
            Gate::Swap { qubits: [a, b] } => {
                for axes in [[eq(0.0), eq(0.0)], [eq(0.25), eq(0.25)], [Axis::Z, Axis::Z]] {
                    self.interaction(*a, *b, axes, 0.25)?;
                }
            }
            Gate::Unitary2 { .. } => {
                return Err(Error::CannotCompile {
                    op,
                    gate: gate.name().into(),
                    reason: "a generic two-qubit unitary has no decomposition in this compiler \
                             (no KAK yet); express it with rbs/cnot/cz/swap and single-qubit gates"
                        .into(),
                })
            }
            one_qubit => match one_qubit.bind(op, values)? {
                BoundGate::One { qubit, matrix } => self.one(qubit, &matrix),
                BoundGate::Two { .. } => unreachable!("every two-qubit gate is matched above"),
            },
        }
        Ok(())
    }

    fn cz(&mut self, a: usize, b: usize) -> Result<()> {
        self.interaction(a, b, [Axis::Z, Axis::Z], -0.25)?;
        self.one(a, &rz_matrix(FRAC_PI_2));
        self.one(b, &rz_matrix(FRAC_PI_2));
        Ok(())
    }

    /// Flush every qubit and settle the frames.
    fn finish(mut self, trailing: TrailingZ) -> Result<(Circuit, Vec<(usize, f64)>)> {
        let mut dropped = Vec::new();
        for q in 0..self.out.qubits {
            match (self.target, trailing) {
                (Target::Qis, _) => self.flush(q)?,
                (_, TrailingZ::Emit) => {
                    let w = std::mem::replace(&mut self.pending[q], id2());
                    let wf = mul2(&w, &self.frame[q]);
                    self.frame[q] = id2();
                    for p in natives_exact(&wf)? {
                        self.emit_native1(q, p)?;
                    }
                }
                (_, TrailingZ::Drop) => {
                    // Leave a diagonal frame: an anti-diagonal one would flip the qubit.
                    self.flush_with_frame(q, Some(false))?;
                    let f = self.frame[q];
                    let delta = single::fold_radians(f[1][1].arg() - f[0][0].arg());
                    if delta.abs() > ZERO_TOL {
                        dropped.push((q, delta));
                    }
                }
            }
        }
        Ok((self.out, dropped))
    }
}

fn is_anti_diagonal(m: &Mat2) -> bool {
    m[0][0].norm() < m[0][1].norm()
}

fn is_monomial(m: &Mat2) -> bool {
    m[0][0].norm() < ZERO_TOL || m[0][1].norm() < ZERO_TOL
}

/// `m = F·V`: `F` monomial (kept as the frame) and `V` the pulses to emit (none if `m`
/// is monomial itself).
fn split_frame(m: &Mat2) -> Result<(Vec<Native1>, Mat2)> {
    if is_monomial(m) {
        let mut f = *m;
        // Exact zeros, so frames stay exactly monomial.
        let zero = num_complex::Complex64::new(0.0, 0.0);
        if is_anti_diagonal(&f) {
            f[0][0] = zero;
            f[1][1] = zero;
        } else {
            f[0][1] = zero;
            f[1][0] = zero;
        }
        return Ok((vec![], f));
    }
    let (pulses, delta) = natives_with_frame(m)?;
    Ok((pulses, frame_matrix(delta)))
}

/// φ' with `F† σ_φ F = σ_φ'` (F monomial), in turns in `[0, 1)`.
fn conjugated_phase(f: &Mat2, phi: f64) -> f64 {
    let m = mul2(&dagger2(f), &mul2(&gpi_matrix(phi), f));
    fold_turns(m[1][0].arg() / TAU)
}

fn hadamard() -> Mat2 {
    let h = num_complex::Complex64::new(std::f64::consts::FRAC_1_SQRT_2, 0.0);
    [[h, h], [h, -h]]
}

/// Compile `circuit` with slot `values` for `target`.
///
/// Errors: a circuit whose compilation may not fit the memory budget
/// ([`Error::ResourceExceeded`], checked first: see [`Need::compile`]), a slot without a
/// value ([`Error::MissingParameter`]), a generic `unitary2` ([`Error::CannotCompile`]),
/// or a matrix that is not unitary ([`Error::Numerical`]).
pub fn compile(
    circuit: &Circuit,
    values: &Parameters,
    target: Target,
    options: &CompileOptions,
) -> Result<Compiled> {
    Need::compile(circuit.qubits, circuit.ops.len()).check()?;
    circuit.validate()?;
    let mut lowering = Lowering::new(circuit.qubits, target);
    for (op, gate) in circuit.ops.iter().enumerate() {
        lowering.lower(op, gate, values)?;
    }
    let (compiled, dropped_frames) = lowering.finish(options.trailing_z)?;
    let report = CompileReport {
        target,
        source: circuit_stats(circuit),
        compiled: circuit_stats(&compiled),
    };
    Ok(Compiled {
        circuit: compiled,
        report,
        dropped_frames,
    })
}

/// Check that every op of `circuit` belongs to `target` and every native parameter is
/// bound and in IonQ's API range (phases in `[0, 1)`, MS/ZZ angles in `(0, 0.25]`).
pub fn check_target(circuit: &Circuit, target: Target) -> Result<()> {
    for (op, gate) in circuit.ops.iter().enumerate() {
        let bad = |reason: String| {
            Err(Error::CannotCompile {
                op,
                gate: gate.name().into(),
                reason,
            })
        };
        if !target.gate_names().contains(&gate.name()) {
            return bad(format!(
                "not a {target} gate (allowed: {})",
                target.gate_names().join(", ")
            ));
        }
        for (name, param) in gate.params() {
            let Param::Fixed(v) = *param else {
                return bad(format!(
                    "parameter `{name}` is a slot; compiled circuits are bound"
                ));
            };
            let in_range = match (gate, name) {
                (Gate::Ms { .. } | Gate::Zz { .. }, "angle") => v > 0.0 && v <= 0.25,
                (Gate::Gpi { .. } | Gate::Gpi2 { .. } | Gate::Ms { .. }, _) => {
                    (0.0..1.0).contains(&v)
                }
                _ => v.is_finite(),
            };
            if !in_range {
                return bad(format!("parameter `{name}` = {v} is outside the API range"));
            }
        }
    }
    Ok(())
}

/// The circuit-preparation hook executors take ([`bfly_noise::NoisyExecutor`],
/// [`crate::IonqExecutor`]): compile each bound circuit for `target`. Trailing Z
/// frames are dropped — executors only measure, and the dropped gates would only add noise.
///
/// ```
/// use bfly_core::circuit::{Circuit, Gate, Param};
/// use bfly_ionq::compile::{executor_hook, Target};
/// let mut c = Circuit::new(2);
/// c.push(Gate::X { qubit: 0 }).unwrap();
/// c.push(Gate::Rbs { qubits: [0, 1], theta: Param::Fixed(0.7) }).unwrap();
/// let native = executor_hook(Target::Forte)(&c).unwrap();
/// assert!(native.ops.iter().all(|g| ["gpi", "gpi2", "zz"].contains(&g.name())));
/// ```
pub fn executor_hook(target: Target) -> bfly_noise::PrepareHook {
    std::sync::Arc::new(move |c: &Circuit| {
        let options = CompileOptions {
            trailing_z: TrailingZ::Drop,
        };
        Ok(compile(c, &c.parameters, target, &options)?.circuit)
    })
}
