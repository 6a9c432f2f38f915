//! Untruncated MPS against the dense state vector, on random circuits of every gate type
//! with long-range gates, for all three site orderings.

mod mps_common;

use butterfly_mps::sim::mps::{Routing, SiteOrdering};
use butterfly_mps::sim::{run_mps, simulate, Engine, MpsConfig, Simulator, Truncation};
use mps_common::{max_amplitude_error, max_diff, random_circuit, rng};
use rand::seq::SliceRandom;

fn orderings(n: usize, seed: u64) -> Vec<SiteOrdering> {
    let mut custom: Vec<usize> = (0..n).collect();
    custom.shuffle(&mut rng(seed ^ 0xabcdef));
    let mut v = vec![SiteOrdering::Identity, SiteOrdering::Custom(custom)];
    if n.is_power_of_two() {
        v.push(SiteOrdering::BitReversed);
    }
    v
}

#[test]
fn untruncated_mps_equals_state_vector_on_random_circuits() {
    let mut checked = 0;
    for n in 2..=12 {
        for seed in 0..3u64 {
            let c = random_circuit(n, 16 + 6 * n, 1000 * n as u64 + seed);
            let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
            for ordering in orderings(n, seed) {
                for routing in [
                    Routing::MoveHigher,
                    Routing::MoveLowerThrough,
                    Routing::NearestCentre,
                ] {
                    let config = MpsConfig {
                        truncation: Truncation::exact(),
                        ordering: ordering.clone(),
                        routing,
                    };
                    let mps = run_mps(&c, &c.parameters, &config).unwrap();
                    let err = max_amplitude_error(&mps, &sv);
                    assert!(
                        err <= 1e-10,
                        "n={n} seed={seed} {ordering:?} {routing:?}: max amplitude error {err:e}"
                    );
                    let dm = max_diff(&mps.marginals(), &sv.marginals());
                    assert!(dm <= 1e-10, "n={n} {ordering:?}: marginal error {dm:e}");
                    assert!((mps.norm_squared() - 1.0).abs() < 1e-10);
                    let report = mps.report();
                    assert!(report.total_discarded_weight < 1e-14);
                    assert_eq!(report.truncations, 0);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 200);
}

#[test]
fn untruncated_mps_equals_state_vector_at_16_qubits() {
    let n = 16;
    let c = random_circuit(n, 120, 77);
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    for ordering in orderings(n, 5) {
        let config = MpsConfig {
            truncation: Truncation::exact(),
            ordering: ordering.clone(),
            ..Default::default()
        };
        let mps = run_mps(&c, &c.parameters, &config).unwrap();
        let err = max_amplitude_error(&mps, &sv);
        assert!(err <= 1e-10, "{ordering:?}: max amplitude error {err:e}");
        assert!(max_diff(&mps.marginals(), &sv.marginals()) <= 1e-10);
    }
}

#[test]
fn the_real_fast_path_matches_the_state_vector() {
    // Only real gates: the MPS stays real and runs its SVDs in f64.
    use butterfly_mps::circuit::{loaders::Loader, Butterfly, LayerOrdering};
    let n = 16;
    let mut c = Loader::Angle.circuit(n).unwrap();
    Butterfly::full(n, LayerOrdering::CouplingFirst)
        .unwrap()
        .append_to(&mut c, 0)
        .unwrap();
    c.parameters.inputs = (0..n).map(|i| 0.3 + 0.17 * i as f64).collect();
    c.parameters.trainable = (0..32).map(|i| 0.9 - 0.11 * i as f64).collect();
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let mps = run_mps(
        &c,
        &c.parameters,
        &MpsConfig {
            truncation: Truncation::exact(),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(mps.is_real());
    assert!(max_amplitude_error(&mps, &sv) <= 1e-10);
}

#[test]
fn multithreaded_layers_give_the_single_threaded_state() {
    // Angle input keeps Butterfly clusters independent until the last layer, so layers
    // run on several threads (chain segments split at bonds of dimension 1). The result
    // must not depend on the thread count.
    use butterfly_mps::circuit::loaders::Loader;
    use butterfly_mps::circuit::ButterflyWorkload;
    use butterfly_mps::BitString;
    let n = 64;
    let c = ButterflyWorkload::full(n, Loader::Angle, 9)
        .build()
        .unwrap();
    let p = c.parameters.clone();
    let config = MpsConfig::new(32, 0.0).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run_mps(&c, &p, &config).unwrap())
    };
    let (one, two, three) = (run(1), run(2), run(3));
    for other in [&two, &three] {
        assert!(max_diff(&one.marginals(), &other.marginals()) < 1e-10);
        let (a, b) = (one.report(), other.report());
        assert_eq!(a.two_site_updates, b.two_site_updates);
        assert!((a.fidelity_estimate - b.fidelity_estimate).abs() < 1e-10);
        assert_eq!(a.bond_dimensions, b.bond_dimensions);
        assert_eq!(one.qubit_order(), other.qubit_order());
        let overlap = one.overlap(other).unwrap();
        assert!((overlap.norm() - 1.0).abs() < 1e-9, "overlap {overlap}");
        for bits in other.sample(20, 4) {
            let (x, y) = (
                one.amplitude(&bits).unwrap(),
                other.amplitude(&bits).unwrap(),
            );
            assert!((x - y).norm() < 1e-10 * (1.0 + x.norm()));
        }
        assert!(other.amplitude(&BitString::zeros(n)).is_ok());
    }
    assert!(one.report().truncations > 0);
}
