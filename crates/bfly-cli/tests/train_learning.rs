//! Learning checks on data from a hidden random 16-qubit Butterfly (the teacher).

use butterfly_mps::data::Dataset;
use butterfly_mps::train::executor::{ShotPlan, UnaryExecutor};
use butterfly_mps::train::noise_floor::shot_noise_floor;
use butterfly_mps::train::step::measured_loss;
use butterfly_mps::train::teacher::{teacher_dataset, TeacherSpec};
use butterfly_mps::train::{
    ClassicalTraining, EpochRecord, GradientMethod, Optimizer, PreInit, RunControl, Task,
    TrainConfig, TrainEvent, Trainer,
};
use std::time::Instant;

fn student(gradient: GradientMethod) -> TrainConfig {
    let mut c = TrainConfig::new(16, 4, Task::Regression);
    c.gradient = gradient;
    c.pre_init = PreInit::Identity;
    c.schedule.pre = ClassicalTraining::Alongside;
    c.standardize = false; // losses in the teacher's units
    c.validation_fraction = 0.25;
    c.seed = 1;
    c
}

fn train(config: TrainConfig, data: &Dataset, every: usize) -> (Trainer, Vec<EpochRecord>) {
    let mut trainer = Trainer::new(config, data).unwrap();
    let mut curve = Vec::new();
    trainer
        .run(&RunControl::default(), &mut |e| {
            if let TrainEvent::Epoch(r) = e {
                if r.phase_epoch % every == 0 || r.phase_done || r.epoch == 1 {
                    curve.push((*r).clone());
                }
            }
        })
        .unwrap();
    (trainer, curve)
}

#[test]
fn teacher_is_learned_to_mse_below_1e_6_with_exact_gradients() {
    let (_, data) = teacher_dataset(&TeacherSpec::new(16, 4, 2048, 11)).unwrap();
    let mut c = student(GradientMethod::Exact);
    c.batch_size = 64;
    c.schedule.epochs_per_stage = 50;
    c.schedule.finetune_epochs = 600;
    c.optimizer = Optimizer::adam(0.02);
    c.lr_decay = 0.993;
    let t0 = Instant::now();
    let (trainer, curve) = train(c, &data, 50);
    let seconds = t0.elapsed().as_secs_f64();
    println!("learning curve, exact gradients, 16 qubits, teacher = random 4-layer Butterfly (1536 train / 512 validation rows)");
    println!(
        "{:>6} {:>9} {:>14} {:>14}",
        "epoch", "phase", "train MSE", "val MSE"
    );
    for r in &curve {
        println!(
            "{:>6} {:>9} {:>14.3e} {:>14.3e}",
            r.epoch,
            r.phase.to_string(),
            r.train_loss_exact,
            r.val_loss_exact.unwrap()
        );
    }
    let last = trainer.history().last().unwrap();
    println!(
        "final: train MSE {:.3e}, validation MSE {:.3e} after {} epochs in {seconds:.1} s ({} exact passes)",
        last.train_loss_exact,
        last.val_loss_exact.unwrap(),
        last.epoch,
        last.counters.simulations
    );
    let report = trainer.report();
    assert!(report.final_train_loss_exact.unwrap() < 1e-6, "{report}");
    assert!(report.final_val_loss_exact.unwrap() < 1e-6, "{report}");
    assert_eq!(trainer.model().layers, 4);
}

#[test]
fn butterfly_alone_learns_but_meets_local_minima() {
    // The same teacher with the pre-layer frozen at the identity: only the Butterfly and
    // the head learn. Reported for honesty: it improves a lot but stalls in local minima.
    let (_, data) = teacher_dataset(&TeacherSpec::new(16, 4, 512, 11)).unwrap();
    let mut c = student(GradientMethod::Exact);
    c.schedule.pre = ClassicalTraining::Frozen;
    c.batch_size = 64;
    c.schedule.layerwise = false;
    c.schedule.epochs_per_stage = 600;
    c.quantum_init_scale = std::f64::consts::PI;
    c.optimizer = Optimizer::adam(0.02);
    c.lr_decay = 0.993;
    let (trainer, _) = train(c, &data, 100);
    let h = trainer.history();
    let (first, last) = (&h[0], h.last().unwrap());
    println!(
        "Butterfly + head only (pre-layer frozen): val MSE {:.3e} after epoch 1 → {:.3e} after {} epochs",
        first.val_loss_exact.unwrap(),
        last.val_loss_exact.unwrap(),
        last.epoch
    );
    assert!(last.val_loss_exact.unwrap() < first.val_loss_exact.unwrap() / 5.0);
    // The pre-layer really stayed put.
    let w = &trainer.model().pre.weights;
    assert!((0..16).all(|i| (0..16).all(|j| w[i * 16 + j] == f64::from(i == j))));
}

#[test]
fn parallel_shift_with_1000_shots_reaches_the_shot_noise_floor() {
    let (teacher, data) = teacher_dataset(&TeacherSpec::new(16, 4, 2048, 11)).unwrap();
    let shots = 1000;
    let mut c = student(GradientMethod::ParallelShift);
    c.shots = Some(shots);
    c.batch_size = 64;
    c.schedule.pretrain_epochs = 5;
    c.schedule.epochs_per_stage = 12;
    c.optimizer = Optimizer::adam(0.02);
    c.lr_decay = 0.9;
    let t0 = Instant::now();
    let (trainer, curve) = train(c, &data, 1);
    let seconds = t0.elapsed().as_secs_f64();
    let val = trainer.validation_data();
    let rows: Vec<usize> = (0..val.len()).collect();
    let floor = shot_noise_floor(trainer.model(), val, &rows, shots).unwrap();

    // The floor formula, checked against the teacher itself: a perfect model measured with
    // 1000 shots has an MSE equal to the floor on average.
    let teacher_floor = shot_noise_floor(&teacher, val, &rows, shots).unwrap();
    let measured: f64 = (0..8)
        .map(|s| {
            measured_loss(
                &teacher,
                val,
                &rows,
                &UnaryExecutor,
                &ShotPlan::with_shots(shots, s, 0),
            )
            .unwrap()
            .0
        })
        .sum::<f64>()
        / 8.0;
    println!(
        "shot-noise floor check on the teacher: formula {teacher_floor:.3e}, measured MSE of the exact teacher with {shots} shots {measured:.3e}"
    );
    assert!((measured / teacher_floor - 1.0).abs() < 0.2);

    println!("learning curve, parallel shift (stages) with {shots} shots per circuit, 16 qubits; losses as measured with shots, plus exact");
    println!(
        "{:>6} {:>9} {:>15} {:>14} {:>14} {:>10} {:>11}",
        "epoch", "phase", "method", "train (shots)", "val (shots)", "val exact", "circuits"
    );
    for r in &curve {
        println!(
            "{:>6} {:>9} {:>15} {:>14.3e} {:>14.3e} {:>10.3e} {:>11}",
            r.epoch,
            r.phase.to_string(),
            r.method.to_string(),
            r.train_loss,
            r.val_loss.unwrap(),
            r.val_loss_exact.unwrap(),
            r.counters.circuits
        );
    }
    let last = trainer.history().last().unwrap();
    let final_val = last.val_loss.unwrap();
    println!(
        "shot-noise floor of the final model on the validation rows: {floor:.3e}; final measured validation MSE {final_val:.3e} = {:.1} × floor (exact {:.3e}); {} circuits, {} shots ({} gradient circuits) in {seconds:.1} s",
        final_val / floor,
        last.val_loss_exact.unwrap(),
        last.counters.circuits,
        last.counters.shots,
        last.counters.gradient_circuits
    );
    assert!(
        final_val <= 10.0 * floor,
        "measured {final_val:.3e} vs floor {floor:.3e}"
    );
    // Every stage ran on the parallel shift: 4 gradient circuits per training row per epoch.
    let stage_epochs = trainer
        .history()
        .iter()
        .filter(|r| r.method == GradientMethod::ParallelShift)
        .count() as u64;
    assert_eq!(
        last.counters.gradient_circuits,
        stage_epochs * 4 * trainer.train_data().len() as u64
    );
    assert_eq!(
        last.counters.gradient_shots,
        last.counters.gradient_circuits * shots as u64
    );
}

#[test]
fn classification_with_cross_entropy_learns_a_teacher_threshold() {
    let (_, data) = teacher_dataset(&TeacherSpec::new(16, 4, 1024, 5)).unwrap();
    let mut ys: Vec<f64> = data.targets.iter().map(|t| t[0]).collect();
    ys.sort_by(f64::total_cmp);
    let median = ys[ys.len() / 2];
    let labels = data
        .targets
        .iter()
        .map(|t| vec![f64::from(t[0] > median)])
        .collect();
    let data = Dataset::new(
        data.feature_names.clone(),
        vec!["label".into()],
        data.features.clone(),
        labels,
    )
    .unwrap();
    // Chance is 0.5 (a median split). Validation accuracy over training seeds 1–8,
    // measured: 0.78–0.92 (mean 0.85) with rand_distr's normal draws, 0.82–0.93 (mean 0.88)
    // with the former Box–Muller draws; the first three seeds are checked.
    let mut accuracies = Vec::new();
    for seed in 1..=3 {
        let mut c = TrainConfig::new(16, 4, Task::Classification);
        c.schedule.epochs_per_stage = 10;
        c.schedule.finetune_epochs = 60;
        c.optimizer = Optimizer::adam(0.02);
        c.seed = seed;
        let mut trainer = Trainer::new(c, &data).unwrap();
        trainer.run(&RunControl::default(), &mut |_| {}).unwrap();
        let val = trainer.validation_data();
        let correct = val
            .features
            .iter()
            .zip(&val.targets)
            .filter(|(x, t)| (trainer.model().predict(x).unwrap()[0] > 0.5) == (t[0] > 0.5))
            .count();
        let acc = correct as f64 / val.len() as f64;
        let h = trainer.history();
        let (first, last) = (
            h[0].val_loss_exact.unwrap(),
            h.last().unwrap().val_loss_exact.unwrap(),
        );
        println!(
            "classification (BCE), seed {seed}: val loss {first:.3} → {last:.3}, validation accuracy {:.1} %",
            100.0 * acc
        );
        assert!(last < first, "seed {seed}: val loss {first} → {last}");
        assert!(acc > 0.75, "seed {seed}: accuracy {acc}");
        accuracies.push(acc);
    }
    let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
    assert!(mean > 0.8, "mean accuracy {mean} ({accuracies:?})");
}

#[test]
fn only_stages_from_the_configured_one_run_circuits_on_the_executor() {
    // The paper's hardware recipe: earlier layers exact in simulation, the last layer by
    // parallel shift with shots on the executor.
    let (_, data) = teacher_dataset(&TeacherSpec::new(8, 3, 128, 5)).unwrap();
    let mut c = TrainConfig::new(8, 3, Task::Regression);
    c.gradient = GradientMethod::ParallelShift;
    c.shots = Some(200);
    c.schedule.epochs_per_stage = 2;
    c.schedule.configured_method_from_stage = Some(3);
    c.seed = 3;
    let (trainer, curve) = train(c.clone(), &data, 1);
    for r in &curve {
        match r.phase {
            butterfly_mps::train::Phase::Stage(s) if s < 3 => {
                assert_eq!(r.method, GradientMethod::Exact, "{r:?}");
                assert_eq!(
                    r.counters.gradient_circuits, 0,
                    "stage {s} used the executor"
                );
            }
            _ => assert_eq!(r.method, GradientMethod::ParallelShift),
        }
    }
    let last = curve.last().unwrap();
    assert!(last.counters.gradient_circuits > 0 && last.counters.gradient_shots > 0);
    assert!(trainer.executor_counts().circuits > 0);

    // Out-of-range stages and joint training are refused with a typed error.
    for (first, layerwise) in [(0, true), (4, true), (2, false)] {
        let mut bad = c.clone();
        bad.schedule.configured_method_from_stage = Some(first);
        bad.schedule.layerwise = layerwise;
        let err = Trainer::new(bad, &data).err().expect("refused").to_string();
        assert!(err.contains("first stage on the executor"), "{err}");
    }
}
