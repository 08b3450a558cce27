"""The solver is pure: it takes an `Instance` and returns a `Schedule`, and imports nothing of the
app outside app/scheduling/solver/ (no database, no settings, no other domain), so it can be
run, benchmarked and reasoned about on its own."""

import ast
from pathlib import Path

SOLVER = Path(__file__).resolve().parents[3] / "app" / "scheduling" / "solver"
INSIDE = "app.scheduling.solver"


def _app_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "app" or name.startswith("app.")}


def test_the_solver_imports_nothing_of_the_app_outside_itself() -> None:
    files = sorted(SOLVER.glob("*.py"))
    assert {p.stem for p in files} >= {"problem", "solve", "validator", "travel"}
    outside = {
        f"{path.name}: {name}"
        for path in files
        for name in _app_imports(path)
        if name != INSIDE and not name.startswith(INSIDE + ".")
    }
    assert outside == set()


def test_the_check_sees_an_import_from_outside(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "from app.core.db import SessionDep\nfrom app.scheduling.solver import problem\n"
    )
    assert _app_imports(leaky) == {"app.core.db", "app.scheduling.solver"}
