//! Observables, persistence and input validation of the MPS engine, each checked against
//! an independent reference (state vector, brute-force sums over amplitudes, or closed
//! forms).

mod mps_common;

use butterfly_mps::circuit::gate::{rbs_matrix, ry_matrix};
use butterfly_mps::circuit::{BoundGate, Circuit, Gate, Param};
use butterfly_mps::sim::mps::{Routing, SiteOrdering, FILE_VERSION};
use butterfly_mps::sim::{run_mps, simulate, Engine, Mps, MpsConfig, Simulator, Truncation};
use butterfly_mps::{BitString, Error};
use mps_common::{max_diff, random_circuit, rng};
use num_complex::Complex64 as C64;
use rand::Rng;

fn exact(ordering: SiteOrdering) -> MpsConfig {
    MpsConfig {
        truncation: Truncation::exact(),
        ordering,
        routing: Routing::MoveHigher,
    }
}

/// All 2^n amplitudes of an MPS, index bit q = qubit q.
fn amplitudes(mps: &Mps) -> Vec<C64> {
    let n = mps.n_qubits();
    (0..1u64 << n)
        .map(|i| mps.amplitude(&BitString::from_index(n, i)).unwrap())
        .collect()
}

#[test]
fn observables_match_the_state_vector() {
    let n = 10;
    let c = random_circuit(n, 60, 4242);
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let amps: Vec<C64> = (0..1u64 << n)
        .map(|i| sv.amplitude(&BitString::from_index(n, i)).unwrap())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.reverse();
    let mps = run_mps(&c, &c.parameters, &exact(SiteOrdering::Custom(order))).unwrap();

    assert!(max_diff(&mps.marginals(), &sv.marginals()) < 1e-10);
    let z = mps.expectation_z();
    for (q, &zq) in z.iter().enumerate() {
        let reference: f64 = amps
            .iter()
            .enumerate()
            .map(|(i, a)| a.norm_sqr() * if (i >> q) & 1 == 1 { -1.0 } else { 1.0 })
            .sum();
        assert!((zq - reference).abs() < 1e-10);
        assert!((mps.expectation_z_of(q).unwrap() - reference).abs() < 1e-10);
    }
    for (i, j) in [(0, 9), (3, 4), (7, 2), (5, 5), (1, 8)] {
        let reference: f64 = amps
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let zi = if (k >> i) & 1 == 1 { -1.0 } else { 1.0 };
                let zj = if (k >> j) & 1 == 1 { -1.0 } else { 1.0 };
                a.norm_sqr() * zi * zj
            })
            .sum();
        let got = mps.expectation_zz(i, j).unwrap();
        assert!(
            (got - reference).abs() < 1e-10,
            "<Z{i} Z{j}>: {got} vs {reference}"
        );
    }
    let unary = mps.unary_probabilities();
    for q in 0..n {
        assert!((unary[q] - amps[1 << q].norm_sqr()).abs() < 1e-12);
    }
    assert!(mps.expectation_zz(0, n).is_err());
}

#[test]
fn observables_of_a_truncated_state_match_brute_force_sums_over_its_amplitudes() {
    // After truncation the MPS is no longer the circuit's state, so compare its fast
    // observables with sums over its own amplitudes (an independent code path).
    let n = 10;
    let c = random_circuit(n, 80, 99);
    let config = MpsConfig {
        truncation: Truncation::new(4, 0.0).unwrap(),
        ordering: SiteOrdering::Identity,
        routing: Routing::NearestCentre,
    };
    let mps = run_mps(&c, &c.parameters, &config).unwrap();
    let report = mps.report();
    assert!(
        report.truncations > 0,
        "the test needs truncation to happen"
    );
    assert!(report.max_bond_reached <= 4);
    let amps = amplitudes(&mps);
    let norm: f64 = amps.iter().map(|a| a.norm_sqr()).sum();
    assert!(
        (norm - 1.0).abs() < 1e-10,
        "renormalised after truncation: {norm}"
    );
    assert!((mps.norm_squared() - norm).abs() < 1e-10);
    let brute: Vec<f64> = (0..n)
        .map(|q| {
            amps.iter()
                .enumerate()
                .filter(|(i, _)| (i >> q) & 1 == 1)
                .map(|(_, a)| a.norm_sqr())
                .sum::<f64>()
                / norm
        })
        .collect();
    assert!(max_diff(&mps.marginals(), &brute) < 1e-12);
    let zz: f64 = amps
        .iter()
        .enumerate()
        .map(|(k, a)| {
            a.norm_sqr()
                * if ((k >> 2) ^ (k >> 7)) & 1 == 1 {
                    -1.0
                } else {
                    1.0
                }
        })
        .sum::<f64>()
        / norm;
    assert!((mps.expectation_zz(2, 7).unwrap() - zz).abs() < 1e-12);
    // Fidelity estimate lies in (0, 1] and the per-bond weights add up to the total.
    assert!(report.fidelity_estimate > 0.0 && report.fidelity_estimate <= 1.0);
    let sum: f64 = report.discarded_weight_per_bond.iter().sum();
    assert!((sum - report.total_discarded_weight).abs() < 1e-12);
    assert_eq!(report.discarded_weight_per_bond.len(), n - 1);
    assert_eq!(report.bond_dimensions, mps.bond_dimensions());
}

#[test]
fn overlap_matches_the_state_vector_even_across_layouts() {
    let n = 9;
    let c1 = random_circuit(n, 40, 1);
    let c2 = random_circuit(n, 40, 2);
    let a1: Vec<C64> = {
        let sv = simulate(&Engine::StateVector, &c1, &c1.parameters).unwrap();
        (0..1u64 << n)
            .map(|i| sv.amplitude(&BitString::from_index(n, i)).unwrap())
            .collect()
    };
    let a2: Vec<C64> = {
        let sv = simulate(&Engine::StateVector, &c2, &c2.parameters).unwrap();
        (0..1u64 << n)
            .map(|i| sv.amplitude(&BitString::from_index(n, i)).unwrap())
            .collect()
    };
    let reference: C64 = a1.iter().zip(&a2).map(|(x, y)| x.conj() * y).sum();
    let m1 = run_mps(&c1, &c1.parameters, &exact(SiteOrdering::Identity)).unwrap();
    let m2 = run_mps(
        &c2,
        &c2.parameters,
        &exact(SiteOrdering::Custom(vec![4, 2, 0, 8, 6, 1, 3, 5, 7])),
    )
    .unwrap();
    assert_ne!(m1.qubit_order(), m2.qubit_order());
    let got = m1.overlap(&m2).unwrap();
    assert!((got - reference).norm() < 1e-10, "{got} vs {reference}");
    let back = m2.overlap(&m1).unwrap();
    assert!((back - reference.conj()).norm() < 1e-10);
    assert!((m1.overlap(&m1).unwrap().re - 1.0).abs() < 1e-10);
    let other_size = Mps::new(n + 1, &MpsConfig::default()).unwrap();
    assert!(m1.overlap(&other_size).is_err());
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.mps");
    let n = 8;
    let c = random_circuit(n, 50, 5);
    let config = MpsConfig {
        truncation: Truncation::new(6, 1e-9).unwrap(),
        ordering: SiteOrdering::BitReversed,
        routing: Routing::MoveLowerThrough,
    };
    let mps = run_mps(&c, &c.parameters, &config).unwrap();
    mps.save(&path).unwrap();
    let loaded = Mps::load(&path).unwrap();
    assert_eq!(amplitudes(&loaded), amplitudes(&mps));
    assert_eq!(loaded.report(), mps.report());
    assert_eq!(loaded.qubit_order(), mps.qubit_order());
    assert_eq!(loaded.site_of_qubits(), mps.site_of_qubits());
    assert_eq!(loaded.centre(), mps.centre());
    assert_eq!(loaded.truncation(), mps.truncation());
    assert_eq!(loaded.routing(), mps.routing());
    // The loaded state keeps evolving exactly like the original.
    let (mut a, mut b) = (mps.clone(), loaded);
    let g = BoundGate::Two {
        qubits: [0, 7],
        matrix: rbs_matrix(0.77),
    };
    a.apply(&g).unwrap();
    b.apply(&g).unwrap();
    assert_eq!(amplitudes(&a), amplitudes(&b));
}

#[test]
fn damaged_files_give_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.mps");
    let c = random_circuit(6, 30, 6);
    let mps = run_mps(&c, &c.parameters, &exact(SiteOrdering::Identity)).unwrap();
    mps.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let expect_corrupt = |p: &std::path::Path, needle: &str| {
        let err = Mps::load(p).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::CorruptFile { .. }), "{p:?}: {err:?}");
        assert!(
            msg.contains(p.file_name().unwrap().to_str().unwrap()),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg} should mention {needle}");
    };
    // Truncated in the payload, in the header, and empty.
    expect_corrupt(&write("cut.mps", &bytes[..bytes.len() - 10]), "truncated");
    expect_corrupt(&write("header.mps", &bytes[..15]), "truncated");
    expect_corrupt(&write("short.mps", &bytes[..3]), "truncated");
    expect_corrupt(&write("empty.mps", &[]), "truncated");
    // A flipped byte in the last array's data (just before the zip central directory).
    let directory = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let mut flipped = bytes.clone();
    flipped[directory - 3] ^= 0x40;
    expect_corrupt(&write("flipped.mps", &flipped), "checksum");
    // Not an MPS file at all.
    expect_corrupt(
        &write("circuit.json", b"{\"qubits\": 2, \"ops\": []}"),
        "not an MPS state file",
    );
    // Trailing garbage.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    expect_corrupt(&write("long.mps", &longer), "unexpected bytes");
    // Another format version (the header's `version`, rewritten with ndarray-npy).
    let p = dir.path().join("future.mps");
    mps_common::rewrite_state_header(&path, &p, |h| h["version"] = (FILE_VERSION + 1).into());
    match Mps::load(&p).unwrap_err() {
        Error::UnsupportedFileVersion {
            found, supported, ..
        } => {
            assert_eq!((found, supported), (FILE_VERSION + 1, FILE_VERSION));
        }
        other => panic!("expected a version error, got {other:?}"),
    }
    // Missing file.
    assert!(matches!(
        Mps::load(dir.path().join("missing.mps")).unwrap_err(),
        Error::Io { .. }
    ));
}

#[test]
fn bad_truncation_and_ordering_are_typed_errors() {
    let err = Truncation::new(0, 0.0).unwrap_err();
    assert!(matches!(err, Error::InvalidTruncation(_)));
    assert!(err.to_string().contains("χ ≥ 1"), "{err}");
    for cutoff in [-1e-3, f64::NAN, f64::INFINITY, 1.0] {
        assert!(matches!(
            Truncation::new(8, cutoff),
            Err(Error::InvalidTruncation(_))
        ));
    }
    // A hand-built invalid policy is caught when the state is made.
    let bad = MpsConfig {
        truncation: Truncation {
            max_bond: 0,
            cutoff: 0.0,
        },
        ..Default::default()
    };
    assert!(matches!(
        Mps::new(4, &bad),
        Err(Error::InvalidTruncation(_))
    ));
    let mut ok = Mps::new(4, &MpsConfig::default()).unwrap();
    assert!(ok
        .set_truncation(Truncation {
            max_bond: 3,
            cutoff: -1.0
        })
        .is_err());

    for order in [vec![0, 1, 1, 3], vec![0, 1, 2], vec![0, 1, 2, 4]] {
        let config = MpsConfig {
            ordering: SiteOrdering::Custom(order.clone()),
            ..Default::default()
        };
        let err = Mps::new(4, &config).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOrdering(_)),
            "{order:?}: {err:?}"
        );
    }
    let rev = MpsConfig {
        ordering: SiteOrdering::BitReversed,
        ..Default::default()
    };
    assert!(matches!(Mps::new(12, &rev), Err(Error::InvalidOrdering(_))));
    assert!(Mps::new(0, &MpsConfig::default()).is_err());
    // Bad gates are errors, not panics.
    let mut s = Mps::new(3, &MpsConfig::default()).unwrap();
    assert!(s
        .apply(&BoundGate::One {
            qubit: 3,
            matrix: ry_matrix(0.1)
        })
        .is_err());
    assert!(s
        .apply(&BoundGate::Two {
            qubits: [1, 1],
            matrix: rbs_matrix(0.1)
        })
        .is_err());
    assert!(s.amplitude(&BitString::zeros(4)).is_err());
    let mut not_unitary = rbs_matrix(0.3);
    not_unitary[0][0] = C64::new(2.0, 0.0);
    assert!(s
        .apply(&BoundGate::Two {
            qubits: [0, 2],
            matrix: not_unitary
        })
        .is_err());
    let nan = [[C64::new(f64::NAN, 0.0); 2]; 2];
    assert!(s
        .apply(&BoundGate::One {
            qubit: 0,
            matrix: nan
        })
        .is_err());
    assert!(
        (s.norm_squared() - 1.0).abs() < 1e-12,
        "refused gates leave the state alone"
    );
}

/// Marginals of the two-qubit product state (RY(α)|0>)(RY(β)|0>) after RBS(θ), by hand.
fn rbs_on_product(alpha: f64, beta: f64, theta: f64) -> (f64, f64) {
    let (ca, sa) = ((alpha / 2.0).cos(), (alpha / 2.0).sin());
    let (cb, sb) = ((beta / 2.0).cos(), (beta / 2.0).sin());
    let (x01, x10, x11) = (ca * sb, sa * cb, sa * sb);
    let (c, s) = (theta.cos(), theta.sin());
    let y01 = c * x01 + s * x10;
    let y10 = -s * x01 + c * x10;
    (y10 * y10 + x11 * x11, y01 * y01 + x11 * x11)
}

#[test]
fn a_1024_qubit_product_state_with_long_range_gates() {
    let n = 1024;
    let mut r = rng(11);
    // Angles in (0, 1.2) keep <0…0|ψ> = Π cos(a/2) well above underflow (~1e-40).
    let angles: Vec<f64> = (0..n).map(|_| 0.05 + r.random::<f64>() * 1.15).collect();
    let mut c = Circuit::new(n);
    for (q, &a) in angles.iter().enumerate() {
        c.push(Gate::Ry {
            qubit: q,
            theta: Param::Fixed(a),
        })
        .unwrap();
    }
    let pairs = [
        (0usize, 1023usize, 0.4),
        (700, 5, -1.1),
        (512, 511, 0.9),
        (100, 900, 2.0),
    ];
    for &(a, b, t) in &pairs {
        c.push(Gate::Rbs {
            qubits: [a, b],
            theta: Param::Fixed(t),
        })
        .unwrap();
    }
    // CZ does not change marginals; it only adds entanglement to carry around.
    c.push(Gate::Cz { qubits: [3, 1000] }).unwrap();
    let mps = run_mps(&c, &c.parameters, &MpsConfig::new(16, 0.0).unwrap()).unwrap();
    assert_eq!(mps.n_qubits(), 1024);
    let p = mps.marginals();
    let mut expected: Vec<f64> = angles.iter().map(|a| (a / 2.0).sin().powi(2)).collect();
    for &(a, b, t) in &pairs {
        let (pa, pb) = rbs_on_product(angles[a], angles[b], t);
        expected[a] = pa;
        expected[b] = pb;
    }
    let err = max_diff(&p, &expected);
    assert!(err < 1e-12, "max marginal error {err:e}");
    assert!(mps.report().total_discarded_weight < 1e-20);
    // A sampled bitstring has the right length and qubit order is respected.
    let shots = mps.sample(2000, 3);
    let freq1023 = shots.iter().filter(|b| b.get(1023)).count() as f64 / 2000.0;
    assert!((freq1023 - expected[1023]).abs() < 0.05);
    // <0…0|ψ>: RBS and CZ leave |00> alone, so it is Π cos(a_q/2) .
    let expected_amp: f64 = angles.iter().map(|a| (a / 2.0).cos()).product();
    let got = mps.amplitude(&BitString::zeros(n)).unwrap();
    assert!(expected_amp > 0.0);
    assert!(
        (got.re / expected_amp - 1.0).abs() < 1e-10 && got.im.abs() < 1e-10 * expected_amp,
        "{got:e} vs {expected_amp:e}"
    );
}

#[test]
fn a_single_qubit_chain_works() {
    let mut s = Mps::new(1, &MpsConfig::default()).unwrap();
    s.apply(&BoundGate::One {
        qubit: 0,
        matrix: ry_matrix(1.0),
    })
    .unwrap();
    let p1 = (0.5f64).sin().powi(2);
    assert!((s.marginals()[0] - p1).abs() < 1e-14);
    assert!((s.unary_probabilities()[0] - p1).abs() < 1e-14);
    assert!((s.expectation_zz(0, 0).unwrap() - 1.0).abs() < 1e-14);
    assert_eq!(s.bond_dimensions(), Vec::<usize>::new());
    let ones = s.sample(4000, 2).iter().filter(|b| b.get(0)).count() as f64 / 4000.0;
    assert!((ones - p1).abs() < 0.03);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.mps");
    s.save(&path).unwrap();
    assert_eq!(Mps::load(&path).unwrap().marginals(), s.marginals());
}
