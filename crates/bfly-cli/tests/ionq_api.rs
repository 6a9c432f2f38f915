//! Client ↔ emulator: each test starts its own IonQ-compatible emulator on an ephemeral
//! loopback port and drives it with the real HTTP client (short backoff for speed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use butterfly_mps::bits::BitString;
use butterfly_mps::circuit::{Circuit, Gate, Param, Parameters};
use butterfly_mps::ionq::client::{ApiKey, ClientConfig, IonqClient};
use butterfly_mps::ionq::emulator::{Emulator, EmulatorConfig, Fault};
use butterfly_mps::ionq::executor::{bind_fixed, IonqExecutor};
use butterfly_mps::ionq::format::{
    ApiVersion, IonqInput, IonqOps, JobSpec, JobStatus, NativeGate, NoiseRequest, QisGate,
};
use butterfly_mps::sim::{simulate, Engine, Simulator};
use butterfly_mps::train::executor::{CircuitRun, Executor, ShotPlan};
use butterfly_mps::Error;

const KEY: &str = "test-key-0123";

fn emulator_with(stage_delay: Duration) -> Emulator {
    let mut config = EmulatorConfig::new(KEY);
    config.stage_delay = stage_delay;
    Emulator::start(config).unwrap()
}

fn emulator() -> Emulator {
    emulator_with(Duration::from_millis(2))
}

fn fast_config(emu: &Emulator, version: ApiVersion) -> ClientConfig {
    let mut c = ClientConfig::new(version).with_base_url(emu.base_url(version));
    c.request_timeout = Duration::from_secs(5);
    c.max_attempts = 4;
    c.initial_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(40);
    c.poll_interval = Duration::from_millis(2);
    c.max_poll_interval = Duration::from_millis(20);
    c.wait_timeout = Some(Duration::from_secs(30));
    c
}

fn client(emu: &Emulator, version: ApiVersion) -> IonqClient {
    IonqClient::new(ApiKey::new(KEY).unwrap(), fast_config(emu, version)).unwrap()
}

fn f(v: f64) -> Param {
    Param::Fixed(v)
}

/// An asymmetric 3-qubit native (Aria) circuit: every qubit ends with a different marginal.
fn native_circuit() -> Circuit {
    let mut c = Circuit::new(3);
    c.push(Gate::Gpi {
        qubit: 0,
        phase: f(0.0),
    })
    .unwrap(); // X on qubit 0
    c.push(Gate::Gpi2 {
        qubit: 1,
        phase: f(0.1),
    })
    .unwrap();
    c.push(Gate::Ms {
        qubits: [1, 2],
        phases: [f(0.0), f(0.25)],
        angle: f(0.07),
    })
    .unwrap();
    c.push(Gate::Gpi2 {
        qubit: 2,
        phase: f(0.6),
    })
    .unwrap();
    c
}

fn exact_probabilities(c: &Circuit) -> Vec<f64> {
    let state = simulate(&Engine::StateVector, c, &c.parameters).unwrap();
    (0..1u64 << c.qubits)
        .map(|i| {
            state
                .probability(&BitString::from_index(c.qubits, i))
                .unwrap()
        })
        .collect()
}

#[test]
fn probabilities_match_exact_simulation_in_both_api_versions() {
    let emu = emulator();
    let c = native_circuit();
    let exact = exact_probabilities(&c);
    for version in [ApiVersion::V0_4, ApiVersion::V0_3] {
        let client = client(&emu, version);
        let job = JobSpec::new(
            "simulator",
            IonqInput::from_circuit(&c, "simulator").unwrap(),
        )
        .with_shots(1000);
        let id = client.submit(&job).unwrap();
        let info = client.wait(&id).unwrap();
        assert_eq!(info.status, JobStatus::Completed);
        assert_eq!(info.qubits, Some(3));
        assert_eq!(info.backend.as_deref(), Some("simulator"));
        let p = client.probabilities_of(&info).unwrap();
        for (i, e) in exact.iter().enumerate() {
            assert!(
                (p.get(i as u64) - e).abs() < 1e-12,
                "{version} state {i}: {} vs {e}",
                p.get(i as u64)
            );
        }
        // Qubit 0 was flipped by GPi: every outcome has qubit 0 = 1 (odd keys only).
        assert!(p.iter().all(|(i, _)| i & 1 == 1));
        assert!((p.marginals()[0] - 1.0).abs() < 1e-12);
    }
}

#[test]
fn bit_order_of_results_is_pinned_with_an_asymmetric_circuit() {
    let emu = emulator();
    let client = client(&emu, ApiVersion::V0_4);
    // GPi on qubit 1 only, of 3: IonQ key 2 = binary 010 (qubit 0 least significant);
    // the crate prints qubit 0 first: "010".
    let mut c = Circuit::new(3);
    c.push(Gate::Gpi {
        qubit: 1,
        phase: f(0.3),
    })
    .unwrap();
    let p = client
        .run(&JobSpec::new(
            "simulator",
            IonqInput::from_circuit(&c, "simulator").unwrap(),
        ))
        .unwrap();
    assert_eq!(p.iter().collect::<Vec<_>>(), vec![(2, 1.0)]);
    assert_eq!(p.bitstrings()[0].0.to_string(), "010");
    assert_eq!(p.bitstrings()[0].0, BitString::from_ones(3, &[1]).unwrap());
}

#[test]
fn qpu_jobs_are_sampled_with_the_requested_shots() {
    let emu = emulator();
    let client = client(&emu, ApiVersion::V0_4);
    let c = native_circuit();
    let job = JobSpec::new(
        "qpu.aria-1",
        IonqInput::from_circuit(&c, "qpu.aria-1").unwrap(),
    )
    .with_shots(4000);
    let p = client.run(&job).unwrap();
    let h = p.histogram(4000);
    assert_eq!(h.counts.iter().map(|c| c.1).sum::<u64>(), 4000);
    for (i, e) in exact_probabilities(&c).iter().enumerate() {
        let sigma = (e * (1.0 - e) / 4000.0).sqrt();
        assert!(
            (p.get(i as u64) - e).abs() <= 5.0 * sigma + 1e-9,
            "state {i}"
        );
        // Frequencies of 4000 shots: multiples of 1/4000.
        let counts = p.get(i as u64) * 4000.0;
        assert!((counts - counts.round()).abs() < 1e-6);
    }
    // Forte takes ZZ.
    let noisy = JobSpec::new("qpu.forte-1", IonqInput::from_json(&serde_json::json!({
        "gateset": "native", "qubits": 2,
        "circuit": [{"gate": "gpi2", "target": 0, "phase": 0.0}, {"gate": "zz", "targets": [0, 1], "angle": 0.1}]
    })).unwrap()).with_shots(100);
    assert!(client.run(&noisy).is_ok());
}

#[test]
fn wrong_api_key_is_unauthorized() {
    let emu = emulator();
    let client = IonqClient::new(
        ApiKey::new("wrong-key").unwrap(),
        fast_config(&emu, ApiVersion::V0_4),
    )
    .unwrap();
    match client.backends() {
        Err(Error::IonqUnauthorized { message }) => assert!(message.contains("API key")),
        other => panic!("expected 401, got {other:?}"),
    }
    // Not retried: exactly one request reached the server.
    assert_eq!(emu.requests(), 1);
}

#[test]
fn bad_requests_carry_the_server_message() {
    let emu = emulator();
    let client = client(&emu, ApiVersion::V0_4);
    // MS sent to Forte (built by hand, bypassing the exporter's own check).
    let ms = IonqInput {
        qubits: 2,
        ops: IonqOps::Native(vec![NativeGate::Ms {
            targets: [0, 1],
            phases: [0.0, 0.25],
            angle: 0.1,
        }]),
    };
    match client.submit(&JobSpec::new("qpu.forte-1", ms)) {
        Err(Error::IonqBadRequest { message }) => {
            assert!(
                message.contains("ms") && message.contains("Forte"),
                "{message}"
            )
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // An unknown gate.
    let bad = IonqInput {
        qubits: 1,
        ops: IonqOps::Qis(vec![QisGate {
            gate: "rbs".into(),
            target: Some(0),
            targets: None,
            control: None,
            controls: None,
            rotation: None,
        }]),
    };
    match client.submit(&JobSpec::new("simulator", bad)) {
        Err(Error::IonqBadRequest { message }) => {
            assert!(message.contains("unknown gate \"rbs\""), "{message}")
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // A noise model this build does not simulate.
    let c = native_circuit();
    let job = JobSpec::new(
        "simulator",
        IonqInput::from_circuit(&c, "simulator").unwrap(),
    )
    .with_noise(NoiseRequest::new("aria-1", Some(3)));
    match client.submit(&job) {
        Err(Error::IonqBadRequest { message }) => {
            assert!(message.contains("not available"), "{message}")
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // No such job.
    assert!(matches!(
        client.job("00000000-0000-4000-8000-000000000000"),
        Err(Error::IonqNotFound { .. })
    ));
}

#[test]
fn too_many_requests_then_success_honours_retry_after() {
    let emu = emulator();
    let client = client(&emu, ApiVersion::V0_4);
    emu.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let start = Instant::now();
    let backends = client.backends().unwrap();
    let waited = start.elapsed();
    assert!(backends
        .iter()
        .any(|b| b.backend == "qpu.forte-1" && b.qubits == Some(36)));
    // The client's own backoff is ≤ 40 ms here: only Retry-After explains ≥ 1 s.
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");
    assert_eq!(emu.requests(), 2);
}

#[test]
fn server_errors_then_success_and_exhausted_retries() {
    let emu = emulator();
    let client = client(&emu, ApiVersion::V0_4);
    emu.inject(Fault::ServerError, 3);
    let c = native_circuit();
    let job = JobSpec::new(
        "simulator",
        IonqInput::from_circuit(&c, "simulator").unwrap(),
    );
    let id = client.submit(&job).unwrap(); // 3 × 500, then the 4th attempt succeeds
    assert_eq!(emu.requests(), 4);
    assert_eq!(client.wait(&id).unwrap().status, JobStatus::Completed);

    emu.inject(Fault::ServerError, 4);
    match client.job(&id) {
        Err(Error::IonqRetriesExhausted { attempts, last, .. }) => {
            assert_eq!(attempts, 4);
            assert!(last.contains("500"), "{last}");
        }
        other => panic!("expected exhausted retries, got {other:?}"),
    }
}

#[test]
fn timeouts_are_typed_and_idempotent_requests_retry() {
    let emu = emulator();
    let mut config = fast_config(&emu, ApiVersion::V0_4);
    config.request_timeout = Duration::from_millis(500);
    let client = IonqClient::new(ApiKey::new(KEY).unwrap(), config).unwrap();
    let c = native_circuit();
    let job = JobSpec::new(
        "simulator",
        IonqInput::from_circuit(&c, "simulator").unwrap(),
    );
    // Submitted by the patient client: a loaded machine must not time this one out.
    let id = self::client(&emu, ApiVersion::V0_4).submit(&job).unwrap();

    // A GET delayed past the timeout is retried and then succeeds.
    emu.inject(Fault::Delay(Duration::from_millis(1500)), 1);
    let start = Instant::now();
    assert_eq!(client.wait(&id).unwrap().id, id);
    assert!(start.elapsed() >= Duration::from_millis(500));

    // A POST delayed past the timeout is a typed timeout, not retried (the job may exist).
    emu.inject(Fault::Delay(Duration::from_millis(1500)), 1);
    let before = emu.requests();
    match client.submit(&job) {
        Err(Error::IonqTimeout { what, hint, .. }) => {
            assert!(what.starts_with("POST"), "{what}");
            assert!(hint.contains("not retried"), "{hint}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(emu.requests(), before + 1);

    // Every attempt timing out: a typed timeout after max_attempts.
    emu.inject(Fault::Delay(Duration::from_millis(1500)), 4);
    assert!(matches!(client.job(&id), Err(Error::IonqTimeout { .. })));
}

#[test]
fn canceled_jobs_have_no_results() {
    let emu = emulator_with(Duration::from_millis(500));
    let client = client(&emu, ApiVersion::V0_4);
    let c = native_circuit();
    let job = JobSpec::new(
        "simulator",
        IonqInput::from_circuit(&c, "simulator").unwrap(),
    );
    let id = client.submit(&job).unwrap();
    assert!(!client.job(&id).unwrap().status.is_terminal());
    assert_eq!(client.cancel(&id).unwrap(), JobStatus::Canceled);
    // Past every stage delay, the job stays canceled.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(client.job(&id).unwrap().status, JobStatus::Canceled);
    assert!(matches!(
        client.probabilities(&id),
        Err(Error::IonqJobCanceled { .. })
    ));
    assert!(matches!(
        client.wait(&id),
        Err(Error::IonqJobCanceled { .. })
    ));

    // Results of an unfinished job are a typed error too.
    let id2 = client.submit(&job).unwrap();
    assert!(matches!(
        client.probabilities(&id2),
        Err(Error::IonqJobNotFinished { .. })
    ));
    // v0.3 spells "running" and walks the same statuses.
    let v03 = IonqClient::new(
        ApiKey::new(KEY).unwrap(),
        fast_config(&emu, ApiVersion::V0_3),
    )
    .unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&JobStatus::Completed) {
        let s = v03.job(&id2).unwrap().status;
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seen.last(), Some(&JobStatus::Completed));
    assert!(
        seen.contains(&JobStatus::Running) || seen.contains(&JobStatus::Ready),
        "{seen:?}"
    );
}

#[test]
fn debug_output_never_shows_the_key() {
    let emu = emulator();
    let client = client(&emu, ApiVersion::V0_4);
    let shown = format!("{client:?} {:?}", ApiKey::new(KEY).unwrap());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("redacted"));
    let exec = IonqExecutor::new(client, "simulator");
    assert!(!format!("{exec:?}").contains(KEY));
}

/// A parameterised 4-qubit native circuit (trainable phases and MS angles).
fn trainable_native() -> Circuit {
    let mut c = Circuit::new(4);
    c.push(Gate::Gpi {
        qubit: 0,
        phase: f(0.0),
    })
    .unwrap();
    c.push(Gate::Gpi2 {
        qubit: 1,
        phase: Param::trainable(0),
    })
    .unwrap();
    c.push(Gate::Ms {
        qubits: [0, 1],
        phases: [f(0.0), f(0.25)],
        angle: Param::trainable(1),
    })
    .unwrap();
    c.push(Gate::Gpi2 {
        qubit: 2,
        phase: Param::input(0),
    })
    .unwrap();
    c.push(Gate::Ms {
        qubits: [2, 3],
        phases: [Param::trainable(0), f(0.5)],
        angle: f(0.2),
    })
    .unwrap();
    c.push(Gate::Gpi2 {
        qubit: 3,
        phase: f(0.35),
    })
    .unwrap();
    c
}

#[test]
fn executor_over_emulator_gives_exact_and_sampled_marginals() {
    let emu = emulator();
    let c = trainable_native();
    let values: Vec<Parameters> = (0..3)
        .map(|k| {
            Parameters::new(
                vec![0.1 * k as f64, 0.05 + 0.05 * k as f64],
                vec![0.3 - 0.1 * k as f64],
            )
        })
        .collect();
    let runs: Vec<CircuitRun> = values
        .iter()
        .map(|v| CircuitRun::new(&c, v.clone()))
        .collect();
    let exact: Vec<Vec<f64>> = values
        .iter()
        .map(|v| simulate(&Engine::StateVector, &c, v).unwrap().marginals())
        .collect();

    let sim = IonqExecutor::new(client(&emu, ApiVersion::V0_4), "simulator");
    let out = sim.execute(&runs, &ShotPlan::exact()).unwrap();
    assert_eq!(out.len(), 3);
    for (r, e) in out.iter().zip(&exact) {
        assert!(r.histogram.is_none());
        for (a, b) in r.marginals.iter().zip(e) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    let shots = 4000;
    let qpu = IonqExecutor::new(client(&emu, ApiVersion::V0_4), "qpu.aria-1");
    let out = qpu
        .execute(&runs, &ShotPlan::with_shots(shots, 9, 0))
        .unwrap();
    for (r, e) in out.iter().zip(&exact) {
        let h = r.histogram.as_ref().unwrap();
        assert_eq!(h.shots, shots);
        assert_eq!(h.counts.iter().map(|c| c.1).sum::<u64>(), shots as u64);
        for (a, b) in r.marginals.iter().zip(e) {
            let sigma = (b * (1.0 - b) / shots as f64).sqrt();
            assert!(
                (a - b).abs() <= 5.0 * sigma + 1e-9,
                "{a} vs {b} (σ = {sigma})"
            );
        }
    }
    // Exact results exist only on the simulator.
    assert!(matches!(
        qpu.execute(&runs, &ShotPlan::exact()),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn executor_applies_the_preparation_hook() {
    let emu = emulator();
    // The circuit uses X (a QIS gate); the hook rewrites X → GPi(0) (equal matrices), so the
    // job is native and runs on Aria. A second hook refuses anything that is not native.
    let mut c = Circuit::new(2);
    c.push(Gate::X { qubit: 1 }).unwrap();
    c.push(Gate::Gpi2 {
        qubit: 0,
        phase: Param::trainable(0),
    })
    .unwrap();
    let to_native = Arc::new(|c: &Circuit| {
        let mut out = c.clone();
        for g in &mut out.ops {
            if let Gate::X { qubit } = *g {
                *g = Gate::Gpi {
                    qubit,
                    phase: Param::Fixed(0.0),
                };
            }
        }
        Ok(out)
    });
    let exec =
        IonqExecutor::new(client(&emu, ApiVersion::V0_4), "qpu.aria-1").with_prepare(to_native);
    let run = CircuitRun::new(&c, Parameters::new(vec![0.2], vec![]));
    let job = exec
        .job_for(&run, &ShotPlan::with_shots(100, 1, 0), 0)
        .unwrap();
    assert_eq!(
        job.input.gateset(),
        butterfly_mps::ionq::format::Gateset::Native
    );
    let out = exec
        .execute(std::slice::from_ref(&run), &ShotPlan::with_shots(500, 1, 0))
        .unwrap();
    assert!((out[0].marginals[1] - 1.0).abs() < 1e-12);

    let strict =
        IonqExecutor::new(client(&emu, ApiVersion::V0_4), "qpu.aria-1").with_prepare(Arc::new(
            |c: &Circuit| match c
                .ops
                .iter()
                .position(|g| !matches!(g, Gate::Gpi { .. } | Gate::Gpi2 { .. } | Gate::Ms { .. }))
            {
                Some(op) => Err(Error::IonqUnsupportedOp {
                    op,
                    gate: c.ops[op].name().into(),
                    reason: "not compiled".into(),
                }),
                None => Ok(c.clone()),
            },
        ));
    match strict.execute(&[run], &ShotPlan::with_shots(100, 1, 0)) {
        Err(Error::IonqUnsupportedOp { op: 0, gate, .. }) => assert_eq!(gate, "x"),
        other => panic!("expected the hook's error, got {other:?}"),
    }
    // bind_fixed resolves every slot.
    let bound = bind_fixed(&c, &Parameters::new(vec![0.2], vec![])).unwrap();
    assert_eq!(
        bound.ops[1],
        Gate::Gpi2 {
            qubit: 0,
            phase: Param::Fixed(0.2)
        }
    );
    assert!(matches!(
        bind_fixed(&c, &Parameters::default()),
        Err(Error::MissingParameter { .. })
    ));
}

#[test]
fn ideal_runner_is_exact_when_narrow_sampled_when_wide_and_refuses_noise() {
    use butterfly_mps::ionq::emulator::{IdealRunner, JobRunner, EXACT_QUBIT_LIMIT};
    let runner = IdealRunner;
    let c = native_circuit();
    let exact = runner.run(&c, None, None, 1).unwrap();
    for (i, e) in exact_probabilities(&c).iter().enumerate() {
        assert!((exact.get(i as u64) - e).abs() < 1e-12);
    }
    // The same seed gives the same samples.
    let a = runner.run(&c, Some(200), None, 5).unwrap();
    assert_eq!(a, runner.run(&c, Some(200), None, 5).unwrap());
    // Past the state-vector limit: MPS sampling; GPi on qubits 0 and 25 of 26 is exact
    // in every shot (index 2^0 + 2^25).
    let n = EXACT_QUBIT_LIMIT + 2;
    let mut wide = Circuit::new(n);
    wide.push(Gate::Gpi {
        qubit: 0,
        phase: f(0.0),
    })
    .unwrap();
    wide.push(Gate::Gpi {
        qubit: n - 1,
        phase: f(0.2),
    })
    .unwrap();
    let p = runner.run(&wide, Some(50), None, 3).unwrap();
    assert_eq!(
        p.iter().collect::<Vec<_>>(),
        vec![(1 + (1u64 << (n - 1)), 1.0)]
    );
    assert!(matches!(
        runner.run(&wide, None, None, 3),
        Err(Error::InvalidInput(_))
    ));
    // Noise models other than ideal are not in this build.
    let aria = NoiseRequest::new("aria-1", None);
    assert!(matches!(
        runner.run(&c, Some(10), Some(&aria), 1),
        Err(Error::IonqNoiseModelUnavailable { .. })
    ));
    assert!(runner
        .check(Some(&NoiseRequest::new("ideal", Some(1))))
        .is_ok());
}
