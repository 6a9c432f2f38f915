#!/usr/bin/env bash
# Create scripts/.venv-pennylane and install PennyLane for scripts/pennylane_compare.py.
#
#   scripts/setup_pennylane.sh            # idempotent: pip no-ops when the pins are satisfied
#   PYTHON=python3.12 scripts/setup_pennylane.sh
#
# Pinned: pennylane 0.45.1 (brings numpy, autograd and pennylane-lightning 0.45.x).
# If anything cannot be installed, prints one line "SKIPPED pennylane: <reason>" and exits 1.
# On success prints "ok pennylane: <version>, lightning <version>" and exits 0.
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-pennylane"
PY="${PYTHON:-python3}"
PENNYLANE_PIN="pennylane==0.45.1"
LIGHTNING_PIN="pennylane-lightning==0.45.0"

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "SKIPPED pennylane: no $PY on PATH (install python3, or set PYTHON=...)"
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtual env $VENV with $PY"
    log="$(mktemp)"
    if ! "$PY" -m venv "$VENV" >"$log" 2>&1; then
        echo "SKIPPED pennylane: cannot create $VENV ($PY -m venv failed: $(tail -n 1 "$log"); on Debian: apt-get install python3-venv)"
        rm -f "$log"
        rm -rf "$VENV"
        exit 1
    fi
    rm -f "$log"
fi
VPY="$VENV/bin/python"

log="$(mktemp)"
if ! "$VPY" -m pip install --disable-pip-version-check -q "$PENNYLANE_PIN" "$LIGHTNING_PIN" >"$log" 2>&1; then
    echo "SKIPPED pennylane: pip install $PENNYLANE_PIN $LIGHTNING_PIN failed: $(grep -v '^\s*$' "$log" | tail -n 2 | tr '\n' ' ')"
    rm -f "$log"
    exit 1
fi
rm -f "$log"

if ! versions="$("$VPY" -c 'import pennylane as qml, pennylane_lightning; from importlib.metadata import version; print(qml.__version__, version("pennylane-lightning"))' 2>&1)"; then
    echo "SKIPPED pennylane: installed but the import fails: $(echo "$versions" | tail -n 1)"
    exit 1
fi
set -- $versions
echo "ok pennylane: $1, lightning $2"
exit 0
