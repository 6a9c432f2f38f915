//! Subcommands of `bfly`, one module each.

pub mod bench;
pub mod butterfly;
pub mod compile;
pub mod demo;
pub mod engine_arg;
pub mod executor;
pub mod infer;
pub mod ionq;
pub mod noisy;
pub mod progress;
pub mod simulate;
pub mod study;
pub mod sweep;
pub mod train;
pub mod validate;

use butterfly_mps::Result;
use serde::Serialize;
use std::fmt::Display;

/// Refuse, before any work, outputs that name an input or each other, or that cannot be
/// created where they are asked for (`(option, path)` pairs; absent options are skipped):
/// see `io::check_outputs_spare_inputs` and `io::check_output_file`.
pub fn guard_outputs(
    inputs: &[(&str, Option<&std::path::Path>)],
    outputs: &[(&str, Option<&std::path::Path>)],
) -> Result<()> {
    fn given<'a>(
        paths: &[(&'a str, Option<&'a std::path::Path>)],
    ) -> Vec<(&'a str, &'a std::path::Path)> {
        paths
            .iter()
            .filter_map(|&(role, path)| path.map(|p| (role, p)))
            .collect()
    }
    let outputs = given(outputs);
    butterfly_mps::io::check_outputs_spare_inputs(&given(inputs), &outputs)?;
    for (role, path) in outputs {
        butterfly_mps::io::check_output_file(role, path)?;
    }
    Ok(())
}

/// Print `value` as one JSON document (`--json`) or as its readable summary.
pub fn emit<T: Serialize + Display>(value: &T, json: bool) -> Result<()> {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(value).expect("reports always serialise")
        );
    } else {
        outln!("{value}");
    }
    Ok(())
}
