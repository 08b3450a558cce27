#!/usr/bin/env bash
# The one test command. On a fresh clone it creates .venv, installs Threshold with its [test]
# extra, then runs, stopping at the first failure:
#
#   1. install      pip install -e '.[test]' into .venv (skipped while .venv already holds this
#                   pyproject.toml's packages), and Debian's Chromium if it is missing
#                   (the API explorer and the termly report are rendered in it)
#   2. ruff check   app tests bench
#   3. ruff format  --check app tests bench
#   4. mypy         app tests bench (strict; config in pyproject.toml)
#   5. PostgreSQL   a throw-away database (the local cluster is started if it is down)
#   6. pytest       on PostgreSQL, and on SQLite (a temporary file) beside it, one per core
#   7. (SQLite's output, printed once both runs have finished)
#   8. pip-audit    known vulnerabilities in the installed packages
#
# Arguments go to both pytest runs:   ./scripts/test.sh -k token -x
#
# Environment:
#   THRESHOLD_SKIP_LINT=1         skip steps 2-4 (for checking the script; CI never sets it)
#   THRESHOLD_PIP_AUDIT_ARGS      extra pip-audit arguments, e.g. "-s osv" or "--ignore-vuln ID"
#   PYTHON                        interpreter used to create .venv (default python3; 3.11+)
#
# PostgreSQL is expected on 127.0.0.1:5432, user postgres, trust auth (as on the development
# machines and CI). If it is not accepting connections, the local cluster is started.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
VENV_BIN="$PWD/.venv/bin"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/threshold-test-sh.XXXXXX")"
PG_DATABASE=""
WARNINGS=()
STEP=0
STEPS=8
STARTED=$SECONDS

banner() {
    STEP=$((STEP + 1))
    printf '\n==> [%d/%d] %s\n' "$STEP" "$STEPS" "$*"
}

warn() {
    WARNINGS+=("$*")
    printf 'WARNING: %s\n' "$*" >&2
}

die() {
    printf 'test.sh: %s\n' "$*" >&2
    exit 1
}

psql_admin() {
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

cleanup() {
    local status=$?
    if [[ -n "${sqlite_pid:-}" ]]; then
        kill "$sqlite_pid" 2>/dev/null || true
    fi
    if [[ -n "$PG_DATABASE" ]]; then
        psql_admin -c "DROP DATABASE IF EXISTS \"$PG_DATABASE\" WITH (FORCE)" >/dev/null 2>&1 \
            || printf 'test.sh: could not drop database %s; drop it by hand\n' "$PG_DATABASE" >&2
    fi
    rm -rf "$WORK_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints "passed failed skipped" for one pytest JUnit XML report.
junit_counts() {
    "$VENV_BIN/python" - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
print(passed, total["failures"] + total["errors"], total["skipped"])
PY
}

# ---------------------------------------------------------------------------------------------
banner "install: .venv with pip install -e '.[test]', and Chromium"
if [[ ! -x "$VENV_BIN/python" ]]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "Threshold needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"
    echo "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
fi
# Skipped when .venv already holds what this pyproject.toml asks for (a stamp written after the
# last successful install): even a reinstall that changes nothing resolves every package against
# the index again, about a minute on a busy machine.
INSTALL_STAMP="$PWD/.venv/.threshold-installed"
wanted="$(sha256sum pyproject.toml | cut -d ' ' -f 1) $("$VENV_BIN/python" --version 2>&1)"
if [[ -f "$INSTALL_STAMP" && "$(cat "$INSTALL_STAMP")" == "$wanted" ]]; then
    echo ".venv already holds pyproject.toml's packages (delete $INSTALL_STAMP to reinstall)"
else
    rm -f "$INSTALL_STAMP"
    # A current pip and setuptools: the ones a new venv ships with are old enough to fail the
    # audit. The editable build then uses that setuptools rather than fetching its own copy
    # into an isolated build environment.
    "$VENV_BIN/python" -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools
    "$VENV_BIN/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation \
        -e '.[test]'
    echo "$wanted" >"$INSTALL_STAMP"
fi
# The API explorer's and the termly report's tests load pages in a real browser (and fail, never
# skip, without one).
if ! command -v chromium >/dev/null; then
    [[ "$(id -u)" == 0 ]] \
        || die "Chromium is needed for the browser tests (tests/browser.py): sudo apt-get install chromium"
    echo "installing Chromium (apt-get install chromium) for the browser tests"
    apt-get update -qq >"$WORK_DIR/apt.log" 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            chromium >>"$WORK_DIR/apt.log" 2>&1 \
        || { cat "$WORK_DIR/apt.log" >&2; die "could not install Chromium (apt-get output above)"; }
fi
echo "browser: $(chromium --version 2>/dev/null | head -n 1)"

# ---------------------------------------------------------------------------------------------
if [[ "${THRESHOLD_SKIP_LINT:-}" == "1" ]]; then
    for name in "ruff check" "ruff format --check" "mypy"; do
        banner "$name: SKIPPED (THRESHOLD_SKIP_LINT=1)"
    done
    warn "lint and type checks were skipped (THRESHOLD_SKIP_LINT=1)"
else
    banner "ruff check app tests bench"
    "$VENV_BIN/ruff" check app tests bench
    banner "ruff format --check app tests bench"
    "$VENV_BIN/ruff" format --check app tests bench
    banner "mypy app tests bench"
    # Its cache lives in .venv, so wherever .venv is kept between runs, so is mypy's work.
    "$VENV_BIN/mypy" --cache-dir "$PWD/.venv/.mypy_cache" app tests bench
fi

# ---------------------------------------------------------------------------------------------
banner "PostgreSQL at $PG_HOST:$PG_PORT: a throw-away database"
if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
    die "pg_isready and psql are needed for the PostgreSQL run (Debian: postgresql-client)"
fi
if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    echo "PostgreSQL is not accepting connections; starting the local cluster"
    command -v pg_ctlcluster >/dev/null || die "no pg_ctlcluster here; start PostgreSQL by hand"
    [[ -d /etc/postgresql ]] || die "no /etc/postgresql here; start PostgreSQL by hand"
    pg_version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
    for _ in $(seq 1 30); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
        sleep 1
    done
    pg_isready -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL did not become ready in 30 s"
fi
PG_DATABASE="threshold_test_$$_$(date +%s)"
psql_admin -c "CREATE DATABASE \"$PG_DATABASE\""
echo "throw-away database: $PG_DATABASE (dropped on exit)"

# ---------------------------------------------------------------------------------------------
# The two runs share nothing (a temporary SQLite file; the throw-away database), so they run
# side by side, one per core; SQLite's output is shown when both have finished.
banner "pytest on PostgreSQL, with pytest on SQLite beside it"
env -u THRESHOLD_TEST_DATABASE_URL \
    "$VENV_BIN/pytest" --junitxml="$WORK_DIR/sqlite.xml" "$@" >"$WORK_DIR/sqlite.log" 2>&1 &
sqlite_pid=$!
pg_status=0
THRESHOLD_TEST_DATABASE_URL="postgresql://$PG_USER@$PG_HOST:$PG_PORT/$PG_DATABASE" \
    "$VENV_BIN/pytest" --junitxml="$WORK_DIR/postgresql.xml" "$@" || pg_status=$?
sqlite_status=0
wait "$sqlite_pid" || sqlite_status=$?
banner "pytest on SQLite (its output)"
cat "$WORK_DIR/sqlite.log"
[[ "$sqlite_status" == 0 ]] || die "pytest on SQLite failed (exit $sqlite_status; output above)"
[[ "$pg_status" == 0 ]] || die "pytest on PostgreSQL failed (exit $pg_status; see its output)"

# ---------------------------------------------------------------------------------------------
banner "pip-audit: known vulnerabilities in the installed packages"
# pip-audit exits 0 with "No known vulnerabilities found" even when its service answered for
# no package at all, and dies with a traceback when the service cannot be reached. So read its
# JSON report instead: a vulnerability fails the run; an unreachable service is a warning.
read -r -a audit_args <<<"${THRESHOLD_PIP_AUDIT_ARGS:-}"
audit_status=0
"$VENV_BIN/pip-audit" --skip-editable --progress-spinner off --format json \
    --output "$WORK_DIR/audit.json" ${audit_args[@]+"${audit_args[@]}"} \
    2>"$WORK_DIR/audit.err" || audit_status=$?
audit_verdict=0
audit_report=("$WORK_DIR/audit.json" "$WORK_DIR/audit.err" "$audit_status")
"$VENV_BIN/python" - "${audit_report[@]}" <<'PY' || audit_verdict=$?
# Exit 0: audited, nothing found. 1: vulnerabilities. 2: pip-audit failed for another reason.
# 3: the vulnerability service answered for nothing. 4: it answered for only some packages.
import json
import re
import sys
from pathlib import Path

report_path, err_path, status = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
err = err_path.read_text(errors="replace") if err_path.exists() else ""
UNREACHABLE = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|NameResolutionError|Failed to resolve"
    r"|Max retries exceeded|Temporary failure in name resolution|Network is unreachable"
    r"|Connection refused|timed out|ServiceError"
)
try:
    report = json.loads(report_path.read_text())
except (OSError, ValueError):
    report = None

if report is None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    if UNREACHABLE.search(err):
        print("pip-audit: " + (lines[-1] if lines else "the vulnerability service did not answer"))
        sys.exit(3)
    print(err or f"pip-audit exited {status} without a report")
    sys.exit(2)

# Threshold itself is installed editable and is not on PyPI: --skip-editable leaves it out.
dependencies = [
    d for d in report.get("dependencies", []) if not d.get("skip_reason", "").endswith("editable")
]
vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if "skip_reason" in d]
audited = [d for d in dependencies if "skip_reason" not in d]
if vulnerable:
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            ids = ", ".join([vuln["id"], *vuln.get("aliases", [])])
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {ids} (fixed in {fixed})")
            if vuln.get("description"):
                print("    " + vuln["description"][:300])
    sys.exit(1)
if status != 0:
    print(err or f"pip-audit exited {status}")
    sys.exit(2)
if skipped and not audited:
    print(f"pip-audit: the vulnerability service answered for none of the {len(skipped)} "
          f"installed packages, e.g. \"{skipped[0]['skip_reason']}\".")
    print("No vulnerability check was made. (On a machine whose only way out is a package")
    print("registry mirror, PyPI's per-release JSON API and OSV are usually not reachable.)")
    sys.exit(3)
for dep in skipped:
    print(f"not audited: {dep['skip_reason']}")
print(f"pip-audit: no known vulnerabilities in {len(audited)} packages")
sys.exit(4 if skipped else 0)
PY
case "$audit_verdict" in
    0) ;;
    3) warn "pip-audit could not reach its vulnerability service: nothing was audited" ;;
    4) warn "pip-audit could not audit some packages (listed above)" ;;
    1) die "pip-audit found known vulnerabilities (listed above): upgrade, or ignore one with a reason" ;;
    *) die "pip-audit failed (see above)" ;;
esac

# ---------------------------------------------------------------------------------------------
read -r sqlite_passed sqlite_failed sqlite_skipped < <(junit_counts "$WORK_DIR/sqlite.xml")
read -r pg_passed pg_failed pg_skipped < <(junit_counts "$WORK_DIR/postgresql.xml")
printf '\n==> done in %ds\n' "$((SECONDS - STARTED))"
printf 'SQLite:     %d passed, %d failed, %d skipped\n' "$sqlite_passed" "$sqlite_failed" "$sqlite_skipped"
printf 'PostgreSQL: %d passed, %d failed, %d skipped\n' "$pg_passed" "$pg_failed" "$pg_skipped"
for warning in ${WARNINGS[@]+"${WARNINGS[@]}"}; do
    printf 'WARNING: %s\n' "$warning"
done
printf 'tests: %d passed, %d failed, %d skipped\n' \
    "$((sqlite_passed + pg_passed))" "$((sqlite_failed + pg_failed))" \
    "$((sqlite_skipped + pg_skipped))"
