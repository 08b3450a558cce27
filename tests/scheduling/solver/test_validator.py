"""The independent validator catches each kind of broken schedule."""

from dataclasses import replace

from app.scheduling.solver.problem import Adult, DayPart, Household, Location, Schedule, Visit
from app.scheduling.solver.solve import solve
from app.scheduling.solver.travel import travel_tenths
from app.scheduling.solver.validator import validate
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
