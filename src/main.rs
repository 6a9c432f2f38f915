//! `bfly`: the command line of butterfly-mps. Thin: it parses arguments and calls the
//! library; every number it prints comes back from library calls as data.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Butterfly quantum neural networks: exact and MPS simulation, training, IonQ export.
#[derive(Parser)]
#[command(name = "bfly", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a Butterfly circuit (loader + RBS layers) with seeded random data and angles.
    Butterfly(cli::butterfly::Args),
    /// Simulate a circuit file and print marginals, samples and timings.
    Simulate(cli::simulate::Args),
    /// Run the end-to-end demonstration on embedded defaults.
    Demo(cli::demo::Args),
    /// Train a hybrid Butterfly model on a CSV table (layer-wise; exact, shift or
    /// parallel-shift gradients).
    Train(Box<cli::train::Args>),
    /// Time the standard workloads (medians over repeats).
    #[command(subcommand)]
    Bench(cli::bench::Target),
    /// Studies: the clinical imputation study (classical vs hybrid Butterfly imputers).
    #[command(subcommand)]
    Study(cli::study::Study),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Butterfly(args) => cli::butterfly::run(args),
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Bench(target) => cli::bench::run(target),
        Command::Train(args) => cli::train::run(*args),
        Command::Study(study) => cli::study::run(study),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
