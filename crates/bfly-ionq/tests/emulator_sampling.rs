//! Shots are counted, never listed (issue 20): the emulator's runners keep memory
//! proportional to the distinct outcomes, whatever the shot count, and draw exactly what
//! the shared multinomial sampler (and so `bfly noisy`) draws.
//!
//! One test binary of its own, its tests run one at a time ([`SERIAL`]): it reads the
//! process's peak resident memory, which tests running in parallel would disturb.

use bfly_core::circuit::{Circuit, Gate, Param};
use bfly_core::progress::NoProgress;
use bfly_core::sampling::multinomial_counts;
use bfly_ionq::emulator::{sample_frequencies, IdealRunner, JobRunner};
use bfly_ionq::format::NoiseRequest;
use bfly_ionq::NoisyRunner;
use bfly_noise::{simulate_noisy, NoiseModel, NoisyConfig};
use rand::SeedableRng;

/// Held by every test of this file, so that none runs beside another.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Peak resident memory of this process so far, in KiB (Linux; `None` elsewhere).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn two_qubit_superposition() -> Circuit {
    let mut c = Circuit::new(2);
    c.push(Gate::H { qubit: 0 }).unwrap();
    c.push(Gate::Ry {
        qubit: 1,
        theta: Param::Fixed(1.0),
    })
    .unwrap();
    c
}

#[test]
fn shots_are_counted_in_bounded_memory_and_draw_what_one_call_draws() {
    let _serial = serial();
    // 10^8 shots of a 2-qubit state: listed one by one (as the runner used to) that is
    // 0.8 GB of indices and 3.2 GB of bitstrings; counted, a few MB.
    let before = peak_rss_kib();
    let c = two_qubit_superposition();
    let t = std::time::Instant::now();
    let p = IdealRunner.run(&c, Some(100_000_000), None, 5).unwrap();
    let after = peak_rss_kib();
    assert_eq!(p.iter().count(), 4);
    let total: f64 = p.iter().map(|(_, q)| q).sum();
    assert!((total - 1.0).abs() < 1e-12);
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "10^8 ideal shots in {:.1} s; peak resident memory {} → {} KiB",
            t.elapsed().as_secs_f64(),
            b,
            a
        );
        assert!(a - b < 100 * 1024, "peak memory grew by {} KiB", a - b);
    }

    // Equal draws: the frequencies are one multinomial draw of the shared sampler.
    let p = [0.1, 0.2, 0.3, 0.4];
    let shots = 2_500_000u64;
    let got = sample_frequencies(2, &p, shots, 42).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let counts = multinomial_counts(4, |i| p[i], shots, &mut rng, |_| Ok(())).unwrap();
    assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), shots);
    for (i, c) in counts {
        assert_eq!(got.get(i as u64), c as f64 / shots as f64, "outcome {i}");
        assert!((got.get(i as u64) - p[i]).abs() < 1e-3, "outcome {i}");
    }
    // NaN is refused, not drawn as zero.
    assert!(sample_frequencies(2, &[0.5, f64::NAN, 0.5, 0.0], 10, 1).is_err());

    // Zero shots: a typed error, not an empty result.
    assert!(IdealRunner.run(&c, Some(0), None, 5).is_err());
}

#[test]
fn noisy_runner_counts_the_same_draws_as_simulate_noisy() {
    let _serial = serial();
    let c = two_qubit_superposition();
    let runner = NoisyRunner::default();
    let seed = 11;
    let got = runner
        .run(
            &c,
            Some(4000),
            Some(&NoiseRequest::new("aria-1", Some(seed))),
            seed,
        )
        .unwrap();
    let mut config = NoisyConfig::new(NoiseModel::preset("aria-1").unwrap());
    config.trajectories = runner.trajectories;
    config.engine = runner.engine;
    config.seed = seed;
    let out = simulate_noisy(&c, &c.parameters, &config, Some((4000, seed)), &NoProgress).unwrap();
    let h = out.histogram.unwrap();
    for (bits, count) in &h.counts {
        let i = bits.to_index().unwrap();
        assert_eq!(got.get(i), *count as f64 / 4000.0, "outcome {i}");
    }
}

#[test]
fn wide_ideal_jobs_are_counted_by_the_mps_sampler() {
    let _serial = serial();
    use bfly_ionq::emulator::{EXACT_QUBIT_LIMIT, WIDE_MPS_CHI};
    use bfly_sim::{run_mps, MpsConfig, Simulator};
    // A GHZ state wider than the state vector: only all-0 and all-1 occur.
    let n = EXACT_QUBIT_LIMIT + 2;
    let mut c = Circuit::new(n);
    c.push(Gate::H { qubit: 0 }).unwrap();
    for q in 1..n {
        c.push(Gate::Cnot { qubits: [q - 1, q] }).unwrap();
    }
    let ones = (1u64 << n) - 1;
    // The very counts of the MPS's counting sampler with the job's seed.
    let p = IdealRunner.run(&c, Some(1000), None, 3).unwrap();
    let mps = run_mps(
        &c,
        &c.parameters,
        &MpsConfig::new(WIDE_MPS_CHI, 0.0).unwrap(),
    )
    .unwrap();
    let counts = mps.sample_counts(1000, 3).unwrap();
    let k = counts
        .iter()
        .find(|(b, _)| b.to_index() == Some(ones))
        .map_or(0, |c| c.1);
    assert_eq!(p.get(ones), k as f64 / 1000.0);
    // Many shots: counted, frequencies near ½.
    let p = IdealRunner.run(&c, Some(300_000), None, 3).unwrap();
    assert_eq!(p.iter().count(), 2);
    assert!((p.get(0) - 0.5).abs() < 0.01 && (p.get(ones) - 0.5).abs() < 0.01);
}
