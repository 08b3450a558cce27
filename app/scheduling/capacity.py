"""How many visits each class's adults can make in the programme's days, against the families
the class must reach: the root cause behind a quarter of a class coming back unplaced, said once
and in words before parents choose, rather than family by family after a run.

Counted on the same `Instance` the scheduler solves. An adult makes at most one visit per slot
and at most the daily maximum per day, never in a period they cannot visit. Each visit needs one
of the class's teachers and a second adult (the class's own, the pool, or, for a job-share, the
other teacher), so a day's visits are bounded by whichever side runs out first: the binding adult
decides. This is an upper bound (travel, siblings' joint visits, families' own times and a pool
shared between classes only lower it), so a class over it certainly cannot be placed whole.
Training is left out: an untrained adult is a problem of its own, reported with the team.
"""

from collections import defaultdict
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.programmes.capacity import ClassCapacity
from app.programmes.models import VisitProgramme
from app.scheduling import instance
from app.scheduling.solver.options import adult_free
from app.scheduling.solver.problem import ClassTeam, Instance, Slot


async def count_for_programme(
    session: AsyncSession, programme: VisitProgramme
) -> list[ClassCapacity]:
    """The programme's classes counted on the instance the scheduler would solve now."""
    loaded = await instance.load(session, programme, seed=1, time_limit_seconds=1)
    return class_capacities(loaded.instance)


def class_capacities(instance: Instance) -> list[ClassCapacity]:
    days: dict[date, list[Slot]] = defaultdict(list)
    for slot in instance.slots:
        days[slot.day].append(slot)
    families: dict[str, int] = defaultdict(int)
    for household in instance.households:
        for class_id in set(household.classes):
            families[class_id] += 1
    counter = _Counter(instance, dict(days))
    return [counter.of(team, families[team.class_id]) for team in instance.teams]


class _Counter:
    def __init__(self, instance: Instance, days: dict[date, list[Slot]]) -> None:
        self.instance = instance
        self.days = days
        self.adults = instance.adult_map()
        self.cap = instance.max_visits_per_adult_per_day

    def day_visits(self, adult_id: str, day: date) -> int:
        adult = self.adults.get(adult_id)
        if adult is None:
            return 0
        free = sum(1 for slot in self.days[day] if adult_free(adult, slot))
        return min(self.cap, free)

    def total(self, adult_ids: list[str]) -> int:
        return sum(self.day_visits(a, d) for a in adult_ids for d in self.days)

    def of(self, team: ClassTeam, families: int) -> ClassCapacity:
        name = team.name or team.class_id
        teachers = list(team.teacher_ids)
        if not teachers:
            return ClassCapacity(team.class_id, name, families, None, None, None)
        seconds = [team.second_adult_id] if team.second_adult_id else []
        seconds += list(self.instance.second_adult_pool)
        seconds = [s for s in dict.fromkeys(seconds) if s not in teachers]
        possible = sum(self._day(teachers, seconds, day) for day in self.days)
        second_binds = bool(seconds) and self.total(seconds) < self.total(teachers)
        binding = seconds if second_binds else teachers
        limited_by = binding[0] if len(binding) == 1 else None
        detail = None
        if families > possible:
            detail = self._detail(families, possible, binding, second_binds)
        return ClassCapacity(team.class_id, name, families, possible, limited_by, detail)

    def _day(self, teachers: list[str], seconds: list[str], day: date) -> int:
        lead = sum(self.day_visits(t, day) for t in teachers)
        if not seconds:
            # No second adult chosen yet (no team set, no pool): a team problem of its own,
            # reported with the team, so only the teachers' time counts here.
            return lead
        second = sum(self.day_visits(s, day) for s in seconds)
        # A job-share's two teachers can also make a visit together, without a second adult.
        extra = max(0, lead - second) // 2 if len(teachers) >= 2 else 0
        return min(lead, second) + extra

    def _detail(self, families: int, possible: int, binding: list[str], second_binds: bool) -> str:
        slots = sum(len(s) for s in self.days.values())
        slots_bind = all(len(s) <= self.cap for s in self.days.values())
        shorter = "shorten slots" if slots_bind else "raise the most visits an adult makes a day"
        more = "add second adults to the pool" if second_binds else "add a teacher"
        if len(binding) == 1 and binding[0] in self.adults:
            who = self.adults[binding[0]].name
        else:
            who = "The second adults" if second_binds else "The teachers"
        return (
            f"{_count(families, 'family', 'families')}, {_count(possible, 'visit')} possible: "
            f"add a visit day, {shorter}, or {more}. {who} can make at most "
            f"{_count(self.total(binding), 'visit')} on the programme's "
            f"{_count(len(self.days), 'day')} ({_count(slots, 'slot')} in all, at most "
            f"{_count(self.cap, 'visit')} a day)."
        )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
