//! Bounded resources: sizes that cannot fit are refused before anything is allocated, with
//! a typed message naming the memory needed and what to change; shots are kept as counts,
//! so 10^9 (or 2^64 − 1) of them run in bounded memory and time.

use butterfly_mps::circuit::{loaders::Loader, ButterflyWorkload};
use butterfly_mps::sim::{simulate, Engine, Simulator};
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BFLY: &str = env!("CARGO_BIN_EXE_bfly");

/// Run `bfly` with a backtrace requested, so that a panic would show one.
fn bfly(args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let o = Command::new(BFLY)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("bfly runs");
    (o, t.elapsed())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A circuit file of 10^9 qubits with one X gate (the loader allocates nothing per qubit).
fn billion_qubits(dir: &std::path::Path) -> String {
    let path = dir.join("billion.json");
    std::fs::write(
        &path,
        r#"{"qubits": 1000000000, "ops": [{"gate": "x", "qubit": 0}]}"#,
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// `args` must fail with status 1 within a few seconds, print one `error: … needs … but
/// only … is available; …` line naming `what` and `advice`, and neither panic nor abort.
fn assert_refused(args: &[&str], what: &str, advice: &str) {
    let (o, took) = bfly(args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains("allocation"),
        "{args:?}: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(err.contains(what), "{args:?}: {err}");
    assert!(
        err.contains(" needs ") && err.contains(" but only ") && err.contains(" is available; "),
        "{args:?}: {err}"
    );
    assert!(err.contains(advice), "{args:?}: {err}");
}

#[test]
fn a_billion_qubits_are_refused_by_every_engine_with_the_memory_needed() {
    let dir = tempfile::tempdir().unwrap();
    let c = billion_qubits(dir.path());
    let c = c.as_str();
    assert_refused(
        &["simulate", "-c", c, "--backend", "mps"],
        "an MPS of 1000000000 qubits at bond cap χ = 64 (Hamming weight 1;",
        "lower --chi",
    );
    assert_refused(
        &["simulate", "-c", c, "--backend", "mps", "--symmetry", "u1"],
        "a U(1) MPS of 1000000000 qubits",
        "lower --chi",
    );
    assert_refused(
        &["simulate", "-c", c, "--backend", "subspace"],
        "the weight-1 subspace of 1000000000 qubits",
        "use the MPS backend",
    );
    assert_refused(
        &["simulate", "-c", c],
        "a state vector of 1000000000 qubits needs more than 16.0 EiB",
        "use the subspace backend",
    );
    assert_refused(
        &["compile", "-c", c, "--target", "aria"],
        "compiling a circuit of 1000000000 qubits",
        "fewer qubits",
    );
    assert_refused(
        &["validate", "-c", c, "--target", "aria"],
        "compiling a circuit of 1000000000 qubits",
        "fewer qubits",
    );
    assert_refused(
        &["noisy", "-c", c, "--noise", "aria-1"],
        "MPS trajectories of 1000000000 qubits",
        "lower --chi",
    );
}

#[test]
fn a_butterfly_too_large_for_memory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    let o = out.to_str().unwrap();
    assert_refused(
        &["butterfly", "--qubits", "1099511627776", "-o", o],
        "a Butterfly of 1099511627776 qubits and 40 layers",
        "use fewer qubits or layers",
    );
    assert_refused(
        &["butterfly", "--qubits", "9223372036854775808", "-o", o],
        "needs more than 16.0 EiB",
        "use fewer qubits or layers",
    );
    assert!(!out.exists());
}

#[test]
fn shots_that_cannot_all_differ_in_memory_are_refused_before_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a64.json");
    let f = f.to_str().unwrap();
    let (o, _) = bfly(&["butterfly", "-n", "64", "--loader", "angle", "-o", f]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // 10^12 shots of a 64-qubit state may all differ: the histogram cannot fit.
    assert_refused(
        &[
            "simulate",
            "-c",
            f,
            "--backend",
            "mps",
            "--chi",
            "4",
            "--shots",
            "1000000000000",
        ],
        "a histogram of up to 1000000000000 distinct outcomes of 64 qubits",
        "ask for fewer shots, or for the exact marginals",
    );
    assert_refused(
        &[
            "noisy",
            "-c",
            f,
            "--engine",
            "mps",
            "--chi",
            "4",
            "--trajectories",
            "2",
            "--shots",
            "1000000000000",
        ],
        "a histogram of up to 1000000000000 distinct outcomes of 64 qubits",
        "ask for fewer shots",
    );
}

/// Peak resident memory (`VmHWM`) of a running process, if `/proc` reports it.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run `bfly args`, polling its peak resident memory; (output, seconds, peak KiB seen).
fn bfly_with_peak(args: &[&str]) -> (Output, f64, Option<u64>) {
    let t = Instant::now();
    let mut child = Command::new(BFLY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bfly runs");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let mut peak = None;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = peak_rss_kib(child.id()) {
            peak = peak.max(Some(kib));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut o = child.wait_with_output().unwrap();
    o.stdout = reader.join().unwrap();
    (o, t.elapsed().as_secs_f64(), peak)
}

#[test]
fn a_billion_shots_of_16_qubits_are_counts_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b16.json");
    let f = f.to_str().unwrap();
    let (o, _) = bfly(&["butterfly", "--qubits", "16", "--loader", "angle", "-o", f]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (backend, shots) in [
        ("statevector", "1000000000"),
        ("mps", "1000000000"),
        ("statevector", "18446744073709551615"),
        ("mps", "18446744073709551615"),
    ] {
        let args = [
            "simulate",
            "-c",
            f,
            "--backend",
            backend,
            "--chi",
            "256",
            "--shots",
            shots,
            "--seed",
            "5",
            "--json",
        ];
        let (o, seconds, peak) = bfly_with_peak(&args);
        assert!(o.status.success(), "{backend}: {}", text(&o.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let samples = &doc["samples"];
        assert_eq!(samples["shots"].as_u64().unwrap().to_string(), shots);
        let counts = samples["counts"].as_array().unwrap();
        assert!(
            counts.len() > 1000 && counts.len() <= 1 << 16,
            "{}",
            counts.len()
        );
        let total = counts.iter().fold(0u64, |a, c| {
            a.checked_add(c[1].as_u64().unwrap())
                .expect("counts sum to the shots")
        });
        assert_eq!(total.to_string(), shots);
        // Seconds, not the hours per-shot sampling takes, and megabytes, not the ~70 GB
        // one entry per shot would need.
        assert!(seconds < 30.0, "{backend} {shots}: {seconds} s");
        if let Some(kib) = peak {
            assert!(kib < 512 * 1024, "{backend} {shots}: peak RSS {kib} KiB");
        }
        // Same seed, same counts.
        let (again, _, _) = bfly_with_peak(&args);
        let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert!(
            again["samples"] == *samples,
            "{backend} {shots}: not reproducible"
        );
    }
}

#[test]
fn noisy_shots_are_counts_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b16.json");
    let f = f.to_str().unwrap();
    let (o, _) = bfly(&["butterfly", "--qubits", "16", "--loader", "hw2", "-o", f]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (engine, shots) in [
        ("statevector", "1000000000000"),
        ("mps", "1000000000000"),
        ("statevector", "18446744073709551615"),
    ] {
        let (o, took) = bfly(&[
            "noisy",
            "-c",
            f,
            "--noise",
            "aria-1",
            "--engine",
            engine,
            "--trajectories",
            "8",
            "--shots",
            shots,
            "--postselect-weight",
            "2",
            "--json",
        ]);
        assert!(o.status.success(), "{engine}: {}", text(&o.stderr));
        assert!(took < Duration::from_secs(60), "{engine}: {took:?}");
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["shots"].as_u64().unwrap().to_string(), shots);
        let kept = doc["postselection"]["kept_fraction"].as_f64().unwrap();
        assert!(kept > 0.5 && kept < 1.0, "{engine}: {kept}");
    }
    // The density matrix (4 qubits) takes 2^64 − 1 shots too.
    let g = dir.path().join("b4.json");
    let g = g.to_str().unwrap();
    let (o, _) = bfly(&["butterfly", "--qubits", "4", "-o", g]);
    assert!(o.status.success());
    let (o, _) = bfly(&[
        "noisy",
        "-c",
        g,
        "--shots",
        "18446744073709551615",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// Every engine's counts follow its exact probabilities (within 6 binomial standard
/// deviations), sum to the shots, and repeat for a seed.
#[test]
fn counts_follow_the_exact_probabilities_on_every_engine() {
    for (loader, engines) in [
        (
            Loader::HammingWeight(2),
            vec![
                Engine::StateVector,
                Engine::Subspace,
                Engine::mps(64, 0.0).unwrap(),
                Engine::u1_mps(64, 0.0).unwrap(),
            ],
        ),
        (
            Loader::Angle,
            vec![
                Engine::StateVector,
                Engine::mps(64, 0.0).unwrap(),
                Engine::u1_mps(64, 0.0).unwrap(),
            ],
        ),
    ] {
        let c = ButterflyWorkload::full(8, loader, 3).build().unwrap();
        let exact = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
        let shots = 10_000_000u64;
        for engine in engines {
            let state = simulate(&engine, &c, &c.parameters).unwrap();
            let counts = state.sample_counts(shots, 11).unwrap();
            assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), shots, "{engine}");
            assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "{engine}");
            for (bits, count) in &counts {
                let p = exact.probability(bits).unwrap();
                let sd = (shots as f64 * p * (1.0 - p)).sqrt().max(1.0);
                assert!(
                    (*count as f64 - shots as f64 * p).abs() < 6.0 * sd,
                    "{engine} {bits}: {count} vs {p}"
                );
            }
            assert_eq!(state.sample_counts(shots, 11).unwrap(), counts, "{engine}");
            assert_ne!(state.sample_counts(shots, 12).unwrap(), counts, "{engine}");
            assert!(state.sample_counts(0, 11).unwrap().is_empty());
        }
    }
}
