"""The scheduler on synthetic programmes, beside the plain office baseline, both scored by the
independent validator.

    python bench/scheduler.py --school   # one 650-pupil primary, all year groups in scope
    python bench/scheduler.py --trust    # 20 schools of one trust, ~3,500 households

Each school's programme is one schedule run, which one worker solves; `--workers 2` (the default)
solves the trust's schools in two processes, as two `threshold worker`s on this 2-core machine
would. A single school always runs in one process.

The last line of output is one JSON object of the figures.
"""

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.scheduling.solver.greedy import office_baseline, visits_of  # noqa: E402
from app.scheduling.solver.options import prepare  # noqa: E402
from app.scheduling.solver.problem import Instance, ObjectiveParts, Schedule  # noqa: E402
from app.scheduling.solver.solve import solve  # noqa: E402
from app.scheduling.solver.validator import Validation, validate  # noqa: E402
from app.synthetic.instances import school_instance, trust_instances  # noqa: E402


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--school", action="store_true")
    scope.add_argument("--trust", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=None, help="solver time limit per school")
    parser.add_argument("--workers", type=int, default=2, help="processes solving schools")
    parser.add_argument(
        "--finish-at-last-visit",
        action="store_true",
        help="plan as if adults go home from their last visit (no drive back to school); the "
        "validator still checks and counts the drive back by the day's end",
    )
    return parser.parse_args()


def baseline(instance: Instance, planned: Instance) -> Validation:
    prepared = prepare(planned)
    assignment = office_baseline(prepared)
    unplaced = {h: "baseline: no time left" for h in prepared.households if h not in assignment}
    return validate(instance, Schedule(visits_of(prepared, assignment), unplaced))


def run(
    instances: list[Instance], workers: int, finish_at_last_visit: bool = False
) -> dict[str, Any]:
    """`finish_at_last_visit`: plan without the drive back to school (as the scheduler did
    before the day's end held it), but check and score every schedule with it."""
    planned = [
        replace(i, school_return_minute=None) if finish_at_last_visit else i for i in instances
    ]
    started, cpu_started = time.perf_counter(), time.process_time()
    if workers > 1 and len(instances) > 1:
        with ProcessPoolExecutor(workers) as pool:
            schedules = list(pool.map(solve, planned))
    else:
        schedules = [solve(i) for i in planned]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    checks = [validate(i, s) for i, s in zip(instances, schedules, strict=True)]
    office = [baseline(i, p) for i, p in zip(instances, planned, strict=True)]
    ours, theirs = _sum([c.parts for c in checks]), _sum([c.parts for c in office])
    bound = sum(s.stats.best_bound or 0 for s in schedules)
    households = sum(len(i.households) for i in instances)
    return {
        "schools": len(instances),
        "households": households,
        "classes": sum(len(i.teams) for i in instances),
        "slots_per_school": len(instances[0].slots),
        "wall_seconds": round(wall, 2),
        # CPU time of this process: what the wall time would be on an idle machine, give or take
        # CP-SAT's second worker.
        "cpu_seconds": round(cpu, 2) if workers == 1 or len(instances) == 1 else None,
        "workers": workers if len(instances) > 1 else 1,
        "solver_seconds_per_school_max": round(max(s.stats.wall_seconds for s in schedules), 2),
        "objective": ours.total,
        "bound": bound,
        "gap": round((ours.total - bound) / ours.total, 4) if ours.total else 0.0,
        "gap_of": "full objective (points) vs LP/CP-SAT lower bound with travel relaxed",
        "placed_share": round(1 - ours.unplaced / households, 4),
        "first_choice_share": _share(ours.first_choice, ours.with_preferences),
        "any_preference_share": _share(ours.any_preference, ours.with_preferences),
        "travel_min_per_team_day": round(ours.travel_tenths / 10 / max(1, ours.team_days), 2),
        "return_min_per_team_day": round(ours.return_tenths / 10 / max(1, ours.team_days), 2),
        "return_legs_late": sum(c.late_returns for c in checks),  # must be 0
        "violations": sum(len(c.violations) for c in checks),
        "office_objective": theirs.total,
        "office_placed_share": round(1 - theirs.unplaced / households, 4),
        "office_first_choice_share": _share(theirs.first_choice, theirs.with_preferences),
        "office_any_preference_share": _share(theirs.any_preference, theirs.with_preferences),
        "office_travel_min_per_team_day": round(
            theirs.travel_tenths / 10 / max(1, theirs.team_days), 2
        ),
        "office_return_legs_late": sum(c.late_returns for c in office),
        "office_violations": sum(len(c.violations) for c in office),
        "statuses": sorted({s.stats.status for s in schedules}),
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def _sum(parts: list[ObjectiveParts]) -> ObjectiveParts:
    fields = ObjectiveParts.__dataclass_fields__
    return ObjectiveParts(**{f: sum(getattr(p, f) for p in parts) for f in fields})


def main() -> None:
    args = parse()
    if args.school:
        instances = [school_instance(args.seed, pupils=650)]
    else:
        instances = trust_instances(args.seed)
    if args.seconds is not None:
        instances = [replace(i, time_limit_seconds=args.seconds) for i in instances]
    figures = run(instances, args.workers, args.finish_at_last_visit)
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
