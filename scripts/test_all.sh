#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this script).
#
# 1. style guards: rustfmt, clippy (all targets, warnings are errors), rustdoc (warnings
#    are errors; the library crates #![warn(missing_docs)]);
# 2. the crate graph: the engines crate must not pull HTTP, plotting, CLI or progress-bar
#    crates, and bfly-ionq builds without its optional `client`/`emulator` features;
# 3. every Rust test of the workspace in release mode, the slow tier included
#    (`#[ignore = "slow tier…"]`: the full demo, 128-qubit dense runs, child-process
#    sweeps). Locally, `cargo test --release` skips the slow tier.
# 4. the loaders fuzzed with cargo-fuzz (libFuzzer, AddressSanitizer), 30 s per target
#    (scripts/fuzz.sh installs the pinned cargo-fuzz; its cold build is ~10 min).
#
# Release mode on purpose: faer's generic linear algebra is ~150x slower in a debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)

step "clippy (all targets, -D warnings)"
cargo clippy --workspace --release --all-targets -- -D warnings

step "rustdoc (-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --release

step "crate graph: the engines depend on no HTTP, plotting, CLI or progress-bar crate"
forbidden='^(reqwest|hyper|tokio|plotters|clap|indicatif) '
if cargo tree -p bfly-sim -e normal --prefix none | grep -E "$forbidden"; then
    echo "bfly-sim pulls a forbidden crate (above)" >&2
    exit 1
fi
echo "ok: bfly-sim has none of reqwest, hyper, tokio, plotters, clap, indicatif"
# Only the CLI draws progress bars or parses arguments: every library crate reports into
# bfly_core::progress::Progress.
for crate in bfly-core bfly-exec bfly-noise bfly-ionq bfly-train bfly-studies butterfly-mps; do
    if cargo tree -p "$crate" -e normal --prefix none | grep -E '^(clap|indicatif) '; then
        echo "$crate pulls a CLI or progress-bar crate (above)" >&2
        exit 1
    fi
done
echo "ok: no library crate has clap or indicatif"

step "optional features: bfly-ionq without client/emulator, with client only"
cargo check --release -p bfly-ionq --no-default-features
cargo check --release -p bfly-ionq --no-default-features --features client

step "tests (release, slow tier included)"
cargo test --workspace --release -- --include-ignored

step "fuzz the loaders (cargo-fuzz, 30 s per target)"
bash scripts/fuzz.sh 30
