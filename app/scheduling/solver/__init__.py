"""The scheduler's solver: pure functions from an `Instance` (problem.py) to a `Schedule`
(solve.py), with the validator that checks any schedule against the same rules. Nothing here
imports the rest of the app (tests/scheduling/solver/test_boundary.py), and nothing is
re-exported, so importing the problem's types does not load OR-Tools."""
