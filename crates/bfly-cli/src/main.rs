//! `bfly`: the command line of butterfly-mps. Thin: it parses arguments and calls the
//! library; every number it prints comes back from library calls as data.

/// `println!` for the CLI's standard output: see [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for the CLI's standard output: see [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

mod cli;

/// Write to standard output. If the reader has gone (`bfly … | head`: a broken pipe), the
/// process ends quietly with status 0, as `cat` or `grep` would (std's `println!` panics
/// there); any other write error ends it with a message and status 1. Files the command
/// writes are written atomically, so stopping here loses none of them.
fn write_stdout(text: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

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
    /// Run a trained model on a CSV table through an executor (local simulators, a noise
    /// model, the IonQ emulator or IonQ) and print metrics against targets and exact
    /// simulation.
    Infer(Box<cli::infer::Args>),
    /// Simulate a circuit under a noise model (aria-1, aria-2, forte-1, custom rates) and
    /// compare with the ideal run: TVD, marginal error, post-selection kept fraction.
    Noisy(Box<cli::noisy::Args>),
    /// Time the standard workloads (medians over repeats).
    #[command(subcommand)]
    Bench(cli::bench::Target),
    /// IonQ cloud API: submit, status, results, cancel, backends, export a job body.
    #[command(subcommand)]
    Ionq(cli::ionq::Command),
    /// Run the local IonQ-compatible API emulator in the foreground (offline stand-in for
    /// IonQ's cloud, not a model of hardware).
    IonqEmulator(cli::ionq::EmulatorArgs),
    /// Compile a circuit to IonQ natives (aria: MS + GPi/GPi2, forte: ZZ + GPi/GPi2) or
    /// the QIS gate set; write circuit JSON / OpenQASM 2.0 and print counts and depth.
    Compile(cli::compile::Args),
    /// Check compiled circuits (or a trained model's, on random inputs) against their
    /// source by exact simulation: state fidelity and total variation distance.
    Validate(Box<cli::validate::Args>),
    /// Accuracy-vs-bond-dimension and scaling studies (resumable; CSV, JSON and plots).
    #[command(subcommand)]
    Sweep(cli::sweep::Target),
    /// Studies: the clinical imputation study (classical vs hybrid Butterfly imputers).
    #[command(subcommand)]
    Study(cli::study::Study),
}

/// Ctrl-C (SIGINT, and SIGTERM): delete the temporaries of atomic writes in progress, so an
/// interrupted save leaves the previous file as it was and no `.name.XXXX.tmp` beside it,
/// then end with the shell's status for an interrupt, 130. Files already written are whole
/// (every save is a rename), so nothing else needs undoing; `--resume` continues from the
/// last checkpoint.
fn install_interrupt_handler() {
    let installed = ctrlc::set_handler(|| {
        let removed = butterfly_mps::io::remove_unfinished_temporaries();
        if removed > 0 {
            eprintln!("interrupted: removed {removed} unfinished temporary file(s)");
        } else {
            eprintln!("interrupted");
        }
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot install the Ctrl-C handler ({e}); an interrupt may leave temporary files");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_interrupt_handler();
    let result = match cli.command {
        Command::Butterfly(args) => cli::butterfly::run(args),
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Bench(target) => cli::bench::run(target),
        Command::Train(args) => cli::train::run(*args),
        Command::Infer(args) => cli::infer::run(*args),
        Command::Noisy(args) => cli::noisy::run(*args),
        Command::Ionq(command) => cli::ionq::run(command),
        Command::IonqEmulator(args) => cli::ionq::run_emulator(args),
        Command::Compile(args) => cli::compile::run(args),
        Command::Validate(args) => cli::validate::run(*args),
        Command::Sweep(target) => cli::sweep::run(target),
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
