"""The old side of bench/scheduler_today.py: run by the old checkout's own Python, it reads one
problem as JSON on stdin, builds the old solver's dataclasses from it, solves, and writes the
schedule and its timings as JSON on stdout.

    <old checkout>/.venv/bin/python bench/scheduler_today_solve.py <old checkout>  < problem.json

Only the standard library and the old checkout's code are imported here: the two codebases never
share a process.
"""

import dataclasses
import importlib
import json
import sys
import time
import types
import typing
from datetime import date
from enum import Enum
from typing import Any

# Fields today's problem has that the old one has not, and the old behaviour each stands for:
# the comparison runs with adults finishing at their last visit, which is how the old one planned.
DROPPED = {"Instance": {"school_return_minute": None}}


def build(cls: Any, data: dict[str, Any]) -> Any:
    """An old dataclass from today's fields, refusing any field the old one cannot take, so a
    setting that changes the problem cannot be lost silently."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key in names:
            values[key] = convert(hints[key], value)
        elif DROPPED.get(cls.__name__, {}).get(key, ...) != value:
            raise SystemExit(f"{cls.__name__}.{key} = {value!r}: the old solver has no such field")
    return cls(**values)


def convert(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return convert(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(args[0], v) for v in value)
        return tuple(convert(a, v) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(hint):
        return build(hint, value)
    if hint is date:
        return date.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    return value


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    problem = importlib.import_module("app.scheduling.solver.problem")
    solve = importlib.import_module("app.scheduling.solver.solve").solve
    instance = build(problem.Instance, json.load(sys.stdin))
    started, cpu_started = time.perf_counter(), time.process_time()
    schedule = solve(instance)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    json.dump(
        {
            "visits": [
                [v.household_id, v.slot_id, list(v.adult_ids), str(v.location_kind)]
                for v in schedule.visits
            ],
            "unplaced": dict(schedule.unplaced),
            "wall_seconds": wall,
            "cpu_seconds": cpu,
            "objective": schedule.stats.objective,
            "bound": schedule.stats.best_bound,
            "status": schedule.stats.status,
            "solver": importlib.import_module("app.scheduling.solver").__file__,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
