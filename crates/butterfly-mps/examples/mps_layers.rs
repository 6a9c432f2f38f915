//! Per-layer cost of the MPS engine on a Butterfly workload (diagnostic):
//! `cargo run --release --example mps_layers -- 128 hw3 64 [identity|bit-reversed]`.
//! Runs the loader, then each Butterfly layer, printing time, two-site updates, SWAPs
//! and bond dimensions after each part.
use std::time::Instant;

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::ButterflyWorkload;
use butterfly_mps::circuit::Circuit;
use butterfly_mps::sim::mps::{Mps, MpsConfig, SiteOrdering, Truncation};
use butterfly_mps::sim::Simulator;

fn main() -> butterfly_mps::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(128);
    let input: Loader = args.get(1).map_or("angle", |s| s.as_str()).parse()?;
    let chi: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let ordering = match args.get(3).map(|s| s.as_str()) {
        Some("identity") => SiteOrdering::Identity,
        _ => SiteOrdering::BitReversed,
    };
    let circuit = ButterflyWorkload::full(n, input, 1).build()?;
    let params = circuit.parameters.clone();
    let config = MpsConfig {
        truncation: Truncation::new(chi, 0.0)?,
        ordering,
        ..Default::default()
    };
    let mut state = Mps::new(n, &config)?;
    let butterfly_gates = (n / 2) * n.trailing_zeros() as usize;
    let loader_len = circuit.ops.len() - butterfly_gates;
    let mut parts = vec![("loader".to_string(), 0..loader_len)];
    for layer in 0..n.trailing_zeros() as usize {
        let start = loader_len + layer * n / 2;
        parts.push((format!("layer {}", layer + 1), start..start + n / 2));
    }
    let t0 = Instant::now();
    let (mut last_t, mut last_u, mut last_s) = (0.0, 0, 0);
    for (name, range) in parts {
        let mut part = Circuit::new(n);
        part.ops = circuit.ops[range].to_vec();
        state.run(&part, &params)?;
        let restored = state.restore_home_if_cheap()?;
        let t = t0.elapsed().as_secs_f64();
        let r = state.report();
        let bonds = state.bond_dimensions();
        println!(
            "{name:>8}: {:7.3} s (+{:.3}), updates +{:5}, swaps +{:5}, max bond {:3}, mean bond {:5.1}{}",
            t,
            t - last_t,
            r.two_site_updates - last_u,
            r.swaps - last_s,
            state.max_bond_dimension(),
            bonds.iter().sum::<usize>() as f64 / bonds.len() as f64,
            if restored { ", layout restored" } else { "" }
        );
        (last_t, last_u, last_s) = (t, r.two_site_updates, r.swaps);
    }
    Ok(())
}
