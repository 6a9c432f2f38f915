//! MPS engine benchmarks: the full coupling-first Butterfly (log2 n layers) fed by each
//! loader, at several sizes and bond caps (cutoff 0, default layout and routing), on the
//! same circuits as `bfly bench` ([`ButterflyWorkload::full`], seed 1).
//!
//! ```text
//! cargo bench --bench mps                      # the default grid (a few minutes)
//! BFLY_BENCH_FULL=1 cargo bench --bench mps    # also the multi-second configurations
//! cargo bench --bench mps -- 'butterfly/angle' # a filter, as usual with criterion
//! ```
//!
//! Groups are named `butterfly/{input}/n{n}/chi{chi}`, with inputs `unary` (tree loader),
//! `hw2`, `hw3` and `angle`. Criterion needs at least 11 runs per configuration, so the
//! configurations measured at more than ~2 s per run (single runs, 2 cores: n = 128 hw3
//! χ = 64 7 s and χ = 256 17 s, angle χ = 256 203 s; n = 64 angle χ = 256 49 s; n = 32
//! angle χ = 256 5.5 s) only run with `BFLY_BENCH_FULL=1`; the headline n = 128 angle
//! χ = 64 (~6 s) is always included.

use std::time::Duration;

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::ButterflyWorkload;
use butterfly_mps::sim::mps::{run_mps, MpsConfig, Truncation};
use criterion::{criterion_group, criterion_main, Criterion};

const SIZES: [usize; 4] = [16, 32, 64, 128];
const BONDS: [usize; 3] = [16, 64, 256];
const INPUTS: [Loader; 4] = [
    Loader::UnaryTree,
    Loader::HammingWeight(2),
    Loader::HammingWeight(3),
    Loader::Angle,
];

/// Configurations that take several seconds per run (see the module docs).
fn heavy(input: Loader, n: usize, chi: usize) -> bool {
    match input {
        Loader::Angle => chi >= 256 && n >= 32,
        Loader::HammingWeight(k) if k >= 3 => n >= 128 && chi >= 64,
        _ => false,
    }
}

fn butterfly(c: &mut Criterion) {
    let full = std::env::var("BFLY_BENCH_FULL").is_ok_and(|v| !v.is_empty() && v != "0");
    for input in INPUTS {
        for n in SIZES {
            let circuit = ButterflyWorkload::full(n, input, 1)
                .build()
                .expect("valid workload");
            let params = circuit.parameters.clone();
            for chi in BONDS {
                // No state on n qubits needs a bond above 2^(n/2).
                let largest_needed = 1usize.checked_shl((n / 2) as u32).unwrap_or(usize::MAX);
                if chi > largest_needed {
                    continue;
                }
                let name = format!("butterfly/{input}/n{n}/chi{chi}");
                if heavy(input, n, chi) && !full {
                    eprintln!("{name}: skipped (several seconds per run; set BFLY_BENCH_FULL=1)");
                    continue;
                }
                let config = MpsConfig {
                    truncation: Truncation::new(chi, 0.0).expect("valid truncation"),
                    ..Default::default()
                };
                let mut group = c.benchmark_group(&name);
                group
                    .sample_size(10)
                    .warm_up_time(Duration::from_millis(100))
                    .measurement_time(Duration::from_secs(2));
                group.bench_function("run_mps", |b| {
                    b.iter(|| run_mps(&circuit, &params, &config).expect("simulation runs"))
                });
                group.finish();
            }
        }
    }
}

criterion_group!(benches, butterfly);
criterion_main!(benches);
