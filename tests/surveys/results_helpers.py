"""Programmes at the home trust's schools, and their surveys answered, built by the synthetic
generator (app/synthetic/surveys.py) and stored as issuing and answering store them."""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.programmes.models import ProgrammeStatus, VisitProgramme
from app.surveys import repository
from app.surveys.models import SurveyAudience
from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK
from app.synthetic.generator import World
from app.synthetic.surveys import SurveyRows, survey_rows
from tests.conftest import bearer

NOW = datetime.now(UTC)
# Issued long enough ago that every survey of it has closed (THRESHOLD_SURVEYS_OPEN_DAYS: 21).
LONG_AGO = NOW - timedelta(days=40)


async def programme_at(world: World, school: int = 0) -> UUID:
    """A Reception programme of the home trust's school, its visits done."""
    at = world.trusts[0].schools[school]
    async with db.open_session(system_scope("test: a programme")) as session:
        programme = VisitProgramme(
            trust_id=at.trust_id,
            school_id=at.id,
            name="Reception home visits",
            academic_year=ACADEMIC_YEAR,
            visit_days=[VISIT_WEEK[1].isoformat()],
            day_starts=time(9, 0),
            day_ends=time(12, 0),
            slot_minutes=45,
            travel_buffer_minutes=15,
            year_groups=["R"],
            max_visits_per_adult_per_day=10,
            status=ProgrammeStatus.IN_PROGRESS,
        )
        session.add(programme)
    return programme.id


async def answered(
    world: World,
    programme_id: UUID,
    audience: SurveyAudience,
    *,
    invited: int,
    likert: Sequence[int | None],
    issued_at: datetime = LONG_AGO,
    seed: int = 1,
    anonymous: bool = True,
) -> SurveyRows:
    """`invited` surveys of the audience issued at the programme, len(likert) of them answered."""
    trust_id = world.trusts[0].trust.id
    async with db.open_session(system_scope("test: surveys answered")) as session:
        await repository.ensure_defaults(session, trust_id)
        template = await repository.template(session, trust_id, audience)
        programme = await repository.programme(session, programme_id)
        assert template is not None
        template.anonymous = anonymous
        rows = survey_rows(
            template,
            school_id=programme.school_id,
            programme_id=programme_id,
            invited=invited,
            likert=likert,
            issued_at=issued_at,
            seed=seed,
        )
        session.add_all(rows.invitations)
        await session.flush()
        session.add_all(rows.responses)
    return rows


def drawn(n: int) -> list[int | None]:
    """n responses whose Likert answers are drawn at random."""
    return [None] * n


async def results_as(
    client: httpx.AsyncClient, world: World, path: str, role: Role = Role.TRUST_ADMIN
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{path}", headers=await bearer(world.login(role)))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def audience_of(found: dict[str, Any], audience: SurveyAudience) -> dict[str, Any]:
    (only,) = [a for a in found["audiences"] if a["audience"] == audience.value]
    survey: dict[str, Any] = only
    return survey


def question_of(survey: dict[str, Any], question_id: str) -> dict[str, Any]:
    (only,) = [q for q in survey["questions"] if q["id"] == question_id]
    question: dict[str, Any] = only
    return question
