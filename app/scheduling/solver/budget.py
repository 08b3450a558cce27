"""The run's wall-clock budget: the time limit counts from the moment `solve` starts and covers
every phase (preparation, greedy starts, CP-SAT, the annealing search, stop ordering, the bound,
the explanations). Each phase may run until its cumulative share of the limit has passed; one
that finishes early leaves its time to the next.

Shares, of the limit, by which each phase must be done:

    starts and CP-SAT   0.35   (after preparation, which takes what it takes)
    search              0.80   (fixed steps, cut short by the clock)
    stop ordering       0.85   (swaps and moves)
    bound               0.95   (the full LP when its size fits the time left, else the day LP,
                                else 0)
    exact days          0.95   (each teacher's day sequenced exactly, in what the bound left)
    the rest            1.00   (objective, explanations, the unplaced proof)
"""

import time
from dataclasses import dataclass, field

STARTS_BY = 0.35
SEARCH_BY = 0.8
ORDER_BY = 0.85
BOUND_BY = 0.95
EXACT_DAYS_BY = 0.95
DONE_BY = 1.0


@dataclass(frozen=True)
class Budget:
    seconds: float
    started: float = field(default_factory=time.perf_counter)

    def deadline(self, share: float) -> float:
        """The perf_counter time by which the phase ending at `share` must be done."""
        return self.started + self.seconds * share

    def left(self, share: float) -> float:
        """Seconds until that deadline (0 once it has passed)."""
        return max(0.0, self.deadline(share) - time.perf_counter())

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
