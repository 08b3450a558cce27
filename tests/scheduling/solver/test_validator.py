"""The independent validator catches each kind of broken schedule."""

from dataclasses import replace

from app.scheduling.solver.problem import (
    Adult,
    DayPart,
    Household,
    Instance,
    Location,
    Schedule,
    Slot,
    Visit,
)
from app.scheduling.solver.solve import solve
from app.scheduling.solver.travel import travel_tenths
from app.scheduling.solver.validator import LATE_RETURN, validate
from tests.scheduling.cases import DAY1, household, instance, with_adult


def _violations(inst_visits: tuple[Visit, ...], **changes: object) -> tuple[str, ...]:
    inst = instance(tuple(household(n) for n in range(3)))
    inst = replace(inst, **changes)  # type: ignore[arg-type]
    return validate(inst, Schedule(inst_visits, {})).violations


def _visit(n: int, slot: str, *adults: str) -> Visit:
    return Visit(f"h{n}", slot, adults or ("oak-t", "oak-ta"))


def test_a_good_schedule_passes() -> None:
    visits = (_visit(0, "2-0"), _visit(1, "2-1"), _visit(2, "2-2"))
    assert _violations(visits) == ()


def test_double_booked_adult() -> None:
    visits = (_visit(0, "2-0"), _visit(1, "2-0"), _visit(2, "2-2"))
    assert any("oak teacher double-booked at 2026-09-02 09:00" in v for v in _violations(visits))


def test_too_short_a_gap_for_the_drive() -> None:
    far = Household("h1", Location("TN1 1AA", 51.13, 0.26), ("oak",))
    inst = instance((household(0), far, household(2)))
    schedule = Schedule((_visit(0, "2-0"), _visit(1, "2-1"), _visit(2, "2-2")), {})
    found = validate(inst, schedule).violations
    needed = travel_tenths(household(0).location, far.location, inst.travel) / 10
    assert any(f"takes {needed:.1f} min but only 15 min" in v for v in found)


def _late_day() -> Instance:
    """h0's visit is the day's last, 16:30-17:00; the day ends at 17:00 (or 17:10)."""
    inst = instance((household(0),))
    late = Slot("late", DAY1, 16 * 60 + 30, 17 * 60)
    return replace(inst, slots=(*inst.slots, late), school_return_minute=17 * 60)


def test_a_drive_back_to_school_after_the_days_end() -> None:
    inst = _late_day()
    back = travel_tenths(household(0).location, inst.school_location, inst.travel)
    assert 0 < back < 100  # a minute or so: at 17:00 sharp it is late, ten minutes later not
    last_at_1630 = Schedule((_visit(0, "late"),), {})
    check = validate(inst, last_at_1630)
    assert check.late_returns == 2  # the teacher's day and the TA's
    assert any(
        f"adult oak teacher is {LATE_RETURN} on 2026-09-02: the drive back from household h0 "
        f"takes {back / 10:.1f} min but only 0 min are left after 17:00 before 17:00" in v
        for v in check.violations
    ), check.violations
    later = validate(replace(inst, school_return_minute=17 * 60 + 10), last_at_1630)
    assert later.violations == ()
    at_last_visit = validate(replace(inst, school_return_minute=None), last_at_1630)
    assert at_last_visit.violations == ()
    earlier = validate(inst, Schedule((_visit(0, "2-2"),), {}))  # 10:30: back in good time
    assert earlier.violations == ()


def test_the_drive_back_to_school_is_travel() -> None:
    """One visit: the teacher drives there and back, and both legs are the objective's travel;
    a day that ends at the last visit has no drive back."""
    inst = _late_day()
    schedule = Schedule((_visit(0, "2-0"),), {})
    there = travel_tenths(inst.school_location, household(0).location, inst.travel)
    back = travel_tenths(household(0).location, inst.school_location, inst.travel)
    parts = validate(inst, schedule).parts
    assert (parts.travel_tenths, parts.return_tenths) == (there + back, back)
    finishing = validate(replace(inst, school_return_minute=None), schedule).parts
    assert (finishing.travel_tenths, finishing.return_tenths) == (there, 0)
    assert parts.total - finishing.total == back * inst.weights.travel_tenth_minute


def test_over_the_daily_maximum() -> None:
    visits = (_visit(0, "2-0"), _visit(1, "2-1"), _visit(2, "2-2"))
    assert any(
        "3 visits on 2026-09-02 (max 2)" in v
        for v in _violations(visits, max_visits_per_adult_per_day=2)
    )


def test_untrained_adult() -> None:
    inst = with_adult(instance((household(0),)), Adult("oak-ta", "oak TA", trained=False))
    found = validate(inst, Schedule((_visit(0, "2-0"),), {})).violations
    assert any("oak TA has no visit training" in v for v in found)


def test_household_unavailable_time() -> None:
    away = replace(household(0), unavailable=((DAY1, DayPart.MORNING),))
    inst = instance((away,))
    found = validate(inst, Schedule((_visit(0, "2-0"),), {})).violations
    assert any("unavailable morning" in v for v in found)


def test_adult_unavailable_time() -> None:
    inst = with_adult(
        instance((household(0),)), Adult("oak-t", "oak teacher", True, ((DAY1, 540, 600),))
    )
    found = validate(inst, Schedule((_visit(0, "2-0"),), {})).violations
    assert any("oak teacher is unavailable then" in v for v in found)


def test_visit_with_one_adult_or_without_the_class_teacher() -> None:
    one = _violations((_visit(0, "2-0", "oak-t"), _visit(1, "2-1"), _visit(2, "2-2")))
    assert any("fewer than two adults" in v for v in one)
    no_teacher = _violations((_visit(0, "2-0", "oak-ta", "x"), _visit(1, "2-1"), _visit(2, "2-2")))
    assert any("not attended by a teacher of class oak" in v for v in no_teacher)


def test_a_household_neither_visited_nor_explained() -> None:
    found = _violations((_visit(0, "2-0"), _visit(1, "2-1")))
    assert any("h2 is neither visited nor explained" in v for v in found)


def test_objective_parts_match_the_solver() -> None:
    inst = instance(tuple(household(n, preferences=("2-1",)) for n in range(3)))
    schedule = solve(inst)
    parts = validate(inst, schedule).parts
    assert parts.total == schedule.stats.objective
    assert (parts.first_choice, parts.with_preferences, parts.unplaced) == (1, 3, 0)


def test_families_and_classes_are_named_as_the_school_knows_them() -> None:
    labelled = tuple(replace(household(n), label=f"Family{n} family (F-{n})") for n in range(3))
    inst = instance(labelled)
    inst = replace(inst, teams=(replace(inst.teams[0], name="Robins"),))
    schedule = Schedule((_visit(0, "2-0", "oak-ta", "x"), _visit(0, "2-1"), _visit(1, "2-2")), {})
    found = validate(inst, schedule).violations
    assert "Family0 family (F-0) is visited twice" in found
    assert any("teacher of class Robins" in v for v in found), found
    assert "Family2 family (F-2) is neither visited nor explained" in found
    assert not any(f"h{n}" in v for v in found for n in range(3)), found
