"""Re-planning a day on a generated school: the fewest families moved, compared with a full
re-run given the same absence, and every rule kept."""

from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from app.scheduling.solver.problem import Instance, PreviousVisit, Schedule, Visit
from app.scheduling.solver.replan import replan
from app.scheduling.solver.solve import solve
from app.scheduling.solver.validator import validate
from app.synthetic.instances import school_instance


@pytest.fixture(scope="module")
def planned() -> tuple[Instance, dict[str, Visit]]:
    inst = school_instance(3, pupils=300, time_limit_seconds=3.0)
    schedule = solve(inst)
    return inst, {v.household_id: v for v in schedule.visits}


def _busiest(inst: Instance, current: dict[str, Visit], day: date, teachers: bool) -> str:
    slots = inst.slot_map()
    leads = {t for team in inst.teams for t in team.teacher_ids}
    load = Counter(
        a
        for v in current.values()
        if slots[v.slot_id].day == day
        for a in v.adult_ids
        if (a in leads) is teachers
    )
    return load.most_common(1)[0][0]


def test_a_teacher_away_moves_fewer_families_than_a_full_re_run(
    planned: tuple[Instance, dict[str, Visit]],
) -> None:
    inst, current = planned
    slots = inst.slot_map()
    day = sorted({s.day for s in inst.slots})[1]
    teacher = _busiest(inst, current, day, teachers=True)
    theirs = {
        h for h, v in current.items() if slots[v.slot_id].day == day and teacher in v.adult_ids
    }

    result = replan(inst, current, day, frozenset({teacher}))

    changed = {c.household_id: c for c in result.changes}
    assert theirs <= changed.keys()  # every visit the absence broke is dealt with
    for household_id, change in changed.items():
        if household_id not in theirs:  # anyone else moved only to make room
            assert change.made_room_for in theirs
        if change.after is not None:
            assert teacher not in change.after.adult_ids or slots[change.after.slot_id].day != day
            assert slots[change.after.slot_id].day >= day  # never into days already past
    unplaced = {c.household_id: c.why_unplaced or "" for c in result.changes if c.after is None}
    checked = validate(result.instance, Schedule(visits=result.visits, unplaced=unplaced))
    assert checked.violations == ()

    # A full re-run with the same absence and the same fixed days optimises everything again.
    free = {h.id for h in result.instance.households if h.locked is None}
    rerun = solve(
        replace(
            result.instance,
            previous=tuple(
                PreviousVisit(h, v.slot_id, v.adult_ids) for h, v in current.items() if h in free
            ),
        )
    )
    rerun_moved = sum(
        1
        for v in rerun.visits
        if v.household_id in free and current[v.household_id].slot_id != v.slot_id
    ) + len(rerun.unplaced)
    replan_moved = sum(1 for c in result.changes if c.kind != "restaffed")
    assert replan_moved <= rerun_moved
    assert len(unplaced) <= len(rerun.unplaced)  # as many placed as the re-run places


def test_a_second_adult_away_is_replaced_at_the_same_times(
    planned: tuple[Instance, dict[str, Visit]],
) -> None:
    inst, current = planned
    slots = inst.slot_map()
    day = sorted({s.day for s in inst.slots})[0]
    second = _busiest(inst, current, day, teachers=False)
    theirs = {
        h for h, v in current.items() if slots[v.slot_id].day == day and second in v.adult_ids
    }

    result = replan(inst, current, day, frozenset({second}))

    restaffed = {c.household_id for c in result.changes if c.kind == "restaffed"}
    assert restaffed
    assert restaffed <= theirs
    for change in result.changes:
        if change.kind == "restaffed":
            assert change.after is not None
            assert change.after.slot_id == change.before.slot_id
            assert second not in change.after.adult_ids
