#!/usr/bin/env bash
# The quick start: a virtualenv, the package, and `threshold demo`.
#
#   ./scripts/demo.sh                      wipe and seed the SQLite demo database under ./var,
#                                          print the logins, serve on http://127.0.0.1:8000
#   ./scripts/demo.sh --seed-only --json   seed, print the logins as one JSON object, exit
#
# Any arguments go to `threshold demo` (see `.venv/bin/threshold demo --help`).
# Safe to run again: the virtualenv is reused (reinstalled only when pyproject.toml changes)
# and the demo database is rebuilt each time, dated from today.
# PYTHON picks the interpreter used to create .venv (default python3; 3.11 or newer).
# The demo only ever uses its own SQLite file: it refuses to run with DATABASE_URL set.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
INSTALLED=.venv/.threshold-installed

say() {
    printf 'demo.sh: %s\n' "$*" >&2
}

if [[ ! -x .venv/bin/python ]]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        say "Threshold needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"
        exit 1
    fi
    say "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
fi

if [[ ! -f "$INSTALLED" || pyproject.toml -nt "$INSTALLED" ]]; then
    say "installing Threshold and its packages into .venv (the first time takes a few minutes)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
    touch "$INSTALLED"
else
    say "packages already installed in .venv"
fi

exec .venv/bin/threshold demo "$@"
