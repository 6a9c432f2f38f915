//! Kill-and-resume: a run stopped after any epoch and resumed from its checkpoint ends
//! bit-identical to an uninterrupted run with the same seed.

use butterfly_mps::data::Dataset;
use butterfly_mps::train::teacher::{teacher_dataset, TeacherSpec};
use butterfly_mps::train::{
    Checkpoint, GradientMethod, Optimizer, RunControl, RunOutcome, Task, TrainConfig, Trainer,
};
use butterfly_mps::Error;
use std::path::Path;

fn config(method: GradientMethod, shots: Option<usize>) -> TrainConfig {
    let mut c = TrainConfig::new(8, 3, Task::Regression);
    c.gradient = method;
    c.shots = shots;
    c.batch_size = 16;
    c.schedule.pretrain_epochs = 2;
    c.schedule.epochs_per_stage = 10;
    c.schedule.finetune_epochs = 10;
    c.patience = Some(2);
    c.lr_decay = 0.95;
    c.optimizer = Optimizer::adam(0.05);
    c.seed = 17;
    c
}

fn data() -> Dataset {
    teacher_dataset(&TeacherSpec::new(8, 3, 96, 4)).unwrap().1
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn uninterrupted(c: &TrainConfig, data: &Dataset, path: &Path) -> Trainer {
    let mut t = Trainer::new(c.clone(), data).unwrap();
    let control = RunControl {
        checkpoint: Some(path.to_path_buf()),
        stop_after_epochs: None,
    };
    assert_eq!(t.run(&control, &mut |_| {}).unwrap(), RunOutcome::Finished);
    t
}

fn killed_then_resumed(c: &TrainConfig, data: &Dataset, path: &Path, k: usize) -> Trainer {
    let mut first = Trainer::new(c.clone(), data).unwrap();
    let stop = RunControl {
        checkpoint: Some(path.to_path_buf()),
        stop_after_epochs: Some(k),
    };
    assert_eq!(first.run(&stop, &mut |_| {}).unwrap(), RunOutcome::Stopped);
    drop(first); // the process is gone; only the file remains
    let saved = Checkpoint::load(path).unwrap();
    assert_eq!(saved.state.epoch, k);
    let mut resumed = Trainer::resume(c.clone(), data, &saved).unwrap();
    let go_on = RunControl {
        checkpoint: Some(path.to_path_buf()),
        stop_after_epochs: None,
    };
    assert_eq!(
        resumed.run(&go_on, &mut |_| {}).unwrap(),
        RunOutcome::Finished
    );
    resumed
}

#[test]
fn killed_runs_resume_bit_identically() {
    let data = data();
    let dir = tempfile::tempdir().unwrap();
    for (method, shots) in [
        (GradientMethod::Exact, None),
        (GradientMethod::ParallelShift, Some(200)),
        (GradientMethod::Shift, Some(50)),
    ] {
        let c = config(method, shots);
        let full = uninterrupted(&c, &data, &dir.path().join("full.json"));
        let total = full.state().epoch;
        let phases: Vec<String> = full.history().iter().map(|r| r.phase.to_string()).collect();
        // Kill after the first epoch, in the middle of a stage, at the end of a phase
        // (possibly an early stop), and one epoch before the end.
        let boundary = full.history().iter().position(|r| r.phase_done).unwrap() + 1;
        for k in [1, boundary, boundary + 2, total - 1] {
            let path = dir.path().join(format!("{method}-{k}.json"));
            let resumed = killed_then_resumed(&c, &data, &path, k);
            assert_eq!(
                bits(&resumed.model().params()),
                bits(&full.model().params()),
                "{method}: killed after epoch {k} of {total}"
            );
            assert_eq!(resumed.state(), full.state(), "{method}, k = {k}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                std::fs::read_to_string(dir.path().join("full.json")).unwrap(),
                "final checkpoints are byte-identical"
            );
        }
        let max = c.schedule.total_epochs(c.layers);
        assert!(
            total < max,
            "{method}: early stopping should end some phase ({total} of {max} epochs)"
        );
        let early = full.history().iter().filter(|r| r.phase_done).count();
        println!(
            "{method:>14} ({}): {total} of at most {max} epochs (early stopping) over phases {:?}; {early} phase ends; resumed after epochs 1, {boundary}, {}, {}: final parameters bit-identical; {} circuits, {} shots",
            shots.map_or("exact".into(), |s| format!("{s} shots")),
            phases.iter().fold(Vec::<&String>::new(), |mut v, p| { if v.last() != Some(&p) { v.push(p) } v }),
            boundary + 2,
            total - 1,
            full.state().counters.circuits,
            full.state().counters.shots,
        );
        assert_eq!(full.model().layers, 3);
    }
}

#[test]
fn resume_refuses_other_settings_other_data_and_damaged_files() {
    let data = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.json");
    let c = config(GradientMethod::ParallelShift, Some(100));
    let mut t = Trainer::new(c.clone(), &data).unwrap();
    let control = RunControl {
        checkpoint: Some(path.clone()),
        stop_after_epochs: Some(3),
    };
    t.run(&control, &mut |_| {}).unwrap();
    let saved = Checkpoint::load(&path).unwrap();

    let mut other = c.clone();
    other.optimizer = Optimizer::adam(0.1);
    let err = Trainer::resume(other, &data, &saved)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("optimizer") && err.contains("0.1"), "{err}");

    let mut fewer = data.clone();
    fewer.features.pop();
    fewer.targets.pop();
    let err = Trainer::resume(c.clone(), &fewer, &saved)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("different data"), "{err}");

    // Truncated file (as if written by something else than the atomic writer).
    let text = std::fs::read_to_string(&path).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let err = Checkpoint::load(&cut).unwrap_err();
    assert!(matches!(err, Error::CorruptFile { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    // A future version.
    let future = dir.path().join("future.json");
    std::fs::write(
        &future,
        text.replace("\"format_version\":1", "\"format_version\":9"),
    )
    .unwrap();
    let err = Checkpoint::load(&future).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsupportedFileVersion {
                found: 9,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    // A model file is not a checkpoint.
    let model = dir.path().join("model.json");
    t.model().save(&model).unwrap();
    let err = Checkpoint::load(&model).unwrap_err().to_string();
    assert!(err.contains("not a training checkpoint"), "{err}");
}

#[test]
fn a_finished_run_resumes_to_itself() {
    let data = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.json");
    let c = config(GradientMethod::Exact, None);
    let full = uninterrupted(&c, &data, &path);
    let mut again = Trainer::resume(c, &data, &Checkpoint::load(&path).unwrap()).unwrap();
    assert_eq!(
        again.run(&RunControl::default(), &mut |_| {}).unwrap(),
        RunOutcome::Finished
    );
    assert_eq!(again.state(), full.state());
}
