//! Gradient estimators against each other and against finite differences; executors
//! against the unary map; the measured cost table.

use butterfly_mps::circuit::{loaders::Loader, Butterfly, LayerOrdering};
use butterfly_mps::data::Dataset;
use butterfly_mps::sim::unary::UnaryMap;
use butterfly_mps::train::executor::{
    CircuitRun, Counted, Executor, MpsExecutor, ShotPlan, StateVectorExecutor, UnaryExecutor,
};
use butterfly_mps::train::gradient::{
    ExactAdjoint, GradientEstimator, ParallelShift, QuantumGradient, QuantumProblem, ShiftRule,
};
use butterfly_mps::train::model::random_state;
use butterfly_mps::train::step::{
    batch_gradient, exact_batch_gradient, exact_loss, Seeds, Selection,
};
use butterfly_mps::train::{gradient_cost_table, GradientMethod, HybridModel, ModelSpec, Task};
use butterfly_mps::Error;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Case {
    butterfly: Butterfly,
    theta: Vec<f64>,
    states: Vec<Vec<f64>>,
    upstream: Vec<Vec<f64>>,
}

fn case(n: usize, layers: usize, ordering: LayerOrdering, samples: usize, seed: u64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let butterfly = Butterfly::new(n, layers, ordering).unwrap();
    let theta = (0..butterfly.n_params())
        .map(|_| rng.random_range(-3.2..3.2))
        .collect();
    let states = (0..samples).map(|_| random_state(n, &mut rng)).collect();
    let upstream = (0..samples)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    Case {
        butterfly,
        theta,
        states,
        upstream,
    }
}

impl Case {
    fn problem(&self) -> QuantumProblem<'_> {
        QuantumProblem::new(self.butterfly, Loader::UnaryTree, &self.theta, &self.states).unwrap()
    }
    fn grad(
        &self,
        est: &dyn GradientEstimator,
        layers: &[usize],
        exec: &dyn Executor,
        plan: &ShotPlan,
    ) -> QuantumGradient {
        est.gradient(&self.problem(), &self.upstream, layers, exec, plan)
            .unwrap()
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn parallel_shift_equals_exact_on_the_trailing_layer() {
    println!(
        "parallel shift vs exact adjoint, trailing layer, exact expectations (unary executor)"
    );
    println!(
        "{:>5} {:>7} {:>15} {:>10} {:>14}",
        "n", "layers", "ordering", "circuits", "max |diff|"
    );
    for n in [8, 16, 32, 128] {
        let d = Butterfly::max_layers(n);
        for ordering in [LayerOrdering::CouplingFirst, LayerOrdering::CouplingLast] {
            for layers in [1, d / 2 + 1, d] {
                let c = case(n, layers, ordering, 3, n as u64 + layers as u64);
                let exec = Counted::new(UnaryExecutor);
                let plan = ShotPlan::exact();
                let last = [layers - 1];
                let p = c.grad(&ParallelShift, &last, &exec, &plan);
                let e = c.grad(&ExactAdjoint, &last, &exec, &plan);
                let diff = max_diff(&p.values, &e.values);
                let scale = e.values.iter().map(|v| v.abs()).fold(0.0, f64::max);
                println!(
                    "{n:>5} {layers:>7} {:>15} {:>10} {diff:>14.3e}",
                    format!("{ordering:?}"),
                    p.cost.circuits
                );
                assert!(scale > 1e-3, "degenerate test case: gradient scale {scale}");
                assert!(
                    diff <= 1e-10,
                    "n = {n}, {layers} layers: parallel vs exact differ by {diff}"
                );
                // 4 circuits per sample whatever n; the executor counted the same.
                assert_eq!(p.cost.circuits, 4 * 3);
                assert_eq!(exec.counts().circuits, 4 * 3);
                assert_eq!(e.cost.circuits, 0);
            }
        }
    }
}

#[test]
fn four_term_shift_equals_exact_for_every_layer() {
    println!("4-term shift vs exact adjoint, all layers, exact expectations");
    for n in [8, 16, 32, 128] {
        let d = Butterfly::max_layers(n);
        let c = case(n, d, LayerOrdering::CouplingFirst, 2, 100 + n as u64);
        let plan = ShotPlan::exact();
        let all: Vec<usize> = (0..d).collect();
        let s = c.grad(&ShiftRule, &all, &UnaryExecutor, &plan);
        let e = c.grad(&ExactAdjoint, &all, &UnaryExecutor, &plan);
        let diff = max_diff(&s.values, &e.values);
        println!(
            "n = {n:>3}: {} angles, {} circuits, max |diff| = {diff:.3e}",
            n / 2 * d,
            s.cost.circuits
        );
        assert!(diff <= 1e-10, "n = {n}: shift vs exact differ by {diff}");
        assert_eq!(s.cost.circuits as usize, 2 * 4 * (n / 2) * d);
        // Layer by layer, in any order, gives the same numbers.
        let one = c.grad(&ShiftRule, &[d - 1, 0], &UnaryExecutor, &plan);
        let e2 = c.grad(&ExactAdjoint, &[d - 1, 0], &UnaryExecutor, &plan);
        assert!(max_diff(&one.values, &e2.values) <= 1e-10);
    }
}

#[test]
fn parallel_shift_refuses_layers_that_are_not_last() {
    let c = case(16, 4, LayerOrdering::CouplingFirst, 1, 5);
    for layer in 0..3 {
        let err = ParallelShift
            .gradient(
                &c.problem(),
                &c.upstream,
                &[layer],
                &UnaryExecutor,
                &ShotPlan::exact(),
            )
            .unwrap_err();
        match &err {
            Error::ParallelShiftNotTrailing {
                layer: l,
                layers: 4,
                following,
            } => {
                assert_eq!((*l, *following), (layer, 3 - layer));
            }
            other => panic!("expected ParallelShiftNotTrailing, got {other:?}"),
        }
        assert!(err.to_string().contains("trailing layer"), "{err}");
    }
    // Even together with the trailing one.
    let err = ParallelShift
        .gradient(
            &c.problem(),
            &c.upstream,
            &[3, 1],
            &UnaryExecutor,
            &ShotPlan::exact(),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::ParallelShiftNotTrailing { layer: 1, .. }
    ));
    // And the per-parameter rule accepts the same layer.
    c.grad(&ShiftRule, &[1], &UnaryExecutor, &ShotPlan::exact());
}

#[test]
fn shot_estimates_are_reproducible_and_unbiased() {
    let c = case(16, 3, LayerOrdering::CouplingFirst, 2, 9);
    let exact = c.grad(&ExactAdjoint, &[2], &UnaryExecutor, &ShotPlan::exact());
    let plan = ShotPlan::with_shots(1000, 42, 3);
    let a = c.grad(&ParallelShift, &[2], &UnaryExecutor, &plan);
    let b = c.grad(&ParallelShift, &[2], &UnaryExecutor, &plan);
    assert_eq!(a, b, "same seed, same step: bit-identical");
    assert_eq!(a.cost.shots, 2 * 4 * 1000);
    let other = c.grad(
        &ParallelShift,
        &[2],
        &UnaryExecutor,
        &ShotPlan::with_shots(1000, 42, 4),
    );
    assert_ne!(a.values, other.values, "another step draws other shots");
    // Average over 400 independent seeds: within 5 standard errors of the exact value.
    let runs: Vec<Vec<f64>> = (0..400)
        .map(|s| {
            c.grad(
                &ParallelShift,
                &[2],
                &UnaryExecutor,
                &ShotPlan::with_shots(1000, s, 0),
            )
            .values
        })
        .collect();
    let mut worst = 0.0f64;
    for j in 0..8 {
        let xs: Vec<f64> = runs.iter().map(|r| r[j]).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        let se = (var / xs.len() as f64).sqrt();
        let z = (mean - exact.values[j]).abs() / se;
        worst = worst.max(z);
        assert!(
            z < 5.0,
            "gate {j}: mean {mean} vs exact {} ({z:.1} standard errors)",
            exact.values[j]
        );
    }
    println!("parallel shift with 1000 shots: worst |mean − exact| over 8 gates = {worst:.2} standard errors (400 seeds)");
    // The per-parameter rule too (fewer seeds: 4 circuits per angle).
    let s = c.grad(
        &ShiftRule,
        &[0],
        &UnaryExecutor,
        &ShotPlan::with_shots(500, 1, 0),
    );
    assert_eq!(s.cost.shots, 2 * 8 * 4 * 500);
}

#[test]
fn statevector_and_mps_executors_give_the_same_gradients() {
    // State vector at n = 8; MPS at n = 16 and 32 (a weight-1 state has Schmidt rank ≤ 2,
    // so χ = 4 is exact).
    let c = case(8, 3, LayerOrdering::CouplingFirst, 2, 21);
    let e = c.grad(&ExactAdjoint, &[2], &UnaryExecutor, &ShotPlan::exact());
    let sv = c.grad(
        &ParallelShift,
        &[2],
        &StateVectorExecutor,
        &ShotPlan::exact(),
    );
    let sv_shift = c.grad(
        &ShiftRule,
        &[0, 1, 2],
        &StateVectorExecutor,
        &ShotPlan::exact(),
    );
    let e_all = c.grad(
        &ExactAdjoint,
        &[0, 1, 2],
        &UnaryExecutor,
        &ShotPlan::exact(),
    );
    println!(
        "statevector n=8: parallel {:.2e}, per-parameter {:.2e}",
        max_diff(&sv.values, &e.values),
        max_diff(&sv_shift.values, &e_all.values)
    );
    assert!(max_diff(&sv.values, &e.values) < 1e-10);
    assert!(max_diff(&sv_shift.values, &e_all.values) < 1e-10);
    for n in [16, 32] {
        let d = Butterfly::max_layers(n);
        let c = case(n, d, LayerOrdering::CouplingFirst, 2, 30 + n as u64);
        let e = c.grad(&ExactAdjoint, &[d - 1], &UnaryExecutor, &ShotPlan::exact());
        let mps = MpsExecutor::new(4, 0.0).unwrap();
        let m = c.grad(&ParallelShift, &[d - 1], &mps, &ShotPlan::exact());
        println!(
            "mps n={n} χ=4: parallel shift vs exact {:.2e}",
            max_diff(&m.values, &e.values)
        );
        assert!(max_diff(&m.values, &e.values) < 1e-9);
    }
    // Sampling through the state vector is seeded too.
    let plan = ShotPlan::with_shots(200, 5, 0);
    let a = c.grad(&ParallelShift, &[2], &StateVectorExecutor, &plan);
    assert_eq!(a, c.grad(&ParallelShift, &[2], &StateVectorExecutor, &plan));
    assert_eq!(a.cost.shots, 2 * 4 * 200);
}

#[test]
fn unary_executor_matches_the_unary_map() {
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    for (n, loader) in [
        (16, Loader::UnaryTree),
        (8, Loader::UnaryDiagonal),
        (128, Loader::UnaryTree),
    ] {
        let b = Butterfly::full(n, LayerOrdering::CouplingLast).unwrap();
        let theta: Vec<f64> = (0..b.n_params())
            .map(|_| rng.random_range(-3.0..3.0))
            .collect();
        let x = random_state(n, &mut rng);
        let mut c = loader.circuit(n).unwrap();
        b.append_to(&mut c, 0).unwrap();
        let values =
            butterfly_mps::circuit::Parameters::new(theta.clone(), loader.angles(n, &x).unwrap());
        let y = UnaryExecutor::amplitudes(&c, &values).unwrap();
        let w = UnaryMap::from_circuit(
            &b.circuit(),
            &butterfly_mps::circuit::Parameters::new(theta, vec![]),
        )
        .unwrap();
        let reference = w.apply(&x).unwrap();
        let diff = max_diff(&y, reference.as_slice().unwrap());
        assert!(diff < 1e-12, "n = {n} {loader}: {diff}");
        // Exact marginals through the trait.
        let out = UnaryExecutor
            .execute(&[CircuitRun::new(&c, values)], &ShotPlan::exact())
            .unwrap();
        assert!(
            max_diff(
                &out[0].marginals,
                &y.iter().map(|v| v * v).collect::<Vec<_>>()
            ) < 1e-15
        );
    }
    // A circuit it cannot run is refused with the op named, not mis-simulated.
    let mut c = Loader::Angle.circuit(4).unwrap();
    c.parameters.inputs = vec![0.3; 4];
    let err = UnaryExecutor
        .execute(
            &[CircuitRun::new(&c, c.parameters.clone())],
            &ShotPlan::exact(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("op #"), "{err}");
}

fn toy_data(m: usize, rows: usize, classification: bool, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xs: Vec<Vec<f64>> = (0..rows)
        .map(|_| (0..m).map(|_| rng.random_range(-2.0..2.0)).collect())
        .collect();
    let ys = xs
        .iter()
        .map(|x| {
            let s: f64 = x
                .iter()
                .enumerate()
                .map(|(i, v)| v * (i as f64 - 1.0))
                .sum();
            vec![if classification {
                f64::from(s > 0.0)
            } else {
                s.sin()
            }]
        })
        .collect();
    Dataset::new(
        (0..m).map(|i| format!("f{i}")).collect(),
        vec!["y".into()],
        xs,
        ys,
    )
    .unwrap()
}

#[test]
fn exact_model_gradient_matches_finite_differences() {
    for task in [Task::Regression, Task::Classification] {
        let data = toy_data(5, 12, task == Task::Classification, 3);
        let mut spec = ModelSpec::new(5, 1, 8, 3, task);
        spec.quantum_init_scale = 2.0;
        spec.head_init_scale = 1.0;
        let mut model = HybridModel::new(&spec, 4).unwrap();
        model.pre.bias = vec![0.2; 8];
        model.input_scaling.mean = vec![0.1; 5];
        model.input_scaling.scale = vec![1.5; 5];
        if task == Task::Regression {
            model.target_scaling.mean = vec![0.3];
            model.target_scaling.scale = vec![0.7];
        }
        let rows: Vec<usize> = (0..12).collect();
        let (_, g) = exact_batch_gradient(&model, &data, &rows).unwrap();
        let p0 = model.params();
        let mut worst = 0.0f64;
        for i in 0..p0.len() {
            let h = 1e-6;
            let mut p = p0.clone();
            p[i] += h;
            model.set_params(&p).unwrap();
            let lp = exact_loss(&model, &data, &rows).unwrap();
            p[i] -= 2.0 * h;
            model.set_params(&p).unwrap();
            let lm = exact_loss(&model, &data, &rows).unwrap();
            worst = worst.max(((lp - lm) / (2.0 * h) - g[i]).abs());
        }
        model.set_params(&p0).unwrap();
        println!("{task}: {} parameters (pre, Butterfly, head), max |adjoint − finite difference| = {worst:.2e}", p0.len());
        assert!(worst < 1e-7, "{task}: {worst}");
    }
}

#[test]
fn batch_gradients_agree_across_methods_and_count_their_circuits() {
    let data = toy_data(4, 6, false, 8);
    let mut spec = ModelSpec::new(4, 1, 16, 3, Task::Regression);
    spec.quantum_init_scale = 1.0;
    let model = HybridModel::new(&spec, 2).unwrap();
    let rows = [0, 1, 2, 3, 4, 5];
    let trailing = Selection {
        pre: true,
        layers: vec![2],
        head: true,
    };
    let exec = Counted::new(UnaryExecutor);
    let mut seeds = Seeds::new(None, 1);
    let e = batch_gradient(
        &model,
        &data,
        &rows,
        &trailing,
        GradientMethod::Exact,
        &exec,
        &mut seeds,
    )
    .unwrap();
    let p = batch_gradient(
        &model,
        &data,
        &rows,
        &trailing,
        GradientMethod::ParallelShift,
        &exec,
        &mut seeds,
    )
    .unwrap();
    let s = batch_gradient(
        &model,
        &data,
        &rows,
        &trailing,
        GradientMethod::Shift,
        &exec,
        &mut seeds,
    )
    .unwrap();
    assert!(max_diff(&e.grad, &p.grad) < 1e-10 && max_diff(&e.grad, &s.grad) < 1e-10);
    assert!((e.loss - p.loss).abs() < 1e-12);
    // Forward (6) + 4 per sample (parallel) / 4 · 8 angles per sample (per-parameter).
    assert_eq!((p.cost.circuits, p.gradient_cost.circuits), (6 + 24, 24));
    assert_eq!(
        (s.cost.circuits, s.gradient_cost.circuits),
        (6 + 6 * 32, 6 * 32)
    );
    assert_eq!(exec.counts().circuits, 30 + 6 + 192);
    // Gradient is zero outside the selection (layers 0 and 1 frozen).
    let l = model.layout();
    assert!(e.grad[l.layer(0).0..l.layer(1).1].iter().all(|&g| g == 0.0));
    // With shots the whole step is reproducible from the seed counter.
    let mut s1 = Seeds::new(Some(300), 9);
    let mut s2 = Seeds::new(Some(300), 9);
    let a = batch_gradient(
        &model,
        &data,
        &rows,
        &trailing,
        GradientMethod::ParallelShift,
        &exec,
        &mut s1,
    )
    .unwrap();
    let b = batch_gradient(
        &model,
        &data,
        &rows,
        &trailing,
        GradientMethod::ParallelShift,
        &exec,
        &mut s2,
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.cost.shots, 30 * 300);
}

#[test]
fn cost_table_counts_what_the_estimators_ran() {
    let table = gradient_cost_table(&[16, 32, 128], None, 1).unwrap();
    println!("{table}");
    let got: Vec<(usize, u64, u64)> = table
        .rows
        .iter()
        .map(|r| (r.qubits, r.parallel_circuits, r.per_parameter_circuits))
        .collect();
    assert_eq!(got, vec![(16, 16, 128), (32, 20, 320), (128, 28, 1792)]);
    let shots = gradient_cost_table(&[16], Some(1000), 1).unwrap();
    println!("{shots}");
    assert_eq!(
        (
            shots.rows[0].parallel_shots,
            shots.rows[0].per_parameter_shots
        ),
        (16_000, 128_000)
    );
}
