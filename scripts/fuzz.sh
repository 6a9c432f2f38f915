#!/usr/bin/env bash
# Fuzz the loaders of untrusted files with libFuzzer (cargo-fuzz), issue 20:
#
#   circuit_json   circuit and parameter JSON (Circuit::from_json / Circuit::load)
#   csv_table      CSV tables (Table::parse, TypedTable::parse)
#   ionq_job_body  IonQ job bodies (JobSpec::from_body, as the emulator runs it) and the
#                  client's parsers of job and result answers
#   checkpoint     training checkpoints and model files (Checkpoint / HybridModel::from_json)
#   state_file     MPS state files, .npz (Mps::load_bytes / U1Mps::load_bytes)
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 30 s, every target)
#
# Each target starts from its committed seed corpus (fuzz/corpus/<target>, read only) and
# keeps what it learns in fuzz/target/corpus/<target> (not committed). Any panic, abort,
# hang (> FUZZ_TIMEOUT s on one input, default 10) or use of more than FUZZ_RSS_MB of
# memory (default 2048) fails the script; libFuzzer writes the input to
# fuzz/artifacts/<target>/, and `cargo fuzz run <target> <that file>` replays it.
#
# The machine's toolchain is stable Rust; cargo-fuzz passes nightly-only flags
# (-Zsanitizer=address, the sanitizer-coverage passes), which stable rustc accepts with
# RUSTC_BOOTSTRAP=1. The script installs the pinned cargo-fuzz from crates.io if missing
# (`cargo install --locked`, about a minute); libFuzzer itself is built from the
# libfuzzer-sys crate's C++ sources (g++, already on the machine). Nothing else is
# installed. The first build takes some 8 minutes on 2 cores (every dependency is built
# with AddressSanitizer and coverage instrumentation into fuzz/target); later builds are
# incremental. FUZZ_SANITIZER=none builds without AddressSanitizer (about a third less
# compile time, and faster runs; overflow checks and debug assertions stay on).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUSTC_BOOTSTRAP=1

CARGO_FUZZ_VERSION=0.13.1
ALL_TARGETS=(circuit_json csv_table ionq_job_body checkpoint state_file)

seconds="${1:-30}"
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]   (seconds: a positive integer)" >&2
    exit 2
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${ALL_TARGETS[@]}"); fi
for t in "${targets[@]}"; do
    if [[ ! " ${ALL_TARGETS[*]} " =~ " $t " ]]; then
        echo "unknown fuzz target '$t' (targets: ${ALL_TARGETS[*]})" >&2
        exit 2
    fi
done
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
sanitizer="${FUZZ_SANITIZER:-address}"

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

echo "== building the fuzz targets (release, debug assertions, sanitizer: $sanitizer)"
build_start=$SECONDS
cargo fuzz build -O --debug-assertions --sanitizer "$sanitizer"
echo "built in $((SECONDS - build_start)) s"

summary=()
failed=()
for t in "${targets[@]}"; do
    echo "== fuzzing $t for $seconds s"
    work="fuzz/target/corpus/$t"
    log="fuzz/target/fuzz-$t.log"
    mkdir -p "$work" "fuzz/artifacts/$t"
    status=0
    # -timeout: one input running longer is a hang; -rss_limit_mb / -malloc_limit_mb: an
    # input using more memory (or asking for a larger single allocation) is a failure.
    cargo fuzz run -O --debug-assertions --sanitizer "$sanitizer" "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -malloc_limit_mb="$rss_mb" -dict="fuzz/dict/$t.dict" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    # (A crashed run prints no DONE line: these may find nothing.)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1 || true)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1 || true)
    cov=$(grep -o 'DONE *cov: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
    if [[ $status -eq 0 ]]; then
        summary+=("$t: ${runs:-?} runs (${rate:-?}/s), coverage ${cov:-?} edges, 0 crashes")
    else
        failed+=("$t")
        summary+=("$t: FAILED (exit $status) after ${runs:-?} runs; see $log and fuzz/artifacts/$t/")
        # The failure report: the panic message, libFuzzer's or the sanitizer's verdict and
        # the input (its file, and in base64 for CI logs, where the file is not kept).
        {
            echo "-- $t failed:"
            grep -E -A 2 "panicked at" "$log" | head -n 6 || true
            grep -E "ERROR: |SUMMARY: |Test unit written|^Base64: " "$log" | cut -c 1-2000 || true
            echo "replay: RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a -s $sanitizer $t fuzz/artifacts/$t/<file>"
        } >&2
    fi
done

echo
echo "== fuzz summary ($seconds s per target)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzzing found failures in: ${failed[*]}" >&2
    exit 1
fi
