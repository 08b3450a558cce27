"""Survey results for a whole trust: how long the trust's results (a row per school, every
count suppressed) take to compute, and how many SQL statements they cost.

    python bench/survey_results.py                          # SQLite in a temporary directory
    python bench/survey_results.py --database-url postgresql://postgres@127.0.0.1:5432/NAME
    python bench/survey_results.py --schools 92 --runs 5

The database given is migrated (an existing one must be empty or already this app's, and is
left with the bench's rows). The shared synthetic generator makes one trust of `--schools`
schools, a Reception programme per school, and per school the three surveys answered (parents:
90 invited, 60 to 80 answered; teachers: 25 invited, about 20 answered, both surveys), all
closed. Then `results.compute` runs for the whole trust `--runs` times. The last line of output
is one JSON object of the figures.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--schools", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    return parser.parse_args()


def prepare(url: str | None) -> None:
    directory = tempfile.mkdtemp(prefix="threshold-bench-surveys-")
    os.environ["DATABASE_URL"] = url or f"sqlite:///{Path(directory) / 'threshold.db'}"
    os.environ["THRESHOLD_ENVIRONMENT"] = "development"
    os.environ["THRESHOLD_DATA_DIR"] = directory
    from app.cli import upgrade_database
    from app.core import db

    upgrade_database()
    db.use_database(None)  # alembic's engine belonged to its own event loop


async def seed(args: argparse.Namespace) -> tuple[list[Any], int]:
    """The trust's programmes and how many responses were stored."""
    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.programmes.models import ProgrammeStatus, VisitProgramme
    from app.surveys import repository
    from app.surveys.models import SurveyAudience
    from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK
    from app.synthetic.generator import Generator, insert_world
    from app.synthetic.surveys import survey_rows

    world = Generator(args.seed).world(trusts=1, schools_per_trust=args.schools)
    trust = world.trusts[0]
    issued = datetime.now(UTC) - timedelta(days=60)
    stored = 0
    async with open_session(system_scope("bench: survey results")) as session:
        await insert_world(session, world)
        await repository.ensure_defaults(session, trust.trust.id)
        programmes = []
        for school in trust.schools:
            programme = VisitProgramme(
                trust_id=trust.trust.id,
                school_id=school.id,
                name="Reception home visits",
                academic_year=ACADEMIC_YEAR,
                visit_days=[VISIT_WEEK[1].isoformat()],
                day_starts=clock(9, 0),
                day_ends=clock(12, 0),
                slot_minutes=45,
                travel_buffer_minutes=15,
                max_visits_per_adult_per_day=10,
                year_groups=["R"],
                status=ProgrammeStatus.CLOSED,
            )
            session.add(programme)
            programmes.append(programme)
        await session.flush()
        for index, programme in enumerate(programmes):
            for audience, invited, answered in (
                (SurveyAudience.PARENT, 90, 60 + index % 21),
                (SurveyAudience.TEACHER_IMMEDIATE, 25, 18 + index % 5),
                (SurveyAudience.TEACHER_FOLLOW_UP, 25, 16 + index % 7),
            ):
                template = await repository.template(session, trust.trust.id, audience)
                assert template is not None
                rows = survey_rows(
                    template,
                    school_id=programme.school_id,
                    programme_id=programme.id,
                    invited=invited,
                    likert=[None] * answered,
                    issued_at=issued,
                    seed=args.seed * 1000 + index,
                )
                session.add_all(rows.invitations)
                await session.flush()
                session.add_all(rows.responses)
                stored += len(rows.responses)
    return [p.id for p in programmes], stored


async def measure(programme_ids: list[Any], runs: int) -> dict[str, Any]:
    from sqlalchemy import event

    from app.core.db import get_database, open_session
    from app.core.tenancy import system_scope
    from app.surveys import results

    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    engine = get_database().engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    timings = []
    for _ in range(runs):
        statements = 0
        began = time.perf_counter()
        async with open_session(system_scope("bench: survey results")) as session:
            found = await results.compute(session, programme_ids, by_school=True)
        timings.append(time.perf_counter() - began)
    event.remove(engine, "before_cursor_execute", count)
    parent = found[2]
    return {
        "trust_results_ms_median": round(statistics.median(timings) * 1000, 1),
        "trust_results_ms_best": round(min(timings) * 1000, 1),
        "statements_per_call": statements,
        "school_rows": len(parent.schools),
        "parent_responded_shown": parent.responded,
    }


async def run(args: argparse.Namespace) -> None:
    from app.core import db

    began = time.perf_counter()
    programme_ids, stored = await seed(args)
    seeded = time.perf_counter() - began
    figures = await measure(programme_ids, args.runs)
    await db.get_database().dispose()
    figures = {
        "database": "postgresql" if (args.database_url or "").startswith("postgres") else "sqlite",
        "schools": args.schools,
        "responses": stored,
        "seed_s": round(seeded, 1),
        **figures,
    }
    for name, value in figures.items():
        print(f"{name:>26}: {value}")
    print(json.dumps(figures))


def main() -> None:
    args = parse()
    prepare(args.database_url)  # alembic runs its own event loop
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
