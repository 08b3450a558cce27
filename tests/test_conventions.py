"""House rules the code must keep, checked mechanically (our version of an org-scope lint).

A `select()` or `session.get()` on a trust-scoped model belongs in a repository module
(repository.py, or answers_repository.py beside it), whose base statement carries the caller's
scope. Anywhere else it needs the escape comment
`# tenancy: <why>` on the same line, so every bypass is greppable and reviewed.
"""

import ast
from pathlib import Path

from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table
from app.core.models import TrustScoped

APP = Path(__file__).resolve().parent.parent / "app"


def _scoped_model_names() -> set[str]:
    return {
        mapper.class_.__name__
        for mapper in SQLModel._sa_registry.mappers
        if issubclass(mapper.class_, TrustScoped)
    }


def _violations(path: Path, scoped: set[str]) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        is_select = isinstance(func, ast.Name) and func.id == "select"
        is_get = isinstance(func, ast.Attribute) and func.attr == "get"
        first = node.args[0]
        if isinstance(first, ast.Attribute):  # select(Model.column)
            first = first.value
        if (
            (is_select or is_get)
            and isinstance(first, ast.Name)
            and first.id in scoped
            and "# tenancy:" not in lines[node.lineno - 1]
            and "# tenancy:" not in lines[node.lineno - 2]
        ):
            found.append(f"{path.relative_to(APP.parent)}:{node.lineno} {first.id}")
    return found


def test_scoped_models_are_queried_only_in_repositories() -> None:
    scoped = _scoped_model_names()
    assert {"School", "StaffMember", "RoleGrant", "AuditEntry"} <= scoped
    violations = [
        v
        for path in APP.rglob("*.py")
        if not path.name.endswith("repository.py")
        for v in _violations(path, scoped)
    ]
    assert violations == [], "query scoped models through a repository:\n" + "\n".join(violations)


def test_every_domain_has_the_standard_files() -> None:
    for domain in ("trusts", "staff", "audit"):
        files = {p.name for p in (APP / domain).glob("*.py")}
        assert {"router.py", "service.py", "repository.py", "schemas.py"} <= files, domain
