//! The MPS on the 128-qubit full Butterfly against the exact fixed-Hamming-weight
//! subspace simulator, with χ large enough that nothing is truncated.

mod mps_common;

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{Butterfly, LayerOrdering, Parameters};
use butterfly_mps::sim::{run_mps, simulate, Engine, MpsConfig, Simulator, Truncation};
use butterfly_mps::BitString;
use mps_common::{max_diff, rng};
use rand::Rng;

fn check(k: usize, seed: u64) {
    let n = 128;
    let loader = Loader::HammingWeight(k);
    let mut c = loader.circuit(n).unwrap();
    let b = Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap();
    b.append_to(&mut c, 0).unwrap();
    let mut r = rng(seed);
    let data = loader.random_data(n, &mut r);
    let values = Parameters {
        inputs: loader.angles(n, &data).unwrap(),
        trainable: (0..b.n_params())
            .map(|_| r.random::<f64>() * std::f64::consts::TAU)
            .collect(),
    };
    let exact = simulate(&Engine::Subspace, &c, &values).unwrap();
    // Weight-k states on 128 qubits have Schmidt rank ≤ Σ_j min(C(l, j), C(n−l, k−j)),
    // at most 66 (k = 2) and 130 (k = 3): χ = 256 never truncates.
    let config = MpsConfig {
        truncation: Truncation::new(256, 0.0).unwrap(),
        ..Default::default()
    };
    let mps = run_mps(&c, &values, &config).unwrap();
    let report = mps.report();
    assert!(
        report.total_discarded_weight < 1e-14,
        "hw{k}: discarded {:e}",
        report.total_discarded_weight
    );
    assert_eq!(report.truncations, 0);
    let dm = max_diff(&mps.marginals(), &exact.marginals());
    assert!(dm <= 1e-10, "hw{k}: marginal error {dm:e}");
    let total: f64 = mps.marginals().iter().sum();
    assert!(
        (total - k as f64).abs() < 1e-9,
        "hw{k}: marginals sum to {total}"
    );
    // Amplitudes: random weight-k strings, plus the largest exact ones.
    let mut strings: Vec<BitString> = (0..200)
        .map(|_| {
            let mut ones = Vec::new();
            while ones.len() < k {
                let q = r.random_range(0..n);
                if !ones.contains(&q) {
                    ones.push(q);
                }
            }
            BitString::from_ones(n, &ones).unwrap()
        })
        .collect();
    for s in exact.sample(300, seed) {
        strings.push(s);
    }
    let mut worst: f64 = 0.0;
    let mut largest: f64 = 0.0;
    for s in &strings {
        let a = mps.amplitude(s).unwrap();
        let e = exact.amplitude(s).unwrap();
        worst = worst.max((a - e).norm());
        largest = largest.max(e.norm());
    }
    assert!(largest > 1e-3, "the sampled strings carry weight");
    assert!(worst <= 1e-10, "hw{k}: amplitude error {worst:e}");
    // A wrong-weight string has amplitude zero.
    let wrong = BitString::from_ones(n, &[0]).unwrap();
    assert!(mps.amplitude(&wrong).unwrap().norm() < 1e-12);
    eprintln!(
        "hw{k}: max bond {}, {} two-site updates, marginal error {dm:.1e}, amplitude error {worst:.1e}",
        report.max_bond_reached, report.two_site_updates
    );
}

#[test]
fn mps_equals_subspace_on_128_qubit_butterfly_hw2() {
    check(2, 21);
    check(2, 22);
}

#[test]
#[ignore = "slow tier: scripts/test_all.sh runs it (cargo test --release -- --include-ignored)"]
fn mps_equals_subspace_on_128_qubit_butterfly_hw3() {
    check(3, 31);
}
