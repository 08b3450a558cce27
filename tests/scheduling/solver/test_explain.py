"""Reasons that are exactly true: for each family left unplaced, what blocks it (which adult,
which day, which rule), root cause first and never cut short; for each unmet first choice, who
took that time."""

from dataclasses import replace

from app.scheduling.solver.problem import Adult, DayPart, Household, Instance, Location, Schedule
from app.scheduling.solver.solve import solve
from app.scheduling.solver.validator import validate
from tests.scheduling.cases import DAY1, DAY2, household, instance, with_adult

ALL_DAY = 24 * 60


def _solved(inst: Instance) -> Schedule:
    schedule = solve(inst)
    assert validate(inst, schedule).violations == ()
    return schedule


def _only_reason(schedule: Schedule) -> tuple[str, str]:
    ((household_id, reason),) = schedule.unplaced.items()
    assert "more)" not in reason  # never cut short
    return household_id, reason


def test_an_absent_second_adult_is_named_before_the_spare_who_is_busy() -> None:
    """Both classes' support staff are away; the one spare adult can go to one visit at the
    only time, so the other family's reason names its own class's absent adult first."""
    spare = Adult("spare", "Spare adult", trained=True)
    inst = instance(
        (household(1, "oak"), household(2, "elm")), classes=("oak", "elm"), per_day=1, pool=(spare,)
    )
    for name in ("oak", "elm"):
        inst = with_adult(inst, Adult(f"{name}-ta", f"{name} TA", True, ((DAY1, 0, ALL_DAY),)))
    household_id, reason = _only_reason(_solved(inst))
    own = "oak" if household_id == "h1" else "elm"
    assert reason.startswith(f"{own} TA is away Wed 2 Sep (all day)")
    assert "on Wed 2 Sep Spare adult is at other visits at 09:00" in reason


def _far(n: int) -> Household:
    """A home about 7 km east of the school: an 18-minute drive from everywhere else."""
    return Household(f"h{n}", Location("ME3 9ZZ", 51.3900, 0.5900), ("oak",))


def test_a_day_filled_by_travel_says_the_drive_not_another_visit() -> None:
    """Two times 15 minutes apart; a near family takes one, and the far family cannot make the
    drive between them in either order: its reason is the drive, with the minutes."""
    inst = instance((household(1), _far(2)), per_day=2)
    schedule = _solved(inst)
    household_id, reason = _only_reason(schedule)
    assert household_id == "h2"  # the near family costs less driving from school
    (visit,) = schedule.visits
    taken, other = ("09:00", "09:45") if visit.slot_id == "2-0" else ("09:45", "09:00")
    assert f"oak teacher is at other visits at {taken}" in reason
    drive = "cannot get there for" if other == "09:45" else "could not get from there at"
    assert f"{drive} {other}" in reason
    assert "15 min between" in reason
    assert f"at other visits at {other}" not in reason


def test_siblings_whose_teachers_never_share_a_day_are_told_so_first() -> None:
    inst = instance((household(1, "oak", "elm"),), classes=("oak", "elm"), days=(DAY1, DAY2))
    inst = with_adult(inst, Adult("oak-t", "oak teacher", True, ((DAY2, 0, ALL_DAY),)))
    inst = with_adult(inst, Adult("elm-t", "elm teacher", True, ((DAY1, 0, ALL_DAY),)))
    _, reason = _only_reason(_solved(inst))
    assert reason == (
        "the siblings' teachers (oak teacher and elm teacher) are never free at the same time; "
        "oak teacher is away Thu 3 Sep (all day); elm teacher is away Wed 2 Sep (all day)"
    )


def test_a_full_class_says_its_team_cannot_visit_every_family() -> None:
    inst = instance(tuple(household(n) for n in range(4)))  # three times, one teacher
    _, reason = _only_reason(_solved(inst))
    assert reason.startswith(
        "oak has 4 families but its teacher can make at most 3 visits on the programme's days"
    )
    assert reason.endswith(
        "on Wed 2 Sep oak teacher is at other visits at 09:00, 09:45 and 10:30, "
        "and oak TA is at other visits at 09:00, 09:45 and 10:30"
    )


def test_the_daily_maximum_is_said_only_of_the_day_that_has_it() -> None:
    """At most two visits a day; three families can only do Wednesday, one only Thursday:
    Wednesday is full, Thursday is not, and the family's own absence is the root cause."""
    wednesday_only = tuple(
        Household(f"h{n}", household(n).location, ("oak",), (), ((DAY2, DayPart.ALL_DAY),))
        for n in range(3)
    )
    thursday_only = Household("h9", household(9).location, ("oak",), (), ((DAY1, DayPart.ALL_DAY),))
    inst = instance((*wednesday_only, thursday_only), days=(DAY1, DAY2), per_day=3, max_per_day=2)
    _, reason = _only_reason(_solved(inst))
    assert reason.startswith("the family is unavailable Thu 3 Sep")
    assert "on Wed 2 Sep oak teacher already has the daily maximum of 2 visits" in reason
    assert reason.count("daily maximum") == 2  # the teacher and the TA, on Wednesday only
    assert "Thu 3 Sep oak" not in reason


def test_an_unmet_first_choice_names_who_took_that_time() -> None:
    khans = replace(household(1, preferences=("2-0",)), label="Khan family (F-1)")
    browns = replace(household(2, preferences=("2-0", "2-1")), label="Brown family (F-2)")
    schedule = _solved(instance((khans, browns)))
    assert schedule.unmet_preferences["h2"] == (
        "placed at 2nd choice (Wed 2 Sep 09:45); 1st choice (Wed 2 Sep 09:00): "
        "oak teacher is visiting Khan family (F-1) then and oak TA is visiting Khan family (F-1) "
        "then"
    )
