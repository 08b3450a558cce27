"""The layering, checked: import-linter's contracts in pyproject.toml ([tool.importlinter]) say
that app.core imports no domain and that no domain imports one above it, except the named
exceptions listed there. A new upward import fails this test; a new exception needs a line here
as well as in pyproject.toml, so it is reviewed twice."""

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# (importer, imported) domain pairs allowed to go upward, and why (see pyproject.toml).
NAMED_EXCEPTIONS = {
    ("scheduling", "visits"),  # a run reads the programme's visits and writes its proposals
    ("staff", "trusts"),  # a role granted at a school names one the granter can see
}


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603 - our own venv's tool, fixed arguments
        [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_only_the_named_exceptions_go_upward() -> None:
    pairs = set()
    for line in _contracts()["domains"]["ignore_imports"]:
        importer, imported = (side.strip().split(".")[1] for side in line.split("->"))
        pairs.add((importer, imported))
    assert pairs == NAMED_EXCEPTIONS
