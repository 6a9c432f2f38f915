//! Accuracy against time of the dense and U(1) MPS engines on one Butterfly workload:
//! every run's largest marginal error against a reference run.
//!
//! ```text
//! cargo run --release --example mps_u1_accuracy -- <n> <input> <dense χs> <u1 χs> <reference>
//! cargo run --release --example mps_u1_accuracy -- 128 angle 64 64,128,256 u1:1024
//! ```
//! `reference` is `exact`, `u1:CHI` or `dense:CHI` (see `bfly bench mps --reference`).

use std::time::Instant;

use butterfly_mps::bench::{reference_marginals, MarginalReference};
use butterfly_mps::circuit::ButterflyWorkload;
use butterfly_mps::sim::mps::u1::run_mps_u1;
use butterfly_mps::sim::{run_mps, MpsConfig, Simulator};

fn list(s: &str) -> Vec<usize> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().expect("a number"))
        .collect()
}

fn main() -> butterfly_mps::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(128, |s| s.parse().expect("n"));
    let input = args.get(2).map_or("angle", |s| s.as_str()).parse()?;
    let dense_chis = list(args.get(3).map_or("64", |s| s.as_str()));
    let u1_chis = list(args.get(4).map_or("64", |s| s.as_str()));
    let reference = match args.get(5).map_or("exact", |s| s.as_str()) {
        "exact" => MarginalReference::Exact,
        s => {
            let (kind, chi) = s.split_once(':').expect("u1:CHI or dense:CHI");
            let chi = chi.parse().expect("χ");
            if kind == "u1" {
                MarginalReference::U1Chi(chi)
            } else {
                MarginalReference::DenseChi(chi)
            }
        }
    };
    let circuit = ButterflyWorkload::full(n, input, 1).build()?;
    let t = Instant::now();
    let p_ref = reference_marginals(&circuit, reference)?;
    println!(
        "reference {reference:?}: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let err = |p: &[f64]| {
        p.iter()
            .zip(&p_ref)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    };
    for &chi in &dense_chis {
        let t = Instant::now();
        let s = run_mps(&circuit, &circuit.parameters, &MpsConfig::new(chi, 0.0)?)?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "dense χ={chi}: {secs:.2} s, max |ΔP| {:.2e}, fidelity est. {:.3e}, state {} B",
            err(&s.marginals()),
            s.report().fidelity_estimate,
            s.tensor_bytes()
        );
    }
    for &chi in &u1_chis {
        let t = Instant::now();
        let s = run_mps_u1(&circuit, &circuit.parameters, &MpsConfig::new(chi, 0.0)?)?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "u1 χ={chi}: {secs:.2} s, max |ΔP| {:.2e}, fidelity est. {:.3e}, state {} B",
            err(&s.marginals()),
            s.report().fidelity_estimate,
            s.tensor_bytes()
        );
    }
    Ok(())
}
