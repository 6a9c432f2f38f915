//! Exact engines agree with each other and with an independent dense-matrix reference.
#![allow(clippy::needless_range_loop)] // index loops mirror the matrix formulas

mod common;

use butterfly_mps::circuit::loaders::{random_unit_vector, Loader};
use butterfly_mps::circuit::{Butterfly, Circuit, LayerOrdering, Parameters};
use butterfly_mps::sim::unary::UnaryMap;
use butterfly_mps::sim::{simulate, Engine, Simulator, StateVector, SubspaceState};
use butterfly_mps::BitString;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn state_vector_matches_dense_reference_on_random_circuits_of_all_gate_types() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for n in 2..=6 {
        for _ in 0..4 {
            let c = common::random_general_circuit(n, 40, &mut rng);
            let reference = common::reference_state(&c);
            let mut s = StateVector::new(n).unwrap();
            s.run(&c, &Parameters::default()).unwrap();
            for (a, b) in s.amplitudes().iter().zip(&reference) {
                assert!((a - b).norm() < 1e-12, "n={n}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn parallel_state_vector_kernels_match_sequential_ones() {
    // A 16-qubit register runs the rayon path (≥ 2^14 amplitudes), a 12-qubit one the
    // sequential path: the same circuit on both, with qubits 12..16 idle, must agree.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let small = common::random_general_circuit(12, 200, &mut rng);
    let mut big = Circuit::new(16);
    for g in &small.ops {
        big.push(g.clone()).unwrap();
    }
    let a = simulate(&Engine::StateVector, &small, &Parameters::default()).unwrap();
    let b = simulate(&Engine::StateVector, &big, &Parameters::default()).unwrap();
    for i in 0..1u64 << 12 {
        let bs = BitString::from_index(12, i);
        let mut bb = BitString::zeros(16);
        for q in bs.ones() {
            bb.set(q, true);
        }
        let (x, y) = (a.amplitude(&bs).unwrap(), b.amplitude(&bb).unwrap());
        assert!((x - y).norm() < 1e-12);
    }
    let ma = a.marginals();
    let mb = b.marginals();
    for q in 0..12 {
        assert!((ma[q] - mb[q]).abs() < 1e-12);
    }
    assert!(mb[12..].iter().all(|p| p.abs() < 1e-15));
}

#[test]
fn subspace_equals_state_vector_on_random_weight_preserving_circuits() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut worst: f64 = 0.0;
    for n in 2..=14 {
        for k in 1..=3usize.min(n) {
            let c = common::random_weight_preserving_circuit(n, k, 60, &mut rng);
            let sv = simulate(&Engine::StateVector, &c, &Parameters::default()).unwrap();
            let sub = SubspaceState::new(n);
            let mut sub = sub;
            sub.run(&c, &Parameters::default()).unwrap();
            assert_eq!(sub.weight(), k);
            for r in 0..sub.dimension() {
                let bits = BitString::from_ones(n, &sub.unrank(r)).unwrap();
                let d = (sv.amplitude(&bits).unwrap() - sub.amplitudes()[r]).norm();
                worst = worst.max(d);
            }
            for (p, q) in sv.marginals().iter().zip(sub.marginals()) {
                worst = worst.max((p - q).abs());
            }
            assert!((sv.norm_squared() - 1.0).abs() < 1e-12);
        }
    }
    assert!(worst < 1e-12, "worst difference {worst:e}");
}

#[test]
fn unary_fast_path_equals_subspace_and_state_vector() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for n in [2, 4, 8, 16] {
        for ordering in [LayerOrdering::CouplingFirst, LayerOrdering::CouplingLast] {
            let b = Butterfly::full(n, ordering).unwrap();
            let angles: Vec<f64> = (0..b.n_params())
                .map(|_| rng.random::<f64>() * 6.3)
                .collect();
            let x = random_unit_vector(n, &mut rng);
            let mut c = Loader::UnaryTree.circuit(n).unwrap();
            b.append_to(&mut c, 0).unwrap();
            let values = Parameters::new(angles.clone(), Loader::UnaryTree.angles(n, &x).unwrap());
            let sv = simulate(&Engine::StateVector, &c, &values).unwrap();
            let sub = simulate(&Engine::Subspace, &c, &values).unwrap();
            let w = UnaryMap::from_circuit(&b.circuit(), &Parameters::new(angles, vec![])).unwrap();
            let y = w.apply(&x).unwrap();
            for i in 0..n {
                let bits = BitString::from_ones(n, &[i]).unwrap();
                for s in [&sv, &sub] {
                    let a = s.amplitude(&bits).unwrap();
                    assert!((a.re - y[i]).abs() < 1e-12 && a.im.abs() < 1e-12);
                }
            }
            // W is orthogonal.
            let m = w.matrix();
            let wtw = m.t().dot(m);
            for i in 0..n {
                for j in 0..n {
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert!((wtw[[i, j]] - e).abs() < 1e-12);
                }
            }
        }
    }
}

#[test]
fn subspace_runs_128_qubit_hw3_butterfly_and_conserves_weight() {
    let c = butterfly_mps::circuit::ButterflyWorkload::full(128, Loader::HammingWeight(3), 5)
        .build()
        .unwrap();
    let s = simulate(&Engine::Subspace, &c, &c.parameters).unwrap();
    assert!((s.norm_squared() - 1.0).abs() < 1e-12);
    assert!((s.marginals().iter().sum::<f64>() - 3.0).abs() < 1e-10);
    assert_eq!(
        s.sample(1000, 1)
            .iter()
            .filter(|b| b.count_ones() == 3)
            .count(),
        1000
    );
}

#[test]
fn sampling_is_seeded_and_follows_the_distribution() {
    let c = butterfly_mps::circuit::ButterflyWorkload::full(8, Loader::Angle, 3)
        .build()
        .unwrap();
    for backend in [Engine::StateVector] {
        let s = simulate(&backend, &c, &c.parameters).unwrap();
        let a = s.sample(20_000, 42);
        assert_eq!(a, s.sample(20_000, 42));
        assert_ne!(a, s.sample(20_000, 43));
        let m = s.marginals();
        for q in 0..8 {
            let freq = a.iter().filter(|b| b.get(q)).count() as f64 / a.len() as f64;
            // 5 sigma of a binomial proportion
            let sigma = (m[q] * (1.0 - m[q]) / a.len() as f64).sqrt();
            assert!(
                (freq - m[q]).abs() < 5.0 * sigma + 1e-9,
                "qubit {q}: {freq} vs {}",
                m[q]
            );
        }
    }
    // Subspace sampling agrees with its own probabilities.
    let c = butterfly_mps::circuit::ButterflyWorkload::full(8, Loader::HammingWeight(2), 3)
        .build()
        .unwrap();
    let s = simulate(&Engine::Subspace, &c, &c.parameters).unwrap();
    let samples = s.sample(20_000, 1);
    let m = s.marginals();
    for q in 0..8 {
        let freq = samples.iter().filter(|b| b.get(q)).count() as f64 / 20_000.0;
        let sigma = (m[q] * (1.0 - m[q]) / 20_000.0).sqrt();
        assert!((freq - m[q]).abs() < 5.0 * sigma + 1e-9);
    }
}
