#!/usr/bin/env python3
"""Peer comparison of the butterfly-mps MPS engine (`bfly`) against qiskit-aer and quimb.

The three engines simulate the very same circuits: `bfly butterfly` writes each circuit as
JSON, this script translates that JSON to a qiskit `QuantumCircuit` (run by qiskit-aer's
`matrix_product_state` method) and to a quimb `CircuitMPS`, and runs `bfly simulate
--backend mps` on the file itself. All engines get the same bond dimension chi, no
truncation threshold (bfly cutoff 0; aer and quimb 1e-16, i.e. round-off only), identity
qubit ordering and the same thread count.

Usage (from the repository root; any python3 works, the script re-executes itself inside
scripts/.venv, creating it with scripts/setup_peers.sh when needed):

    python3 scripts/peer_compare.py --self-check     # verify the translations (~30 s)
    python3 scripts/peer_compare.py --quick          # smoke run, n in {16, 32}, chi 16 (< 2 min)
    python3 scripts/peer_compare.py                  # full grid: n 16..128, chi 16..256 (hours)
    python3 scripts/peer_compare.py --inputs hw2 --qubits 64 128 --chi 64 --repeats 3

Outputs: a markdown table at --out (default results/peer_compare.md) plus .csv and .json
next to it; the circuits and per-run raw results stay in --workdir.

What is measured
  * time: bfly = its own "timings.simulate" (JSON report); aer = wall time of
    `AerSimulator.run(qc).result()` (includes aer's circuit conversion and a final
    `save_matrix_product_state`; aer's own `time_taken` is reported too); quimb = wall time of
    applying all gates to a `CircuitMPS` (circuit parsing and matrix construction excluded).
    Each time is the median of the repeats; ratios are aer/bfly and quimb/bfly of those
    medians, measured in this one run.
  * accuracy, where an exact reference exists (weight-preserving inputs unary/hwK at any n
    via the subspace backend, the angle input for n <= 24 via the state vector):
    max_i |P_engine(q_i=1) - P_exact(q_i=1)| and the state fidelity
    F = |<exact|psi>|^2 / <psi|psi> (engine state normalised). Peer marginals and amplitudes
    are computed here from the final MPS each peer returns (aer: save_matrix_product_state,
    quimb: CircuitMPS.psi), by exact contraction, so they also work past 64 qubits; the
    self-check cross-validates them against aer's save_expectation_value and quimb's own
    marginals/dense state. bfly reports "true_fidelity" itself (`--reference`).

Budget: a run that takes longer than --max-seconds makes every larger (n, chi) run of that
engine for that input skipped, with a printed note; a run still going after --timeout
seconds is killed and counts as over budget.

The `bfly` invocations live in three small functions (`bfly_mps_command`,
`bfly_exact_command`, `bfly_amplitudes_command`) so a CLI change is a one-place edit.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
VENV = SCRIPTS / ".venv"
VENV_PY = VENV / "bin" / "python"
SETUP = SCRIPTS / "setup_peers.sh"
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "RAYON_NUM_THREADS",
)

ENGINES = ("bfly", "aer", "quimb", "bfly-u1")
DEFAULT_QUBITS = (16, 32, 64, 128)
DEFAULT_CHI = (16, 64, 256)
DEFAULT_INPUTS = ("unary", "hw2", "hw3", "angle")
QUICK_QUBITS = (16, 32)
QUICK_CHI = (16,)
QUICK_INPUTS = ("hw2", "angle")
STATEVECTOR_MAX_QUBITS = 24  # exact angle-input reference (bfly statevector / numpy)
SELF_CHECK_TOL = 1e-9
AER_MAX_MEMORY_MB = 2**40  # "no limit": see aer_simulator


def build_parser() -> argparse.ArgumentParser:
    """The command line (stdlib only, so --help works before the venv exists)."""
    p = argparse.ArgumentParser(
        description="Compare the bfly MPS engine with qiskit-aer and quimb on the same "
                    "Butterfly circuits (timing and accuracy).",
        epilog="Runs inside scripts/.venv (created by scripts/setup_peers.sh when needed). "
               "See the module docstring for what is measured.")
    p.add_argument("--bfly", type=Path, default=REPO / "target" / "release" / "bfly",
                   help="bfly binary (built with `cargo build --release` if missing)")
    p.add_argument("--build", action="store_true", help="run `cargo build --release` first")
    p.add_argument("--qubits", type=int, nargs="+", default=None,
                   help=f"qubit counts (default {' '.join(map(str, DEFAULT_QUBITS))})")
    p.add_argument("--chi", type=int, nargs="+", default=None,
                   help=f"bond dimensions (default {' '.join(map(str, DEFAULT_CHI))})")
    p.add_argument("--inputs", nargs="+", default=None,
                   help=f"loaders (default {' '.join(DEFAULT_INPUTS)}); any `bfly butterfly "
                        "--loader` value among unary, hwK, angle")
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES,
                   help="engines to run (default: all)")
    p.add_argument("--bfly-backend", choices=("auto", "mps", "exact"), default="auto",
                   help="auto: mps when the binary has it, else the exact backend "
                        "(subspace/statevector) for development")
    p.add_argument("--seed", type=int, default=1, help="`bfly butterfly --seed` (default 1)")
    p.add_argument("--cutoff", type=float, default=0.0,
                   help="bfly --cutoff (default 0 = off)")
    p.add_argument("--aer-threshold", type=float, default=1e-16,
                   help="aer matrix_product_state_truncation_threshold (default 1e-16, aer's "
                        "own default: discarded weight below double precision; 0 is accepted "
                        "and gave identical states)")
    p.add_argument("--quimb-cutoff", type=float, default=1e-16,
                   help="quimb CircuitMPS cutoff (default 1e-16, relative; at 0 quimb keeps "
                        "round-off singular values and is far slower)")
    p.add_argument("--threads", type=int, default=2, help="threads per engine (default 2)")
    p.add_argument("--repeats", type=int, default=None,
                   help="repeats per run (default: 3 when a run takes < --small-seconds, else 1)")
    p.add_argument("--small-seconds", type=float, default=10.0,
                   help="runs shorter than this are repeated 3 times by default (default 10)")
    p.add_argument("--max-seconds", type=float, default=300.0,
                   help="per-run budget: a run over it skips the larger runs of that engine "
                        "for that input (default 300)")
    p.add_argument("--timeout", type=float, default=None,
                   help="kill a single run after this many seconds (default 3 × --max-seconds)")
    p.add_argument("--fidelity-max-support", type=int, default=1 << 20,
                   help="largest exact support (bitstrings) for which amplitudes are "
                        "produced for peer fidelities (default 2^20)")
    p.add_argument("--fidelity-budget", type=float, default=2e10,
                   help="largest number of multiply-adds spent on one peer fidelity "
                        "(default 2e10)")
    p.add_argument("--out", type=Path, default=REPO / "results" / "peer_compare.md",
                   help="markdown output; .csv and .json are written next to it")
    p.add_argument("--workdir", type=Path, default=None,
                   help="circuits and raw per-run results (default: <out dir>/peer_compare_work)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: n 16 32, chi 16, inputs hw2 angle (< 2 minutes)")
    p.add_argument("--self-check", action="store_true",
                   help="only verify the translations and post-processing, then exit")
    p.add_argument("--skip-self-check", action="store_true",
                   help="do not run the self-check before the comparison")
    p.add_argument("--force", action="store_true", help="compare even if the self-check fails")
    p.add_argument("--no-venv", action="store_true",
                   help="run in the current interpreter instead of scripts/.venv")
    p.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    return p


# --------------------------------------------------------------------------------------
# Bootstrap: thread settings before numpy is imported, then re-exec inside scripts/.venv.
# --------------------------------------------------------------------------------------
def _bootstrap() -> None:
    """Set the thread variables, then re-execute inside scripts/.venv (set up if needed).

    Arguments are parsed first, so --help and usage errors need no venv."""
    argv = sys.argv[1:]
    args = build_parser().parse_args(argv)
    for var in THREAD_VARS:
        os.environ[var] = str(max(1, args.threads))
    if args.no_venv or args.worker or Path(sys.prefix).resolve() == VENV.resolve():
        return
    probe = "import numpy, qiskit_aer, quimb"
    ready = VENV_PY.exists() and subprocess.run(
        [str(VENV_PY), "-c", probe], capture_output=True
    ).returncode == 0
    if not ready:
        print(f"setting up {VENV} (scripts/setup_peers.sh) ...", flush=True)
        rc = subprocess.run(["bash", str(SETUP)]).returncode
        if rc != 0 or not VENV_PY.exists():
            sys.exit(f"error: {SETUP} could not provide numpy in {VENV}; nothing to compare")
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *argv])


if __name__ == "__main__":
    _bootstrap()

# Everything below needs numpy: it runs inside the venv (or with --no-venv).
import numpy as np  # noqa: E402



# --------------------------------------------------------------------------------------
# Circuit JSON (as written by `bfly butterfly`)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """One gate of a circuit with its parameter resolved: `qubits` in the JSON's order."""

    gate: str
    qubits: tuple[int, ...]
    theta: float | None = None

    def matrix(self) -> np.ndarray:
        """The gate matrix in the project's convention (2q index 2*q_a + q_b)."""
        if self.gate == "x":
            return np.array([[0.0, 1.0], [1.0, 0.0]], dtype=complex)
        if self.gate == "ry":
            c, s = math.cos(self.theta / 2), math.sin(self.theta / 2)
            return np.array([[c, -s], [s, c]], dtype=complex)
        if self.gate == "rbs":
            c, s = math.cos(self.theta), math.sin(self.theta)
            return np.array(
                [[1, 0, 0, 0], [0, c, s, 0], [0, -s, c, 0], [0, 0, 0, 1]], dtype=complex
            )
        raise ValueError(f"no matrix for gate {self.gate!r}")


@dataclass
class Circuit:
    qubits: int
    ops: list[Op]
    path: Path | None = None

    @property
    def weight_preserving(self) -> bool:
        """True when the circuit is X gates on |0..0> followed by RBS gates only."""
        seen_two_qubit = False
        for op in self.ops:
            if op.gate == "rbs":
                seen_two_qubit = True
            elif op.gate == "x" and not seen_two_qubit:
                continue
            else:
                return False
        return True

    @property
    def hamming_weight(self) -> int | None:
        if not self.weight_preserving:
            return None
        flipped: set[int] = set()
        for op in self.ops:
            if op.gate == "x":
                flipped ^= {op.qubits[0]}
        return len(flipped)


def load_circuit(path: Path) -> Circuit:
    """Parse circuit JSON, resolving {"trainable": j} / {"input": i} slots."""
    doc = json.loads(Path(path).read_text())
    params = doc.get("parameters", {}) or {}
    slots = {"trainable": params.get("trainable", []), "input": params.get("inputs", [])}

    def resolve(value, where: str) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, dict) and len(value) == 1:
            (kind, idx), = value.items()
            if kind in slots and 0 <= int(idx) < len(slots[kind]):
                return float(slots[kind][int(idx)])
        raise ValueError(f"{path}: {where}: cannot resolve parameter {value!r}")

    n = int(doc["qubits"])
    ops = []
    for k, raw in enumerate(doc["ops"]):
        gate = raw["gate"]
        where = f"op {k} ({gate})"
        if gate == "x":
            ops.append(Op("x", (int(raw["qubit"]),)))
        elif gate == "ry":
            ops.append(Op("ry", (int(raw["qubit"]),), resolve(raw["theta"], where)))
        elif gate == "rbs":
            a, b = (int(q) for q in raw["qubits"])
            ops.append(Op("rbs", (a, b), resolve(raw["theta"], where)))
        else:
            raise ValueError(
                f"{path}: {where}: gate not supported by peer_compare.py "
                "(supported: x, ry, rbs; add its translation to Op.matrix and the peers)"
            )
        if any(not 0 <= q < n for q in ops[-1].qubits):
            raise ValueError(f"{path}: {where}: qubit out of range for {n} qubits")
    return Circuit(n, ops, Path(path))


# --------------------------------------------------------------------------------------
# bfly command line (the one place that knows the CLI)
# --------------------------------------------------------------------------------------
@dataclass
class BflyCaps:
    """What the `bfly` binary at hand supports (read from `bfly simulate --help`)."""

    mps: bool = False
    amplitudes: bool = False
    reference: bool = False
    reference_takes_value: bool = False  # `--reference KIND` rather than a plain flag
    version: str = "?"


def bfly_caps(bfly: Path) -> BflyCaps:
    helptext = subprocess.run(
        [str(bfly), "simulate", "--help"], capture_output=True, text=True, check=True
    ).stdout
    version = subprocess.run(
        [str(bfly), "--version"], capture_output=True, text=True
    ).stdout.strip()
    backend_block = helptext.split("--backend", 1)[-1].split("\n      --", 1)[0]
    return BflyCaps(
        mps="mps" in backend_block and "--chi" in helptext,
        amplitudes="--amplitudes" in helptext,
        reference="--reference" in helptext,
        reference_takes_value="--reference <" in helptext,
        version=version or "?",
    )


def bfly_butterfly_command(bfly: Path, n: int, loader: str, seed: int, out: Path) -> list[str]:
    return [str(bfly), "butterfly", "--qubits", str(n), "--loader", loader,
            "--seed", str(seed), "--out", str(out)]


def bfly_mps_command(
    bfly: Path, circuit: Path, chi: int, cutoff: float, reference: str | None,
    caps: BflyCaps | None = None, symmetry: str | None = None,
) -> list[str]:
    """`bfly simulate --backend mps` as the comparison runs it (JSON report on stdout).

    `reference` (subspace | statevector) asks for bfly's own "true_fidelity"; it is passed
    as `--reference KIND` or as a plain `--reference` flag (bfly then picks the reference
    itself), whichever `bfly simulate --help` shows."""
    cmd = [str(bfly), "simulate", "--circuit", str(circuit), "--backend", "mps",
           "--chi", str(chi), "--cutoff", f"{cutoff:g}", "--site-ordering", "identity",
           "--json"]
    if symmetry:
        # The U(1) engine (`--symmetry u1`): its --reference reports the largest marginal
        # error instead of a fidelity (overlaps do not compare for mixed-weight inputs).
        cmd += ["--symmetry", symmetry]
    if reference and (caps is None or caps.reference):
        takes_value = caps is None or caps.reference_takes_value
        cmd += ["--reference", reference] if takes_value else ["--reference"]
    return cmd


def bfly_exact_command(bfly: Path, circuit: Path, backend: str) -> list[str]:
    """An exact simulation (backend subspace or statevector) with a JSON report."""
    return [str(bfly), "simulate", "--circuit", str(circuit), "--backend", backend, "--json"]


def bfly_amplitudes_command(bfly: Path, circuit: Path, backend: str, out: Path) -> list[str]:
    """Exact amplitudes dumped to `out` as {"qubits", "amplitudes": [[bits, re, im], ...]}."""
    return bfly_exact_command(bfly, circuit, backend) + ["--amplitudes", str(out)]


def run_json(cmd: list[str], timeout: float | None = None) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-600:]}"
        )
    return json.loads(proc.stdout)


def read_amplitude_dump(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """bits (N, n) uint8 with bits[:, i] = qubit i, and complex amplitudes (N,)."""
    doc = json.loads(Path(path).read_text())
    n = int(doc["qubits"])
    entries = doc["amplitudes"]
    bits = np.zeros((len(entries), n), dtype=np.uint8)
    amps = np.empty(len(entries), dtype=complex)
    for r, (s, re, im) in enumerate(entries):
        bits[r] = np.frombuffer(s.encode(), dtype=np.uint8) - ord("0")
        amps[r] = complex(re, im)
    return bits, amps


def ensure_bfly(path: Path, build: bool) -> Path:
    if build or not path.exists():
        print(f"building bfly: cargo build --release (in {REPO}) ...", flush=True)
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    if not path.exists():
        sys.exit(f"error: {path} does not exist after cargo build --release")
    return path


# --------------------------------------------------------------------------------------
# Independent numpy references (for the self-check, and when bfly cannot dump amplitudes)
# --------------------------------------------------------------------------------------
def numpy_statevector(circ: Circuit) -> np.ndarray:
    """Dense state as an n-axis tensor, axis q = qubit q (so C-order flattening puts
    qubit 0 in the most significant position)."""
    n = circ.qubits
    psi = np.zeros((2,) * n, dtype=complex)
    psi[(0,) * n] = 1.0
    for op in circ.ops:
        m = op.matrix()
        if len(op.qubits) == 1:
            (q,) = op.qubits
            psi = np.moveaxis(np.tensordot(m, psi, axes=([1], [q])), 0, q)
        else:
            a, b = op.qubits
            m4 = m.reshape(2, 2, 2, 2)  # [out_a, out_b, in_a, in_b]: a is the high bit
            psi = np.moveaxis(np.tensordot(m4, psi, axes=([2, 3], [a, b])), [0, 1], [a, b])
    return psi


def statevector_marginals(psi: np.ndarray) -> np.ndarray:
    p = np.abs(psi) ** 2
    n = psi.ndim
    return np.array([np.take(p, 1, axis=q).sum() for q in range(n)]) / p.sum()


def statevector_support(psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = psi.ndim
    bits = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)
    return bits, psi.reshape(-1).copy()


def numpy_subspace(circ: Circuit) -> tuple[np.ndarray, np.ndarray]:
    """Exact simulation of a weight-preserving circuit in its C(n, k) subspace.

    Returns (bits (N, n) uint8, amplitudes (N,)) over the whole subspace."""
    if not circ.weight_preserving:
        raise ValueError("numpy_subspace needs X gates then RBS gates only")
    n = circ.qubits
    start = sorted({q for op in circ.ops if op.gate == "x" for q in op.qubits})
    k = len(start)
    binom = np.zeros((n + 1, k + 2), dtype=np.int64)
    for m in range(n + 1):
        for j in range(k + 2):
            binom[m, j] = math.comb(m, j)

    def rank(pos: np.ndarray) -> np.ndarray:
        pos = np.sort(pos, axis=1)
        return sum(binom[pos[:, j], j + 1] for j in range(k)) if k else np.zeros(len(pos), np.int64)

    size = math.comb(n, k)
    combos = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64).reshape(size, k)
    pos = np.empty_like(combos)
    pos[rank(combos)] = combos
    amps = np.zeros(size, dtype=complex)
    amps[rank(np.array([start], dtype=np.int64).reshape(1, k))] = 1.0
    cache: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
    for op in circ.ops:
        if op.gate != "rbs":
            continue
        a, b = op.qubits
        if (a, b) not in cache:
            has_a = (pos == a).any(axis=1)
            has_b = (pos == b).any(axis=1)
            i10 = np.nonzero(has_a & ~has_b)[0]  # |q_a q_b> = |10>, local index 2
            moved = pos[i10].copy()
            moved[moved == a] = b
            i01 = rank(moved)  # the partner |01>, local index 1
            i11 = np.nonzero(has_a & has_b)[0]
            i00 = np.nonzero(~has_a & ~has_b)[0]
            cache[(a, b)] = (i10, i01, i11, i00)
        i10, i01, i11, i00 = cache[(a, b)]
        m = op.matrix()
        new = amps.copy()
        new[i10] = m[2, 2] * amps[i10] + m[2, 1] * amps[i01]
        new[i01] = m[1, 1] * amps[i01] + m[1, 2] * amps[i10]
        new[i11] = m[3, 3] * amps[i11]
        new[i00] = m[0, 0] * amps[i00]
        amps = new
    bits = np.zeros((size, n), dtype=np.uint8)
    rows = np.repeat(np.arange(size), k)
    bits[rows, pos.reshape(-1)] = 1
    return bits, amps


def support_marginals(bits: np.ndarray, amps: np.ndarray) -> np.ndarray:
    p = np.abs(amps) ** 2
    return (bits.T.astype(float) @ p) / p.sum()


def sort_support(bits: np.ndarray, amps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows in lexicographic order of (qubit 0, qubit 1, ...), as mps_amplitudes needs."""
    order = np.lexsort(bits[:, ::-1].T)
    return bits[order], amps[order]


# --------------------------------------------------------------------------------------
# MPS post-processing, shared by the peers: site tensors A[i] of shape (2, chi_l, chi_r),
# site i = qubit i, amplitude(x) = A[0][x0] @ A[1][x1] @ ... @ A[n-1][x_{n-1}].
# --------------------------------------------------------------------------------------
def normalize_mps(
    tensors: list[np.ndarray],
) -> tuple[list[np.ndarray], float, list[np.ndarray]]:
    """Rescaled site tensors whose state has norm 1, log <psi|psi>, and the left norm
    environments L_0..L_n of the rescaled state (L_{i+1} = sum_b A_b^T L_i conj(A_b)).

    Each A_i is divided by sqrt(trace L_{i+1}) so that nothing over- or underflows.
    Real tensors (all gates here are real) are kept real: 4x cheaper products."""
    if all(not np.any(a.imag) for a in tensors):
        tensors = [np.ascontiguousarray(a.real) for a in tensors]
    env = np.ones((1, 1), dtype=tensors[0].dtype)
    out, envs, log_norm2 = [], [env], 0.0
    for a in tensors:
        env = a[0].T @ env @ a[0].conj() + a[1].T @ env @ a[1].conj()
        c = float(np.trace(env).real)
        if not c > 0:
            raise ValueError("MPS has zero norm")
        env = env / c
        log_norm2 += math.log(c)
        out.append(a / math.sqrt(c))
        envs.append(env)
    return out, log_norm2, envs


def mps_marginals(tensors: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """P(q_i = 1) for every site of the (not necessarily normalised) MPS, and <psi|psi>."""
    tensors, log_norm2, left = normalize_mps(tensors)
    n = len(tensors)
    right = np.ones((1, 1), dtype=tensors[0].dtype)
    probs = np.zeros(n)
    for i in range(n - 1, -1, -1):
        a = tensors[i]
        one = a[1] @ right @ a[1].conj().T
        right = one + a[0] @ right @ a[0].conj().T
        # ratio of two contractions with the same environments: scale-free
        probs[i] = float(np.sum(left[i] * one).real) / float(np.sum(left[i] * right).real)
        right /= np.max(np.abs(right))
    return probs, math.exp(min(log_norm2, 700.0))


def _prefix_groups(bits: np.ndarray):
    """Yield, site by site, (new group id per row, unique keys) for lexsorted rows."""
    gid = np.zeros(len(bits), dtype=np.int64)
    for i in range(bits.shape[1]):
        key = gid * 2 + bits[:, i]
        new = np.empty(len(key), dtype=bool)
        new[0] = True
        new[1:] = key[1:] != key[:-1]
        gid = np.cumsum(new) - 1
        yield gid, key[new]


def mps_amplitude_cost(tensors: list[np.ndarray], bits: np.ndarray) -> float:
    """Multiply-adds that mps_amplitudes will spend (prefix-sharing contraction)."""
    cost = 0.0
    for (_, keys), a in zip(_prefix_groups(bits), tensors, strict=True):
        cost += len(keys) * a.shape[1] * a.shape[2]
    return cost


def mps_amplitudes(tensors: list[np.ndarray], bits: np.ndarray) -> np.ndarray:
    """Amplitudes of the MPS on the given (lexsorted, unique) bitstrings, sharing prefixes."""
    vec = np.ones((1, 1), dtype=complex)
    row_group = None
    for (group_ids, keys), a in zip(_prefix_groups(bits), tensors, strict=True):
        row_group = group_ids
        parent, bit = keys // 2, keys % 2
        new = np.empty((len(keys), a.shape[2]), dtype=complex)
        for b in (0, 1):
            sel = bit == b
            if sel.any():
                new[sel] = vec[parent[sel]] @ a[b]
        vec = new
    return vec[row_group, 0]


def mps_fidelity(tensors: list[np.ndarray], bits: np.ndarray, amps: np.ndarray) -> float:
    """|<exact|psi>|^2 / (<exact|exact> <psi|psi>)."""
    tensors, _, _ = normalize_mps(tensors)
    overlap = np.vdot(amps, mps_amplitudes(tensors, bits))
    return float(abs(overlap) ** 2 / np.vdot(amps, amps).real)


def max_bond(tensors: list[np.ndarray]) -> int:
    return max(a.shape[2] for a in tensors)


# --------------------------------------------------------------------------------------
# Peer: qiskit-aer
# --------------------------------------------------------------------------------------
def aer_versions() -> dict:
    import qiskit
    import qiskit_aer

    return {"qiskit": qiskit.__version__, "qiskit-aer": qiskit_aer.__version__}


def aer_circuit(circ: Circuit, swap_endianness: bool = True, save: str = "mps"):
    """The circuit as a qiskit QuantumCircuit.

    qiskit is little-endian: `qc.unitary(M, [q0, q1])` reads q0 as the LOW bit of M's
    index, while our RBS matrix has the first listed qubit as the HIGH bit. So our
    (a, b) goes to qiskit as [b, a]. `swap_endianness=False` is the deliberate mistake
    the self-check uses as a negative control."""
    import qiskit_aer  # noqa: F401  (importing it adds the save_* methods to QuantumCircuit)
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import UnitaryGate

    qc = QuantumCircuit(circ.qubits)
    for op in circ.ops:
        if op.gate == "x":
            qc.x(op.qubits[0])
        elif op.gate == "ry":
            qc.ry(op.theta, op.qubits[0])
        else:
            a, b = op.qubits
            qc.append(UnitaryGate(op.matrix(), label=op.gate, check_input=False),
                      [b, a] if swap_endianness else [a, b])
    if save == "mps":
        qc.save_matrix_product_state(label="mps")
    elif save == "statevector":
        qc.save_statevector(label="sv")
    return qc


def aer_simulator(
    chi: int | None, cutoff: float, threads: int, method: str = "matrix_product_state"
):
    from qiskit_aer import AerSimulator

    opts = {"method": method, "max_parallel_threads": threads}
    if method == "matrix_product_state":
        # Aer's MPS size estimator ignores the bond-dimension cap and refuses e.g. n = 32..64
        # Butterflies ("Insufficient memory ... Required memory: 4194320M"); at n = 128 its
        # estimate overflows to 0. A huge max_memory_mb switches that check off.
        opts.update(
            max_memory_mb=AER_MAX_MEMORY_MB,
            matrix_product_state_max_bond_dimension=chi,
            matrix_product_state_truncation_threshold=cutoff,
            mps_omp_threads=threads,
        )
    return AerSimulator(**opts)


def aer_options_text(threads: int, cutoff: float) -> str:
    return (f'method="matrix_product_state", matrix_product_state_max_bond_dimension=chi, '
            f"matrix_product_state_truncation_threshold={cutoff:g}, "
            f"max_parallel_threads={threads}, mps_omp_threads={threads}, "
            f"max_memory_mb=2**40 (aer's MPS memory estimate ignores the bond cap and "
            "would refuse n = 32..64)")


def aer_tensors(saved) -> list[np.ndarray]:
    """Aer's saved MPS (Vidal form: per-site (Gamma_0, Gamma_1), bond lambdas) as A tensors."""
    gammas, lambdas = saved
    tensors = []
    for i, (g0, g1) in enumerate(gammas):
        a = np.stack([np.asarray(g0, dtype=complex), np.asarray(g1, dtype=complex)])
        if i < len(lambdas):
            a = a * np.asarray(lambdas[i], dtype=float)[None, None, :]
        tensors.append(a)
    return tensors


def aer_run(qc, sim) -> tuple[float, float | None, list[np.ndarray]]:
    """(wall seconds of run().result(), aer's time_taken, final MPS tensors)."""
    t0 = time.perf_counter()
    result = sim.run(qc).result()
    wall = time.perf_counter() - t0
    if not result.success:
        raise RuntimeError(f"aer failed: {result.status}")
    exp = result.results[0]
    taken = getattr(exp, "time_taken", None)
    return wall, taken, aer_tensors(result.data(0)["mps"])


# --------------------------------------------------------------------------------------
# Peer: quimb
# --------------------------------------------------------------------------------------
def quimb_versions() -> dict:
    import quimb

    return {"quimb": quimb.__version__}


def quimb_gates(circ: Circuit) -> list[tuple[np.ndarray, tuple[int, ...]]]:
    """Raw gates for quimb. quimb is big-endian like us: for where=(a, b) the first
    qubit is the high bit of the 4x4 matrix index (checked by the self-check)."""
    return [(op.matrix(), op.qubits) for op in circ.ops]


def quimb_run(n: int, gates, chi: int | None, cutoff: float):
    """(wall seconds of applying all gates, CircuitMPS)."""
    import warnings

    import quimb.tensor as qtn

    warnings.filterwarnings("ignore", message=".*kahypar.*")

    qc = qtn.CircuitMPS(n, max_bond=chi, cutoff=cutoff)
    t0 = time.perf_counter()
    for m, where in gates:
        qc.apply_gate_raw(m, where)
    return time.perf_counter() - t0, qc


def quimb_tensors(qc) -> list[np.ndarray]:
    psi = qc.psi
    n = psi.L
    tensors = []
    for i in range(n):
        t = psi[i]
        inds = []
        if i > 0:
            inds.append(psi.bond(i - 1, i))
        if i < n - 1:
            inds.append(psi.bond(i, i + 1))
        inds.append(psi.site_ind(i))
        data = np.asarray(t.transpose(*inds).data, dtype=complex)
        if i == 0:
            data = data[None]
        if i == n - 1:
            data = data[:, None] if n > 1 else data
        tensors.append(np.moveaxis(data, -1, 0))
    return tensors


# --------------------------------------------------------------------------------------
# Worker: one peer, one circuit, one chi, in its own process (killable on timeout)
# --------------------------------------------------------------------------------------
def _warm_up(engine: str, threads: int) -> None:
    tiny = Circuit(4, [Op("x", (0,)), Op("ry", (1,), 0.3), Op("rbs", (0, 2), 0.4),
                       Op("rbs", (1, 3), 0.5), Op("rbs", (0, 1), 0.6)])
    if engine == "aer":
        aer_run(aer_circuit(tiny), aer_simulator(4, 0.0, threads))
    else:
        quimb_run(4, quimb_gates(tiny), 4, 0.0)


def worker_main(spec_path: Path) -> None:
    spec = json.loads(Path(spec_path).read_text())
    engine, chi, cutoff, threads = spec["engine"], spec["chi"], spec["cutoff"], spec["threads"]
    circ = load_circuit(Path(spec["circuit"]))
    out: dict = {"engine": engine, "times": []}
    _warm_up(engine, threads)
    if engine == "aer":
        qc = aer_circuit(circ)
        sim = aer_simulator(chi, cutoff, threads)
        out["internal_times"] = []
    else:
        gates = quimb_gates(circ)
    tensors = None
    for rep in range(spec["max_repeats"]):
        if engine == "aer":
            wall, taken, tensors = aer_run(qc, sim)
            out["internal_times"].append(taken)
        else:
            wall, qcm = quimb_run(circ.qubits, gates, chi, cutoff)
        out["times"].append(wall)
        if wall > spec["max_seconds"]:
            break
        if rep + 1 >= spec["min_repeats"] and wall >= spec["small_seconds"]:
            break
    if engine == "quimb":
        tensors = quimb_tensors(qcm)
    probs, norm2 = mps_marginals(tensors)
    out.update(marginals=probs.tolist(), norm2=norm2, max_bond=max_bond(tensors))
    if spec.get("reference"):
        ref = np.load(spec["reference"])
        bits, amps = ref["bits"], ref["amps"]
        cost = mps_amplitude_cost(tensors, bits)
        out["fidelity_cost"] = cost
        if cost <= spec["fidelity_budget"]:
            out["fidelity"] = mps_fidelity(tensors, bits, amps)
        else:
            out["fidelity_note"] = f"skipped: {cost:.2g} multiply-adds > --fidelity-budget"
    Path(spec["out"]).write_text(json.dumps(out))


# --------------------------------------------------------------------------------------
# Self-check: every translation against bfly's state vector and independent numpy
# --------------------------------------------------------------------------------------
class Checker:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.lines: list[str] = []

    def check(
        self, name: str, error: float, tol: float = SELF_CHECK_TOL, want_big: bool = False
    ) -> None:
        ok = (error > tol) if want_big else (error <= tol)
        rel = ">" if want_big else "<="
        line = f"  {'PASS' if ok else 'FAIL'}  {name}: {error:.2e} (want {rel} {tol:g})"
        print(line, flush=True)
        self.lines.append(line.strip())
        if not ok:
            self.failures.append(name)

    def note(self, text: str) -> None:
        print(f"  note  {text}", flush=True)
        self.lines.append(f"note  {text}")


def self_check(bfly: Path, caps: BflyCaps, peers: dict, args) -> Checker:
    """Translations and post-processing, verified at n = 4 and 8 (exact) and n = 8 with
    truncation (chi = 2, fidelity computed two independent ways), with the comparison's
    own cutoffs and thread count."""
    workdir, threads = args.workdir, args.threads
    aer_thr, quimb_cut = args.aer_threshold, args.quimb_cutoff
    ck = Checker()
    print("self-check: circuits from `bfly butterfly`, exact references from "
          "`bfly simulate --backend statevector` and numpy", flush=True)
    cases = [(4, "unary"), (4, "hw2"), (4, "angle"), (8, "unary"), (8, "hw2"), (8, "hw3"),
             (8, "angle")]
    workdir.mkdir(parents=True, exist_ok=True)
    for n, loader in cases:
        path = workdir / f"selfcheck_n{n}_{loader}.json"
        subprocess.run(bfly_butterfly_command(bfly, n, loader, 7, path), check=True,
                       capture_output=True)
        circ = load_circuit(path)
        tag = f"n={n} {loader}"
        exact = np.array(run_json(bfly_exact_command(bfly, path, "statevector"))["marginals"])
        psi = numpy_statevector(circ)
        bits_sv, amps_sv = statevector_support(psi)
        ck.check(f"{tag}: numpy state vector vs bfly statevector marginals",
                 np.max(np.abs(statevector_marginals(psi) - exact)))
        if circ.weight_preserving:
            bits_ss, amps_ss = numpy_subspace(circ)
            sub = np.array(run_json(bfly_exact_command(bfly, path, "subspace"))["marginals"])
            ck.check(f"{tag}: numpy subspace vs bfly subspace marginals",
                     np.max(np.abs(support_marginals(bits_ss, amps_ss) - sub)))
            idx = bits_ss @ (1 << np.arange(n - 1, -1, -1))
            ck.check(f"{tag}: numpy subspace vs numpy state vector amplitudes",
                     np.max(np.abs(amps_sv[idx] - amps_ss)))
        if caps.amplitudes:
            for backend in ("statevector",) + (("subspace",) if circ.weight_preserving else ()):
                dump = workdir / f"selfcheck_amps_n{n}_{loader}_{backend}.json"
                run_json(bfly_amplitudes_command(bfly, path, backend, dump))
                bits_d, amps_d = read_amplitude_dump(dump)
                idx = bits_d.astype(np.int64) @ (1 << np.arange(n - 1, -1, -1))
                ck.check(f"{tag}: bfly --amplitudes ({backend}) vs numpy state vector",
                         np.max(np.abs(amps_sv[idx] - amps_d)))
        chi_exact = 2 ** (n // 2)
        if "aer" in peers:
            res = aer_simulator(None, 0.0, threads, method="statevector").run(
                aer_circuit(circ, save="statevector")).result()
            sv = np.asarray(res.data(0)["sv"])
            # aer index = sum_q bit_q 2^q: reverse our axes (qubit 0 = most significant)
            ck.check(f"{tag}: aer statevector amplitudes vs numpy",
                     np.max(np.abs(sv - psi.transpose(range(n - 1, -1, -1)).reshape(-1))))
            qc = aer_circuit(circ)
            from qiskit.quantum_info import SparsePauliOp
            for q in range(n):
                qc.save_expectation_value(SparsePauliOp("Z"), [q], label=f"z{q}")
            res = aer_simulator(chi_exact, aer_thr, threads).run(qc).result()
            tensors = aer_tensors(res.data(0)["mps"])
            probs, norm2 = mps_marginals(tensors)
            z = np.array([res.data(0)[f"z{q}"] for q in range(n)])
            ck.check(f"{tag}: aer MPS marginals vs bfly statevector", np.max(np.abs(probs - exact)))
            ck.check(f"{tag}: aer saved-MPS marginals vs aer save_expectation_value(Z)",
                     np.max(np.abs((1 - z) / 2 - probs)))
            ck.check(f"{tag}: aer MPS fidelity vs numpy (1 - F)",
                     abs(1 - mps_fidelity(tensors, *sort_support(bits_sv, amps_sv))))
            # Negative control: the naive qiskit order [a, b] runs RBS(-theta) instead.
            # (Marginals may not see it: on the Butterfly's bipartite pair graph that is
            # a diagonal +-1 change of basis. The fidelity does.)
            res = aer_simulator(chi_exact, aer_thr, threads).run(
                aer_circuit(circ, swap_endianness=False)).result()
            wrong = aer_tensors(res.data(0)["mps"])
            f_wrong = mps_fidelity(wrong, *sort_support(bits_sv, amps_sv))
            ck.check(f"{tag}: negative control, aer with qiskit order [a, b] (1 - F)",
                     1 - f_wrong, tol=1e-3, want_big=True)
        if "quimb" in peers:
            _, qcm = quimb_run(n, quimb_gates(circ), chi_exact, quimb_cut)
            dense = np.asarray(qcm.to_dense()).reshape(-1)
            ck.check(f"{tag}: quimb dense state (big-endian) vs numpy",
                     np.max(np.abs(dense - psi.reshape(-1))))
            tensors = quimb_tensors(qcm)
            probs, _ = mps_marginals(tensors)
            ck.check(f"{tag}: quimb MPS marginals vs bfly statevector",
                     np.max(np.abs(probs - exact)))
            own = np.array([qcm.compute_marginal([q])[1] for q in range(n)])
            ck.check(f"{tag}: quimb extracted marginals vs quimb compute_marginal",
                     np.max(np.abs(own - probs)))
            ck.check(f"{tag}: quimb MPS fidelity vs numpy (1 - F)",
                     abs(1 - mps_fidelity(tensors, *sort_support(bits_sv, amps_sv))))
        if caps.mps:
            rep = run_json(bfly_mps_command(bfly, path, chi_exact, args.cutoff,
                                            "statevector", caps))
            ck.check(f"{tag}: bfly mps marginals vs bfly statevector",
                     np.max(np.abs(np.array(rep["marginals"]) - exact)))
            tf = (rep.get("details") or {}).get("true_fidelity")
            if tf is not None:
                ck.check(f"{tag}: bfly mps true_fidelity (1 - F)", abs(1 - tf))

    # Truncated regime: fidelity from the prefix contraction vs a dense overlap.
    n, loader, chi = 8, "angle", 2
    path = workdir / f"selfcheck_n{n}_{loader}.json"
    circ = load_circuit(path)
    psi = numpy_statevector(circ)
    bits_sv, amps_sv = sort_support(*statevector_support(psi))
    flat = psi.reshape(-1)

    def dense_fidelity(vec: np.ndarray) -> float:
        return float(abs(np.vdot(flat, vec)) ** 2 / np.vdot(vec, vec).real)

    truncated = {}
    if "aer" in peers:
        truncated["aer"] = aer_run(aer_circuit(circ), aer_simulator(chi, aer_thr, threads))[2]
    if "quimb" in peers:
        truncated["quimb"] = quimb_tensors(quimb_run(n, quimb_gates(circ), chi, quimb_cut)[1])
    for name, tensors in truncated.items():
        probs, _ = mps_marginals(tensors)
        vec = _dense_mps(tensors)
        f_dense = dense_fidelity(vec)
        f_prefix = mps_fidelity(tensors, bits_sv, amps_sv)
        ck.check(f"n={n} {loader} chi={chi}: {name} fidelity, prefix contraction vs dense "
                 f"(F = {f_prefix:.6f})", abs(f_prefix - f_dense))
        ck.check(f"n={n} {loader} chi={chi}: {name} marginals, environments vs dense",
                 np.max(np.abs(statevector_marginals(vec.reshape((2,) * n)) - probs)))
        ck.check(f"n={n} {loader} chi={chi}: {name} is truncated (1 - F)", 1 - f_prefix,
                 tol=1e-6, want_big=True)
    if caps.mps:
        rep = run_json(bfly_mps_command(bfly, path, chi, args.cutoff, "statevector", caps))
        tf = (rep.get("details") or {}).get("true_fidelity")
        if tf is not None:
            ck.note(f"n={n} {loader} chi={chi}: bfly mps true_fidelity = {tf:.6f}")
    if not caps.mps:
        ck.note("`bfly simulate --backend mps` not available in this binary: mps not checked")
    if not caps.amplitudes:
        ck.note("`bfly simulate --amplitudes` not available: exact amplitudes come from numpy")
    print(f"self-check: {len(ck.failures)} failure(s)", flush=True)
    return ck


def _dense_mps(tensors: list[np.ndarray]) -> np.ndarray:
    """Dense vector of an MPS, qubit 0 most significant (small n only)."""
    out = tensors[0][:, 0, :]  # (2, r)
    for a in tensors[1:]:
        out = np.einsum("xl,blr->xbr", out, a).reshape(-1, a.shape[2])
    return out[:, 0]


# --------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------
@dataclass
class Reference:
    """Exact answer for one circuit: marginals, and (sorted) amplitudes in an .npz file."""

    kind: str | None = None  # "subspace" | "statevector" | None (no exact reference)
    marginals: np.ndarray | None = None
    npz: Path | None = None
    support: int = 0
    note: str = ""


def exact_reference(bfly: Path, caps: BflyCaps, circ: Circuit, path: Path, args) -> Reference:
    n = circ.qubits
    if circ.weight_preserving:
        kind, support = "subspace", math.comb(n, circ.hamming_weight)
    elif n <= STATEVECTOR_MAX_QUBITS:
        kind, support = "statevector", 2**n
    else:
        return Reference(note=f"no exact reference (angle input, n > {STATEVECTOR_MAX_QUBITS})")
    ref = Reference(kind=kind, support=support)
    ref.marginals = np.array(run_json(bfly_exact_command(bfly, path, kind))["marginals"])
    if support > args.fidelity_max_support:
        ref.note = f"fidelity n/a: support {support} > --fidelity-max-support"
        return ref
    if caps.amplitudes:
        dump = path.with_suffix(f".{kind}.amplitudes.json")
        run_json(bfly_amplitudes_command(bfly, path, kind, dump))
        bits, amps = read_amplitude_dump(dump)
        dump.unlink()
        source = f"bfly --backend {kind} --amplitudes"
    elif kind == "subspace":
        bits, amps = numpy_subspace(circ)
        source = "numpy subspace simulation"
    else:
        bits, amps = statevector_support(numpy_statevector(circ))
        source = "numpy state vector"
    bits, amps = sort_support(bits, amps)
    ref.npz = path.with_suffix(".reference.npz")
    np.savez(ref.npz, bits=bits, amps=amps)
    ref.note = f"amplitudes: {source}"
    return ref


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _repeat_policy(args) -> tuple[int, int, float]:
    """(min repeats, max repeats, 'small run' threshold in seconds)."""
    if args.repeats:
        return args.repeats, args.repeats, math.inf
    return 1, 3, args.small_seconds


def run_bfly(bfly: Path, backend: str, path: Path, chi: int, ref: Reference, args,
             symmetry: str | None = None) -> dict:
    """bfly on one circuit: `simulate --backend mps`, or an exact backend before mps exists.
    `symmetry="u1"` runs the Hamming-weight block-sparse engine (column `bfly-u1`)."""
    if symmetry and backend != "mps":
        return {"status": "skipped", "note": "bfly-u1 needs the mps backend"}
    if backend == "mps":
        # bfly's own true fidelity is measured on the first run only (not timed by bfly);
        # the U(1) engine's accuracy is max|ΔP| against the same exact marginals as the
        # peers (computed here), so it runs without --reference.
        first = bfly_mps_command(bfly, path, chi, args.cutoff, None if symmetry else ref.kind,
                                 args._caps, symmetry)
        again = bfly_mps_command(bfly, path, chi, args.cutoff, None, args._caps, symmetry)
    elif ref.kind:
        first = again = bfly_exact_command(bfly, path, ref.kind)
    else:
        return {"status": "skipped", "note": "bfly has no mps backend and no exact backend fits"}
    lo, hi, small = _repeat_policy(args)
    times, reports = [], []
    for rep in range(hi):
        try:
            reports.append(run_json(first if rep == 0 else again, timeout=args.timeout))
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "note": f"killed after --timeout {args.timeout:g} s",
                    "time": args.timeout}
        except RuntimeError as exc:
            return {"status": "error", "note": str(exc)}
        times.append(float(reports[-1]["timings"]["simulate"]))
        if times[-1] > args.max_seconds or (rep + 1 >= lo and times[-1] >= small):
            break
    report = reports[0]
    details = report.get("details") or {}
    trunc = details.get("truncation") or {}
    out = {"status": "ok", "times": times, "time": _median(times),
           "marginals": report.get("marginals"), "backend": report.get("backend", backend),
           "fidelity": details.get("true_fidelity"),
           "fidelity_estimate": trunc.get("fidelity_estimate"),
           "discarded_weight": trunc.get("total_discarded_weight"),
           "max_bond": _bfly_max_bond(trunc)}
    if backend != "mps" and ref.kind:
        out["fidelity"] = 1.0  # an exact backend: the reference itself
        out["note"] = f"exact backend {ref.kind} (no mps backend yet)"
    return out


def _bfly_max_bond(trunc: dict) -> int | None:
    """Largest bond of the final MPS (as for the peers), else the largest ever reached."""
    if trunc.get("bond_dimensions"):
        return max(trunc["bond_dimensions"])
    return trunc.get("max_bond_reached", trunc.get("max_bond"))


def run_peer(engine: str, path: Path, chi: int, ref: Reference, args) -> dict:
    """One peer run in a worker process (so a run past --timeout can be killed)."""
    lo, hi, small = _repeat_policy(args)
    tag = f"{path.stem}_chi{chi}_{engine}"
    cutoff = args.aer_threshold if engine == "aer" else args.quimb_cutoff
    spec = {"engine": engine, "circuit": str(path), "chi": chi, "cutoff": cutoff,
            "threads": args.threads, "min_repeats": lo, "max_repeats": hi,
            "small_seconds": small if math.isfinite(small) else 1e300,
            "max_seconds": args.max_seconds, "fidelity_budget": args.fidelity_budget,
            "reference": str(ref.npz) if ref.npz else None,
            "out": str(args.workdir / f"{tag}.result.json")}
    spec_path = args.workdir / f"{tag}.spec.json"
    spec_path.write_text(json.dumps(spec))
    Path(spec["out"]).unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path),
           "--threads", str(args.threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"killed after --timeout {args.timeout:g} s",
                "time": args.timeout}
    if proc.returncode != 0 or not Path(spec["out"]).exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"status": "error", "note": f"worker exited {proc.returncode}: {' | '.join(tail)}"}
    res = json.loads(Path(spec["out"]).read_text())
    res.update(status="ok", time=_median(res["times"]))
    if engine == "aer":
        res["internal_time"] = _median(res.get("internal_times", []))
    return res


@dataclass
class Row:
    loader: str
    n: int
    chi: int
    results: dict = field(default_factory=dict)  # engine -> result dict
    reference: str = ""


def accuracy(result: dict, ref: Reference) -> None:
    """Add max |dP| (vs the exact marginals) to a result, in place."""
    if result.get("status") == "ok" and ref.marginals is not None and result.get("marginals"):
        result["max_dp"] = float(np.max(np.abs(np.array(result["marginals"]) - ref.marginals)))


class Budget:
    """Runs over --max-seconds make every larger (n, chi) run of that engine/input skipped."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.over: dict[tuple[str, str], list[tuple[int, int, float]]] = {}

    def skip_reason(self, engine: str, loader: str, n: int, chi: int) -> str | None:
        for n0, chi0, secs in self.over.get((engine, loader), []):
            if n >= n0 and chi >= chi0:
                return (f"{engine} took {secs:.3g} s > --max-seconds {self.limit:g} "
                        f"at n={n0} chi={chi0}")
        return None

    def record(self, engine: str, loader: str, n: int, chi: int, result: dict) -> None:
        secs = max(result.get("times") or [result.get("time") or 0.0])
        if result.get("status") == "timeout" or secs > self.limit:
            self.over.setdefault((engine, loader), []).append((n, chi, secs))
            print(f"    note: {engine} {loader} n={n} chi={chi} took {secs:.1f} s "
                  f"> --max-seconds {self.limit:g}: larger runs of {engine} for {loader} "
                  "are skipped", flush=True)


def compare(args, bfly: Path, caps: BflyCaps, engines: list[str], bfly_backend: str,
            checkpoint) -> list[Row]:
    """Run the grid; `checkpoint(rows)` is called after every row (outputs so far)."""
    budget = Budget(args.max_seconds)
    rows: list[Row] = []
    for loader in args.inputs:
        for n in sorted(args.qubits):
            path = args.workdir / f"butterfly_{loader}_n{n}_seed{args.seed}.json"
            try:
                subprocess.run(bfly_butterfly_command(bfly, n, loader, args.seed, path),
                               check=True, capture_output=True, text=True)
                circ = load_circuit(path)
                ref = exact_reference(bfly, caps, circ, path, args)
            except (subprocess.CalledProcessError, RuntimeError, ValueError) as exc:
                msg = getattr(exc, "stderr", None) or str(exc)
                print(f"{loader} n={n}: cannot build/reference the circuit: {msg.strip()}")
                for chi in sorted(args.chi):
                    rows.append(Row(loader, n, chi, {e: {"status": "error", "note": msg.strip()}
                                                     for e in engines}))
                continue
            print(f"{loader} n={n}: {len(circ.ops)} ops; reference: "
                  f"{ref.kind or 'none'} {ref.note}", flush=True)
            for chi in sorted(args.chi):
                row = Row(loader, n, chi, reference=ref.kind or "")
                for engine in engines:
                    reason = budget.skip_reason(engine, loader, n, chi)
                    if reason:
                        res = {"status": "skipped", "note": reason}
                        print(f"    note: skipping {engine} {loader} n={n} chi={chi}: {reason}")
                    elif engine == "bfly":
                        res = run_bfly(bfly, bfly_backend, path, chi, ref, args)
                    elif engine == "bfly-u1":
                        res = run_bfly(bfly, bfly_backend, path, chi, ref, args, symmetry="u1")
                    else:
                        res = run_peer(engine, path, chi, ref, args)
                    accuracy(res, ref)
                    if not reason:
                        budget.record(engine, loader, n, chi, res)
                    row.results[engine] = res
                    print(f"  {loader:5s} n={n:<4d} chi={chi:<4d} {engine:5s} {_progress(res)}",
                          flush=True)
                rows.append(row)
                checkpoint(rows)
    return rows


def _progress(res: dict) -> str:
    if res.get("status") != "ok":
        return f"{res.get('status')}: {res.get('note', '')}"
    parts = [f"{res['time']:.4g} s"]
    if res.get("internal_time") is not None:
        parts.append(f"(aer time_taken {res['internal_time']:.4g} s)")
    if res.get("max_dp") is not None:
        parts.append(f"max|dP|={res['max_dp']:.2e}")
    if res.get("fidelity") is not None:
        parts.append(f"F={res['fidelity']:.8f}")
    elif res.get("fidelity_note"):
        parts.append(f"F {res['fidelity_note']}")
    if res.get("max_bond") is not None:
        parts.append(f"bond={res['max_bond']}")
    return " ".join(parts)


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------
def _fmt_time(res: dict | None) -> str:
    if not res:
        return "—"
    status = res.get("status")
    if status == "timeout":
        return f"> {res['time']:.0f} (timeout)"
    if status != "ok":
        return status or "—"
    text = f"{res['time']:.3g}"
    if res.get("internal_time") is not None:
        text += f" ({res['internal_time']:.3g})"
    return text


def _ratio(res: dict | None, base: dict | None) -> str:
    r = _ratio_value(res, base)
    return "—" if r is None else f"{r:.3g}"


def _ratio_value(res: dict | None, base: dict | None) -> float | None:
    if not res or not base or res.get("status") != "ok" or base.get("status") != "ok":
        return None
    if not base.get("time"):
        return None
    return res["time"] / base["time"]


def _fmt_dp(res: dict | None) -> str:
    if not res or res.get("status") != "ok" or res.get("max_dp") is None:
        return "—"
    return f"{res['max_dp']:.1e}"


def _fmt_fid(res: dict | None) -> str:
    if not res or res.get("status") != "ok":
        return "—"
    if res.get("fidelity") is None:
        return "n/a"
    return f"{res['fidelity']:.6f}"


def _fmt_load(load: dict) -> str:
    text = " / ".join("?" if v is None else f"{v:.2f}" for v in (load["start"], load["end"]))
    if any(v is not None and v > 0.5 for v in load.values()):
        text += " (**other processes were running: times are distorted**)"
    return text


def _fmt_bond(res: dict | None) -> str:
    if not res or res.get("status") != "ok" or res.get("max_bond") is None:
        return "—"
    return str(res["max_bond"])


def machine_info() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__}


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def write_outputs(args, meta: dict, rows: list[Row], engines: list[str]) -> str:
    lines = [
        "# Peer comparison: bfly MPS vs qiskit-aer vs quimb",
        "",
        f"- date: {meta['date']}",
        f"- machine: nproc={meta['machine']['nproc']}, {meta['machine']['cpu']}, "
        f"{meta['machine']['memory']}, {meta['machine']['os']}, "
        f"python {meta['machine']['python']}, numpy {meta['machine']['numpy']}",
        f"- versions: {meta['bfly']['version']} (git {meta['bfly']['commit']}); "
        + ", ".join(f"{k} {v}" for k, v in meta["peer_versions"].items()),
        f"- threads: {args.threads} for every engine: "
        + ", ".join(f"{v}={args.threads}" for v in THREAD_VARS)
        + f" in every process; aer options {meta['aer_options']}",
        f"- bfly: `{meta['bfly']['command']}`"
        + ("" if meta["bfly"]["backend"] == "mps" else
           "  **WARNING: this bfly binary has no mps backend; bfly times are EXACT-backend "
           "times (subspace / statevector), not MPS times**"),
        f"- quimb: CircuitMPS(n, max_bond=chi, cutoff={args.quimb_cutoff:g}) (relative to the "
        "largest singular value), gates applied with apply_gate_raw (swap+split, swaps back)",
        f"- settings: same chi for all engines; truncation threshold off: bfly --cutoff "
        f"{args.cutoff:g}, aer threshold {args.aer_threshold:g} (discarded weight), quimb cutoff "
        f"{args.quimb_cutoff:g} (quimb at cutoff 0 keeps round-off singular values, fills "
        "every bond to chi and was > 100x slower: hw2 n=32 chi=32 took 34 s instead of "
        "0.28 s); identity qubit "
        f"ordering; seed {args.seed} (`bfly butterfly --seed`)",
        f"- timing: seconds, median of repeats ({meta['repeats']}); bfly = report "
        "timings.simulate; aer = wall time of run(qc).result() (aer's own time_taken in "
        "parentheses); quimb = wall time of applying the gates. Ratios: medians measured "
        "in this one run.",
        "- accuracy: max|ΔP| = max_i |P(q_i=1) − exact| (exact: bfly subspace backend for "
        f"unary/hwK, statevector for angle at n ≤ {STATEVECTOR_MAX_QUBITS}); "
        "F = |<exact|ψ>|²/<ψ|ψ> (bfly: its own true_fidelity; peers: computed here from "
        "their final MPS); n/a: no reference or over the fidelity budget; — : not run; "
        "max bond: largest bond dimension of the final MPS (bfly / aer / quimb)",
        f"- load average (1 min) at start / end: {_fmt_load(meta['load_average'])}",
        f"- budget: --max-seconds {args.max_seconds:g} (larger runs of that engine/input "
        f"skipped after), --timeout {args.timeout:g} s",
        f"- self-check: {meta['self_check']}",
        f"- rows: {len(rows)} of {meta['planned_rows']} planned"
        + ("" if len(rows) >= meta["planned_rows"] else " (partial: run still going or stopped)"),
    ]
    for peer, reason in meta["skipped_peers"].items():
        lines.append(f"- SKIPPED {peer}: {reason}")
    lines += [
        "",
        "| input | n | χ | bfly s | aer s (internal) | quimb s | aer/bfly | quimb/bfly "
        "| max\\|ΔP\\| bfly | max\\|ΔP\\| aer | max\\|ΔP\\| quimb | F bfly | F aer | F quimb "
        "| max bond b/a/q/u1 | bfly-u1 s | bfly/bfly-u1 | max\\|ΔP\\| bfly-u1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.results
        lines.append(
            f"| {row.loader} | {row.n} | {row.chi} | {_fmt_time(r.get('bfly'))} "
            f"| {_fmt_time(r.get('aer'))} | {_fmt_time(r.get('quimb'))} "
            f"| {_ratio(r.get('aer'), r.get('bfly'))} | {_ratio(r.get('quimb'), r.get('bfly'))} "
            f"| {_fmt_dp(r.get('bfly'))} | {_fmt_dp(r.get('aer'))} | {_fmt_dp(r.get('quimb'))} "
            f"| {_fmt_fid(r.get('bfly'))} | {_fmt_fid(r.get('aer'))} | {_fmt_fid(r.get('quimb'))} "
            f"| {'/'.join(_fmt_bond(r.get(e)) for e in ENGINES)} "
            f"| {_fmt_time(r.get('bfly-u1'))} | {_ratio(r.get('bfly'), r.get('bfly-u1'))} "
            f"| {_fmt_dp(r.get('bfly-u1'))} |"
        )
    summary = []
    for peer in ("aer", "quimb"):
        ratios = [_ratio_value(row.results.get(peer), row.results.get("bfly")) for row in rows]
        ratios = [x for x in ratios if x is not None]
        if ratios:
            summary.append(f"{peer}/bfly median over {len(ratios)} rows: "
                           f"{statistics.median(ratios):.3g} (min {min(ratios):.3g}, "
                           f"max {max(ratios):.3g})")
    if summary:
        lines += ["", "Time ratios: " + "; ".join(summary) + "."]
    notes = []
    for row in rows:
        for engine, res in row.results.items():
            if res.get("status") != "ok" or res.get("fidelity_note") or res.get("note"):
                text = res.get("note") or res.get("fidelity_note")
                if text:
                    notes.append(f"- {row.loader} n={row.n} χ={row.chi} {engine}: "
                                 f"{res.get('status')}: {text}")
    if notes:
        lines += ["", "Notes:", *notes]
    markdown = "\n".join(lines) + "\n"

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown)
    fields = ["input", "n", "chi", "reference"]
    per = ["status", "time", "times", "internal_time", "max_dp", "fidelity", "max_bond",
           "norm2", "fidelity_estimate", "discarded_weight", "note"]
    header = fields + [f"{e}_{f}" for e in engines for f in per] + ["aer_over_bfly",
                                                                     "quimb_over_bfly"]
    with args.out.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            values = [row.loader, row.n, row.chi, row.reference]
            for e in engines:
                res = row.results.get(e, {})
                for f in per:
                    v = res.get(f)
                    values.append(" ".join(f"{t:.6g}" for t in v) if isinstance(v, list) else
                                  ("" if v is None else v))
            values += [_ratio_value(row.results.get("aer"), row.results.get("bfly")) or "",
                       _ratio_value(row.results.get("quimb"), row.results.get("bfly")) or ""]
            writer.writerow(values)
    doc = {"meta": meta, "rows": [
        {"input": row.loader, "n": row.n, "chi": row.chi, "reference": row.reference,
         "results": {e: {k: v for k, v in res.items() if k != "marginals"}
                     for e, res in row.results.items()}}
        for row in rows]}
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    return markdown


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.qubits = args.qubits or list(QUICK_QUBITS)
        args.chi = args.chi or list(QUICK_CHI)
        args.inputs = args.inputs or list(QUICK_INPUTS)
    args.qubits = args.qubits or list(DEFAULT_QUBITS)
    args.chi = args.chi or list(DEFAULT_CHI)
    args.inputs = args.inputs or list(DEFAULT_INPUTS)
    args.timeout = args.timeout or 3 * args.max_seconds
    args.out = args.out.resolve()
    args.workdir = (args.workdir or args.out.parent / "peer_compare_work").resolve()
    return args


def detect_peers(engines: list[str]) -> tuple[dict, dict]:
    """({peer: versions} for importable peers, {peer: reason} for skipped ones)."""
    found, skipped = {}, {}
    for peer, probe in (("aer", aer_versions), ("quimb", quimb_versions)):
        if peer not in engines:
            continue
        try:
            found[peer] = probe()
        except Exception as exc:  # noqa: BLE001 - any import failure means: skip this peer
            skipped[peer] = (f"cannot import ({type(exc).__name__}: {exc}); "
                             "run scripts/setup_peers.sh")
            print(f"SKIPPED {peer}: {skipped[peer]}", flush=True)
    return found, skipped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    bfly = ensure_bfly(args.bfly.resolve(), args.build)
    caps = bfly_caps(bfly)
    args._caps = caps
    peers, skipped = detect_peers(args.engines)
    engines = [e for e in args.engines if e in ("bfly", "bfly-u1") or e in peers]
    if args.bfly_backend == "mps" and not caps.mps:
        sys.exit("error: --bfly-backend mps but `bfly simulate --help` lists no mps backend")
    bfly_backend = "mps" if (args.bfly_backend != "exact" and caps.mps) else "exact"
    if "bfly" in engines and bfly_backend != "mps":
        print("note: `bfly simulate --backend mps` is not available (or --bfly-backend exact): "
              "bfly runs its exact backends instead; its times are NOT MPS times", flush=True)
    print(f"threads: {args.threads} ({', '.join(THREAD_VARS)} = {args.threads}; aer "
          f"max_parallel_threads = mps_omp_threads = {args.threads})", flush=True)

    check_summary = "not run (--skip-self-check)"
    check = None
    if not args.skip_self_check or args.self_check:
        check = self_check(bfly, caps, peers, args)
        total = len([x for x in check.lines if x.startswith(("PASS", "FAIL"))])
        check_summary = (f"{total - len(check.failures)}/{total} checks passed"
                         + (f"; FAILED: {', '.join(check.failures)}" if check.failures else ""))
        if args.self_check:
            return 1 if check.failures else 0
        if check.failures and not args.force:
            print("error: self-check failed; not comparing (use --force to override)")
            return 1

    args.workdir.mkdir(parents=True, exist_ok=True)
    if bfly_backend == "mps":
        plain = bfly_mps_command(bfly, Path("FILE"), 999983, args.cutoff, None, caps)
        shown = bfly_mps_command(bfly, Path("FILE"), 999983, args.cutoff,
                                 "subspace|statevector", caps)
        extra = " ".join(shown[len(plain):])
        bfly_cmd = (" ".join(["bfly", *plain[1:]]) + (f" [{extra}]" if extra else "")
                    ).replace("999983", "χ")
    else:
        bfly_cmd = "bfly simulate --backend subspace|statevector --json"
    lo, hi, small = _repeat_policy(args)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "bfly": {"version": caps.version, "commit": git_commit(), "backend": bfly_backend,
                 "command": bfly_cmd, "path": str(bfly)},
        "peer_versions": {k: v for d in peers.values() for k, v in d.items()},
        "skipped_peers": skipped,
        "threads": {v: args.threads for v in THREAD_VARS},
        "aer_options": aer_options_text(args.threads, args.aer_threshold),
        "repeats": (f"{args.repeats} each" if args.repeats else
                    f"3 when the first run takes < {small:g} s, else 1"),
        "settings": {"qubits": args.qubits, "chi": args.chi, "inputs": args.inputs,
                     "seed": args.seed, "cutoff": args.cutoff,
                     "aer_threshold": args.aer_threshold, "quimb_cutoff": args.quimb_cutoff,
                     "max_seconds": args.max_seconds, "timeout": args.timeout},
        "self_check": check_summary,
        "planned_rows": len(args.inputs) * len(args.qubits) * len(args.chi),
        "self_check_lines": check.lines if check else [],
    }
    load = load_average()
    if load is not None and load > 0.5:
        print(f"WARNING: load average {load:.2f} before the comparison: other processes are "
              "using the CPU, timings will be distorted", flush=True)
    def checkpoint(rows: list[Row]) -> str:
        meta["load_average"] = {"start": load, "end": load_average()}
        return write_outputs(args, meta, rows, engines)

    rows = compare(args, bfly, caps, engines, bfly_backend, checkpoint)
    markdown = checkpoint(rows)
    print()
    print(markdown)
    print(f"wrote {args.out} (+ .csv, .json); raw results in {args.workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
