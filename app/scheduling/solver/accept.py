"""The two acceptances every move outside the annealing loop uses (`Search.change`'s `accept`):
keep the change, or price it and undo it."""


def take(_delta: int) -> bool:
    """Keep the change, whatever it costs."""
    return True


class Price:
    """Record the change shown and refuse it: scoring without keeping."""

    def __init__(self) -> None:
        self.delta: int | None = None

    def __call__(self, delta: int) -> bool:
        self.delta = delta
        return False
