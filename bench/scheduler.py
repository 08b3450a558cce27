"""The scheduler on synthetic programmes, beside the plain office baseline, both scored by the
independent validator.

    python bench/scheduler.py --school   # one 650-pupil primary, all year groups in scope
    python bench/scheduler.py --trust    # 20 schools of one trust, ~3,500 households
    python bench/scheduler.py --shapes   # the school in shapes that stress the solver (below)
    python bench/scheduler.py --exact    # small instances against their proven optimum

`--no-lns` with any of them: the search without its large-neighbourhood moves (lns.py), to
measure what they add; `--adults-finish-at-last-visit`: every problem under that programme
setting (adults go home from their last visit: no drive back to school, planned or checked), as
the scheduler before issue 21 planned, for a like-for-like comparison with it
(bench/scheduler_today.py); `--no-exact-days`: the stop ordering without the exact sequencing of
each teacher's day (sequence.py), likewise; `--relaxed-start`: a third start from the
day-assignment relaxation (relax.py), off by default.

The shapes (`--shapes`, each the 650-pupil school with one change, solved in one process with the
school's 10-second limit): `school` as generated (four days, ten back-to-back slots a day);
`five-days`; `fine-grid` (five days, a 30-minute visit may start every 5 minutes: about 400
overlapping slots); `class-at-95%` (families moved into the largest class until it holds 95 % of
what its team can visit); `siblings-3-classes` (20 households with children in three classes);
`staff-away` (every teacher away one day, the pool's second adults a morning each);
`neutral-venues` (a quarter of the families met at school). Per shape: wall and CPU time against
the limit, placed against the proven most placeable, objective and bound, first choices, travel
per team-day and late return legs (must be 0).

Each school's programme is one schedule run, which one worker solves; `--workers 2` (the default)
solves the trust's schools in two processes, as two `threshold worker`s on this 2-core machine
would. A single school always runs in one process.

`--exact` takes small instances cut from the generated school (one or two classes, two or three
visit days, a 2-second limit), proves each one's optimum with the exact model (exact.py: every
adult's day an exact route), then runs the scheduler as it normally runs: per instance the true
optimum, our objective and reported bound, the true gap (ours against the optimum) and the
reported gap (ours against our bound).

The last line of output is one JSON object of the figures.
"""

import argparse
import json
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.scheduling.solver import budget  # noqa: E402
from app.scheduling.solver import solve as solve_module  # noqa: E402
from app.scheduling.solver.exact import solve_exact  # noqa: E402
from app.scheduling.solver.greedy import office_baseline, visits_of  # noqa: E402
from app.scheduling.solver.options import prepare  # noqa: E402
from app.scheduling.solver.problem import Instance, ObjectiveParts, Schedule  # noqa: E402
from app.scheduling.solver.search import LNS_SHARE  # noqa: E402
from app.scheduling.solver.solve import solve  # noqa: E402
from app.scheduling.solver.validator import Validation, validate  # noqa: E402
from app.synthetic.instances import (  # noqa: E402
    FINE_GRID,
    FIVE_VISIT_DAYS,
    VISIT_DAYS,
    Grid,
    school_instance,
    trust_instances,
)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--school", action="store_true")
    scope.add_argument("--trust", action="store_true")
    scope.add_argument("--shapes", action="store_true")
    scope.add_argument("--exact", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=None, help="solver time limit per school")
    parser.add_argument("--workers", type=int, default=2, help="processes solving schools")
    parser.add_argument(
        "--no-lns",
        action="store_true",
        help="the search without its large-neighbourhood moves (lns.py), to measure what they add",
    )
    parser.add_argument(
        "--no-exact-days",
        action="store_true",
        help="the stop ordering without the exact sequencing of each teacher's day "
        "(sequence.py), to measure what it adds",
    )
    parser.add_argument(
        "--relaxed-start",
        action="store_true",
        help="a third start from the day-assignment relaxation (relax.py), to measure it",
    )
    parser.add_argument(
        "--unhurried",
        action="store_true",
        help="widen each run's wall-clock budget a hundredfold, the steps and deterministic "
        "limits unchanged: what the solver does when no phase is cut short, whatever the load",
    )
    parser.add_argument(
        "--finish-at-last-visit",
        action="store_true",
        help="plan as if adults go home from their last visit (no drive back to school); the "
        "validator still checks and counts the drive back by the day's end",
    )
    parser.add_argument(
        "--adults-finish-at-last-visit",
        action="store_true",
        help="every generated problem under the programme setting adults_finish_at_last_visit: "
        "adults go home from their last visit, so neither the plan nor the validator has a "
        "drive back to school",
    )
    return parser.parse_args()


def baseline(instance: Instance, planned: Instance) -> Validation:
    prepared = prepare(planned)
    assignment = office_baseline(prepared)
    unplaced = {h: "baseline: no time left" for h in prepared.households if h not in assignment}
    return validate(instance, Schedule(visits_of(prepared, assignment), unplaced))


def run(
    instances: list[Instance],
    workers: int,
    finish_at_last_visit: bool = False,
    lns_share: float = LNS_SHARE,
    exact_days: bool = True,
    relaxed: bool = False,
) -> dict[str, Any]:
    """`finish_at_last_visit`: plan without the drive back to school (as the scheduler did
    before the day's end held it), but check and score every schedule with it. `lns_share` 0:
    the search without large-neighbourhood moves; `exact_days` False: the stop ordering without
    the exact sequencing of each teacher's day; `relaxed`: the relaxation's start too."""
    planned = [
        replace(i, school_return_minute=None) if finish_at_last_visit else i for i in instances
    ]
    solver = partial(solve, lns_share=lns_share, exact_days=exact_days, relaxed=relaxed)
    started, cpu_started = time.perf_counter(), time.process_time()
    if workers > 1 and len(instances) > 1:
        with ProcessPoolExecutor(workers) as pool:
            schedules = list(pool.map(solver, planned))
    else:
        schedules = [solver(i) for i in planned]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    checks = [validate(i, s) for i, s in zip(instances, schedules, strict=True)]
    office = [baseline(i, p) for i, p in zip(instances, planned, strict=True)]
    ours, theirs = _sum([c.parts for c in checks]), _sum([c.parts for c in office])
    bound = sum(s.stats.best_bound or 0 for s in schedules)
    households = sum(len(i.households) for i in instances)
    # No schedule can place more than this (each run's LP proof; 0 unplaced when none is needed).
    placeable = households - sum(s.stats.unplaced_minimum for s in schedules if s.unplaced)
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
        "placed": households - len([h for s in schedules for h in s.unplaced]),
        "placeable_at_most": placeable,
        "time_limit_seconds": max(i.time_limit_seconds for i in instances),
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
        "lns_share": lns_share,
        "exact_days": exact_days,
        "relaxed_start": relaxed,
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def _sum(parts: list[ObjectiveParts]) -> ObjectiveParts:
    fields = ObjectiveParts.__dataclass_fields__
    return ObjectiveParts(**{f: sum(getattr(p, f) for p in parts) for f in fields})


def shapes(seed: int) -> dict[str, Instance]:
    school = school_instance(seed, pupils=650)
    return {
        "school": school,
        "five-days": school_instance(seed, pupils=650, grid=Grid(FIVE_VISIT_DAYS)),
        "fine-grid": school_instance(seed, pupils=650, grid=FINE_GRID),
        "class-at-95%": _class_near_capacity(school, 0.95),
        "siblings-3-classes": _siblings_across_three_classes(school, 20),
        "staff-away": _staff_away(school, seed),
        "neutral-venues": _neutral_venues(school, 4),
    }


def _class_near_capacity(inst: Instance, share: float) -> Instance:
    """Families of other classes moved into the largest class until it holds `share` of what its
    team can visit (its visit days times the daily maximum)."""
    sizes = Counter(c for h in inst.households for c in h.classes)
    largest = max(sizes, key=lambda c: (sizes[c], c))
    days = len({s.day for s in inst.slots})
    wanted = int(share * days * inst.max_visits_per_adult_per_day)
    households = list(inst.households)
    for index, household in enumerate(households):
        if sizes[largest] >= wanted:
            break
        if largest not in household.classes and len(household.classes) == 1:
            households[index] = replace(household, classes=(largest,))
            sizes[largest] += 1
    return replace(inst, households=tuple(households), name=f"{inst.name}-class-at-95")


def _siblings_across_three_classes(inst: Instance, count: int) -> Instance:
    classes = sorted({c for h in inst.households for c in h.classes})
    households = list(inst.households)
    for n in range(count):
        index = n * (len(households) // count)
        three = tuple(classes[(n + k * 5) % len(classes)] for k in range(3))
        households[index] = replace(households[index], classes=three)
    return replace(inst, households=tuple(households), name=f"{inst.name}-siblings")


def _staff_away(inst: Instance, seed: int) -> Instance:
    """Every teacher away one whole day; each of the pool's second adults away one morning."""
    rng = random.Random(seed)  # noqa: S311 - a shape, not a secret
    days = sorted({s.day for s in inst.slots})
    teachers = {t for team in inst.teams for t in team.teacher_ids}
    adults = []
    for adult in inst.adults:
        day = rng.choice(days)
        if adult.id in teachers:
            adult = replace(adult, unavailable=(*adult.unavailable, (day, 0, 24 * 60)))
        elif adult.id in inst.second_adult_pool:
            adult = replace(adult, unavailable=(*adult.unavailable, (day, 0, 12 * 60)))
        adults.append(adult)
    return replace(inst, adults=tuple(adults), name=f"{inst.name}-staff-away")


def _neutral_venues(inst: Instance, every: int) -> Instance:
    households = tuple(
        replace(h, neutral_venue=True) if i % every == 0 else h
        for i, h in enumerate(inst.households)
    )
    return replace(inst, households=households, name=f"{inst.name}-neutral")


def as_set(args: argparse.Namespace, inst: Instance) -> Instance:
    """A generated problem with the flags' settings: its time limit, and whether adults finish
    at their last visit (what the programme setting does: no day's end back at school)."""
    if args.seconds is not None:
        inst = replace(inst, time_limit_seconds=args.seconds)
    if args.adults_finish_at_last_visit:
        inst = replace(inst, school_return_minute=None)
    return inst


def main_shapes(args: argparse.Namespace) -> None:
    found: dict[str, dict[str, Any]] = {}
    for name, generated in shapes(args.seed).items():
        inst = as_set(args, generated)
        figures = run([inst], 1, args.finish_at_last_visit, *_steps(args))
        found[name] = {k: figures[k] for k in SHAPE_FIGURES}
        print(
            f"{name:20} wall {figures['wall_seconds']:6.2f} s  cpu {figures['cpu_seconds']:6.2f} s"
            f" (limit {figures['time_limit_seconds']:.0f})  placed {figures['placed']}"
            f" of at most {figures['placeable_at_most']}  objective {figures['objective']:,}"
            f"  bound {figures['bound']:,}  first choice {figures['first_choice_share']:.0%}"
            f"  travel {figures['travel_min_per_team_day']} min/team-day"
            f"  late returns {figures['return_legs_late']}  violations {figures['violations']}"
            f"  (office {figures['office_objective']:,})",
            flush=True,
        )
    print(json.dumps(found))


SHAPE_FIGURES = (
    "households",
    "slots_per_school",
    "time_limit_seconds",
    "wall_seconds",
    "cpu_seconds",
    "placed",
    "placeable_at_most",
    "objective",
    "bound",
    "gap",
    "first_choice_share",
    "travel_min_per_team_day",
    "return_legs_late",
    "violations",
    "office_objective",
    "office_placed_share",
    "statuses",
    "lns_share",
    "exact_days",
    "relaxed_start",
)


# (first class, classes, visit days) of the school cut into each small instance
SMALL = ((0, 1, 2), (3, 1, 3), (6, 2, 2), (9, 2, 2), (12, 1, 3), (15, 2, 3))
EXACT_SECONDS = 300.0  # the exact model's limit: it must prove its optimum within it


def small_instances(seed: int, seconds: float) -> dict[str, Instance]:
    found = {}
    for first, count, days in SMALL:
        school = school_instance(seed, pupils=650, grid=Grid(VISIT_DAYS[:days]))
        teams = school.teams[first : first + count]
        ids = {t.class_id for t in teams}
        households = tuple(h for h in school.households if set(h.classes) <= ids)
        name = f"classes {first + 1}-{first + count}, {days} days"
        found[name] = replace(
            school, teams=teams, households=households, time_limit_seconds=seconds, name=name
        )
    return found


def main_exact(args: argparse.Namespace) -> None:
    found: dict[str, dict[str, Any]] = {}
    for name, inst in small_instances(args.seed, args.seconds or 2.0).items():
        prepared = prepare(inst)
        exact = solve_exact(prepared, EXACT_SECONDS, args.seed)
        share, exact_days, relaxed = _steps(args)
        schedule = solve(inst, lns_share=share, exact_days=exact_days, relaxed=relaxed)
        checked = validate(inst, schedule)
        ours, bound = checked.parts.total, schedule.stats.best_bound or 0
        optimum = exact.objective if exact.status == "OPTIMAL" else None
        found[name] = {
            "households": len(inst.households),
            "options": len(prepared.options),
            "exact_status": exact.status,
            "exact_seconds": round(exact.seconds, 2),
            "optimum": optimum,
            "objective": ours,
            "bound": bound,
            "true_gap": round((ours - optimum) / ours, 4) if optimum is not None else None,
            "reported_gap": round((ours - bound) / ours, 4) if ours else 0.0,
            "bound_at_most_optimum": optimum is None or bound <= optimum,
            "wall_seconds": round(schedule.stats.wall_seconds, 2),
            "time_limit_seconds": inst.time_limit_seconds,
            "quality_status": schedule.stats.status,
            "violations": len(checked.violations),
            "return_legs_late": checked.late_returns,
        }
        row = found[name]
        print(
            f"{name:24} {row['households']:3} families  optimum {optimum}"
            f" ({exact.status}, {row['exact_seconds']} s)  ours {ours:,} in"
            f" {row['wall_seconds']} s  bound {bound:,}  true gap {row['true_gap']}"
            f"  reported gap {row['reported_gap']}  violations {row['violations']}",
            flush=True,
        )
    print(json.dumps(found))


def _steps(args: argparse.Namespace) -> tuple[float, bool, bool]:
    """The search's LNS share, whether days are sequenced exactly, whether the relaxation's
    start is tried: what the flags switch on or off."""
    return (0.0 if args.no_lns else LNS_SHARE), not args.no_exact_days, args.relaxed_start


def _unhurried() -> None:
    """Every phase's deadline a hundred times later (the search's steps, CP-SAT's deterministic
    limits and every other measure of work stay as the time limit sets them)."""

    class Unhurried(budget.Budget):
        def __init__(self, seconds: float) -> None:
            super().__init__(seconds * UNHURRIED)

    setattr(solve_module, "Budget", Unhurried)  # noqa: B010 - a benchmark's patch of its clock


UNHURRIED = 100


def main() -> None:
    args = parse()
    if args.unhurried:
        _unhurried()
    if args.shapes:
        main_shapes(args)
        return
    if args.exact:
        main_exact(args)
        return
    if args.school:
        instances = [school_instance(args.seed, pupils=650)]
    else:
        instances = trust_instances(args.seed)
    instances = [as_set(args, i) for i in instances]
    figures = run(instances, args.workers, args.finish_at_last_visit, *_steps(args))
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
