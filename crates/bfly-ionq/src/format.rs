//! IonQ's wire format: circuit JSON (native and QIS gatesets), job bodies for API v0.4 and
//! v0.3, job status, and probability results — with conversions to and from the crate's
//! [`Circuit`].
//!
//! What the IonQ documentation says, and what this module does with it:
//!
//! - **Circuit input** (docs.ionq.com, "Using native gates with the IonQ API"):
//!   `{"gateset": "native", "qubits": n, "circuit": [...]}`; the gateset defaults to
//!   `"qis"`; native and QIS gates cannot be mixed in one circuit. Native gates are
//!   `gpi`/`gpi2` `{target, phase}`, `ms` `{targets, phases, angle}` (angle optional,
//!   default 0.25, range 0..=0.25) on Aria, and `zz` `{targets, angle}` on Forte. Phases
//!   and angles are in **turns** (1 turn = 2π), phases accepted in −1..=1, and
//!   `phases[k]` belongs to `targets[k]`. QIS gates take `target` (and `control` /
//!   `controls`), rotations `rotation` in **radians**; `cnot` has `control` + `target`,
//!   `swap` has `targets`.
//! - **Job body** v0.4 ("Create job", `POST /jobs`): `{"type": "ionq.circuit.v1",
//!   "backend", "shots", "name", "input", "noise": {"model", "seed"}, "settings":
//!   {"error_mitigation": {"debiasing"}}}`. v0.3 ("Create a Job"): `{"target", "shots",
//!   "name", "input": {"format": "ionq.circuit.v0", ...}, "noise", "error_mitigation"}`
//!   (the qiskit-ionq v0.3 client builds the same shape).
//! - **Job status** (user manual "Jobs"): submitted → ready → started (shown as `running`
//!   in API v0.3) → completed | failed | canceled. Both spellings are accepted here.
//! - **Results**: v0.4 `GET /jobs/{id}/results/probabilities`, v0.3 `GET
//!   /jobs/{id}/results`; both a flat object keyed by the **decimal basis-state index**
//!   ("ionq.result.probabilities.json.v1"), qubit 0 = least significant bit — the same as
//!   [`BitString::from_index`] (pinned by `tests/ionq_format.rs`).
//!
//! ```
//! use bfly_core::circuit::{Circuit, Gate};
//! use bfly_ionq::format::{ApiVersion, IonqInput, JobSpec};
//! let mut c = Circuit::new(2);
//! c.push(Gate::Gpi2 { qubit: 0, phase: 0.25.into() }).unwrap();
//! c.push(Gate::Zz { qubits: [0, 1], angle: 0.1.into() }).unwrap();
//! let input = IonqInput::from_circuit(&c, "qpu.forte-1").unwrap();
//! let body = JobSpec::new("qpu.forte-1", input).with_shots(100).to_body(ApiVersion::V0_4);
//! assert_eq!(body["input"]["gateset"], "native");
//! assert_eq!(body["input"]["circuit"][1]["gate"], "zz");
//! // Forte rejects MS: the error names the op.
//! c.push(Gate::Ms { qubits: [0, 1], phases: [0.0.into(), 0.0.into()], angle: 0.25.into() }).unwrap();
//! assert!(IonqInput::from_circuit(&c, "qpu.forte-1").is_err());
//! ```

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bfly_core::bits::BitString;
use bfly_core::circuit::{Circuit, Gate, Mat2, Mat4, Param};
use bfly_core::error::{Error, Result};
use bfly_exec::Histogram;

/// The job `type` of a single-circuit job in API v0.4.
pub const JOB_TYPE_V04: &str = "ionq.circuit.v1";
/// The input `format` of a circuit in API v0.3.
pub const INPUT_FORMAT_V03: &str = "ionq.circuit.v0";
/// Backends documented by IonQ (SCIENCE.md §7), with their qubit counts.
pub const BACKENDS: &[(&str, usize)] = &[
    ("simulator", 29),
    ("qpu.aria-1", 25),
    ("qpu.aria-2", 25),
    ("qpu.forte-1", 36),
    ("qpu.forte-enterprise-1", 36),
];
/// Most shots one job may ask for: the `shots` maximum (1 000 000, minimum 1) of IonQ's
/// API v0.4 "Create job" schema (`CircuitJobCreationPayload`).
pub const MAX_SHOTS: u64 = 1_000_000;
/// Fewest shots a job with debiasing may ask for (IonQ "Create job": "To turn on
/// debiasing, you must request at least 500 shots").
pub const DEBIASING_MIN_SHOTS: u64 = 500;
/// Native gate names.
pub const NATIVE_GATE_NAMES: &[&str] = &["gpi", "gpi2", "ms", "zz"];
/// QIS gate names understood here.
pub const QIS_GATE_NAMES: &[&str] = &[
    "x", "y", "z", "h", "s", "si", "t", "ti", "v", "vi", "rx", "ry", "rz", "not", "cnot", "swap",
];
/// The MS angle IonQ uses when `angle` is omitted (fully entangling), in turns.
pub const MS_DEFAULT_ANGLE: f64 = 0.25;

/// Which version of IonQ's REST API to speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiVersion {
    /// API v0.4 (current): `backend`, `type`, results at `/results/probabilities`.
    #[default]
    #[serde(rename = "v0.4")]
    V0_4,
    /// API v0.3: `target`, `input.format`, results at `/results`.
    #[serde(rename = "v0.3")]
    V0_3,
}

impl ApiVersion {
    /// The path segment, `"v0.4"` or `"v0.3"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0_4 => "v0.4",
            ApiVersion::V0_3 => "v0.3",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "v0.4" | "0.4" => Ok(ApiVersion::V0_4),
            "v0.3" | "0.3" => Ok(ApiVersion::V0_3),
            other => Err(Error::InvalidInput(format!(
                "unknown IonQ API version \"{other}\"; use v0.4 or v0.3"
            ))),
        }
    }
}

/// The two gatesets of IonQ's circuit JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gateset {
    /// Hardware-native gates: GPi, GPi2, MS (Aria), ZZ (Forte); turns.
    Native,
    /// Abstract quantum-information gates, compiled by IonQ; radians.
    Qis,
}

impl Gateset {
    /// `"native"` or `"qis"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gateset::Native => "native",
            Gateset::Qis => "qis",
        }
    }
    fn names(self) -> &'static [&'static str] {
        match self {
            Gateset::Native => NATIVE_GATE_NAMES,
            Gateset::Qis => QIS_GATE_NAMES,
        }
    }
}

/// A native gate, exactly as IonQ's JSON spells it (phases and angles in turns).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "lowercase", deny_unknown_fields)]
#[allow(missing_docs)] // the variant docs name each field
pub enum NativeGate {
    /// `GPi(φ)`.
    Gpi { target: usize, phase: f64 },
    /// `GPi2(φ)`.
    Gpi2 { target: usize, phase: f64 },
    /// `MS(φ0, φ1, t)`; `phases[k]` belongs to `targets[k]`.
    Ms {
        targets: [usize; 2],
        phases: [f64; 2],
        #[serde(default = "ms_default_angle")]
        angle: f64,
    },
    /// `ZZ(t) = exp(-iπ t Z⊗Z)`.
    Zz { targets: [usize; 2], angle: f64 },
}

fn ms_default_angle() -> f64 {
    MS_DEFAULT_ANGLE
}

impl NativeGate {
    fn name(&self) -> &'static str {
        match self {
            NativeGate::Gpi { .. } => "gpi",
            NativeGate::Gpi2 { .. } => "gpi2",
            NativeGate::Ms { .. } => "ms",
            NativeGate::Zz { .. } => "zz",
        }
    }
}

/// A QIS gate as IonQ's JSON spells it: `gate` plus the fields that gate uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QisGate {
    /// Gate name (one of [`QIS_GATE_NAMES`]).
    pub gate: String,
    /// Target qubit (all gates but `swap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
    /// Target qubits (`swap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<usize>>,
    /// One control qubit (`cnot`, or any controlled gate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<usize>,
    /// Several control qubits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controls: Option<Vec<usize>>,
    /// Rotation angle in radians (`rx`, `ry`, `rz`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<f64>,
}

impl QisGate {
    fn one(gate: &str, target: usize) -> Self {
        QisGate {
            gate: gate.into(),
            target: Some(target),
            targets: None,
            control: None,
            controls: None,
            rotation: None,
        }
    }

    /// Every qubit the gate touches (controls first).
    pub fn qubits(&self) -> Vec<usize> {
        let mut q = Vec::new();
        q.extend(self.control);
        q.extend(self.controls.iter().flatten().copied());
        q.extend(self.target);
        q.extend(self.targets.iter().flatten().copied());
        q
    }

    fn control_list(&self) -> Vec<usize> {
        let mut c: Vec<usize> = self.control.into_iter().collect();
        c.extend(self.controls.iter().flatten().copied());
        c
    }
}

/// The gates of one IonQ circuit, in one gateset.
#[derive(Clone, Debug, PartialEq)]
pub enum IonqOps {
    /// Native gates.
    Native(Vec<NativeGate>),
    /// QIS gates.
    Qis(Vec<QisGate>),
}

/// One IonQ circuit (the job's `input`): qubit count and gates.
#[derive(Clone, Debug, PartialEq)]
pub struct IonqInput {
    /// Number of qubits.
    pub qubits: usize,
    /// Gates in application order.
    pub ops: IonqOps,
}

/// Which family a backend belongs to, for the two-qubit gate it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendFamily {
    /// The cloud simulator (accepts MS and ZZ unless a noise model names a family).
    Simulator,
    /// Aria QPUs: MS.
    Aria,
    /// Forte QPUs: ZZ (Forte rejects MS).
    Forte,
}

/// The family and qubit count of a documented backend; a typed error naming the known
/// backends otherwise.
pub fn backend_info(backend: &str) -> Result<(BackendFamily, usize)> {
    let qubits = BACKENDS
        .iter()
        .find(|(b, _)| *b == backend)
        .map(|(_, q)| *q)
        .ok_or_else(|| {
            Error::IonqInvalidJob(format!(
                "unknown backend \"{backend}\"; known backends: {}",
                BACKENDS
                    .iter()
                    .map(|(b, _)| *b)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let family = if backend == "simulator" {
        BackendFamily::Simulator
    } else if backend.starts_with("qpu.aria") {
        BackendFamily::Aria
    } else {
        BackendFamily::Forte
    };
    Ok((family, qubits))
}

/// The family whose native two-qubit gate a job must use: the backend's, or for the
/// simulator the family named by the noise model (`aria-1` → Aria, `forte-1` → Forte).
fn effective_family(backend: &str, noise: Option<&NoiseRequest>) -> Result<BackendFamily> {
    let (family, _) = backend_info(backend)?;
    if family != BackendFamily::Simulator {
        return Ok(family);
    }
    Ok(match noise.map(|n| n.model.as_str()) {
        Some(m) if m.starts_with("aria") => BackendFamily::Aria,
        Some(m) if m.starts_with("forte") => BackendFamily::Forte,
        _ => BackendFamily::Simulator,
    })
}

fn fixed(op: usize, gate: &Gate, name: &str, p: &Param) -> Result<f64> {
    match p {
        Param::Fixed(v) if v.is_finite() => Ok(*v),
        Param::Fixed(v) => Err(Error::NonFiniteAngle {
            op,
            gate: gate.name().into(),
            name: name.into(),
            value: *v,
        }),
        _ => Err(Error::IonqUnsupportedOp {
            op,
            gate: gate.name().into(),
            reason: format!(
                "parameter `{name}` is a slot ({p:?}); bind its value first (the IonQ executor binds slots before export)"
            ),
        }),
    }
}

/// A phase in turns brought into IonQ's accepted range −1..=1 (exact: phases are
/// 1-periodic). Values already in range are kept bit for bit.
fn phase_in_range(phi: f64) -> f64 {
    if (-1.0..=1.0).contains(&phi) {
        phi
    } else {
        phi.rem_euclid(1.0)
    }
}

impl IonqInput {
    /// The gateset of this circuit.
    pub fn gateset(&self) -> Gateset {
        match self.ops {
            IonqOps::Native(_) => Gateset::Native,
            IonqOps::Qis(_) => Gateset::Qis,
        }
    }

    /// Number of gates.
    pub fn len(&self) -> usize {
        match &self.ops {
            IonqOps::Native(g) => g.len(),
            IonqOps::Qis(g) => g.len(),
        }
    }

    /// True if the circuit has no gates.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(one-qubit, two-qubit)` gate counts, as IonQ reports them in `stats.gate_counts`.
    pub fn gate_counts(&self) -> (usize, usize) {
        let two = match &self.ops {
            IonqOps::Native(g) => g
                .iter()
                .filter(|g| matches!(g, NativeGate::Ms { .. } | NativeGate::Zz { .. }))
                .count(),
            IonqOps::Qis(g) => g.iter().filter(|g| g.qubits().len() > 1).count(),
        };
        (self.len() - two, two)
    }

    /// Convert a circuit of IonQ-expressible gates with fixed parameters, for `backend`.
    ///
    /// Native gates (`gpi`, `gpi2`, `ms`, `zz`) give a `"native"` circuit, QIS gates (`x`,
    /// `z`, `h`, `rx`, `ry`, `rz`, `cnot`, `cz`, `swap`) a `"qis"` one. Errors name the
    /// first op with no IonQ form: an un-compiled `rbs` or `unitary1/2`, a slot parameter,
    /// a mix of gatesets, `ms` on Forte (Forte rejects MS), `zz` on Aria, an MS angle
    /// outside 0..=0.25 turns (negative angles are folded exactly:
    /// `MS(φ0, φ1, −t) = MS(φ0 + ½, φ1, t)`), or a circuit wider than the backend.
    pub fn from_circuit(circuit: &Circuit, backend: &str) -> Result<Self> {
        Self::from_circuit_with_noise(circuit, backend, None)
    }

    /// As [`IonqInput::from_circuit`], with the noise model that selects the simulator's
    /// gate family.
    pub fn from_circuit_with_noise(
        circuit: &Circuit,
        backend: &str,
        noise: Option<&NoiseRequest>,
    ) -> Result<Self> {
        circuit.validate()?;
        let family = effective_family(backend, noise)?;
        let is_native = |g: &Gate| {
            matches!(
                g,
                Gate::Gpi { .. } | Gate::Gpi2 { .. } | Gate::Ms { .. } | Gate::Zz { .. }
            )
        };
        let no_form = |op: usize, g: &Gate| {
            Error::IonqUnsupportedOp {
            op,
            gate: g.name().into(),
            reason: format!(
                "IonQ has no {} gate; compile the circuit to IonQ native gates (gpi, gpi2, ms or zz) first",
                g.name()
            ),
        }
        };
        let gateset = match circuit.ops.iter().position(|g| {
            !matches!(
                g,
                Gate::Rbs { .. } | Gate::Unitary1 { .. } | Gate::Unitary2 { .. }
            )
        }) {
            Some(i) if is_native(&circuit.ops[i]) => Gateset::Native,
            Some(_) => Gateset::Qis,
            None => match circuit.ops.first() {
                Some(g) => return Err(no_form(0, g)),
                None => Gateset::Qis,
            },
        };
        let mixed = |op: usize, g: &Gate| {
            Error::IonqUnsupportedOp {
            op,
            gate: g.name().into(),
            reason: format!(
                "IonQ circuits cannot mix gatesets and this one is {} (from its first gate); compile every op to native gates",
                gateset.as_str()
            ),
        }
        };
        let ops = match gateset {
            Gateset::Native => {
                let mut out = Vec::with_capacity(circuit.ops.len());
                for (op, g) in circuit.ops.iter().enumerate() {
                    let gate = match g {
                        Gate::Gpi { qubit, phase } => NativeGate::Gpi {
                            target: *qubit,
                            phase: phase_in_range(fixed(op, g, "phase", phase)?),
                        },
                        Gate::Gpi2 { qubit, phase } => NativeGate::Gpi2 {
                            target: *qubit,
                            phase: phase_in_range(fixed(op, g, "phase", phase)?),
                        },
                        Gate::Ms {
                            qubits,
                            phases,
                            angle,
                        } => {
                            if family == BackendFamily::Forte {
                                return Err(Error::IonqUnsupportedOp {
                                    op,
                                    gate: "ms".into(),
                                    reason: format!("{backend} is a Forte-family backend, which rejects MS; compile for Forte (ZZ with GPi2 basis changes)"),
                                });
                            }
                            let mut p0 = fixed(op, g, "phases[0]", &phases[0])?;
                            let p1 = fixed(op, g, "phases[1]", &phases[1])?;
                            let mut t = fixed(op, g, "angle", angle)?;
                            if (-MS_DEFAULT_ANGLE..0.0).contains(&t) {
                                t = -t;
                                p0 += 0.5;
                            }
                            if !(0.0..=MS_DEFAULT_ANGLE).contains(&t) {
                                return Err(Error::IonqUnsupportedOp {
                                    op,
                                    gate: "ms".into(),
                                    reason: format!("angle {t} turns is outside IonQ's range 0..=0.25; split the MS gate when compiling"),
                                });
                            }
                            NativeGate::Ms {
                                targets: *qubits,
                                phases: [phase_in_range(p0), phase_in_range(p1)],
                                angle: t,
                            }
                        }
                        Gate::Zz { qubits, angle } => {
                            if family == BackendFamily::Aria {
                                return Err(Error::IonqUnsupportedOp {
                                    op,
                                    gate: "zz".into(),
                                    reason: format!("{backend} (with this noise model) is an Aria-family target, which takes MS, not ZZ; compile for Aria"),
                                });
                            }
                            NativeGate::Zz {
                                targets: *qubits,
                                angle: fixed(op, g, "angle", angle)?,
                            }
                        }
                        Gate::Rbs { .. } | Gate::Unitary1 { .. } | Gate::Unitary2 { .. } => {
                            return Err(no_form(op, g))
                        }
                        _ => return Err(mixed(op, g)),
                    };
                    out.push(gate);
                }
                IonqOps::Native(out)
            }
            Gateset::Qis => {
                let mut out = Vec::with_capacity(circuit.ops.len());
                for (op, g) in circuit.ops.iter().enumerate() {
                    let rot = |name: &str, qubit: usize, theta: &Param| -> Result<QisGate> {
                        let mut q = QisGate::one(name, qubit);
                        q.rotation = Some(fixed(op, g, "theta", theta)?);
                        Ok(q)
                    };
                    let gate = match g {
                        Gate::X { qubit } => QisGate::one("x", *qubit),
                        Gate::Z { qubit } => QisGate::one("z", *qubit),
                        Gate::H { qubit } => QisGate::one("h", *qubit),
                        Gate::Rx { qubit, theta } => rot("rx", *qubit, theta)?,
                        Gate::Ry { qubit, theta } => rot("ry", *qubit, theta)?,
                        Gate::Rz { qubit, theta } => rot("rz", *qubit, theta)?,
                        Gate::Cnot { qubits: [c, t] } => {
                            let mut q = QisGate::one("cnot", *t);
                            q.control = Some(*c);
                            q
                        }
                        Gate::Cz { qubits: [c, t] } => {
                            let mut q = QisGate::one("z", *t);
                            q.control = Some(*c);
                            q
                        }
                        Gate::Swap { qubits } => QisGate {
                            targets: Some(qubits.to_vec()),
                            target: None,
                            ..QisGate::one("swap", 0)
                        },
                        Gate::Rbs { .. } | Gate::Unitary1 { .. } | Gate::Unitary2 { .. } => {
                            return Err(no_form(op, g))
                        }
                        _ => return Err(mixed(op, g)),
                    };
                    out.push(gate);
                }
                IonqOps::Qis(out)
            }
        };
        let input = IonqInput {
            qubits: circuit.qubits,
            ops,
        };
        check_width(&input, backend, noise)?;
        Ok(input)
    }

    /// The `input` object of a job body (v0.3 adds `"format": "ionq.circuit.v0"`).
    pub fn to_json(&self, version: ApiVersion) -> Value {
        let circuit = match &self.ops {
            IonqOps::Native(g) => serde_json::to_value(g),
            IonqOps::Qis(g) => serde_json::to_value(g),
        }
        .expect("IonQ gates always serialise");
        let mut m = Map::new();
        if version == ApiVersion::V0_3 {
            m.insert("format".into(), json!(INPUT_FORMAT_V03));
        }
        m.insert("gateset".into(), json!(self.gateset().as_str()));
        m.insert("qubits".into(), json!(self.qubits));
        m.insert("circuit".into(), circuit);
        Value::Object(m)
    }

    /// Parse and validate an `input` object: known fields, known gate names for the
    /// gateset, qubit indices in range and distinct, finite parameters, phases in −1..=1
    /// turns, MS angles in 0..=0.25 turns. Errors are typed and name the op index.
    pub fn from_json(value: &Value) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| Error::IonqInvalidJob("\"input\" must be a JSON object".into()))?;
        for key in obj.keys() {
            if !["format", "gateset", "qubits", "circuit"].contains(&key.as_str()) {
                return Err(Error::IonqInvalidJob(format!(
                    "unknown field \"input.{key}\" (expected gateset, qubits, circuit, and format in v0.3)"
                )));
            }
        }
        if let Some(f) = obj.get("format") {
            if f.as_str() != Some(INPUT_FORMAT_V03) {
                return Err(Error::IonqInvalidJob(format!(
                    "input.format is {f}; the only circuit format is \"{INPUT_FORMAT_V03}\""
                )));
            }
        }
        let gateset = match obj.get("gateset") {
            None => Gateset::Qis,
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                Error::IonqInvalidJob(format!("input.gateset is {v}; use \"native\" or \"qis\""))
            })?,
        };
        let qubits = obj
            .get("qubits")
            .and_then(Value::as_u64)
            .filter(|&q| q >= 1)
            .ok_or_else(|| {
                Error::IonqInvalidJob("input.qubits must be a positive integer".into())
            })? as usize;
        let circuit = obj
            .get("circuit")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::IonqInvalidJob("input.circuit must be an array of gates".into())
            })?;
        let mut native = Vec::new();
        let mut qis = Vec::new();
        for (op, v) in circuit.iter().enumerate() {
            let name = v
                .get("gate")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::InvalidOp {
                    op,
                    message: "missing string field \"gate\"".into(),
                })?;
            if !gateset.names().contains(&name) {
                return Err(Error::UnknownGate {
                    op,
                    name: name.into(),
                    known: format!(
                        "{} (gateset \"{}\")",
                        gateset.names().join(", "),
                        gateset.as_str()
                    ),
                });
            }
            let malformed = |e: serde_json::Error| Error::InvalidOp {
                op,
                message: format!("malformed \"{name}\" gate: {e}"),
            };
            match gateset {
                Gateset::Native => {
                    let g: NativeGate = serde_json::from_value(v.clone()).map_err(malformed)?;
                    validate_native(op, &g, qubits)?;
                    native.push(g);
                }
                Gateset::Qis => {
                    let g: QisGate = serde_json::from_value(v.clone()).map_err(malformed)?;
                    validate_qis(op, &g, qubits)?;
                    qis.push(g);
                }
            }
        }
        Ok(IonqInput {
            qubits,
            ops: match gateset {
                Gateset::Native => IonqOps::Native(native),
                Gateset::Qis => IonqOps::Qis(qis),
            },
        })
    }

    /// The circuit as the crate's IR (for simulation): native gates map one to one,
    /// QIS gates to the IR's gates or exact `unitary1`/`unitary2` matrices (controlled
    /// single-qubit gates: `|c t>` with the control as the high bit).
    pub fn to_circuit(&self) -> Result<Circuit> {
        let mut c = Circuit::new(self.qubits);
        match &self.ops {
            IonqOps::Native(gates) => {
                for g in gates {
                    c.push(match *g {
                        NativeGate::Gpi { target, phase } => Gate::Gpi {
                            qubit: target,
                            phase: phase.into(),
                        },
                        NativeGate::Gpi2 { target, phase } => Gate::Gpi2 {
                            qubit: target,
                            phase: phase.into(),
                        },
                        NativeGate::Ms {
                            targets,
                            phases,
                            angle,
                        } => Gate::Ms {
                            qubits: targets,
                            phases: [phases[0].into(), phases[1].into()],
                            angle: angle.into(),
                        },
                        NativeGate::Zz { targets, angle } => Gate::Zz {
                            qubits: targets,
                            angle: angle.into(),
                        },
                    })?;
                }
            }
            IonqOps::Qis(gates) => {
                for (op, g) in gates.iter().enumerate() {
                    c.push(qis_to_gate(op, g)?)?;
                }
            }
        }
        Ok(c)
    }
}

fn check_width(input: &IonqInput, backend: &str, noise: Option<&NoiseRequest>) -> Result<()> {
    let (family, mut limit) = backend_info(backend)?;
    if family == BackendFamily::Simulator {
        // With a noise model the simulator inherits the modelled QPU's qubit count
        // (IonQ "Create a Job", `noise`).
        if let Some(n) = noise.filter(|n| n.model != "ideal") {
            if let Some((_, q)) = BACKENDS
                .iter()
                .find(|(b, _)| *b == format!("qpu.{}", n.model))
            {
                limit = *q;
            }
        }
    }
    if input.qubits > limit {
        return Err(Error::IonqInvalidJob(format!(
            "the circuit has {} qubits but {backend} has {limit}",
            input.qubits
        )));
    }
    Ok(())
}

fn check_qubits(op: usize, gate: &str, qubits: &[usize], n: usize) -> Result<()> {
    for (i, &q) in qubits.iter().enumerate() {
        if q >= n {
            return Err(Error::QubitOutOfRange {
                op,
                gate: gate.into(),
                qubit: q,
                n_qubits: n,
            });
        }
        if qubits[..i].contains(&q) {
            return Err(Error::RepeatedQubit {
                op,
                gate: gate.into(),
                qubit: q,
            });
        }
    }
    Ok(())
}

fn check_finite(op: usize, gate: &str, name: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFiniteAngle {
            op,
            gate: gate.into(),
            name: name.into(),
            value: v,
        })
    }
}

fn validate_native(op: usize, g: &NativeGate, n: usize) -> Result<()> {
    let name = g.name();
    let phase_range = |label: &str, v: f64| -> Result<()> {
        check_finite(op, name, label, v)?;
        if !(-1.0..=1.0).contains(&v) {
            return Err(Error::InvalidOp {
                op,
                message: format!("{name} {label} = {v} turns; IonQ accepts phases in -1..=1"),
            });
        }
        Ok(())
    };
    match *g {
        NativeGate::Gpi { target, phase } | NativeGate::Gpi2 { target, phase } => {
            check_qubits(op, name, &[target], n)?;
            phase_range("phase", phase)
        }
        NativeGate::Ms {
            targets,
            phases,
            angle,
        } => {
            check_qubits(op, name, &targets, n)?;
            phase_range("phases[0]", phases[0])?;
            phase_range("phases[1]", phases[1])?;
            check_finite(op, name, "angle", angle)?;
            if !(0.0..=MS_DEFAULT_ANGLE).contains(&angle) {
                return Err(Error::InvalidOp {
                    op,
                    message: format!("ms angle = {angle} turns; IonQ accepts 0..=0.25"),
                });
            }
            Ok(())
        }
        NativeGate::Zz { targets, angle } => {
            check_qubits(op, name, &targets, n)?;
            check_finite(op, name, "angle", angle)
        }
    }
}

fn validate_qis(op: usize, g: &QisGate, n: usize) -> Result<()> {
    let name = g.gate.as_str();
    let bad = |message: String| Error::InvalidOp { op, message };
    let rotating = matches!(name, "rx" | "ry" | "rz");
    match (rotating, g.rotation) {
        (true, None) => return Err(bad(format!("{name} needs \"rotation\" (radians)"))),
        (false, Some(_)) => return Err(bad(format!("{name} takes no \"rotation\""))),
        (true, Some(r)) => check_finite(op, name, "rotation", r)?,
        _ => {}
    }
    if g.control.is_some() && g.controls.is_some() {
        return Err(bad(
            "give either \"control\" or \"controls\", not both".into()
        ));
    }
    match name {
        "swap" => {
            if g.target.is_some() || g.targets.as_ref().is_none_or(|t| t.len() != 2) {
                return Err(bad("swap needs \"targets\": [a, b]".into()));
            }
        }
        "cnot" => {
            if g.target.is_none() || g.targets.is_some() || g.control_list().len() != 1 {
                return Err(bad("cnot needs one \"control\" and one \"target\"".into()));
            }
        }
        _ => {
            if g.target.is_none() || g.targets.is_some() {
                return Err(bad(format!("{name} needs one \"target\"")));
            }
        }
    }
    check_qubits(op, name, &g.qubits(), n)
}

fn c(re: f64, im: f64) -> C64 {
    C64::new(re, im)
}

/// The 2×2 matrix of an uncontrolled single-qubit QIS gate.
fn qis_matrix(name: &str, rotation: Option<f64>) -> Mat2 {
    use bfly_core::circuit::gate::{rx_matrix, ry_matrix, rz_matrix};
    use std::f64::consts::FRAC_1_SQRT_2 as R;
    let (o, z) = (c(1.0, 0.0), c(0.0, 0.0));
    let t = C64::from_polar(1.0, std::f64::consts::FRAC_PI_4);
    match name {
        "x" | "not" | "cnot" => [[z, o], [o, z]],
        "y" => [[z, c(0.0, -1.0)], [c(0.0, 1.0), z]],
        "z" => [[o, z], [z, -o]],
        "h" => [[c(R, 0.0), c(R, 0.0)], [c(R, 0.0), c(-R, 0.0)]],
        "s" => [[o, z], [z, c(0.0, 1.0)]],
        "si" => [[o, z], [z, c(0.0, -1.0)]],
        "t" => [[o, z], [z, t]],
        "ti" => [[o, z], [z, t.conj()]],
        // V = √X, Vi = V†.
        "v" => [[c(0.5, 0.5), c(0.5, -0.5)], [c(0.5, -0.5), c(0.5, 0.5)]],
        "vi" => [[c(0.5, -0.5), c(0.5, 0.5)], [c(0.5, 0.5), c(0.5, -0.5)]],
        "rx" => rx_matrix(rotation.unwrap_or(0.0)),
        "ry" => ry_matrix(rotation.unwrap_or(0.0)),
        "rz" => rz_matrix(rotation.unwrap_or(0.0)),
        other => unreachable!("validated QIS gate name {other}"),
    }
}

fn qis_to_gate(op: usize, g: &QisGate) -> Result<Gate> {
    let name = g.gate.as_str();
    let controls = g.control_list();
    if name == "swap" {
        if !controls.is_empty() {
            return Err(Error::IonqUnsupportedOp {
                op,
                gate: "swap".into(),
                reason: "controlled swap is not supported by this emulator".into(),
            });
        }
        let t = g.targets.as_deref().unwrap_or_default();
        return Ok(Gate::Swap {
            qubits: [t[0], t[1]],
        });
    }
    let target = g.target.expect("validated");
    match controls.as_slice() {
        [] => Ok(match name {
            "x" | "not" => Gate::X { qubit: target },
            "z" => Gate::Z { qubit: target },
            "h" => Gate::H { qubit: target },
            "rx" => Gate::Rx {
                qubit: target,
                theta: g.rotation.unwrap_or(0.0).into(),
            },
            "ry" => Gate::Ry {
                qubit: target,
                theta: g.rotation.unwrap_or(0.0).into(),
            },
            "rz" => Gate::Rz {
                qubit: target,
                theta: g.rotation.unwrap_or(0.0).into(),
            },
            _ => Gate::Unitary1 {
                qubit: target,
                matrix: qis_matrix(name, g.rotation),
            },
        }),
        [control] => Ok(match name {
            "x" | "not" | "cnot" => Gate::Cnot {
                qubits: [*control, target],
            },
            "z" => Gate::Cz {
                qubits: [*control, target],
            },
            _ => {
                let u = qis_matrix(name, g.rotation);
                let (o, z) = (c(1.0, 0.0), c(0.0, 0.0));
                let mut m: Mat4 = [[z; 4]; 4];
                m[0][0] = o;
                m[1][1] = o;
                for r in 0..2 {
                    for col in 0..2 {
                        m[2 + r][2 + col] = u[r][col];
                    }
                }
                Gate::Unitary2 {
                    qubits: [*control, target],
                    matrix: m,
                }
            }
        }),
        _ => Err(Error::IonqUnsupportedOp {
            op,
            gate: name.into(),
            reason: format!(
                "{} control qubits: multi-controlled gates are not supported by this emulator",
                controls.len()
            ),
        }),
    }
}

/// The `noise` object: a noise model name (`ideal`, `aria-1`, `aria-2`, `forte-1`, …)
/// and an optional sampling seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseRequest {
    /// Noise model name.
    pub model: String,
    /// Seed of the simulator's sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl NoiseRequest {
    /// `model` with an optional `seed`.
    pub fn new(model: impl Into<String>, seed: Option<u64>) -> Self {
        NoiseRequest {
            model: model.into(),
            seed,
        }
    }

    /// True for the ideal (noiseless) model.
    pub fn is_ideal(&self) -> bool {
        self.model == "ideal"
    }
}

/// One single-circuit job, independent of the API version it is sent with.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    /// Backend (`simulator`, `qpu.aria-1`, …).
    pub backend: String,
    /// Shots; `None` leaves it to the server (the ideal simulator returns exact
    /// probabilities whatever the shots).
    pub shots: Option<u64>,
    /// Job name.
    pub name: Option<String>,
    /// The circuit.
    pub input: IonqInput,
    /// Noise model (simulator only).
    pub noise: Option<NoiseRequest>,
    /// Debiasing error mitigation (QPU; needs ≥ 500 shots).
    pub debiasing: Option<bool>,
}

impl JobSpec {
    /// A job running `input` on `backend`.
    pub fn new(backend: impl Into<String>, input: IonqInput) -> Self {
        JobSpec {
            backend: backend.into(),
            shots: None,
            name: None,
            input,
            noise: None,
            debiasing: None,
        }
    }

    /// Set the shots.
    pub fn with_shots(mut self, shots: u64) -> Self {
        self.shots = Some(shots);
        self
    }

    /// Set the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Set the noise model.
    pub fn with_noise(mut self, noise: NoiseRequest) -> Self {
        self.noise = Some(noise);
        self
    }

    /// The JSON body of `POST /jobs` for `version`.
    pub fn to_body(&self, version: ApiVersion) -> Value {
        let mut m = Map::new();
        match version {
            ApiVersion::V0_4 => {
                m.insert("type".into(), json!(JOB_TYPE_V04));
                m.insert("backend".into(), json!(self.backend));
            }
            ApiVersion::V0_3 => {
                m.insert("target".into(), json!(self.backend));
            }
        }
        if let Some(s) = self.shots {
            m.insert("shots".into(), json!(s));
        }
        if let Some(n) = &self.name {
            m.insert("name".into(), json!(n));
        }
        m.insert("input".into(), self.input.to_json(version));
        if let Some(n) = &self.noise {
            m.insert(
                "noise".into(),
                serde_json::to_value(n).expect("noise serialises"),
            );
        }
        if let Some(d) = self.debiasing {
            let em = json!({ "debiasing": d });
            match version {
                ApiVersion::V0_4 => m.insert("settings".into(), json!({ "error_mitigation": em })),
                ApiVersion::V0_3 => m.insert("error_mitigation".into(), em),
            };
        }
        Value::Object(m)
    }

    /// Parse and validate a `POST /jobs` body of `version`: the documented fields only,
    /// a known backend, shots ≥ 1, a valid circuit, the backend's two-qubit gate (Forte
    /// rejects `ms`, Aria `zz`) and its qubit count.
    pub fn from_body(body: &Value, version: ApiVersion) -> Result<Self> {
        let obj = body
            .as_object()
            .ok_or_else(|| Error::IonqInvalidJob("the job body must be a JSON object".into()))?;
        let (backend_key, allowed): (&str, &[&str]) = match version {
            ApiVersion::V0_4 => (
                "backend",
                &[
                    "type", "backend", "shots", "name", "input", "noise", "settings", "metadata",
                ],
            ),
            ApiVersion::V0_3 => (
                "target",
                &[
                    "target",
                    "shots",
                    "name",
                    "input",
                    "noise",
                    "error_mitigation",
                    "metadata",
                ],
            ),
        };
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(Error::IonqInvalidJob(format!(
                    "unknown field \"{key}\" in an API {version} job body (allowed: {})",
                    allowed.join(", ")
                )));
            }
        }
        if version == ApiVersion::V0_4 {
            match obj.get("type").and_then(Value::as_str) {
                Some(JOB_TYPE_V04) => {}
                other => {
                    return Err(Error::IonqInvalidJob(format!(
                        "\"type\" is {other:?}; a single-circuit job has type \"{JOB_TYPE_V04}\""
                    )))
                }
            }
        }
        let backend = match obj.get(backend_key) {
            Some(v) => v
                .as_str()
                .ok_or_else(|| {
                    Error::IonqInvalidJob(format!("\"{backend_key}\" must be a string"))
                })?
                .to_string(),
            // v0.3 defaults the target to the simulator; v0.4 requires a backend.
            None if version == ApiVersion::V0_3 => "simulator".to_string(),
            None => return Err(Error::IonqInvalidJob("missing \"backend\"".into())),
        };
        backend_info(&backend)?;
        let shots = match obj.get("shots") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|&s| s >= 1).ok_or_else(|| {
                Error::IonqInvalidJob(format!("\"shots\" is {v}; it must be an integer ≥ 1"))
            })?),
        };
        let name = match obj.get("name") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| Error::IonqInvalidJob("\"name\" must be a string".into()))?
                    .to_string(),
            ),
        };
        let noise = match obj.get("noise") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<NoiseRequest>(v.clone()).map_err(|e| {
                    Error::IonqInvalidJob(format!(
                        "\"noise\" must be {{\"model\": string, \"seed\": integer}}: {e}"
                    ))
                })?,
            ),
        };
        let em = match version {
            ApiVersion::V0_4 => obj.get("settings").and_then(|s| s.get("error_mitigation")),
            ApiVersion::V0_3 => obj.get("error_mitigation"),
        };
        let debiasing = em.and_then(|e| e.get("debiasing")).and_then(Value::as_bool);
        let input_value = obj
            .get("input")
            .ok_or_else(|| Error::IonqInvalidJob("missing \"input\" (the circuit)".into()))?;
        let input = IonqInput::from_json(input_value)?;
        let spec = JobSpec {
            backend,
            shots,
            name,
            input,
            noise,
            debiasing,
        };
        spec.check_backend()?;
        Ok(spec)
    }

    /// Refuse shots IonQ's API rejects, before a body is written or sent: 0, more than
    /// [`MAX_SHOTS`], or debiasing with fewer than [`DEBIASING_MIN_SHOTS`] (when no
    /// shots are given the API uses 100, too few for debiasing).
    ///
    /// ```
    /// use bfly_ionq::format::{IonqInput, IonqOps, JobSpec};
    /// let input = IonqInput { qubits: 1, ops: IonqOps::Native(vec![]) };
    /// let job = JobSpec::new("simulator", input);
    /// assert!(job.check_shots().is_ok());
    /// assert!(job.clone().with_shots(0).check_shots().is_err());
    /// assert!(job.with_shots(1_000_001).check_shots().is_err());
    /// ```
    pub fn check_shots(&self) -> Result<()> {
        match self.shots {
            Some(0) => {
                return Err(Error::IonqInvalidJob(
                    "\"shots\" is 0; IonQ runs at least 1 shot per job (give --shots 1 or more, or leave it out for the default of 100)".into(),
                ))
            }
            Some(s) if s > MAX_SHOTS => {
                return Err(Error::IonqInvalidJob(format!(
                    "\"shots\" is {s}; IonQ's API takes at most {MAX_SHOTS} shots per job: split the shots over several jobs"
                )))
            }
            _ => {}
        }
        if self.debiasing == Some(true) {
            let shots = self.shots.unwrap_or(100);
            if shots < DEBIASING_MIN_SHOTS {
                return Err(Error::IonqInvalidJob(format!(
                    "debiasing needs at least {DEBIASING_MIN_SHOTS} shots, the job asks for {shots}{}",
                    if self.shots.is_none() { " (the API's default)" } else { "" }
                )));
            }
        }
        Ok(())
    }

    /// Check the circuit against the backend: its two-qubit native gate and qubit count.
    pub fn check_backend(&self) -> Result<()> {
        let family = effective_family(&self.backend, self.noise.as_ref())?;
        if let IonqOps::Native(gates) = &self.input.ops {
            for (op, g) in gates.iter().enumerate() {
                let refused = match (g, family) {
                    (NativeGate::Ms { .. }, BackendFamily::Forte) => {
                        Some("Forte-family targets reject MS; use ZZ")
                    }
                    (NativeGate::Zz { .. }, BackendFamily::Aria) => {
                        Some("Aria-family targets take MS, not ZZ")
                    }
                    _ => None,
                };
                if let Some(why) = refused {
                    return Err(Error::IonqUnsupportedOp {
                        op,
                        gate: g.name().into(),
                        reason: format!("{why} (backend {})", self.backend),
                    });
                }
            }
        }
        check_width(&self.input, &self.backend, self.noise.as_ref())
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Received, being checked and compiled.
    Submitted,
    /// Accepted, waiting in the queue.
    Ready,
    /// Running (`started` in v0.4, `running` in v0.3).
    Running,
    /// Finished; results available.
    Completed,
    /// Ended with an error (see the job's `failure`).
    Failed,
    /// Canceled by the user.
    Canceled,
}

impl JobStatus {
    /// True for completed, failed and canceled.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Canceled
        )
    }

    /// The status word `version` uses.
    pub fn as_str(self, version: ApiVersion) -> &'static str {
        match self {
            JobStatus::Submitted => "submitted",
            JobStatus::Ready => "ready",
            JobStatus::Running if version == ApiVersion::V0_4 => "started",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str(ApiVersion::V0_3))
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "submitted" => JobStatus::Submitted,
            "ready" => JobStatus::Ready,
            "started" | "running" => JobStatus::Running,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            "canceled" | "cancelled" => JobStatus::Canceled,
            other => return Err(format!("unknown job status \"{other}\"")),
        })
    }
}

/// Why a job failed, as the server reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    /// Error code (e.g. `internal_error`).
    pub code: String,
    /// Human-readable message.
    pub error: String,
}

/// What `GET /jobs/{id}` says about a job (the fields this crate uses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Job id.
    pub id: String,
    /// Status.
    pub status: JobStatus,
    /// Backend (`backend` in v0.4, `target` in v0.3).
    pub backend: Option<String>,
    /// Job name.
    pub name: Option<String>,
    /// Qubits (`stats.qubits` in v0.4, `qubits` in v0.3).
    pub qubits: Option<usize>,
    /// Shots requested.
    pub shots: Option<u64>,
    /// Failure details when failed.
    pub failure: Option<JobFailure>,
    /// Where the probabilities are (`results.probabilities.url` in v0.4, `results_url`
    /// in v0.3), relative to the host.
    pub results_url: Option<String>,
}

impl JobInfo {
    /// Parse a job object of `version`; the message says what is missing.
    pub fn from_json(v: &Value, version: ApiVersion) -> std::result::Result<Self, String> {
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or("no string field \"id\"")?
            .to_string();
        let status: JobStatus = v
            .get("status")
            .and_then(Value::as_str)
            .ok_or("no string field \"status\"")?
            .parse()?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let failure = v
            .get("failure")
            .filter(|f| !f.is_null())
            .map(|f| JobFailure {
                code: f
                    .get("code")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string(),
                error: f
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .to_string(),
            });
        let (backend, qubits, results_url) = match version {
            ApiVersion::V0_4 => (
                s("backend"),
                v.pointer("/stats/qubits").and_then(Value::as_u64),
                v.pointer("/results/probabilities/url")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            ApiVersion::V0_3 => (
                s("target"),
                v.get("qubits").and_then(Value::as_u64),
                s("results_url"),
            ),
        };
        Ok(JobInfo {
            id,
            status,
            backend,
            name: s("name"),
            qubits: qubits.map(|q| q as usize),
            shots: v.get("shots").and_then(Value::as_u64),
            failure,
            results_url,
        })
    }
}

/// A probability distribution over basis states, keyed by IonQ's decimal basis-state
/// index (qubit 0 = least significant bit). Zero entries may be absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probabilities {
    n_qubits: usize,
    entries: BTreeMap<u64, f64>,
}

/// How far the probabilities of a result may sum from 1 (servers round).
pub const PROBABILITY_SUM_TOLERANCE: f64 = 1e-4;

impl Probabilities {
    /// From `(index, probability)` pairs; checks indices `< 2^n`, finite non-negative
    /// values and a total of 1 (within [`PROBABILITY_SUM_TOLERANCE`]).
    pub fn new(
        n_qubits: usize,
        entries: impl IntoIterator<Item = (u64, f64)>,
    ) -> std::result::Result<Self, String> {
        if n_qubits > 63 {
            return Err(format!(
                "{n_qubits} qubits: IonQ result keys are integers below 2^63 here"
            ));
        }
        let mut map = BTreeMap::new();
        for (i, p) in entries {
            if i >> n_qubits != 0 {
                return Err(format!(
                    "basis state {i} does not exist on {n_qubits} qubits"
                ));
            }
            if !p.is_finite() || p < 0.0 {
                return Err(format!("probability of state {i} is {p}"));
            }
            if p > 0.0 {
                *map.entry(i).or_insert(0.0) += p;
            }
        }
        let total: f64 = map.values().sum();
        if (total - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
            return Err(format!("probabilities sum to {total}, not 1"));
        }
        Ok(Probabilities {
            n_qubits,
            entries: map,
        })
    }

    /// Parse IonQ's flat result object `{"0": 0.5, "3": 0.5}`.
    pub fn from_json(v: &Value, n_qubits: usize) -> std::result::Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("results must be an object keyed by basis-state index")?;
        let mut entries = Vec::with_capacity(obj.len());
        for (k, p) in obj {
            let i: u64 = k
                .parse()
                .map_err(|_| format!("key \"{k}\" is not a decimal basis-state index"))?;
            let p = p
                .as_f64()
                .ok_or_else(|| format!("value of \"{k}\" is not a number"))?;
            entries.push((i, p));
        }
        Self::new(n_qubits, entries)
    }

    /// IonQ's flat result object.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.entries
                .iter()
                .map(|(i, p)| (i.to_string(), json!(p)))
                .collect(),
        )
    }

    /// Exact probabilities `|a_i|²` of a state vector (index bit q = qubit q).
    pub fn from_amplitudes(amps: &[C64]) -> std::result::Result<Self, String> {
        let n = amps.len().trailing_zeros() as usize;
        Self::new(
            n,
            amps.iter()
                .enumerate()
                .map(|(i, a)| (i as u64, a.norm_sqr()))
                .filter(|(_, p)| *p > 1e-15),
        )
    }

    /// Frequencies of measured bitstrings.
    pub fn from_samples(
        n_qubits: usize,
        samples: &[BitString],
    ) -> std::result::Result<Self, String> {
        let s = samples.len().max(1) as f64;
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        for b in samples {
            let i = b.to_index().ok_or("bitstring longer than 64 qubits")?;
            *counts.entry(i).or_default() += 1;
        }
        Self::new(n_qubits, counts.into_iter().map(|(i, c)| (i, c as f64 / s)))
    }

    /// Number of qubits.
    pub fn n_qubits(&self) -> usize {
        self.n_qubits
    }

    /// Probability of basis state `index` (0 if absent).
    pub fn get(&self, index: u64) -> f64 {
        self.entries.get(&index).copied().unwrap_or(0.0)
    }

    /// `(index, probability)` of every non-zero entry, ascending index.
    pub fn iter(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        self.entries.iter().map(|(i, p)| (*i, *p))
    }

    /// Non-zero entries as bitstrings in the crate's convention (qubit 0 first).
    pub fn bitstrings(&self) -> Vec<(BitString, f64)> {
        self.iter()
            .map(|(i, p)| (BitString::from_index(self.n_qubits, i), p))
            .collect()
    }

    /// `P(q_i = 1)` for every qubit.
    pub fn marginals(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.n_qubits];
        for (i, p) in self.iter() {
            for (q, mq) in m.iter_mut().enumerate() {
                if (i >> q) & 1 == 1 {
                    *mq += p;
                }
            }
        }
        m
    }

    /// Counts for `shots` shots: `p × shots` rounded by largest remainder, so they sum to
    /// `shots` exactly (and reproduce the counts of a sampled result exactly).
    pub fn histogram(&self, shots: u64) -> Histogram {
        let total: f64 = self.entries.values().sum();
        let scaled: Vec<(u64, f64)> = self
            .iter()
            .map(|(i, p)| (i, p / total * shots as f64))
            .collect();
        let mut counts: Vec<(u64, u64, f64)> = scaled
            .iter()
            .map(|&(i, x)| (i, x.floor() as u64, x - x.floor()))
            .collect();
        let assigned: u64 = counts.iter().map(|c| c.1).sum();
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by(|&a, &b| counts[b].2.total_cmp(&counts[a].2).then(a.cmp(&b)));
        for &k in order.iter().take(shots.saturating_sub(assigned) as usize) {
            counts[k].1 += 1;
        }
        let mut out: Vec<(BitString, u64)> = counts
            .into_iter()
            .filter(|c| c.1 > 0)
            .map(|(i, c, _)| (BitString::from_index(self.n_qubits, i), c))
            .collect();
        out.sort();
        Histogram {
            shots: shots as usize,
            counts: out,
        }
    }
}
