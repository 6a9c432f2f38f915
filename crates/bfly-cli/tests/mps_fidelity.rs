//! The truncation fidelity estimate Π(1 − ε) against the true fidelity |<ψ_sv|ψ_mps>|²
//! on a 20-qubit Butterfly with angle input.

mod mps_common;

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{Butterfly, LayerOrdering};
use butterfly_mps::sim::{run_mps, simulate, Engine, MpsConfig, Simulator, Truncation};
use butterfly_mps::BitString;
use mps_common::{rng, to_dense};
use num_complex::Complex64 as C64;
use rand::Rng;

const OFFSETS: [usize; 2] = [0, 4];

#[test]
fn fidelity_estimate_tracks_true_fidelity() {
    // n = 20 is not a power of two, so the entangling network is two overlapping 16-qubit
    // full Butterflies (on qubits 0..16 and 4..20): 64 RBS gates, many long-range, on top
    // of the angle (RY) encoding.
    let n = 20;
    let mut c = Loader::Angle.circuit(n).unwrap();
    let b = Butterfly::full(16, LayerOrdering::CouplingFirst).unwrap();
    let mut slot = 0;
    for offset in OFFSETS {
        for layer in 0..b.layers {
            for (a, q) in b.layer_pairs(layer) {
                c.push(butterfly_mps::circuit::Gate::Rbs {
                    qubits: [a + offset, q + offset],
                    theta: butterfly_mps::circuit::Param::trainable(slot),
                })
                .unwrap();
                slot += 1;
            }
        }
    }
    let mut r = rng(2026);
    c.parameters.inputs = Loader::Angle.random_data(n, &mut r);
    c.parameters.trainable = (0..slot)
        .map(|_| r.random::<f64>() * std::f64::consts::TAU)
        .collect();
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let exact: Vec<C64> = (0..1u64 << n)
        .map(|i| sv.amplitude(&BitString::from_index(n, i)).unwrap())
        .collect();

    eprintln!("\n  χ | max bond | truncations | discarded Σε | estimate Π(1−ε) | true |<ψ|ψ_χ>|² | rel. gap");
    eprintln!("----|----------|-------------|--------------|-----------------|-----------------|---------");
    let mut checked = 0;
    for chi in [4usize, 8, 16, 32, 64] {
        let config = MpsConfig {
            truncation: Truncation::new(chi, 0.0).unwrap(),
            ..Default::default()
        };
        let mps = run_mps(&c, &c.parameters, &config).unwrap();
        let report = mps.report();
        // <ψ_sv|ψ_mps> over all 2^20 amplitudes (MPS contracted to a dense vector).
        let dense = to_dense(&mps);
        let overlap: C64 = exact.iter().zip(&dense).map(|(e, a)| e.conj() * a).sum();
        let fidelity = overlap.norm_sqr();
        let estimate = report.fidelity_estimate;
        let gap = (estimate - fidelity).abs() / fidelity;
        eprintln!(
            "{chi:3} | {:8} | {:11} | {:12.4e} | {estimate:15.6} | {fidelity:15.6} | {:6.2} %",
            report.max_bond_reached,
            report.truncations,
            report.total_discarded_weight,
            100.0 * gap
        );
        assert!(fidelity <= 1.0 + 1e-9 && estimate <= 1.0);
        if fidelity > 0.5 {
            assert!(
                gap < 0.10,
                "χ = {chi}: estimate {estimate} vs true {fidelity}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the sweep should have at least two χ with fidelity > 0.5"
    );
}
