"""Capacity: a class's families against the visits its adults can make (days × slots × the daily
maximum, less their time away; the binding adult decides), counted by hand on small cases, and
the run that states it as the root cause above the per-family reasons."""

from dataclasses import replace

from app.scheduling.capacity import class_capacities
from app.scheduling.service import root_causes
from app.scheduling.solver import solve as solver
from app.scheduling.solver.problem import Adult, ClassTeam
from tests.scheduling.cases import DAY1, DAY2, household, instance, with_adult

DAY3 = DAY2.replace(day=DAY2.day + 1)


def test_a_class_of_29_with_21_visits_is_told_what_would_fix_it() -> None:
    """Three days of seven slots, ten visits a day at most: the slots bind at 21."""
    inst = instance(tuple(household(n) for n in range(29)), days=(DAY1, DAY2, DAY3), per_day=7)
    (oak,) = class_capacities(inst)
    assert (oak.families, oak.possible, oak.limited_by) == (29, 21, "oak-t")
    assert oak.detail == (
        "29 families, 21 visits possible: add a visit day, shorten slots, or add a teacher. "
        "oak teacher can make at most 21 visits on the programme's 3 days (21 slots in all, at "
        "most 10 visits a day)."
    )
    assert root_causes(inst) == [
        {
            "kind": "class-over-capacity",
            "class_id": "oak",
            "families": 29,
            "visits_possible": 21,
            "detail": f"oak: {oak.detail}",
        }
    ]


def test_the_daily_maximum_binds_when_slots_are_plenty() -> None:
    inst = instance(
        tuple(household(n) for n in range(7)), days=(DAY1, DAY2), per_day=5, max_per_day=3
    )
    (oak,) = class_capacities(inst)
    assert oak.possible == 6
    assert oak.detail is not None
    assert "raise the most visits an adult makes a day" in oak.detail


def test_time_away_counts_and_the_binding_adult_decides() -> None:
    """The assistant is away for the first two slots of day one: the teacher could make six
    visits in two days, the assistant four, so the class can have four."""
    inst = instance(tuple(household(n) for n in range(5)), days=(DAY1, DAY2))
    away = Adult("oak-ta", "oak TA", trained=True, unavailable=((DAY1, 9 * 60, 10 * 60 + 10),))
    (oak,) = class_capacities(with_adult(inst, away))
    assert (oak.possible, oak.limited_by) == (4, "oak-ta")
    assert oak.detail is not None
    assert "add second adults to the pool" in oak.detail
    assert "oak TA can make at most 4 visits" in oak.detail
    # A pool member covers the gap: the teacher's six decide again.
    helper = Adult("pool-1", "Helper", trained=True)
    pooled = instance(tuple(household(n) for n in range(5)), days=(DAY1, DAY2), pool=(helper,))
    (oak,) = class_capacities(with_adult(pooled, away))
    assert (oak.possible, oak.detail) == (6, None)


def test_a_job_share_counts_both_teachers_and_a_class_without_one_is_not_counted() -> None:
    inst = instance(tuple(household(n) for n in range(8)), classes=("oak", "ash"))
    partner = Adult("oak-t2", "oak partner", trained=True)
    bare = ClassTeam("ash", (), None, "ash")
    shared = ClassTeam("oak", ("oak-t", "oak-t2"), "oak-ta", "oak")
    inst = replace(inst, adults=(*inst.adults, partner), teams=(shared, bare))
    oak, ash = class_capacities(inst)
    # Three slots: each teacher with the assistant would be six, but the assistant makes three;
    # the other three the two teachers can only make together, one more visit (3 + 3 // 2).
    assert (oak.families, oak.possible, oak.limited_by) == (8, 4, "oak-ta")
    assert oak.detail is not None
    assert oak.detail.startswith("8 families, 4 visits possible")
    assert (ash.families, ash.possible, ash.detail) == (0, None, None)
    # Without the assistant (no team set yet), only the teachers' time is counted.
    unset = replace(inst, teams=(replace(shared, second_adult_id=None), bare))
    oak, _ = class_capacities(unset)
    assert (oak.possible, oak.limited_by) == (6, None)
    assert oak.detail is not None
    assert "The teachers can make at most 6 visits" in oak.detail


def test_the_solver_agrees_a_class_over_capacity_cannot_be_placed_whole() -> None:
    inst = instance(tuple(household(n) for n in range(5)), per_day=3)
    (oak,) = class_capacities(inst)
    schedule = solver.solve(inst)
    assert oak.possible == len(schedule.visits) == 3
    assert len(schedule.unplaced) == oak.families - oak.possible
