//! Time the MPS engine on the full coupling-first Butterfly workloads (release build):
//!
//! ```text
//! cargo run --release --example mps_timing -- [n] [input] [chi] [ordering] [routing]
//! cargo run --release --example mps_timing -- 128 angle 64 bit-reversed move-higher
//! ```
//! `input`: unary | hw2 | hw3 | angle; `ordering`: auto | identity | bit-reversed;
//! `routing`: move-higher | move-lower-through | nearest-centre.

use std::time::Instant;

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::ButterflyWorkload;
use butterfly_mps::sim::mps::{run_mps, MpsConfig, Routing, SiteOrdering, Truncation};

fn main() -> butterfly_mps::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(Ok(128), |s| s.parse()).unwrap_or(128);
    let input: Loader = args.get(1).map_or("angle", |s| s.as_str()).parse()?;
    let chi: usize = args.get(2).map_or(Ok(64), |s| s.parse()).unwrap_or(64);
    let ordering = match args.get(3).map_or("auto", |s| s.as_str()) {
        "identity" => SiteOrdering::Identity,
        "bit-reversed" => SiteOrdering::BitReversed,
        _ => SiteOrdering::Auto,
    };
    let routing = match args.get(4).map_or("move-higher", |s| s.as_str()) {
        "move-lower-through" => Routing::MoveLowerThrough,
        "nearest-centre" => Routing::NearestCentre,
        _ => Routing::MoveHigher,
    };
    let circuit = ButterflyWorkload::full(n, input, 1).build()?;
    let params = circuit.parameters.clone();
    let config = MpsConfig {
        truncation: Truncation::new(chi, 0.0)?,
        ordering: ordering.clone(),
        routing,
    };
    let start = Instant::now();
    let state = run_mps(&circuit, &params, &config)?;
    let secs = start.elapsed().as_secs_f64();
    let r = state.report();
    println!(
        "n={n} input={input} chi={chi} ordering={ordering:?} routing={routing:?}: {secs:.3} s, \
         {} two-site updates ({} swaps), {} truncations, max bond {}, fidelity estimate {:.4e}, \
         discarded {:.3e}, real={}",
        r.two_site_updates,
        r.swaps,
        r.truncations,
        r.max_bond_reached,
        r.fidelity_estimate,
        r.total_discarded_weight,
        state.is_real()
    );
    Ok(())
}
