//! Conditional sampling from the MPS against exact probabilities (chi-square test), and
//! its reproducibility and qubit ordering.

mod mps_common;

use butterfly_mps::circuit::{Circuit, Gate, Param};
use butterfly_mps::sim::mps::SiteOrdering;
use butterfly_mps::sim::{run_mps, simulate, Engine, MpsConfig, Simulator, Truncation};
use butterfly_mps::BitString;
use mps_common::random_circuit;

#[test]
fn samples_follow_the_exact_distribution() {
    let n = 12;
    let c = random_circuit(n, 60, 314);
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let probs: Vec<f64> = (0..1u64 << n)
        .map(|i| sv.probability(&BitString::from_index(n, i)).unwrap())
        .collect();
    // A scrambled layout, so site order ≠ qubit order.
    let config = MpsConfig {
        truncation: Truncation::exact(),
        ordering: SiteOrdering::Custom(vec![7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6]),
        ..Default::default()
    };
    let mps = run_mps(&c, &c.parameters, &config).unwrap();
    let shots = 100_000;
    let samples = mps.sample(shots, 12345);
    assert_eq!(samples.len(), shots);
    let mut counts = vec![0usize; 1 << n];
    for s in &samples {
        assert_eq!(s.len(), n);
        counts[s.to_index().unwrap() as usize] += 1;
    }
    // Pool bins with expected count < 5 into one bin.
    let (mut chi2, mut bins) = (0.0, 0usize);
    let (mut pooled_obs, mut pooled_exp) = (0.0, 0.0);
    for (p, &o) in probs.iter().zip(&counts) {
        let e = p * shots as f64;
        if e < 5.0 {
            pooled_obs += o as f64;
            pooled_exp += e;
        } else {
            chi2 += (o as f64 - e).powi(2) / e;
            bins += 1;
        }
    }
    if pooled_exp > 0.0 {
        chi2 += (pooled_obs - pooled_exp).powi(2) / pooled_exp.max(1e-300);
        bins += 1;
    }
    let dof = (bins - 1) as f64;
    let threshold = dof + 5.0 * (2.0 * dof).sqrt();
    eprintln!("chi-square {chi2:.1} with {dof} degrees of freedom (threshold {threshold:.1})");
    assert!(bins > 100, "the test needs many bins, got {bins}");
    assert!(
        chi2 < threshold,
        "chi-square {chi2} ≥ {threshold} (dof {dof})"
    );
    // Reproducible from the seed, different for another seed.
    assert_eq!(mps.sample(1000, 12345), samples[..1000].to_vec());
    assert_ne!(mps.sample(1000, 54321), samples[..1000].to_vec());
}

#[test]
fn samples_are_in_qubit_order() {
    // |1> on qubit 0 only, in a layout that puts qubit 0 at the far end of the chain.
    let n = 5;
    let mut c = Circuit::new(n);
    c.push(Gate::X { qubit: 0 }).unwrap();
    c.push(Gate::Ry {
        qubit: 3,
        theta: Param::Fixed(std::f64::consts::PI),
    })
    .unwrap();
    let config = MpsConfig {
        ordering: SiteOrdering::Custom(vec![4, 3, 2, 1, 0]),
        ..Default::default()
    };
    let mps = run_mps(&c, &c.parameters, &config).unwrap();
    assert_eq!(mps.site_of_qubit(0), 4);
    for s in mps.sample(50, 1) {
        assert_eq!(s.to_string(), "10010");
    }
}
