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

/// Print `value` as one JSON document (`--json`) or as its readable summary.
pub fn emit<T: Serialize + Display>(value: &T, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("reports always serialise")
        );
    } else {
        println!("{value}");
    }
    Ok(())
}
