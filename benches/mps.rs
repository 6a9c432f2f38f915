//! MPS engine benchmarks: the full coupling-first Butterfly (log2 n layers) fed by each
//! loader, at several sizes and bond caps (cutoff 0), on the same circuits as `bfly bench`
//! ([`butterfly_workload`], seed 1).
//!
//! ```text
//! cargo bench --bench mps                      # the default grid (a few minutes)
//! BFLY_BENCH_FULL=1 cargo bench --bench mps    # also the multi-second configurations
//! cargo bench --bench mps -- 'butterfly/angle' # a filter, as usual with criterion
//! ```
//!
//! Groups are named `butterfly/{input}/n{n}/chi{chi}`. Each configuration is first run
//! once to check its cost; configurations whose single run takes longer than
//! `BFLY_BENCH_MAX_SECONDS` (default 1.5 s) are reported with that one timing and
//! skipped by criterion unless `BFLY_BENCH_FULL=1`, so the default run stays short.

use std::time::{Duration, Instant};

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::sim::mps::{butterfly_workload, run_mps, MpsConfig, Truncation};
use criterion::{criterion_group, criterion_main, Criterion};

const SIZES: [usize; 4] = [16, 32, 64, 128];
const BONDS: [usize; 3] = [16, 64, 256];
const INPUTS: [Loader; 4] = [
    Loader::UnaryTree,
    Loader::HammingWeight(2),
    Loader::HammingWeight(3),
    Loader::Angle,
];

fn butterfly(c: &mut Criterion) {
    let full = std::env::var("BFLY_BENCH_FULL").is_ok_and(|v| v != "0");
    let max_seconds: f64 = std::env::var("BFLY_BENCH_MAX_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.5);
    for input in INPUTS {
        for n in SIZES {
            let (circuit, params) = butterfly_workload(n, input, 1).expect("valid workload");
            for chi in BONDS {
                let largest_needed = 1usize.checked_shl((n / 2) as u32).unwrap_or(usize::MAX);
                if chi > largest_needed {
                    continue; // no state on n qubits needs a larger bond
                }
                let config = MpsConfig {
                    truncation: Truncation::new(chi, 0.0).expect("valid truncation"),
                    ..Default::default()
                };
                let name = format!("butterfly/{input}/n{n}/chi{chi}");
                let start = Instant::now();
                let state = run_mps(&circuit, &params, &config).expect("simulation runs");
                let once = start.elapsed().as_secs_f64();
                let report = state.report();
                eprintln!(
                    "{name}: single run {once:.3} s, {} two-site updates ({} SWAPs), max bond {}, fidelity estimate {:.4e}",
                    report.two_site_updates,
                    report.swaps,
                    report.max_bond_reached,
                    report.fidelity_estimate
                );
                if once > max_seconds && !full {
                    eprintln!("{name}: skipped by criterion (set BFLY_BENCH_FULL=1 to include)");
                    continue;
                }
                let mut group = c.benchmark_group(&name);
                group
                    .sample_size(10)
                    .warm_up_time(Duration::from_millis(100))
                    .measurement_time(Duration::from_secs_f64((10.0 * once).clamp(0.5, 60.0)));
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
