#!/usr/bin/env python3
"""Train the same hybrid Butterfly model on the same data with `bfly train` and with
PennyLane (adjoint differentiation), and report the training-throughput ratio of one run.

The model (as in src/train/model.rs): features x (m) -> dense layer (n x m) -> z,
r = |z|, u = z / r -> unary tree loader -> Butterfly of RBS gates (L layers, coupling
first) -> p_i = P(q_i = 1) -> head o = W2 [p, r] + b2, loss MSE. All parameters train
jointly (`bfly train --joint --gradient exact`: reverse mode through the unary map;
PennyLane: `diff_method="adjoint"` on default.qubit or lightning.qubit, through
RBS(theta) = qml.SingleExcitation(-2 theta) and the loader's angles).

Both start from the same parameters: `bfly train --epochs 0` writes the initial model,
PennyLane loads it. Same data (one CSV), same batch size, Adam with the same learning
rate; only the shuffling differs. Before training, the script checks that a NumPy
re-implementation, PennyLane and bfly agree on the initial model's loss (self-check).

Usage (from the repository root; re-executes itself inside scripts/.venv-pennylane,
created by scripts/setup_pennylane.sh when needed; prints SKIPPED if impossible):

    python3 scripts/pennylane_compare.py --quick           # smoke run: 4 qubits, ~10 s
    python3 scripts/pennylane_compare.py                   # 16 qubits, 4 layers, 64 rows
    python3 scripts/pennylane_compare.py --device lightning.qubit --rows 128 --epochs 2

Timing: PennyLane = wall time of its training loop; bfly = the "seconds" of its own
report (training loop incl. per-epoch loss evaluation and model write), run for
--bfly-epochs epochs (default 100 x --epochs, so its time is well above timer noise).
Ratio = bfly samples/s / PennyLane samples/s, samples = epochs x rows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
VENV = SCRIPTS / ".venv-pennylane"
VENV_PY = VENV / "bin" / "python"
SETUP = SCRIPTS / "setup_pennylane.sh"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--qubits", type=int, default=16)
    p.add_argument("--layers", type=int, default=None, help="default: log2(qubits)")
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1, help="PennyLane epochs")
    p.add_argument("--bfly-epochs", type=int, default=None, help="bfly epochs for timing (default 100 x --epochs)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="default.qubit", choices=["default.qubit", "lightning.qubit"])
    p.add_argument("--quick", action="store_true", help="smoke run: 4 qubits, 2 layers, 3 features, 16 rows")
    p.add_argument("--bfly", type=Path, default=REPO / "target" / "release" / "bfly",
                   help="bfly binary (built with `cargo build --release` if missing)")
    p.add_argument("--workdir", type=Path, default=None, help="where the CSV and models go (default: a temp dir)")
    p.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    p.add_argument("--no-venv", action="store_true", help="use the current interpreter as is")
    a = p.parse_args(argv)
    if a.quick:
        a.qubits, a.layers, a.features, a.rows, a.epochs, a.batch_size = 4, 2, 3, 16, 1, 8
    if a.layers is None:
        a.layers = int(math.log2(a.qubits))
    if a.bfly_epochs is None:
        a.bfly_epochs = 100 * a.epochs
    if a.qubits < 2 or a.qubits & (a.qubits - 1):
        p.error(f"--qubits must be a power of two >= 2, got {a.qubits}")
    return a


def ensure_venv(args: argparse.Namespace, argv: list[str]) -> None:
    """Re-execute inside scripts/.venv-pennylane (set up on first use)."""
    if args.no_venv or Path(sys.prefix).resolve() == VENV.resolve():
        return
    probe = "import pennylane, numpy"
    ready = VENV_PY.exists() and subprocess.run([str(VENV_PY), "-c", probe], capture_output=True).returncode == 0
    if not ready:
        print(f"setting up {VENV} ({SETUP.name}) ...", flush=True)
        rc = subprocess.run(["bash", str(SETUP)]).returncode
        if rc != 0 or not VENV_PY.exists():
            print("SKIPPED pennylane_compare: PennyLane is not available (see the SKIPPED line above); nothing was compared")
            sys.exit(0)
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *argv])


# ---------------------------------------------------------------- model, in NumPy

def butterfly_pairs(n: int, layers: int) -> list[tuple[int, int]]:
    """Gate pairs in slot order (coupling-first: strides n/2, ..., 1)."""
    pairs = []
    for layer in range(layers):
        s = n >> (layer + 1)
        for start in range(0, n, 2 * s):
            pairs.extend((start + j, start + j + s) for j in range(s))
    return pairs


def loader_pairs(n: int) -> list[tuple[int, int]]:
    """Tree-loader RBS pairs in gate order (level by level)."""
    out, block = [], n
    while block >= 2:
        out.extend((start, start + block // 2) for start in range(0, n, block))
        block //= 2
    return out


def unary_forward(np, u, theta, pairs):
    y = np.array(u, dtype=float)
    for k, (a, b) in enumerate(pairs):
        c, s = math.cos(theta[k]), math.sin(theta[k])
        ya, yb = y[a], y[b]
        y[a] = c * ya - s * yb
        y[b] = s * ya + c * yb
    return y


def forward_np(np, params, x, pairs):
    w1, b1, theta, w2, b2 = params
    z = w1 @ x + b1
    r = float(np.sqrt(np.sum(z * z)))
    y = unary_forward(np, z / r, theta, pairs)
    h = np.concatenate([y * y, [r]])
    return w2 @ h + b2


def mse_np(np, params, xs, ts, pairs) -> float:
    return float(np.mean([np.mean((forward_np(np, params, x, pairs) - t) ** 2) for x, t in zip(xs, ts)]))


def params_from_model(np, model: dict):
    n, m, k = model["qubits"], model["pre"]["cols"], model["head"]["rows"]
    for key in ("input_scaling", "target_scaling"):
        sc = model[key]
        if any(v != 0.0 for v in sc["mean"]) or any(v != 1.0 for v in sc["scale"]):
            sys.exit(f"error: the model has a non-identity {key}; run bfly with --no-standardize")
    if model["ordering"] != "coupling-first" or model["loader"] != "unary-tree":
        sys.exit("error: this script implements the coupling-first Butterfly with the unary tree loader")
    return (
        np.array(model["pre"]["weights"], dtype=float).reshape(n, m),
        np.array(model["pre"]["bias"], dtype=float),
        np.array(model["theta"], dtype=float),
        np.array(model["head"]["weights"], dtype=float).reshape(k, n + 1),
        np.array(model["head"]["bias"], dtype=float),
    )


def make_data(np, args, path: Path):
    """Targets from a hidden random hybrid model (random dense layer, random Butterfly)."""
    n, m = args.qubits, args.features
    rng = np.random.default_rng(args.seed)
    a = rng.normal(size=(n, m))
    theta = rng.uniform(0, 2 * math.pi, size=(n // 2) * args.layers)
    w = rng.uniform(-1, 1, size=n)
    pairs = butterfly_pairs(n, args.layers)
    xs = rng.normal(size=(args.rows, m))
    ts = []
    for x in xs:
        z = a @ x
        y = unary_forward(np, z / np.linalg.norm(z), theta, pairs)
        ts.append(float(w @ (y * y)))
    ts = np.array(ts)
    ts = (ts - ts.mean()) / ts.std()
    with open(path, "w") as f:
        f.write(",".join([f"x{i}" for i in range(m)] + ["y"]) + "\n")
        for x, t in zip(xs, ts):
            f.write(",".join(repr(float(v)) for v in [*x, t]) + "\n")
    return xs, ts.reshape(-1, 1)


# ---------------------------------------------------------------- bfly

def bfly_binary(path: Path) -> Path:
    if not path.exists():
        print(f"building bfly: cargo build --release (in {REPO}) ...", flush=True)
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    if not path.exists():
        sys.exit(f"error: {path} does not exist after cargo build --release")
    return path


def bfly_train(bfly: Path, args, csv: Path, out: Path, epochs: int) -> dict:
    cmd = [
        str(bfly), "train", "--data", str(csv), "--target", "y",
        "--qubits", str(args.qubits), "--layers", str(args.layers),
        "--gradient", "exact", "--joint", "--epochs", str(epochs),
        "--batch-size", str(args.batch_size), "--lr", repr(args.lr),
        "--validation", "0", "--no-standardize", "--seed", str(args.seed),
        "--out", str(out), "--json",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        hint = " (is `train` registered in this bfly build?)" if "unrecognized subcommand" in r.stderr else ""
        sys.exit(f"error: {' '.join(cmd)} failed{hint}:\n{r.stderr}")
    return json.loads(r.stdout)


# ---------------------------------------------------------------- PennyLane

def pennylane_model(args):
    import pennylane as qml
    from pennylane import numpy as pnp

    n, layers = args.qubits, args.layers
    bpairs = butterfly_pairs(n, layers)
    lpairs = loader_pairs(n)
    dev = qml.device(args.device, wires=n)

    def rbs(t, a, b):
        # RBS(t) = [[1,0,0,0],[0,cos t, sin t,0],[0,-sin t, cos t,0],[0,0,0,1]] on |q_a q_b>
        qml.SingleExcitation(-2.0 * t, wires=[a, b])

    @qml.qnode(dev, diff_method="adjoint", interface="autograd")
    def z_expvals(angles, theta):
        qml.PauliX(wires=0)
        for k, (a, b) in enumerate(lpairs):
            rbs(angles[k], a, b)
        for k, (a, b) in enumerate(bpairs):
            rbs(theta[k], a, b)
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    def tree_angles(u):
        out, block = [], n
        while block >= 2:
            h = block // 2
            for start in range(0, n, block):
                if block == 2:
                    out.append(pnp.arctan2(u[start + 1], u[start]))
                else:
                    right = pnp.sqrt(pnp.sum(u[start + h:start + block] ** 2))
                    left = pnp.sqrt(pnp.sum(u[start:start + h] ** 2))
                    out.append(pnp.arctan2(right, left))
            block //= 2
        return pnp.stack(out)

    def outputs(w1, b1, theta, w2, b2, x):
        z = pnp.dot(w1, x) + b1
        r = pnp.sqrt(pnp.sum(z * z))
        u = z / r
        ez = pnp.stack(z_expvals(tree_angles(u), theta))
        p = (1.0 - ez) / 2.0
        h = pnp.concatenate([p, pnp.reshape(r, (1,))])
        return pnp.dot(w2, h) + b2

    def cost(w1, b1, theta, w2, b2, xs, ts):
        total = 0.0
        for x, t in zip(xs, ts):
            o = outputs(w1, b1, theta, w2, b2, x)
            total = total + pnp.mean((o - t) ** 2)
        return total / len(xs)

    return qml, pnp, outputs, cost


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ensure_venv(args, argv)
    import numpy as np
    qml, pnp, outputs, cost = pennylane_model(args)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="pennylane_compare_"))
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "data.csv"
    xs, ts = make_data(np, args, csv)
    bfly = bfly_binary(args.bfly)
    pairs = butterfly_pairs(args.qubits, args.layers)

    # Initial model from bfly; self-check of the three implementations on it.
    init = bfly_train(bfly, args, csv, work / "init.json", 0)
    model0 = json.loads((work / "init.json").read_text())
    params0 = params_from_model(np, model0)
    mse_bfly0 = init["training"]["final_train_loss_exact"]
    mse_np0 = mse_np(np, params0, xs, ts, pairs)
    pl_args = [pnp.array(p, requires_grad=True) for p in params0]
    check_rows = min(4, len(xs))
    pl_out = [float(outputs(*pl_args, pnp.array(xs[i], requires_grad=False))[0]) for i in range(check_rows)]
    np_out = [float(forward_np(np, params0, xs[i], pairs)[0]) for i in range(check_rows)]
    dev_np = max(abs(a - b) for a, b in zip(pl_out, np_out))
    print(f"self-check on the initial model: MSE bfly {mse_bfly0:.12e}, NumPy {mse_np0:.12e}; "
          f"max |PennyLane - NumPy| output over {check_rows} rows {dev_np:.2e}")
    if abs(mse_bfly0 - mse_np0) > 1e-9 * max(1.0, abs(mse_np0)) or dev_np > 1e-8:
        sys.exit("error: the implementations disagree on the initial model; the comparison would be meaningless")

    # bfly: same epochs (for the loss), and --bfly-epochs (for the timing).
    same = bfly_train(bfly, args, csv, work / "bfly_same.json", args.epochs)
    timed = bfly_train(bfly, args, csv, work / "bfly_timed.json", args.bfly_epochs)

    # PennyLane training.
    opt = qml.AdamOptimizer(stepsize=args.lr)
    rng = np.random.default_rng(args.seed + 1)
    xs_p = pnp.array(xs, requires_grad=False)
    ts_p = pnp.array(ts, requires_grad=False)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        order = rng.permutation(len(xs))
        for start in range(0, len(order), args.batch_size):
            idx = order[start:start + args.batch_size]
            xb, tb = xs_p[idx], ts_p[idx]
            pl_args = list(opt.step(lambda *p: cost(*p, xb, tb), *pl_args))
    pl_seconds = time.perf_counter() - t0
    pl_params = tuple(np.array(p) for p in pl_args)
    pl_mse = mse_np(np, pl_params, xs, ts, pairs)

    samples_pl = args.epochs * len(xs)
    samples_bfly = args.bfly_epochs * len(xs)
    sps_pl = samples_pl / pl_seconds
    sps_bfly = samples_bfly / timed["seconds"]
    import pennylane
    result = {
        "model": {"qubits": args.qubits, "layers": args.layers, "features": args.features, "rows": args.rows,
                  "batch_size": args.batch_size, "optimizer": f"adam lr {args.lr}", "seed": args.seed},
        "pennylane": {"version": pennylane.__version__, "device": args.device, "diff_method": "adjoint",
                      "epochs": args.epochs, "seconds": pl_seconds, "samples_per_second": sps_pl,
                      "mse_initial": mse_np0, "mse_final": pl_mse},
        "bfly": {"gradient": "exact (unary adjoint)", "epochs": args.bfly_epochs, "seconds": timed["seconds"],
                 "samples_per_second": sps_bfly, "mse_after_same_epochs": same["training"]["final_train_loss_exact"],
                 "mse_final": timed["training"]["final_train_loss_exact"]},
        "ratio_samples_per_second": sps_bfly / sps_pl,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "workdir": str(work),
    }
    print(f"model: {args.qubits} qubits, {args.layers} layers, {args.features} features, {args.rows} rows, "
          f"batch {args.batch_size}, Adam lr {args.lr}; all parameters trained jointly, same initial parameters")
    print(f"{'engine':<36} {'epochs':>7} {'samples':>8} {'seconds':>10} {'samples/s':>12} {'MSE after':>14}")
    print(f"{'bfly (exact adjoint)':<36} {args.epochs:>7} {samples_pl:>8} {'':>10} {'':>12} "
          f"{result['bfly']['mse_after_same_epochs']:>14.6e}")
    print(f"{'bfly (exact adjoint)':<36} {args.bfly_epochs:>7} {samples_bfly:>8} {timed['seconds']:>10.3f} "
          f"{sps_bfly:>12.1f} {result['bfly']['mse_final']:>14.6e}")
    print(f"{'pennylane ' + args.device + ' (adjoint)':<36} {args.epochs:>7} {samples_pl:>8} {pl_seconds:>10.3f} "
          f"{sps_pl:>12.3f} {pl_mse:>14.6e}")
    print(f"initial MSE {mse_np0:.6e}; throughput ratio bfly / PennyLane = {result['ratio_samples_per_second']:.0f}x (one run)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
