//! Training throughput: samples per second of one layer-wise training step (loss and
//! gradient of the trailing Butterfly layer and the head over a mini-batch), per gradient
//! mode, on the unary fast path and on the MPS engine.
//!
//! `cargo bench --bench train` — criterion reports "thrpt" in samples/s (elements/s).
//! Shift modes sample 1000 shots per circuit; the exact mode is the unary adjoint.
//! Per-parameter shift on MPS at n = 128 (256 MPS circuits of ~20 ms per sample) is left out.

use butterfly_mps::data::Dataset;
use butterfly_mps::train::executor::{Executor, MpsExecutor, UnaryExecutor};
use butterfly_mps::train::step::{batch_gradient, Seeds, Selection};
use butterfly_mps::train::teacher::{teacher_dataset, TeacherSpec};
use butterfly_mps::train::{GradientMethod, HybridModel, ModelSpec, Task};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

const SHOTS: usize = 1000;

fn setup(n: usize, batch: usize) -> (HybridModel, Dataset, Selection) {
    let layers = n.trailing_zeros() as usize;
    let (_, data) = teacher_dataset(&TeacherSpec::new(n, layers, batch, 1)).unwrap();
    let mut spec = ModelSpec::new(n, 1, n, layers, Task::Regression);
    spec.quantum_init_scale = 1.0;
    let model = HybridModel::new(&spec, 2).unwrap();
    let selection = Selection {
        pre: false,
        layers: vec![layers - 1],
        head: true,
    };
    (model, data, selection)
}

fn bench_modes(
    c: &mut Criterion,
    group_name: &str,
    executor: &dyn Executor,
    cases: &[(usize, usize, &[GradientMethod])],
) {
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for &(n, batch, methods) in cases {
        let (model, data, selection) = setup(n, batch);
        let rows: Vec<usize> = (0..batch).collect();
        group.throughput(Throughput::Elements(batch as u64));
        for &method in methods {
            let shots = method.uses_executor().then_some(SHOTS);
            group.bench_with_input(BenchmarkId::new(method.to_string(), n), &n, |b, _| {
                let mut seeds = Seeds::new(shots, 7);
                b.iter(|| {
                    batch_gradient(
                        &model, &data, &rows, &selection, method, executor, &mut seeds,
                    )
                    .unwrap()
                })
            });
        }
    }
    group.finish();
}

fn unary(c: &mut Criterion) {
    use GradientMethod::*;
    let all: &[GradientMethod] = &[Exact, Shift, ParallelShift];
    bench_modes(
        c,
        "train-step/unary",
        &UnaryExecutor,
        &[(16, 32, all), (32, 32, all), (128, 32, all)],
    );
}

fn mps(c: &mut Criterion) {
    use GradientMethod::*;
    let both: &[GradientMethod] = &[Shift, ParallelShift];
    let executor = MpsExecutor::new(8, 0.0).unwrap();
    bench_modes(
        c,
        "train-step/mps-chi8",
        &executor,
        &[(16, 4, both), (32, 4, both), (128, 4, &[ParallelShift])],
    );
}

criterion_group!(benches, unary, mps);
criterion_main!(benches);
