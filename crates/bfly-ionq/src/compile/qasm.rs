//! OpenQASM 2.0 export.
//!
//! QIS gates map to `qelib1.inc` (`rx ry rz x z h cz cx swap`). IonQ's natives are not in
//! `qelib1.inc`, so the file defines them with `gate` blocks built from qelib1 gates,
//! each exact up to a global phase (phases and angles stay in **turns**, as in IonQ's API):
//!
//! ```text
//! gate gpi(phi) a { u3(pi, 2*pi*phi, pi - 2*pi*phi) a; }
//! gate gpi2(phi) a { u3(pi/2, 2*pi*phi - pi/2, pi/2 - 2*pi*phi) a; }
//! gate zz(t) a, b { cx a, b; rz(2*pi*t) b; cx a, b; }
//! gate ms(phi0, phi1, t) a, b { rz(-2*pi*phi0) a; rz(-2*pi*phi1) b; h a; h b;
//!                               zz(t) a, b; h a; h b; rz(2*pi*phi0) a; rz(2*pi*phi1) b; }
//! gate rbs(theta) a, b { ms(0, 0.25, theta/(2*pi)) a, b; ms(0.75, 0, theta/(2*pi)) a, b; }
//! ```
//!
//! (`ms = (RZ(φ0')⊗RZ(φ1'))·exp(-iπt X⊗X)·(RZ(-φ0')⊗RZ(-φ1'))`, `φ' = 2πφ`; `rbs` is
//! SCIENCE.md §6.) Only the definitions a circuit uses are written. `unitary1` is written
//! as `u3` from its ZYZ angles; `unitary2` is refused (compile the circuit first).
//! Qubit `q` of the circuit is `q[q]`; the file ends by measuring every qubit into `c`.
//!
//! ```
//! use bfly_core::circuit::{Circuit, Gate, Param};
//! use bfly_ionq::compile::qasm::to_qasm;
//! let mut c = Circuit::new(2);
//! c.push(Gate::Gpi2 { qubit: 0, phase: Param::Fixed(0.25) }).unwrap();
//! c.push(Gate::Zz { qubits: [0, 1], angle: Param::Fixed(0.125) }).unwrap();
//! let text = to_qasm(&c, &c.parameters).unwrap();
//! assert!(text.starts_with("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"));
//! assert!(text.contains("gpi2(0.25) q[0];\nzz(0.125) q[0], q[1];\n"));
//! ```

use std::fmt::Write as _;

use super::single::zyz;
use bfly_core::circuit::{Circuit, Gate, Parameters};
use bfly_core::error::{Error, Result};

const GPI: &str = "gate gpi(phi) a { u3(pi, 2*pi*phi, pi - 2*pi*phi) a; }";
const GPI2: &str = "gate gpi2(phi) a { u3(pi/2, 2*pi*phi - pi/2, pi/2 - 2*pi*phi) a; }";
const ZZ: &str = "gate zz(t) a, b { cx a, b; rz(2*pi*t) b; cx a, b; }";
const MS: &str = "gate ms(phi0, phi1, t) a, b { rz(-2*pi*phi0) a; rz(-2*pi*phi1) b; h a; h b; zz(t) a, b; h a; h b; rz(2*pi*phi0) a; rz(2*pi*phi1) b; }";
const RBS: &str =
    "gate rbs(theta) a, b { ms(0, 0.25, theta/(2*pi)) a, b; ms(0.75, 0, theta/(2*pi)) a, b; }";

/// The circuit as OpenQASM 2.0 text, parameters bound from `values`.
pub fn to_qasm(circuit: &Circuit, values: &Parameters) -> Result<String> {
    circuit.validate()?;
    let names: Vec<&str> = circuit.ops.iter().map(|g| g.name()).collect();
    let uses = |n: &str| names.contains(&n);
    let (rbs, ms) = (uses("rbs"), uses("ms") || uses("rbs"));
    let zz = uses("zz") || ms;
    let mut out = String::from("OPENQASM 2.0;\ninclude \"qelib1.inc\";\n");
    if uses("gpi") || uses("gpi2") || ms || zz {
        out.push_str(
            "// IonQ native gates, phases and angles in turns (exact up to global phase)\n",
        );
    }
    for (used, def) in [
        (uses("gpi"), GPI),
        (uses("gpi2"), GPI2),
        (zz, ZZ),
        (ms, MS),
        (rbs, RBS),
    ] {
        if used {
            out.push_str(def);
            out.push('\n');
        }
    }
    let n = circuit.qubits;
    writeln!(out, "qreg q[{n}];\ncreg c[{n}];").expect("writing to a String");
    for (op, g) in circuit.ops.iter().enumerate() {
        let v = |p| values.resolve(p, op, g.name());
        let q = g.qubits();
        let line = match g {
            Gate::Rbs { theta, .. } => format!("rbs({}) q[{}], q[{}];", v(theta)?, q[0], q[1]),
            Gate::Rx { theta, .. } => format!("rx({}) q[{}];", v(theta)?, q[0]),
            Gate::Ry { theta, .. } => format!("ry({}) q[{}];", v(theta)?, q[0]),
            Gate::Rz { theta, .. } => format!("rz({}) q[{}];", v(theta)?, q[0]),
            Gate::X { .. } => format!("x q[{}];", q[0]),
            Gate::Z { .. } => format!("z q[{}];", q[0]),
            Gate::H { .. } => format!("h q[{}];", q[0]),
            Gate::Cz { .. } => format!("cz q[{}], q[{}];", q[0], q[1]),
            Gate::Cnot { .. } => format!("cx q[{}], q[{}];", q[0], q[1]),
            Gate::Swap { .. } => format!("swap q[{}], q[{}];", q[0], q[1]),
            Gate::Gpi { phase, .. } => format!("gpi({}) q[{}];", v(phase)?, q[0]),
            Gate::Gpi2 { phase, .. } => format!("gpi2({}) q[{}];", v(phase)?, q[0]),
            Gate::Ms { phases, angle, .. } => format!(
                "ms({}, {}, {}) q[{}], q[{}];",
                v(&phases[0])?,
                v(&phases[1])?,
                v(angle)?,
                q[0],
                q[1]
            ),
            Gate::Zz { angle, .. } => format!("zz({}) q[{}], q[{}];", v(angle)?, q[0], q[1]),
            Gate::Unitary1 { matrix, .. } => {
                // RZ(α)·RY(β)·RZ(λ) = u3(β, α, λ) up to global phase.
                let (mut alpha, mut beta, mut lambda) = (0.0, 0.0, 0.0);
                let rots = zyz(matrix)?;
                let mut seen_y = false;
                for (axis, angle) in rots {
                    match (axis, seen_y) {
                        ('y', _) => {
                            beta = angle;
                            seen_y = true;
                        }
                        ('z', false) => lambda += angle,
                        _ => alpha += angle,
                    }
                }
                format!("u3({beta}, {alpha}, {lambda}) q[{}];", q[0])
            }
            Gate::Unitary2 { .. } => {
                return Err(Error::CannotCompile {
                    op,
                    gate: g.name().into(),
                    reason: "OpenQASM 2.0 has no generic two-qubit unitary; compile the circuit \
                             first (`bfly compile`), or replace it with named gates"
                        .into(),
                })
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("measure q -> c;\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! The gate definitions' math, rebuilt from the same qelib1 gates.
    use super::super::mat::{distance_up_to_phase, kron, mul2, mul4};
    use bfly_core::circuit::gate::{
        gpi2_matrix, gpi_matrix, ms_matrix, rbs_matrix, rz_matrix, zz_matrix,
    };
    use bfly_core::circuit::Mat2;
    use num_complex::Complex64 as C64;
    use std::f64::consts::PI;

    fn u3(theta: f64, phi: f64, lambda: f64) -> Mat2 {
        let (s, c) = (theta / 2.0).sin_cos();
        [
            [C64::new(c, 0.0), -C64::from_polar(s, lambda)],
            [C64::from_polar(s, phi), C64::from_polar(c, phi + lambda)],
        ]
    }

    #[test]
    fn definitions_match_the_native_matrices() {
        let id = super::super::mat::id2();
        let h = {
            let r = C64::new(std::f64::consts::FRAC_1_SQRT_2, 0.0);
            [[r, r], [r, -r]]
        };
        let one = C64::new(1.0, 0.0);
        let zero = C64::new(0.0, 0.0);
        let cx = [
            [one, zero, zero, zero],
            [zero, one, zero, zero],
            [zero, zero, zero, one],
            [zero, zero, one, zero],
        ];
        for &(p0, p1, t) in &[(0.0, 0.25, 0.1), (0.37, 0.81, 0.25), (0.9, 0.05, 0.013)] {
            let a = 2.0 * PI * p0;
            assert!(distance_up_to_phase(&u3(PI, a, PI - a), &gpi_matrix(p0)) < 1e-14);
            assert!(
                distance_up_to_phase(&u3(PI / 2.0, a - PI / 2.0, PI / 2.0 - a), &gpi2_matrix(p0))
                    < 1e-14
            );
            let zz = mul4(&cx, &mul4(&kron(&id, &rz_matrix(2.0 * PI * t)), &cx));
            assert!(distance_up_to_phase(&zz, &zz_matrix(t)) < 1e-14);
            let (b0, b1) = (2.0 * PI * p0, 2.0 * PI * p1);
            let pre = kron(&mul2(&h, &rz_matrix(-b0)), &mul2(&h, &rz_matrix(-b1)));
            let post = kron(&mul2(&rz_matrix(b0), &h), &mul2(&rz_matrix(b1), &h));
            let ms = mul4(&post, &mul4(&zz, &pre));
            assert!(distance_up_to_phase(&ms, &ms_matrix(p0, p1, t)) < 1e-14);
            let theta = 2.0 * PI * t;
            let rbs = mul4(&ms_matrix(0.75, 0.0, t), &ms_matrix(0.0, 0.25, t));
            assert!(distance_up_to_phase(&rbs, &rbs_matrix(theta)) < 1e-14);
        }
    }
}
