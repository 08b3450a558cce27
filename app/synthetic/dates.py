"""The calendar generated programmes use: the generated rosters' academic year and visit days
inside it that are still to come.

Programmes refuse visit days in the past and days outside their academic year, so every
programme the demo, the benchmarks and the tests make takes its days from here. They are the
last full week of the 2026/27 year because the rosters are generated for 2026/27; once that week
draws near, the rosters' year and these days move on together.
"""

from datetime import date, timedelta

ACADEMIC_YEAR = "2026/27"
# Monday 5 to Friday 9 July 2027.
VISIT_WEEK = tuple(date(2027, 7, 5) + timedelta(days=i) for i in range(5))
# The Monday after it, for a programme that needs a fourth day.
NEXT_MONDAY = date(2027, 7, 12)
