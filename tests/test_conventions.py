"""House rules the code must keep, checked mechanically (our version of an org-scope lint).

The tenancy rule: every statement on a trust-scoped table says how it keeps to the caller's trust.

What counts as a statement on a scoped table. A call of `select`, `update`, `delete` or `insert`
(bare, `sa.`, `sqlmodel.` or a dialect's), `table.select()` / `.update()` / `.delete()` /
`.insert()`, `session.get(Model, …)`, `text(…)`, the bulk writers `insert_rows` / `upsert_row`, or
a string constant of raw SQL (`SELECT … FROM pupil`), taken whole with the methods chained on it
(`.where(…)`, `.join(…)`…), that names a scoped model anywhere in it: the class itself, a column
however wrapped (`col(Pupil.id)`, `func.count(Pupil.id)`), its `__table__`, or a name bound to any
of these (`_visit = Visit.__table__`, a tuple of columns, a loop over models, `aliased(Job)`),
or, in raw SQL, a scoped table's name after FROM, JOIN, INTO or UPDATE.

Two kinds, two rules.
- ORM statements (built on model classes and run by the session) get the trust floor
  (core/tenancy.py). They belong in a repository module (`repository.py`, or a file named
  `…_repository.py` beside it, such as parents' `answers_repository.py`), whose base statement
  narrows to the caller's schools; anywhere else the statement carries `# tenancy: <why>`.
- Lean statements bypass the floor, so each writes its trust itself, in any file. A statement is
  lean when it names a `__table__`, is raw SQL, is an insert (the floor never applies to
  inserts), is built inside `LeanQuery(…)`, or in a function handed to `lean_page(…)`. Its text
  must mention `trust_id` (a column, a bind parameter, a row key) or use the shared helper
  `in_trust(…)`; `insert_rows` and `upsert_row` refuse rows of another trust themselves
  (core/bulk.py). Otherwise it carries `# tenancy-exempt: <why>`, kept for the few that run
  before a caller is known (the token's sign-in session, a parent's code, the worker's claim)
  and for the generic helpers that check their rows instead.

A marker counts on any line of the statement, or on the line above the line of code that holds
it (`rows = await session.execute(` …), and needs its reason.
"""

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table
from app.core.models import TrustScoped

APP = Path(__file__).resolve().parent.parent / "app"

ORM_MARK = re.compile(r"# tenancy: \S")
EXEMPT_MARK = re.compile(r"# tenancy-exempt: \S")
VERBS = {"select", "update", "delete", "insert"}
TEXT = {"text"}
CHECKED_WRITERS = {"insert_rows", "upsert_row"}
LEAN_RUNNERS = {"LeanQuery", "lean_page"}
TRUST_HELPERS = {"in_trust"}
SQL_MODULES = {"sa", "sqlalchemy", "sqlmodel", "postgresql", "sqlite", "module"}
TRUST_IN_SQL = re.compile(r"\btrust_id\s*(=|IN\b)", re.IGNORECASE)
SQL_VERB = re.compile(r"\b(SELECT|UPDATE|DELETE|INSERT)\b")


def _scoped_models() -> dict[str, str]:
    """Scoped model class name -> its table's name."""
    return {
        mapper.class_.__name__: str(mapper.class_.__tablename__)
        for mapper in SQLModel._sa_registry.mappers
        if issubclass(mapper.class_, TrustScoped)
    }


def _callee(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _names(node: ast.expr, names: set[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def _is_sql_function(node: ast.Call) -> bool:
    """`select(…)` or `sa.select(…)`, not `self.plan.update(…)` or `a_dict.update(…)`."""
    func = node.func
    return isinstance(func, ast.Name) or (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in SQL_MODULES
    )


@dataclass
class _Module:
    """One file's names for scoped things: model classes and Core tables, and what is bound to
    them (by assignment, loop or `aliased`). Names are taken file-wide: a small over-reach that
    errs on the side of checking."""

    models: set[str]
    tables: set[str]
    sql_tables: re.Pattern[str]
    # Parameters typed `Any` or `type[…]`: a model handed in, when a statement is built on one.
    passed_models: set[str] = field(default_factory=set)

    def is_model(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.models

    def is_table(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.tables
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            return self.mentions_model(node.value)
        if isinstance(node, ast.Subscript):  # tables["pupil"]
            return self.is_table(node.value)
        return False

    def mentions_model(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.expr) and self.is_model(n) for n in ast.walk(node))

    def mentions_table(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.expr) and self.is_table(n) for n in ast.walk(node))

    def names_sql_table(self, node: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and SQL_VERB.search(n.value) is not None
            and self.sql_tables.search(n.value) is not None
            for n in ast.walk(node)
        )


def _bind_names(tree: ast.Module, scoped: dict[str, str]) -> _Module:
    tables_in_sql = "|".join(sorted(map(re.escape, scoped.values())))
    module = _Module(
        set(scoped),
        set(),
        re.compile(rf"(?i)\b(FROM|JOIN|INTO|UPDATE)\s+\"?({tables_in_sql})\b"),
    )
    bindings: list[tuple[list[ast.expr], ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            bindings.append((node.targets, node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            bindings.append(([node.target], node.value))
        elif isinstance(node, ast.For):
            bindings.append(([node.target], node.iter))
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg in function.args.args + function.args.kwonlyargs:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                if annotation in {"Table", "sa.Table"}:
                    module.tables.add(arg.arg)  # some table, maybe a scoped one
                elif annotation == "Any" or annotation.startswith("type["):
                    module.passed_models.add(arg.arg)
    for _ in range(4):  # a few rounds reach names bound to names
        for targets, value in bindings:
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if _holds_tables(module, value):
                module.tables.update(names)
            elif _holds_models(module, value):
                module.models.update(names)
    return module


def _holds_tables(module: _Module, value: ast.expr) -> bool:
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        return any(_holds_tables(module, v) for v in value.elts)
    if isinstance(value, ast.Dict):
        return any(_holds_tables(module, v) for v in value.values)
    return module.is_table(value)


def _holds_models(module: _Module, value: ast.expr) -> bool:
    """A model, a column of one (wrapped or not), `aliased(Model)`, or a collection of them."""
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        return any(_holds_models(module, v) for v in value.elts)
    if isinstance(value, ast.Call) and _callee(value) in {"aliased", "col"}:
        return any(_holds_models(module, a) for a in value.args)
    if isinstance(value, ast.Attribute):
        return _holds_models(module, value.value)
    return module.is_model(value)


@dataclass(frozen=True)
class Site:
    line: int
    lean: bool
    text: str  # why it counts, for the message

    def describe(self, path: str) -> str:
        kind = "lean statement without a trust filter" if self.lean else "ORM statement"
        return f"{path}:{self.line} {kind}: {self.text}"


class _Checker:
    def __init__(self, source: str, scoped: dict[str, str]) -> None:
        self.lines = source.splitlines()
        self.tree = ast.parse(source)
        self.module = _bind_names(self.tree, scoped)
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.lean_functions = self._functions_handed_to_lean_runners()

    def _functions_handed_to_lean_runners(self) -> set[str]:
        return {
            arg.id
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call) and _callee(node) in LEAN_RUNNERS
            for arg in node.args
            if isinstance(arg, ast.Name)
        }

    def sites(self) -> Iterator[tuple[ast.AST, Site]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                found = self._call_site(node)
            elif isinstance(node, ast.Constant):
                found = self._sql_site(node)
            else:
                continue
            if found is not None:
                yield found

    def _call_site(self, node: ast.Call) -> tuple[ast.AST, Site] | None:
        name = _callee(node)
        module = self.module
        if name == "get" and node.args and _holds_models(module, node.args[0]):
            return node, Site(node.lineno, False, f"get({ast.unparse(node.args[0])}, …)")
        if name in CHECKED_WRITERS:
            return None  # the writer checks each row's trust (core/bulk.py)
        if name in TEXT:
            statement: ast.AST = node
        elif (
            name in VERBS
            and isinstance(node.func, ast.Attribute)
            and module.is_table(node.func.value)
        ):
            statement = self._chain(node)  # table.delete()
        elif name in VERBS and node.args and _is_sql_function(node):
            statement = self._chain(node)
        else:
            return None
        tables = module.mentions_table(statement)
        sql = name in TEXT and module.names_sql_table(statement)
        handed_in = bool(node.args) and _names(node.args[0], module.passed_models)
        if not (tables or sql or handed_in or module.mentions_model(statement)):
            return None
        lean = tables or sql or name == "insert" or self._in_lean_runner(node)
        return statement, Site(node.lineno, lean, _first_line(statement))

    def _sql_site(self, node: ast.Constant) -> tuple[ast.AST, Site] | None:
        if not self.module.names_sql_table(node) or self._is_docstring(node):
            return None
        if self._inside_text_call(node):
            return None  # seen with its text() call
        return node, Site(node.lineno, True, _first_line(node))

    def _chain(self, node: ast.AST) -> ast.AST:
        """The whole statement: the call with everything chained on it (`.where(…).join(…)`)."""
        while (parent := self.parents.get(node)) is not None and (
            (isinstance(parent, ast.Attribute) and parent.value is node)
            or (isinstance(parent, ast.Call) and parent.func is node)
        ):
            node = parent
        return node

    def _ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def _in_lean_runner(self, node: ast.AST) -> bool:
        for above in self._ancestors(node):
            if isinstance(above, ast.Call) and _callee(above) in LEAN_RUNNERS:
                return True
            if (
                isinstance(above, ast.FunctionDef | ast.AsyncFunctionDef)
                and above.name in self.lean_functions
            ):
                return True
        return False

    def _inside_text_call(self, node: ast.AST) -> bool:
        return any(isinstance(a, ast.Call) and _callee(a) in TEXT for a in self._ancestors(node))

    def _is_docstring(self, node: ast.AST) -> bool:
        return isinstance(self.parents.get(node), ast.Expr)

    def keeps_to_trust(self, statement: ast.AST) -> bool:
        """The statement compares a row's trust, binds one (`bindparam("trust_id")`, a row's
        `"trust_id"` key, `trust_id=`), or calls the shared helper. Selecting the column is not
        keeping to it."""
        return any(_keeps_to_trust(n) for n in ast.walk(statement))

    def marked(self, statement: ast.AST, mark: re.Pattern[str]) -> bool:
        """The mark is on a line of the statement, or above the line of code that holds it."""
        first = getattr(statement, "lineno", 1)
        last = getattr(statement, "end_lineno", first) or first
        holder = next((a for a in self._ancestors(statement) if isinstance(a, ast.stmt)), None)
        if holder is not None:
            first = min(first, holder.lineno)
        return any(mark.search(line) for line in self.lines[max(first - 2, 0) : last])


def violations_in(source: str, path: str, scoped: dict[str, str] | None = None) -> list[str]:
    """The statements in `source` (the file at `path`) that break the rule above."""
    checker = _Checker(source, scoped if scoped is not None else _scoped_models())
    found: dict[int, str] = {}
    in_repository = Path(path).name.endswith("repository.py")
    for statement, site in checker.sites():
        if site.lean:
            ok = checker.keeps_to_trust(statement) or checker.marked(statement, EXEMPT_MARK)
        else:
            ok = in_repository or checker.marked(statement, ORM_MARK)
        if not ok:
            found.setdefault(site.line, site.describe(path))
    return [found[line] for line in sorted(found)]


def _keeps_to_trust(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare):
        return any(isinstance(a, ast.Attribute) and a.attr == "trust_id" for a in ast.walk(node))
    if isinstance(node, ast.keyword):
        return node.arg == "trust_id"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value == "trust_id" or TRUST_IN_SQL.search(node.value) is not None
    return isinstance(node, ast.Call) and _callee(node) in TRUST_HELPERS


def _first_line(node: ast.AST) -> str:
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= 90 else text[:87] + "..."


def test_every_statement_on_a_scoped_table_keeps_to_the_trust() -> None:
    scoped = _scoped_models()
    assert {"School", "StaffMember", "RoleGrant", "AuditEntry", "Pupil"} <= set(scoped)
    violations = [
        v
        for path in sorted(APP.rglob("*.py"))
        for v in violations_in(path.read_text(), str(path.relative_to(APP.parent)), scoped)
    ]
    assert violations == [], (
        "route ORM statements through a repository and write the trust into lean ones "
        "(see this module's docstring):\n" + "\n".join(violations)
    )


# The checker itself: each snippet must be flagged (outside a repository, and inside one too
# when it is lean), so that the check cannot silently go blind.
FLAGGED = {
    "select of a wrapped column outside a repository": ("select(col(Pupil.id))", False),
    "session.get outside a repository": ("await session.get(Pupil, pupil_id)", False),
    "ORM delete outside a repository": (
        "delete(VisitAdult).where(VisitAdult.visit_id == v)",
        False,
    ),
    "a loop over models": ("for m in (Pupil, Household):\n    update(m).values(x=1)", False),
    "count with select_from": ("select(func.count()).select_from(Pupil)", False),
    "lean select on __table__": ("sa.select(Pupil.__table__.c.id)", True),
    "lean statement through an alias": ("_p = Pupil.__table__\nQ = sa.select(_p.c.id)", True),
    "table.delete() through a dict of tables": (
        "tables = {'pupil': Pupil.__table__}\n"
        "table = tables['pupil']\n"
        "table.delete().where(table.c.id == 1)",
        True,
    ),
    "ORM columns built inside LeanQuery": ("Q = LeanQuery(sa.select(Pupil.id, Pupil.upn))", True),
    "a function handed to lean_page": (
        "def page():\n"
        "    def build():\n"
        "        return sa.select(*COLUMNS).where(Pupil.school_id == school)\n"
        "    return lean_page(session, shape, build, params, keys, values)\n"
        "COLUMNS = (Pupil.id, Pupil.upn)",
        True,
    ),
    "an insert of a model": ("insert(Pupil).values(upn='A')", True),
    "text() naming a scoped table": ("text('SELECT id FROM pupil WHERE upn = :upn')", True),
    "raw SQL in a constant": ("SQL = 'DELETE FROM household WHERE id = $1'", True),
    "a marker without its reason": ("sa.select(Pupil.__table__.c.id)  # tenancy-exempt:", True),
    "a marker two lines above": ("# tenancy: x\nx = 1\nselect(Pupil)", False),
    "an ORM marker on a lean statement": ("sa.select(Pupil.__table__.c.id)  # tenancy: x", True),
    "a model handed in": ("def move(model: Any) -> None:\n    delete(model)", False),
    "a lean select that only reads the trust": (
        "sa.select(Pupil.__table__.c.trust_id).where(Pupil.__table__.c.id == 1)",
        True,
    ),
    "a table handed in": ("def wipe(table: Table) -> None:\n    table.delete()", True),
}

PASSES = {
    "select in a repository": ("repository.py", "select(col(Pupil.id))"),
    "select with its reason": ("service.py", "select(col(Pupil.id))  # tenancy: the job's school"),
    "reason on the line above": ("service.py", "# tenancy: the job's school\nselect(Pupil)"),
    "reason above the line that holds it": (
        "service.py",
        "# tenancy: the job's school\nrows = await session.execute(\n    select(Pupil)\n)",
    ),
    "lean select with its trust": (
        "service.py",
        "_p = Pupil.__table__\n"
        "Q = LeanQuery(sa.select(_p.c.id).where(_p.c.trust_id == sa.bindparam('trust_id')))",
    ),
    "lean select with the shared helper": (
        "repository.py",
        "LeanQuery(sa.select(Pupil.id).where(in_trust(Pupil, scope)))",
    ),
    "a lean statement exempt with its reason": (
        "repository.py",
        "Q = LeanQuery(\n"
        "    # tenancy-exempt: before the caller is known\n"
        "    sa.select(Pupil.__table__.c.id)\n"
        ")",
    ),
    "a table outside the scope": ("service.py", "select(Trust).where(Trust.id == 1)"),
    "text() on an unscoped table": ("health.py", "text('SELECT version_num FROM alembic_version')"),
    "prose naming a table": ("service.py", '"""Select a pupil from pupil rows."""\nx = 1'),
    "raw SQL with its trust": (
        "service.py",
        "text('UPDATE pupil SET on_roll = false WHERE trust_id = :trust_id AND id = :id')",
    ),
    "an insert with its trust": ("service.py", "insert(Pupil).values(trust_id=t, upn='A')"),
    "the checked bulk writer": ("service.py", "await insert_rows(session, Slot.__table__, rows)"),
    "other objects' update and get": (
        "service.py",
        "plan.update('pupil', {'id': Pupil.id})\nfound.get(pupil_id)",
    ),
}


@pytest.mark.parametrize(("snippet", "lean"), FLAGGED.values(), ids=FLAGGED.keys())
def test_the_checker_flags(snippet: str, lean: bool) -> None:
    assert violations_in(snippet, "app/roster/service.py"), snippet
    in_repository = violations_in(snippet, "app/roster/repository.py")
    assert bool(in_repository) is lean, "lean statements need their trust in repositories too"


@pytest.mark.parametrize(("file", "snippet"), PASSES.values(), ids=PASSES.keys())
def test_the_checker_passes(file: str, snippet: str) -> None:
    assert violations_in(snippet, f"app/roster/{file}") == []


# Every domain with routes of its own. parents' staff-side answers keep theirs beside its
# portal's (answers_*.py); tokens only dispatch to staff and integrations.
DOMAINS = (
    "audit",
    "integrations",
    "programmes",
    "reports",
    "roster",
    "safeguarding",
    "scheduling",
    "staff",
    "subject_access",
    "surveys",
    "trusts",
    "visits",
)


def test_every_domain_has_the_standard_files() -> None:
    for domain in DOMAINS:
        files = {p.name for p in (APP / domain).glob("*.py")}
        assert {"router.py", "service.py", "repository.py", "schemas.py"} <= files, domain
