#!/usr/bin/env bash
# Create scripts/.venv and install the peer engines for scripts/peer_compare.py.
#
#   scripts/setup_peers.sh            # idempotent: pip no-ops when the pins are satisfied
#   PYTHON=python3.12 scripts/setup_peers.sh
#   PEER_REQUIREMENTS=other-pins.txt scripts/setup_peers.sh
#
# Versions are pinned in scripts/requirements-peers.txt. Each group (core = numpy,
# aer = qiskit + qiskit-aer, quimb = quimb) is installed separately; a group that cannot be
# installed is reported on one line "SKIPPED <peer>: <reason>" and the others go on.
# Exit status: 0 when the core (numpy) is usable, 1 otherwise (nothing can be compared).
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQ="${PEER_REQUIREMENTS:-$HERE/requirements-peers.txt}"
PY="${PYTHON:-python3}"

# The pinned spec of one package from requirements-peers.txt (bare name if not pinned there).
pin() {
    local spec
    spec="$(grep -iE "^$1[[:space:]]*==" "$REQ" 2>/dev/null | head -n 1 | tr -d '[:space:]')"
    echo "${spec:-$1}"
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtual env $VENV with $PY"
    if ! "$PY" -m venv "$VENV" >/dev/null 2>"$HERE/.venv-create.log"; then
        echo "SKIPPED aer: cannot create $VENV ($PY -m venv failed: $(tail -n 1 "$HERE/.venv-create.log"); on Debian: apt-get install python3-venv)"
        echo "SKIPPED quimb: cannot create $VENV"
        rm -f "$HERE/.venv-create.log"
        exit 1
    fi
    rm -f "$HERE/.venv-create.log"
fi
VPY="$VENV/bin/python"

# install_group NAME MODULE SPEC... : pip-install the specs, then check that MODULE imports.
install_group() {
    local name="$1" module="$2"
    shift 2
    local log
    log="$(mktemp)"
    if ! "$VPY" -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1; then
        echo "SKIPPED $name: pip install $* failed: $(grep -v '^\s*$' "$log" | tail -n 2 | tr '\n' ' ')"
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    local version
    if ! version="$("$VPY" -c "import $module; print(getattr($module, '__version__', '?'))" 2>&1)"; then
        echo "SKIPPED $name: installed but 'import $module' fails: $(echo "$version" | tail -n 1)"
        return 1
    fi
    echo "ok $name: $module $version"
    return 0
}

status=0
install_group core numpy "$(pin numpy)" || status=1
if [ "$status" -eq 0 ]; then
    install_group aer qiskit_aer "$(pin qiskit)" "$(pin qiskit-aer)" || true
    install_group quimb quimb "$(pin quimb)" || true
else
    echo "SKIPPED aer: the core (numpy) could not be installed"
    echo "SKIPPED quimb: the core (numpy) could not be installed"
fi
exit "$status"
