//! Loaders prepare exactly the states they promise, signs included.

use butterfly_mps::circuit::loaders::{blocks, random_unit_vector, Loader};
use butterfly_mps::circuit::Parameters;
use butterfly_mps::sim::{simulate, Engine, Simulator};
use butterfly_mps::BitString;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Max |amplitude(e_i) - x_i| over the unary basis, via the exact subspace simulator.
fn unary_error(loader: Loader, x: &[f64], backend: Engine) -> f64 {
    let n = x.len();
    let c = loader.circuit(n).unwrap();
    let values = Parameters::new(vec![], loader.angles(n, x).unwrap());
    let s = simulate(&backend, &c, &values).unwrap();
    let mut worst: f64 = 0.0;
    for (i, xi) in x.iter().enumerate() {
        let a = s
            .amplitude(&BitString::from_ones(n, &[i]).unwrap())
            .unwrap();
        worst = worst.max((a.re - xi).abs()).max(a.im.abs());
    }
    worst
}

#[test]
fn tree_loader_reproduces_random_unit_vectors_up_to_256_qubits() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for d in 1..=8 {
        let n = 1usize << d;
        for _ in 0..5 {
            let x = random_unit_vector(n, &mut rng);
            let err = unary_error(Loader::UnaryTree, &x, Engine::Subspace);
            assert!(err < 1e-12, "n={n}: error {err:e}");
        }
        let c = Loader::UnaryTree.circuit(n).unwrap();
        assert_eq!(c.ops.len(), n); // X + (n-1) RBS
    }
}

#[test]
fn diagonal_loader_reproduces_random_unit_vectors_for_every_n() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for n in 2..=256 {
        let x = random_unit_vector(n, &mut rng);
        let err = unary_error(Loader::UnaryDiagonal, &x, Engine::Subspace);
        assert!(err < 1e-12, "n={n}: error {err:e}");
    }
}

#[test]
fn loaders_keep_signs_and_zeros() {
    // All sign patterns, including exact zeros and a vector with a single -1.
    let cases: Vec<Vec<f64>> = vec![
        vec![-1.0, 0.0, 0.0, 0.0],
        vec![0.0, 0.0, 0.0, -1.0],
        vec![0.5, -0.5, -0.5, 0.5],
        vec![-0.5, 0.5, 0.5, -0.5],
        vec![0.0, -0.6, 0.0, 0.8],
    ];
    for x in cases {
        for loader in [Loader::UnaryTree, Loader::UnaryDiagonal] {
            for backend in [Engine::Subspace, Engine::StateVector] {
                let err = unary_error(loader, &x, backend);
                assert!(err < 1e-14, "{loader} {backend} {x:?}: {err:e}");
            }
        }
    }
}

#[test]
fn hamming_weight_loader_prepares_the_product_of_block_states() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (n, k) in [(8, 2), (12, 3), (16, 4), (10, 3)] {
        let loader = Loader::HammingWeight(k);
        let data = loader.random_data(n, &mut rng);
        let c = loader.circuit(n).unwrap();
        let values = Parameters::new(vec![], loader.angles(n, &data).unwrap());
        let sv = simulate(&Engine::StateVector, &c, &values).unwrap();
        let sub = simulate(&Engine::Subspace, &c, &values).unwrap();
        let bl = blocks(n, k);
        // Expected amplitude of picking qubit i_b in block b: Π_b x_{i_b}.
        let mut picks = vec![0usize; k];
        loop {
            let ones: Vec<usize> = bl.iter().zip(&picks).map(|((lo, _), p)| lo + p).collect();
            let expected: f64 = ones.iter().map(|&q| data[q]).product();
            let bits = BitString::from_ones(n, &ones).unwrap();
            for s in [&sv, &sub] {
                let a = s.amplitude(&bits).unwrap();
                assert!((a.re - expected).abs() < 1e-12 && a.im.abs() < 1e-12);
            }
            // next pick (odometer)
            let mut b = 0;
            while b < k {
                picks[b] += 1;
                if picks[b] < bl[b].1 {
                    break;
                }
                picks[b] = 0;
                b += 1;
            }
            if b == k {
                break;
            }
        }
        assert!((sv.marginals().iter().sum::<f64>() - k as f64).abs() < 1e-12);
        // Entangled: some block has two qubits with non-trivial marginals.
        let m = sub.marginals();
        assert!(m.iter().filter(|p| **p > 1e-6 && **p < 1.0 - 1e-6).count() >= 2);
    }
}

#[test]
fn angle_loader_gives_sin_squared_marginals() {
    let n = 6;
    let x = [0.1, 0.5, 1.0, 2.0, 3.0, 3.1];
    let c = Loader::Angle.circuit(n).unwrap();
    let values = Parameters::new(vec![], Loader::Angle.angles(n, &x).unwrap());
    let s = simulate(&Engine::StateVector, &c, &values).unwrap();
    for (p, t) in s.marginals().iter().zip(x) {
        assert!((p - (t / 2.0f64).sin().powi(2)).abs() < 1e-14);
    }
}
