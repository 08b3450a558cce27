#!/usr/bin/env bash
# The quick start: a virtualenv, the package, and `threshold demo`.
#
#   ./scripts/demo.sh                      wipe and seed the SQLite demo database under ./var,
#                                          print the logins, serve on http://127.0.0.1:8000
#   ./scripts/demo.sh --seed-only --json   seed, print the logins as one JSON object, exit
#
# Any arguments go to `threshold demo` (see `.venv/bin/threshold demo --help`).
# Safe to run again: the virtualenv is reused and the demo database is rebuilt each time.
# PYTHON picks the interpreter used to create .venv (default python3; 3.11 or newer).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"

if [[ ! -x .venv/bin/python ]]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "demo.sh: Threshold needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
    echo "demo.sh: creating .venv with $("$PYTHON" --version 2>&1)" >&2
    "$PYTHON" -m venv .venv
fi

echo "demo.sh: installing Threshold into .venv (pip install -e .)" >&2
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

exec .venv/bin/threshold demo "$@"
