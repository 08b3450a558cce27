"""Visits have one writer: only app/visits/ inserts, updates, deletes or builds visit rows. A
schedule run hands its rows to visits' RunVisitRepository rather than writing them itself."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
TABLES = {"Visit", "VisitAdult", "VisitPupil", "VisitChange"}
WRITES = {"update", "delete", "insert"}


def _visit_models(tree: ast.AST) -> set[str]:
    """The names this module gives visits' tables (imported from app.visits.models)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "app.visits.models"
        for alias in node.names
        if alias.name in TABLES
    }


def _writes(source: str) -> list[int]:
    tree = ast.parse(source)
    models = _visit_models(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            built = node.func.id in models
            first = node.args[0] if node.args else None
            written = node.func.id in WRITES and isinstance(first, ast.Name) and first.id in models
            if built or written:
                found.append(node.lineno)
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "__table__"
            and isinstance(node.value, ast.Name)
            and node.value.id in models
        ):
            found.append(node.lineno)
    return found


def test_only_visits_writes_visit_rows() -> None:
    writers = [
        f"{path.relative_to(APP.parent)}:{line}"
        for path in sorted(APP.rglob("*.py"))
        if "visits" not in path.relative_to(APP).parts[:1]
        for line in _writes(path.read_text())
    ]
    assert writers == []


def test_the_check_sees_a_write_from_outside() -> None:
    source = (
        "from sqlmodel import update\n"
        "from app.visits.models import Visit as V, VisitAdult\n"
        "update(V)\n"
        "VisitAdult(visit_id=1)\n"
        "VisitAdult.__table__\n"
        "select(V)\n"
    )
    assert _writes(source) == [3, 4, 5]
