//! The one executor builder ([`ExecutorSpec::build`]): every executor kind built from a
//! spec gives bit-identical results to the same executor constructed by hand, with the same
//! seeds; a spec survives JSON; bad specs are typed errors.

use std::time::Duration;

use butterfly_mps::circuit::{loaders::Loader, ButterflyWorkload, Circuit, Parameters};
use butterfly_mps::compile::{executor_hook, Target};
use butterfly_mps::exec::{StateVectorExecutor, UnaryExecutor};
use butterfly_mps::ionq::executor_spec::{ExecutorKind, ExecutorSpec};
use butterfly_mps::ionq::{
    ApiKey, ApiVersion, ClientConfig, EmulatedIonq, Emulator, EmulatorConfig, IonqClient,
    IonqExecutor, NoisyRunner,
};
use butterfly_mps::noise::postselect::PostSelectedExecutor;
use butterfly_mps::noise::{NoiseModel, NoisyConfig, NoisyExecutor, NoisyMethod};
use butterfly_mps::sim::Engine;
use butterfly_mps::train::executor::{CircuitRun, Executor, RunResult, ShotPlan};
use butterfly_mps::Error;

/// A 4-qubit unary Butterfly with three input vectors.
fn workload() -> (Circuit, Vec<Parameters>) {
    let c = ButterflyWorkload::full(4, Loader::UnaryTree, 5)
        .build()
        .unwrap();
    let n_in = c.parameters.inputs.len();
    let values = (0..3)
        .map(|k| {
            let inputs = (0..n_in)
                .map(|i| 0.3 + 0.21 * ((i + k) % 5) as f64)
                .collect();
            Parameters::new(c.parameters.trainable.clone(), inputs)
        })
        .collect();
    (c, values)
}

fn run(executor: &dyn Executor, plan: &ShotPlan) -> Vec<RunResult> {
    let (c, values) = workload();
    let runs: Vec<CircuitRun> = values
        .iter()
        .map(|v| CircuitRun::new(&c, v.clone()))
        .collect();
    executor.execute(&runs, plan).unwrap()
}

fn shots() -> ShotPlan {
    ShotPlan::with_shots(500, 11, 2)
}

#[test]
fn local_spec_builds_the_engines_executor() {
    for (engine, direct) in [
        (
            Engine::StateVector,
            Box::new(StateVectorExecutor) as Box<dyn Executor>,
        ),
        (Engine::Unary, Box::new(UnaryExecutor)),
    ] {
        let built = ExecutorSpec::local(engine).build().unwrap();
        assert_eq!(built.name(), direct.name());
        for plan in [ShotPlan::exact(), shots()] {
            assert_eq!(run(&*built, &plan), run(&*direct, &plan), "{engine}");
        }
    }
    // The exact result is the state vector's marginals (independent reference).
    let (c, values) = workload();
    let exact = run(
        &*ExecutorSpec::local(Engine::Unary).build().unwrap(),
        &ShotPlan::exact(),
    );
    for (v, r) in values.iter().zip(&exact) {
        let sv = butterfly_mps::sim::simulate(&Engine::StateVector, &c, v).unwrap();
        use butterfly_mps::sim::Simulator;
        for (a, b) in sv.marginals().iter().zip(&r.marginals) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

#[test]
fn noisy_spec_equals_the_hand_built_noisy_executor() {
    let mut spec = ExecutorSpec::new(ExecutorKind::Noisy);
    spec.noise = Some("aria-1".into());
    spec.trajectories = 12;
    spec.noise_seed = 5;
    spec.noisy_method = NoisyMethod::Trajectories(Engine::StateVector);
    spec.postselect_weight = Some(1);
    let built = spec.build().unwrap();

    let mut config = NoisyConfig::new(NoiseModel::preset("aria-1").unwrap());
    config.trajectories = 12;
    config.seed = 5;
    config.engine = NoisyMethod::Trajectories(Engine::StateVector);
    config.postselect_weight = Some(1);
    // The native family follows the noise model: Aria.
    let direct = NoisyExecutor::new(config).with_prepare(executor_hook(Target::Aria));
    assert_eq!(built.name(), direct.name());
    for plan in [ShotPlan::exact(), shots()] {
        assert_eq!(run(&*built, &plan), run(&direct, &plan));
    }
    // A different seed changes the shots: the comparison above can fail.
    spec.noise_seed = 6;
    assert_ne!(
        run(&*spec.build().unwrap(), &shots()),
        run(&direct, &shots())
    );
}

#[test]
fn noisy_spec_defaults_to_forte() {
    let mut spec = ExecutorSpec::new(ExecutorKind::Noisy);
    spec.trajectories = 8;
    let built = spec.build().unwrap();
    let mut config = NoisyConfig::new(NoiseModel::preset("forte-1").unwrap());
    config.trajectories = 8;
    let direct = NoisyExecutor::new(config).with_prepare(executor_hook(Target::Forte));
    assert_eq!(built.name(), "noisy:forte-1");
    assert_eq!(run(&*built, &shots()), run(&direct, &shots()));
}

#[test]
fn emulator_spec_equals_the_hand_built_emulator() {
    let mut spec = ExecutorSpec::new(ExecutorKind::Emulator);
    spec.noise = Some("forte-1".into());
    spec.trajectories = 6;
    spec.postselect_weight = Some(1);
    let built = spec.build().unwrap();
    assert!(built.name().starts_with("emulator@127.0.0.1:"));

    let runner = NoisyRunner {
        trajectories: 6,
        engine: NoisyMethod::Auto,
    };
    let direct = PostSelectedExecutor::new(
        EmulatedIonq::start(runner, |client| {
            Ok(IonqExecutor::new(client, "simulator")
                .with_prepare(executor_hook(Target::Forte))
                .with_noise("forte-1"))
        })
        .unwrap(),
        1,
    );
    assert_eq!(run(&*built, &shots()), run(&direct, &shots()));
}

#[test]
fn cloud_spec_talks_to_its_base_url_with_the_given_key() {
    let key = "spec-test-key";
    let mut config = EmulatorConfig::new(key);
    config.stage_delay = Duration::from_millis(1);
    let server = Emulator::start(config).unwrap();
    let mut spec = ExecutorSpec::new(ExecutorKind::Ionq);
    spec.ionq_backend = Some("simulator".into());
    spec.base_url = Some(server.base_url(ApiVersion::V0_4));
    let built = spec.build_with_api_key(Some(key)).unwrap();

    let client_config = ClientConfig {
        base_url: server.base_url(ApiVersion::V0_4),
        ..ClientConfig::new(ApiVersion::V0_4)
    };
    let client = IonqClient::new(ApiKey::new(key).unwrap(), client_config).unwrap();
    let direct = IonqExecutor::new(client, "simulator").with_prepare(executor_hook(Target::Forte));
    assert_eq!(built.name(), direct.name());
    let a = run(&*built, &shots());
    assert_eq!(a, run(&direct, &shots()));
    // Ideal jobs: the shots follow the exact unary marginals.
    let exact = run(&UnaryExecutor, &ShotPlan::exact());
    for (x, y) in a.iter().zip(&exact) {
        for (p, q) in x.marginals.iter().zip(&y.marginals) {
            assert!((p - q).abs() < 0.1, "{p} vs {q}");
        }
    }
    // A wrong key is refused by the server.
    let refused = spec.build_with_api_key(Some("wrong")).unwrap();
    let (c, values) = workload();
    let runs = [CircuitRun::new(&c, values[0].clone())];
    assert!(matches!(
        refused.execute(&runs, &shots()),
        Err(Error::IonqUnauthorized { .. })
    ));
}

#[test]
fn a_spec_survives_json() {
    let mut spec = ExecutorSpec::new(ExecutorKind::Emulator);
    spec.noise = Some("aria-2".into());
    spec.noisy_method = NoisyMethod::Trajectories(Engine::Mps {
        chi: 16,
        cutoff: 1e-10,
    });
    spec.postselect_weight = Some(1);
    spec.compile_target = Some(Target::Aria);
    let json = serde_json::to_string(&spec).unwrap();
    let back: ExecutorSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, spec);
    let local: ExecutorSpec =
        serde_json::from_str(r#"{"kind": "local", "trajectories": 1}"#).unwrap();
    assert_eq!(local.engine, Engine::Auto);
}

#[test]
fn bad_specs_are_typed_errors() {
    let mut local = ExecutorSpec::local(Engine::StateVector);
    local.noise = Some("forte-1".into());
    let e = local.build().err().unwrap();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");
    assert!(!e.to_string().contains("--"), "{e}");

    let mut qis = ExecutorSpec::new(ExecutorKind::Noisy);
    qis.compile_target = Some(Target::Qis);
    let e = qis.build().err().unwrap();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");

    let mut unknown = ExecutorSpec::new(ExecutorKind::Noisy);
    unknown.noise = Some("aria-9".into());
    assert!(matches!(
        unknown.build(),
        Err(Error::UnknownNoiseModel { .. })
    ));

    let mut zero = ExecutorSpec::new(ExecutorKind::Noisy);
    zero.trajectories = 0;
    assert!(matches!(zero.build(), Err(Error::NoisySimulation(_))));

    let mut chi0 = ExecutorSpec::local(Engine::Mps {
        chi: 0,
        cutoff: 1e-12,
    });
    chi0.trajectories = 1;
    assert!(chi0.build().is_err());
}
