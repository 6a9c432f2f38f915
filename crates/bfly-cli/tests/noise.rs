//! Noisy simulation: the depolarizing convention, the density-matrix engine against the
//! state vector, trajectories against the density matrix, MPS trajectories against
//! state-vector trajectories, readout error, post-selection, presets, typed errors and
//! determinism of the executor.
#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

mod common;

use butterfly_mps::circuit::{loaders::Loader, BoundGate, ButterflyWorkload, Circuit, Gate, Param};
use butterfly_mps::noise::channel::{mixing_weight, pauli_error_from_mixing_weight, PAULIS};
use butterfly_mps::noise::postselect::postselect_distribution;
use butterfly_mps::noise::simulate::{
    mps_trajectory, noisy_gates, run_density_matrix, statevector_trajectory, trajectory_circuit,
};
use butterfly_mps::noise::weight::weight_resolved;
use butterfly_mps::noise::{
    metrics, readout, simulate_noisy, DensityMatrix, NoiseModel, NoisyConfig, NoisyExecutor,
    NoisyMethod, ReadoutError,
};
use butterfly_mps::progress::NoProgress;
use butterfly_mps::sim::mps::MpsConfig;
use butterfly_mps::sim::{simulate, Engine, Simulator};
use butterfly_mps::train::executor::{CircuitRun, Executor, ShotPlan};
use butterfly_mps::{BitString, Error};
use num_complex::Complex64 as C64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// A 2×2 complex matrix product helper for the analytic 1-qubit check.
fn mul2(a: &[[C64; 2]; 2], b: &[[C64; 2]; 2]) -> [[C64; 2]; 2] {
    let mut out = [[C64::new(0.0, 0.0); 2]; 2];
    for r in 0..2 {
        for c in 0..2 {
            out[r][c] = a[r][0] * b[0][c] + a[r][1] * b[1][c];
        }
    }
    out
}

/// A mixed state on `n` qubits: a random circuit then some depolarizing.
fn random_mixed_state(n: usize, seed: u64) -> DensityMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c = common::random_general_circuit(n, 12, &mut rng);
    let mut rho = DensityMatrix::new(n).unwrap();
    for (i, g) in c.bind_defaults().unwrap().iter().enumerate() {
        rho.apply_gate(g).unwrap();
        if i % 4 == 0 {
            rho.depolarize(&g.qubits(), 0.1).unwrap();
        }
    }
    rho
}

#[test]
fn one_qubit_depolarizing_matches_the_analytic_formula() {
    // A general 1-qubit mixed state with complex coherences.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let u = common::random_unitary2(&mut rng);
    let mut rho = DensityMatrix::new(1).unwrap();
    rho.apply_gate(&BoundGate::One {
        qubit: 0,
        matrix: u,
    })
    .unwrap();
    rho.depolarize(&[0], 0.2).unwrap();
    let before = [
        [rho.get(0, 0), rho.get(0, 1)],
        [rho.get(1, 0), rho.get(1, 1)],
    ];
    let p = 0.07;
    rho.depolarize(&[0], p).unwrap();
    // Pauli form: (1 − p) ρ + p/3 (XρX + YρY + ZρZ).
    let mut expected = before.map(|row| row.map(|z| z * (1.0 - p)));
    for pauli in &PAULIS[1..] {
        let t = mul2(&mul2(pauli, &before), pauli);
        for r in 0..2 {
            for c in 0..2 {
                expected[r][c] += t[r][c] * (p / 3.0);
            }
        }
    }
    // Closed form: diagonal → (1 − 4p/3) ρ_ii + 2p/3, coherences × (1 − 4p/3).
    let lambda = 4.0 * p / 3.0;
    let closed = [
        [
            before[0][0] * (1.0 - lambda) + lambda / 2.0,
            before[0][1] * (1.0 - lambda),
        ],
        [
            before[1][0] * (1.0 - lambda),
            before[1][1] * (1.0 - lambda) + lambda / 2.0,
        ],
    ];
    for r in 0..2 {
        for c in 0..2 {
            assert!((rho.get(r, c) - expected[r][c]).norm() < 1e-14);
            assert!((rho.get(r, c) - closed[r][c]).norm() < 1e-14);
        }
    }
    assert!(before[0][1].norm() > 0.05, "the test state has coherences");
    assert!((mixing_weight(p, 1) - lambda).abs() < 1e-15);
    assert!((pauli_error_from_mixing_weight(mixing_weight(0.01, 2), 2) - 0.01).abs() < 1e-15);
}

#[test]
fn two_qubit_depolarizing_equals_the_explicit_pauli_kraus_sum() {
    let n = 3;
    let base = random_mixed_state(n, 2);
    let (qa, qb, p) = (2, 0, 0.09);
    let mut rho = base.clone();
    rho.depolarize(&[qa, qb], p).unwrap();
    // (1 − p) ρ + p/15 Σ_{P≠I} P ρ P, each PρP by conjugating a copy with Pauli gates.
    let mut expected: Vec<C64> = base.entries().iter().map(|z| z * (1.0 - p)).collect();
    for idx in 1..16 {
        let mut copy = base.clone();
        for (q, pauli) in [(qa, idx >> 2), (qb, idx & 3)] {
            copy.apply_gate(&BoundGate::One {
                qubit: q,
                matrix: PAULIS[pauli],
            })
            .unwrap();
        }
        for (e, x) in expected.iter_mut().zip(copy.entries()) {
            *e += x * (p / 15.0);
        }
    }
    let worst = rho
        .entries()
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).norm())
        .fold(0.0, f64::max);
    assert!(worst < 1e-14, "max deviation {worst:e}");
    assert!((rho.trace() - 1.0).abs() < 1e-12);
}

#[test]
fn noiseless_density_matrix_equals_the_pure_state_projector() {
    let n = 5;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let c = common::random_general_circuit(n, 40, &mut rng);
    let config = NoisyConfig::new(NoiseModel::ideal());
    let gates = noisy_gates(&c, &c.parameters, &config).unwrap();
    let rho = run_density_matrix(n, &gates).unwrap();
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let amps: Vec<C64> = (0..1u64 << n)
        .map(|i| sv.amplitude(&BitString::from_index(n, i)).unwrap())
        .collect();
    let pure = DensityMatrix::from_pure(&amps).unwrap();
    let worst = rho
        .entries()
        .iter()
        .zip(pure.entries())
        .map(|(a, b)| (a - b).norm())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-12, "max |ρ − |ψ><ψ|| = {worst:e}");
    // And against the independent dense-matrix reference of the test helpers.
    let reference = common::reference_state(&c);
    for (r, a) in reference.iter().enumerate() {
        for (col, b) in reference.iter().enumerate() {
            assert!((rho.get(r, col) - a * b.conj()).norm() <= 1e-12);
        }
    }
}

#[test]
fn trajectory_average_converges_to_the_density_matrix() {
    let n = 5;
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let c = common::random_general_circuit(n, 30, &mut rng);
    let model = NoiseModel::custom(0.02, 0.05, ReadoutError::none()).unwrap();
    let mut config = NoisyConfig::new(model.clone());
    config.engine = NoisyMethod::DensityMatrix;
    let exact = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap();
    let exact_p = exact.distribution.unwrap();
    let trajectories = 3000;
    config.engine = NoisyMethod::Trajectories(Engine::StateVector);
    config.trajectories = trajectories;
    config.seed = 11;
    let avg = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap();
    assert_eq!(avg.trajectories, trajectories);
    let avg_p = avg.distribution.unwrap();
    // Each trajectory's probability of outcome i lies in [0, 1] with mean μ_i, so its
    // variance is at most μ_i (1 − μ_i): allow 5 standard errors per entry.
    for (i, (a, m)) in avg_p.iter().zip(&exact_p).enumerate() {
        let tol = 5.0 * (m * (1.0 - m) / trajectories as f64).sqrt() + 1e-12;
        assert!(
            (a - m).abs() <= tol,
            "outcome {i}: {a} vs {m} (tol {tol:e})"
        );
    }
    // The noise is visible: the noisy distribution is far from the ideal one compared to
    // the trajectory error.
    let ideal = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let ideal_p: Vec<f64> = (0..1u64 << n)
        .map(|i| ideal.probability(&BitString::from_index(n, i)).unwrap())
        .collect();
    let tvd_noise = metrics::total_variation_distance(&ideal_p, &exact_p).unwrap();
    let tvd_mc = metrics::total_variation_distance(&avg_p, &exact_p).unwrap();
    assert!(tvd_noise > 0.1, "noise effect {tvd_noise}");
    assert!(
        tvd_mc < tvd_noise / 5.0,
        "MC error {tvd_mc} vs noise {tvd_noise}"
    );
}

#[test]
fn mps_trajectories_equal_statevector_trajectories_for_the_same_seed() {
    let n = 6;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let c = common::random_general_circuit(n, 40, &mut rng);
    let mut config = NoisyConfig::new(NoiseModel::custom(0.05, 0.1, ReadoutError::none()).unwrap());
    config.seed = 9;
    let gates = noisy_gates(&c, &c.parameters, &config).unwrap();
    let mps_config = MpsConfig::new(64, 0.0).unwrap();
    let mut inserted = 0;
    for t in 0..4 {
        inserted += trajectory_circuit(&gates, config.seed, t).len() - gates.len();
        let sv = statevector_trajectory(n, &gates, config.seed, t).unwrap();
        let mps = mps_trajectory(n, &gates, config.seed, t, &mps_config).unwrap();
        let worst = (0..1u64 << n)
            .map(|i| {
                let b = BitString::from_index(n, i);
                (sv.amplitude(&b).unwrap() - mps.amplitude(&b).unwrap()).norm()
            })
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-10,
            "trajectory {t}: max amplitude difference {worst:e}"
        );
    }
    assert!(
        inserted > 4,
        "the trajectories must contain Pauli errors ({inserted})"
    );
    // Different trajectories differ.
    assert_ne!(
        trajectory_circuit(&gates, config.seed, 0),
        trajectory_circuit(&gates, config.seed, 1)
    );
}

#[test]
fn readout_error_on_a_known_distribution() {
    // Two qubits, index bit q = qubit q: p(00)=0.5, p(q0=1)=0.2, p(q1=1)=0.2, p(11)=0.1.
    let r = ReadoutError::new(0.1, 0.2).unwrap(); // p(1|0) = 0.1, p(0|1) = 0.2
    let mut p = vec![0.5, 0.2, 0.2, 0.1];
    readout::apply_to_distribution(&r, &mut p);
    // Per qubit: read-0 prob for true 0 is 0.9, for true 1 is 0.2.
    let stay = |read: usize, truth: usize| match (read, truth) {
        (0, 0) => 0.9,
        (1, 0) => 0.1,
        (0, 1) => 0.2,
        _ => 0.8,
    };
    let truth = [0.5, 0.2, 0.2, 0.1];
    for (m, got) in p.iter().enumerate() {
        let want: f64 = (0..4)
            .map(|s| truth[s] * stay(m & 1, s & 1) * stay(m >> 1, s >> 1))
            .sum();
        assert!((got - want).abs() < 1e-15, "outcome {m}: {got} vs {want}");
    }
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    assert!((p[0] - (0.5 * 0.81 + 0.2 * 0.18 + 0.2 * 0.18 + 0.1 * 0.04)).abs() < 1e-15);
    // Marginals transform consistently.
    let m_true = [0.3, 0.3];
    let m_read = readout::apply_to_marginals(&r, &m_true);
    assert!((m_read[0] - (p[1] + p[3])).abs() < 1e-15);
    assert!((m_read[0] - (0.3 * 0.8 + 0.7 * 0.1)).abs() < 1e-15);
}

fn unary_circuit(n: usize, seed: u64) -> Circuit {
    ButterflyWorkload::full(n, Loader::UnaryTree, seed)
        .build()
        .unwrap()
}

#[test]
fn postselection_kept_fraction_equals_the_weight_k_probability() {
    let n = 4;
    let c = unary_circuit(n, 6);
    let model = NoiseModel::custom(0.01, 0.05, ReadoutError::new(0.02, 0.03).unwrap()).unwrap();
    let mut config = NoisyConfig::new(model.clone());
    config.engine = NoisyMethod::DensityMatrix;
    config.postselect_weight = Some(1);
    let out = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap();
    let ps = out.postselection.unwrap();
    // Independent: diag(ρ), readout by brute force over (true, read) pairs, weight-1 mass.
    let gates = noisy_gates(&c, &c.parameters, &config).unwrap();
    let diag = run_density_matrix(n, &gates).unwrap().probabilities();
    let flip = |read: usize, truth: usize| -> f64 {
        (0..n)
            .map(|q| {
                let (m, s) = ((read >> q) & 1, (truth >> q) & 1);
                match (m, s) {
                    (0, 0) => 0.98,
                    (1, 0) => 0.02,
                    (0, 1) => 0.03,
                    _ => 0.97,
                }
            })
            .product()
    };
    let read: Vec<f64> = (0..1 << n)
        .map(|m| (0..1 << n).map(|s| diag[s] * flip(m, s)).sum())
        .collect();
    let want: f64 = (0..1usize << n)
        .filter(|m| m.count_ones() == 1)
        .map(|m| read[m])
        .sum();
    assert!(
        (ps.kept_fraction - want).abs() < 1e-12,
        "{} vs {want}",
        ps.kept_fraction
    );
    assert!(ps.kept_fraction < 0.97 && ps.kept_fraction > 0.5);
    for q in 0..n {
        assert!((ps.marginals[q] - read[1 << q] / want).abs() < 1e-12);
    }
    // Sampled: the kept fraction of 20,000 shots is within 5 standard errors.
    let shots = 20_000;
    let sampled =
        simulate_noisy(&c, &c.parameters, &config, Some((shots, 3)), &NoProgress).unwrap();
    let sps = sampled.postselection.unwrap();
    let se = (want * (1.0 - want) / shots as f64).sqrt();
    assert!((sps.kept_fraction - want).abs() < 5.0 * se);
    assert_eq!(sampled.histogram.unwrap().shots, shots);
}

#[test]
fn mps_weight_resolved_postselection_matches_statevector_trajectories() {
    // The same trajectories on both engines; the MPS computes P(weight = k) and the joint
    // marginals by contraction (readout included), the state vector from the distribution.
    let n = 6;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let c = common::random_general_circuit(n, 30, &mut rng);
    let model = NoiseModel::custom(0.03, 0.08, ReadoutError::new(0.04, 0.07).unwrap()).unwrap();
    for k in [1, 2] {
        let mut config = NoisyConfig::new(model.clone());
        config.trajectories = 12;
        config.seed = 5;
        config.postselect_weight = Some(k);
        config.engine = NoisyMethod::Trajectories(Engine::StateVector);
        let sv = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap();
        config.engine = NoisyMethod::Trajectories(Engine::Mps {
            chi: 64,
            cutoff: 0.0,
        });
        let mps = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap();
        let (a, b) = (sv.postselection.unwrap(), mps.postselection.unwrap());
        assert!((a.kept_fraction - b.kept_fraction).abs() < 1e-10, "k={k}");
        assert!(a.kept_fraction > 0.05 && a.kept_fraction < 0.95);
        for q in 0..n {
            assert!(
                (a.marginals[q] - b.marginals[q]).abs() < 1e-10,
                "k={k} q={q}"
            );
            assert!((sv.marginals[q] - mps.marginals[q]).abs() < 1e-10);
        }
        assert_eq!(mps.mps_min_fidelity_estimate, Some(1.0));
    }
    // Directly, on one pure MPS against its distribution.
    let state =
        butterfly_mps::sim::run_mps(&c, &c.parameters, &MpsConfig::new(64, 0.0).unwrap()).unwrap();
    let r = ReadoutError::new(0.1, 0.05).unwrap();
    let (kept, joint) = weight_resolved(&state, &r, 3).unwrap();
    let mut p: Vec<f64> = (0..1u64 << n)
        .map(|i| state.probability(&BitString::from_index(n, i)).unwrap())
        .collect();
    readout::apply_to_distribution(&r, &mut p);
    let ps = postselect_distribution(&p, 3);
    assert!((kept - ps.kept_fraction).abs() < 1e-12);
    for q in 0..n {
        assert!((joint[q] / kept - ps.marginals[q]).abs() < 1e-10);
    }
}

#[test]
fn presets_carry_the_science_numbers() {
    let cases = [
        ("aria-1", 0.0005, 0.0133),
        ("aria-2", 0.000657, 0.01856),
        ("forte-1", 0.000267, 0.00495),
        ("ideal", 0.0, 0.0),
    ];
    for (name, p1, p2) in cases {
        let m: NoiseModel = name.parse().unwrap();
        assert_eq!((m.name.as_str(), m.p1, m.p2), (name, p1, p2));
    }
    let aria = NoiseModel::preset("aria-1").unwrap();
    assert!((aria.readout.p1_given_0 - (1.0 - 0.9961)).abs() < 1e-15);
    assert_eq!(aria.readout.p1_given_0, aria.readout.p0_given_1);
    assert_eq!(
        NoiseModel::preset("ideal").unwrap().readout,
        ReadoutError::none()
    );
    // serde round trip.
    let json = serde_json::to_string(&aria).unwrap();
    assert_eq!(serde_json::from_str::<NoiseModel>(&json).unwrap(), aria);
}

#[test]
fn bad_noise_settings_are_typed_errors() {
    match "forte-9".parse::<NoiseModel>() {
        Err(Error::UnknownNoiseModel { name, known }) => {
            assert_eq!(name, "forte-9");
            for k in ["ideal", "aria-1", "aria-2", "forte-1"] {
                assert!(known.contains(k));
            }
        }
        other => panic!("expected UnknownNoiseModel, got {other:?}"),
    }
    for bad in [1.5, -0.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            NoiseModel::custom(bad, 0.0, ReadoutError::none()),
            Err(Error::InvalidNoiseRate { .. })
        ));
        assert!(matches!(
            NoiseModel::custom(0.0, bad, ReadoutError::none()),
            Err(Error::InvalidNoiseRate { .. })
        ));
        assert!(matches!(
            ReadoutError::symmetric(bad),
            Err(Error::InvalidNoiseRate { .. })
        ));
    }
    assert!(matches!(
        "0.1,nan".parse::<ReadoutError>(),
        Err(Error::InvalidNoiseRate { .. })
    ));
    assert!(matches!(
        "abc".parse::<ReadoutError>(),
        Err(Error::InvalidInput(_))
    ));
    assert!(serde_json::from_str::<NoiseModel>(r#"{"name":"x","p1":2.0,"p2":0.0}"#).is_err());
    let c = unary_circuit(4, 1);
    let mut config = NoisyConfig::new(NoiseModel::preset("aria-1").unwrap());
    config.trajectories = 0;
    assert!(matches!(
        simulate_noisy(&c, &c.parameters, &config, None, &NoProgress),
        Err(Error::NoisySimulation(_))
    ));
    config.trajectories = 10;
    config.postselect_weight = Some(5);
    assert!(matches!(
        simulate_noisy(&c, &c.parameters, &config, None, &NoProgress),
        Err(Error::NoisySimulation(_))
    ));
    config.postselect_weight = None;
    config.engine = NoisyMethod::DensityMatrix;
    let big = unary_circuit(16, 1);
    assert!(matches!(
        simulate_noisy(&big, &big.parameters, &config, None, &NoProgress),
        Err(Error::NoisySimulation(_))
    ));
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn noisy_executor_is_deterministic_per_seed_and_thread_count() {
    let c = unary_circuit(8, 2);
    let mut config = NoisyConfig::new(
        NoiseModel::custom(0.01, 0.03, ReadoutError::symmetric(0.01).unwrap()).unwrap(),
    );
    config.engine = NoisyMethod::Trajectories(Engine::StateVector);
    config.trajectories = 100;
    config.seed = 3;
    config.postselect_weight = Some(1);
    let exec = NoisyExecutor::new(config.clone());
    let runs = [
        CircuitRun::new(&c, c.parameters.clone()),
        CircuitRun::new(&c, c.parameters.clone()),
    ];
    for plan in [ShotPlan::exact(), ShotPlan::with_shots(300, 5, 1)] {
        let one = in_pool(1, || exec.execute(&runs, &plan).unwrap());
        let two = in_pool(2, || exec.execute(&runs, &plan).unwrap());
        assert_eq!(one, two, "thread count changed the result");
        let mut other = config.clone();
        other.seed = 4;
        let changed = NoisyExecutor::new(other).execute(&runs, &plan).unwrap();
        assert_ne!(one[0].marginals, changed[0].marginals, "the seed matters");
        // Post-selected marginals of a unary circuit sum to 1.
        assert!((one[0].marginals.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    // MPS trajectories: same check, sampled.
    config.engine = NoisyMethod::Trajectories(Engine::Mps {
        chi: 16,
        cutoff: 1e-12,
    });
    config.trajectories = 20;
    let exec = NoisyExecutor::new(config);
    let plan = ShotPlan::with_shots(200, 5, 1);
    let one = in_pool(1, || exec.execute(&runs, &plan).unwrap());
    let two = in_pool(2, || exec.execute(&runs, &plan).unwrap());
    assert_eq!(one, two);
    assert_eq!(one[0].histogram.as_ref().unwrap().shots, 200);
    assert_ne!(one[0].histogram, one[1].histogram); // per-circuit shot seeds
}

#[test]
fn prepare_hook_applies_noise_to_the_prepared_gates() {
    // Splitting every RBS(θ) into RBS(θ/2)·RBS(θ/2) doubles its noise; the 2-qubit
    // depolarizing channel commutes with any unitary on the same pair, so this equals
    // counting each RBS as two 2-qubit gates — exactly, on the density matrix.
    let c = unary_circuit(4, 8);
    let mut config = NoisyConfig::new(NoiseModel::preset("aria-1").unwrap());
    config.engine = NoisyMethod::DensityMatrix;
    let split = |circuit: &Circuit| -> butterfly_mps::Result<Circuit> {
        let mut out = Circuit::new(circuit.qubits);
        for g in &circuit.ops {
            match g {
                Gate::Rbs {
                    qubits,
                    theta: Param::Fixed(t),
                } => {
                    for _ in 0..2 {
                        out.push(Gate::Rbs {
                            qubits: *qubits,
                            theta: Param::Fixed(t / 2.0),
                        })?;
                    }
                }
                other => out.push(other.clone())?,
            }
        }
        Ok(out)
    };
    let hooked = NoisyExecutor::new(config.clone()).with_prepare(Arc::new(split));
    let mut doubled = config.clone();
    doubled.rbs_two_qubit_gates = 2;
    let runs = [CircuitRun::new(&c, c.parameters.clone())];
    let a = hooked.execute(&runs, &ShotPlan::exact()).unwrap();
    let b = NoisyExecutor::new(doubled)
        .execute(&runs, &ShotPlan::exact())
        .unwrap();
    let plain = NoisyExecutor::new(config)
        .execute(&runs, &ShotPlan::exact())
        .unwrap();
    for q in 0..4 {
        assert!((a[0].marginals[q] - b[0].marginals[q]).abs() < 1e-12);
    }
    let diff: f64 = (0..4)
        .map(|q| (a[0].marginals[q] - plain[0].marginals[q]).abs())
        .sum();
    assert!(
        diff > 1e-4,
        "doubling the noise must change the result ({diff:e})"
    );
}
