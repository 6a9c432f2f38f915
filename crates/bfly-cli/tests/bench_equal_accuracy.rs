//! `bench::equal_accuracy`: the dense and U(1) engines compared at equal accuracy of
//! marginals, in-process and through `bfly bench mps --match-accuracy` (child processes).

use std::process::Command;

use butterfly_mps::bench::equal_accuracy::{
    compare_at_equal_accuracy, run_in_process, RunRecord, EXACT_FLOOR,
};
use butterfly_mps::bench::{reference_marginals, MarginalReference, MpsBenchCase, MpsEngine};
use butterfly_mps::circuit::loaders::Loader;

fn case(input: Loader, qubits: usize, chi: usize) -> MpsBenchCase {
    MpsBenchCase { input, qubits, chi }
}

#[test]
fn angle_input_climbs_the_ladder_until_u1_is_as_accurate_as_dense() {
    let c = case(Loader::Angle, 16, 4);
    let circuit = c.circuit(3).unwrap();
    let exact = reference_marginals(&circuit, MarginalReference::Exact).unwrap();
    let mut calls: Vec<(MpsEngine, usize)> = Vec::new();
    let r = compare_at_equal_accuracy(c, &[4, 8, 16, 32, 64, 256], 3, &exact, |e, chi| {
        calls.push((e, chi));
        run_in_process(&circuit, e, chi)
    })
    .unwrap();
    // χ = 256 holds 16 qubits exactly, so some rung matches; every earlier rung did not.
    let chi = r.u1_chi.expect("a rung matches");
    let err = r.u1_error.unwrap();
    assert!(
        err <= r.dense_error.max(EXACT_FLOOR),
        "{err} > {}",
        r.dense_error
    );
    for step in &r.ladder[..r.ladder.len() - 1] {
        assert!(step.error > r.dense_error.max(EXACT_FLOOR));
    }
    assert_eq!(r.ladder.last().unwrap().chi, chi);
    // The dense error is a real truncation error at χ = 4 on 16 qubits.
    assert!(r.dense_error > 1e-3, "dense χ=4 error {}", r.dense_error);
    // One dense run + the ladder, then 2 more alternating pairs.
    assert_eq!(calls[0], (MpsEngine::Dense, 4));
    assert_eq!(calls.len(), 1 + r.ladder.len() + 4);
    assert_eq!(r.repeats, 3);
    let s = r.speedup.unwrap();
    assert!((s - r.dense_median_seconds / r.u1_median_seconds.unwrap()).abs() < 1e-12);
}

#[test]
fn fixed_weight_input_matches_at_equal_chi_when_nothing_is_truncated() {
    // hw2 on 16 qubits: bonds ≤ 17 < χ, both engines exact.
    let c = case(Loader::HammingWeight(2), 16, 64);
    let circuit = c.circuit(1).unwrap();
    let exact = reference_marginals(&circuit, MarginalReference::Exact).unwrap();
    let r = compare_at_equal_accuracy(c, &[64, 128], 1, &exact, |e, chi| {
        run_in_process(&circuit, e, chi)
    })
    .unwrap();
    assert_eq!(r.u1_chi, Some(64));
    assert!(r.dense_error < 1e-10 && r.u1_error.unwrap() < 1e-10);
    assert_eq!(r.ladder.len(), 1);
    assert!(r.fidelity_estimates.0 > 1.0 - 1e-12);
}

#[test]
fn no_match_is_reported_not_invented() {
    let c = case(Loader::Angle, 8, 16); // dense exact at χ = 16
    let circuit = c.circuit(1).unwrap();
    let exact = reference_marginals(&circuit, MarginalReference::Exact).unwrap();
    let r = compare_at_equal_accuracy(c, &[2], 3, &exact, |e, chi| {
        run_in_process(&circuit, e, chi)
    })
    .unwrap();
    assert_eq!(r.u1_chi, None);
    assert_eq!(r.speedup, None);
    assert_eq!(r.repeats, 1);
    assert!(r.ladder[0].error > 1e-3);
}

#[test]
fn bad_ladders_and_references_are_typed_errors() {
    let c = case(Loader::Angle, 8, 4);
    let circuit = c.circuit(1).unwrap();
    let exact = reference_marginals(&circuit, MarginalReference::Exact).unwrap();
    let run = |e: MpsEngine, chi: usize| -> butterfly_mps::Result<RunRecord> {
        run_in_process(&circuit, e, chi)
    };
    let e = compare_at_equal_accuracy(c, &[], 1, &exact, run).unwrap_err();
    assert!(e.to_string().contains("ladder"), "{e}");
    let e = compare_at_equal_accuracy(c, &[0, 4], 1, &exact, run).unwrap_err();
    assert!(e.to_string().contains("χ ≥ 1"), "{e}");
    let e = compare_at_equal_accuracy(c, &[4], 1, &exact[..3], run).unwrap_err();
    assert!(e.to_string().contains("marginals"), "{e}");
}

fn bfly(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

#[test]
fn cli_runs_each_engine_in_its_own_process_and_reports_peak_memory() {
    let o = bfly(&[
        "bench",
        "mps",
        "--symmetry",
        "both",
        "--match-accuracy",
        "--inputs",
        "angle",
        "--qubits",
        "8",
        "--chi",
        "2",
        "--reference",
        "exact",
        "--repeats",
        "2",
        "--ladder",
        "1,2,4,8",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["case"]["chi"], 2);
    assert!(r["u1_chi"].as_u64().is_some(), "{r}");
    assert!(r["dense_peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(r["u1_peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert_eq!(r["repeats"], 2);
    assert!(v["reference_seconds"][0].as_f64().is_some());

    // Refused before any work, each with a message naming the fix.
    let both = ["bench", "mps", "--symmetry", "both", "--match-accuracy"];
    for (args, says) in [
        (
            vec!["bench", "mps", "--match-accuracy", "--reference", "exact"],
            "--symmetry both",
        ),
        (both.to_vec(), "needs a reference"),
        (
            [&both[..], &["--reference", "exact", "--ladder", "0"]].concat(),
            "--ladder",
        ),
    ] {
        let o = bfly(&args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
