"""Coarse to fine: on a fine overlapping grid, the search first works on a sub-grid of its starts.

A fine grid (a 30-minute visit may start every 5 minutes) gives each family about eight times the
options of a back-to-back grid, and almost all of them price the same: any time the family did
not list costs the same 600 points, and travel depends on the order of a day's visits, not on
their exact times. A search drawing moves at random among them spends its steps on options that
change nothing, and every move that prices a family's options (the greedy start, clearing a
class's day, the large-neighbourhood moves) takes eight times as long.

So the search first sees, per family, only the starts on the grid's coarse rhythm (a start, then
the next one a visit's length plus a drive later, as a back-to-back grid would offer) and the
family's own listed times, at whatever minute they fall: the options where the objective
differs. The schedule found there is a schedule of the full grid (every option kept is one of
the full grid's); the stop ordering and the final insertion then work on every start, which
lets a visit shift by a few minutes to make room for another family's listed time.
"""

from dataclasses import replace
from datetime import date

from app.scheduling.solver.options import Option, Prepared
from app.scheduling.solver.problem import Slot

# A grid is fine when a day offers more starts than this: a back-to-back grid offers about ten.
FINE_STARTS_PER_DAY = 24
# The coarse rhythm: a visit's length plus this much for the drive to the next home.
RHYTHM_GAP_MINUTES = 10


def coarse(prepared: Prepared) -> Prepared:
    """`prepared` with each family's options cut to the coarse rhythm's starts and its listed
    times (and its previous slot, so a re-plan can keep it); `prepared` itself when the grid
    is not fine. A family with no option on the rhythm keeps all of its options."""
    if not is_fine(prepared):
        return prepared
    kept_slots = rhythm(prepared.day_slots)
    by_household: dict[str, list[Option]] = {}
    previous = {p.household_id: p.slot_id for p in prepared.instance.previous}
    for household_id, options in prepared.by_household.items():
        wanted = kept_slots | set(prepared.households[household_id].preferences)
        if household_id in previous:
            wanted.add(previous[household_id])
        chosen = [o for o in options if o.slot_id in wanted]
        by_household[household_id] = chosen or options
    kept = [o for options in by_household.values() for o in options]
    return replace(prepared, options=kept, by_household=by_household)


def is_fine(prepared: Prepared) -> bool:
    return any(len(slots) > FINE_STARTS_PER_DAY for slots in prepared.day_slots.values())


def rhythm(day_slots: dict[date, list[Slot]]) -> set[str]:
    """Per day, the first start, then each next start at least a visit and a drive after the
    one before (a slot that overlaps none already taken): the starts a back-to-back grid with a
    10-minute drive between visits would offer."""
    kept: set[str] = set()
    for slots in day_slots.values():
        free_from: int | None = None
        for slot in sorted(slots, key=lambda s: (s.start_minute, s.id)):
            if free_from is None or slot.start_minute >= free_from:
                kept.add(slot.id)
                free_from = slot.end_minute + RHYTHM_GAP_MINUTES
    return kept
