"""Small hand-made programmes whose best schedule is known."""

from dataclasses import replace
from datetime import date

from app.scheduling.solver.problem import (
    Adult,
    ClassTeam,
    Household,
    Instance,
    Location,
    Slot,
)

DAY1 = date(2026, 9, 2)
DAY2 = date(2026, 9, 3)
SCHOOL = Location("ME2 4AA", 51.3900, 0.4900)


def home(n: int) -> Location:
    """Homes a few hundred metres apart, east of the school."""
    return Location(f"ME2 4A{chr(65 + n)}", 51.3900, 0.4920 + 0.003 * n)


def slots(*days: date, per_day: int = 3) -> tuple[Slot, ...]:
    return tuple(
        Slot(f"{day.day}-{i}", day, 9 * 60 + 45 * i, 9 * 60 + 45 * i + 30)
        for day in days
        for i in range(per_day)
    )


def team(name: str) -> tuple[ClassTeam, Adult, Adult]:
    teacher = Adult(f"{name}-t", f"{name} teacher", trained=True)
    second = Adult(f"{name}-ta", f"{name} TA", trained=True)
    return ClassTeam(name, (teacher.id,), second.id, name), teacher, second


def instance(
    households: tuple[Household, ...],
    *,
    classes: tuple[str, ...] = ("oak",),
    days: tuple[date, ...] = (DAY1,),
    per_day: int = 3,
    max_per_day: int = 10,
    pool: tuple[Adult, ...] = (),
) -> Instance:
    teams, adults = [], []
    for name in classes:
        t, teacher, second = team(name)
        teams.append(t)
        adults += [teacher, second]
    return Instance(
        slots=slots(*days, per_day=per_day),
        adults=(*adults, *pool),
        households=households,
        teams=tuple(teams),
        second_adult_pool=tuple(a.id for a in pool),
        max_visits_per_adult_per_day=max_per_day,
        school_location=SCHOOL,
        time_limit_seconds=2.0,
    )


def household(n: int, *classes: str, preferences: tuple[str, ...] = ()) -> Household:
    return Household(f"h{n}", home(n), classes or ("oak",), preferences)


def with_adult(inst: Instance, adult: Adult) -> Instance:
    return replace(inst, adults=tuple(adult if a.id == adult.id else a for a in inst.adults))
