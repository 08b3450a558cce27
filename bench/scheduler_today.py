"""Issue 21's comparison with "today's" scheduler (the one before the issue's work, a8234a3), like
for like: every shape of bench/scheduler.py under the programme setting
`adults_finish_at_last_visit` (adults go home from their last visit, so no day has a drive back
to school), which is how the old solver planned, so its schedules are feasible under today's
rules and both are scored by the same objective.

    git worktree add ../threshold-a8234a3 a8234a3
    (cd ../threshold-a8234a3 && python3 -m venv .venv && .venv/bin/pip install -e '.[test]')
    python bench/scheduler_today.py --today ../threshold-a8234a3 [--ours] [--only fine-grid ...]

Per shape the problem is generated here by today's generator, written as JSON to the old
checkout's Python running bench/scheduler_today_solve.py (its own process: the two codebases never
share one), and the old schedule read back and checked and scored by today's validator and
objective. Reported: the old solver's wall and CPU time inside that process against its 10-second
limit (over time: wall above 11 s, the limit plus 10 %), placed, its objective by today's scoring
(and by its own, which should agree), violations, and the load average before and after.
`--ours`: today's scheduler solves the same problem right after, in this process, for a figure
taken back to back under the same load; `python bench/scheduler.py --shapes
--adults-finish-at-last-visit` gives ours on its own.

The last line of output is one JSON object of the figures.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scheduler import shapes  # noqa: E402

from app.scheduling.solver.problem import Instance, LocationKind, Schedule, Visit  # noqa: E402
from app.scheduling.solver.solve import solve  # noqa: E402
from app.scheduling.solver.validator import validate  # noqa: E402

OLD_SOLVE = Path(__file__).resolve().parent / "scheduler_today_solve.py"
OVER_TIME = 1.1  # the Done-when's allowance: the limit plus 10 %


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--today", type=Path, required=True, help="a checkout of a8234a3 with .venv"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=None, help="shape names (default: all)")
    parser.add_argument("--ours", action="store_true", help="today's solver right after each")
    return parser.parse_args()


def load() -> float:
    return round(os.getloadavg()[0], 2)


def solve_old(today: Path, instance: Instance) -> dict[str, Any]:
    """The old solver's schedule of `instance`, solved in the old checkout's own Python."""
    problem = json.dumps(asdict(instance), default=_plain)
    today = today.resolve()
    done = subprocess.run(  # noqa: S603 - our own script, in a checkout named on the command line
        [str(today / ".venv" / "bin" / "python"), str(OLD_SOLVE), str(today)],
        input=problem,
        capture_output=True,
        text=True,
        check=True,
        cwd=today,
    )
    found: dict[str, Any] = json.loads(done.stdout)
    if not str(found["solver"]).startswith(str(today)):
        raise SystemExit(f"the old side ran {found['solver']}, not the checkout at {today}")
    return found


def _plain(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} into the problem")


def as_schedule(found: dict[str, Any]) -> Schedule:
    visits = tuple(
        Visit(household, slot, tuple(adults), LocationKind(kind))
        for household, slot, adults, kind in found["visits"]
    )
    return Schedule(visits, dict(found["unplaced"]))


def compare(today: Path, name: str, generated: Instance, ours: bool) -> dict[str, Any]:
    instance = replace(generated, school_return_minute=None)
    before = load()
    found = solve_old(today, instance)
    checked = validate(instance, as_schedule(found))
    limit = instance.time_limit_seconds
    row: dict[str, Any] = {
        "households": len(instance.households),
        "time_limit_seconds": limit,
        "load_before": before,
        "load_after": load(),
        "old_wall_seconds": round(found["wall_seconds"], 2),
        "old_cpu_seconds": round(found["cpu_seconds"], 2),
        "old_over_time": found["wall_seconds"] > limit * OVER_TIME,
        "old_placed": len(instance.households) - len(found["unplaced"]),
        "old_objective": checked.parts.total,  # today's objective, no return legs
        "old_objective_as_it_scored": found["objective"],
        "old_violations": len(checked.violations),
        "old_violation_examples": checked.violations[:3],
        "old_status": found["status"],
    }
    if ours:
        row.update(_ours(instance, row["old_objective"]))
    return row


def _ours(instance: Instance, old_objective: int) -> dict[str, Any]:
    before = load()
    started, cpu_started = time.perf_counter(), time.process_time()
    schedule = solve(instance)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    checked = validate(instance, schedule)
    ours = checked.parts.total
    return {
        "ours_load_before": before,
        "ours_wall_seconds": round(wall, 2),
        "ours_cpu_seconds": round(cpu, 2),
        "ours_placed": len(instance.households) - len(schedule.unplaced),
        "placeable_at_most": len(instance.households)
        - (schedule.stats.unplaced_minimum if schedule.unplaced else 0),
        "ours_objective": ours,
        "ours_violations": len(checked.violations),
        "ours_vs_old": round((ours - old_objective) / old_objective, 4),
    }


def main() -> None:
    args = parse()
    found: dict[str, dict[str, Any]] = {}
    for name, generated in shapes(args.seed).items():
        if args.only and name not in args.only:
            continue
        row = found[name] = compare(args.today, name, generated, args.ours)
        line = (
            f"{name:20} old wall {row['old_wall_seconds']:6.2f} s cpu {row['old_cpu_seconds']:6.2f}"
            f" s (limit {row['time_limit_seconds']:.0f}{', OVER' if row['old_over_time'] else ''})"
            f"  placed {row['old_placed']}  objective {row['old_objective']:,}"
            f" (its own {row['old_objective_as_it_scored']:,})  violations {row['old_violations']}"
            f"  load {row['load_before']}-{row['load_after']}"
        )
        if args.ours:
            line += (
                f"  | ours {row['ours_objective']:,} in {row['ours_wall_seconds']} s"
                f" (cpu {row['ours_cpu_seconds']}), placed {row['ours_placed']} of at most"
                f" {row['placeable_at_most']}, {row['ours_vs_old']:+.1%}"
            )
        print(line, flush=True)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
