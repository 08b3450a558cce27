"""Survey results for SLT and the trust: per question distributions, Likert means and medians,
response rates, and the change between a teacher's immediate and one-month surveys, for one
programme, a school's programmes or the trust's (with a row per school); and the free-text
answers, listed for SLT.

A survey here is one audience's across the scope's programmes. It is open while an invitation is
unanswered and its last issue is less than THRESHOLD_SURVEYS_OPEN_DAYS old: then only the number
invited shows. Every count goes through app/core/suppression with
THRESHOLD_REPORTS_SUPPRESSED_BELOW (see app/surveys/figures.py for the breakdowns). Free text is
listed only for a closed survey with at least that many responses, the words alone: never an
invitation, household, staff member or time, even for a named survey. Raises NotFound (404: a
programme, school or trust the caller cannot see) and Forbidden (403: seen, but results are not
theirs there).
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.suppression import Breakdown, share, suppress_breakdown
from app.core.types import utcnow
from app.programmes.repository import ProgrammeRepository
from app.surveys import figures, repository
from app.surveys.figures import Counted, Published
from app.surveys.models import STAFF_AUDIENCES, QuestionType, SurveyAudience, SurveyTemplate
from app.surveys.repository import Tally
from app.surveys.schemas import (
    FreeTextAnswers,
    QuestionResult,
    ResultsScope,
    SchoolSurveyResults,
    SurveyAudienceResults,
    SurveyFreeText,
    SurveyHeadlineFigures,
    SurveyResults,
)
from app.trusts.repository import SchoolRepository, TrustRepository

WHOLE = "whole"  # the one row of results not broken down by school
AUDIENCES = (
    SurveyAudience.TEACHER_IMMEDIATE,
    SurveyAudience.TEACHER_FOLLOW_UP,
    SurveyAudience.PARENT,
)


async def for_programme(session: AsyncSession, who: Principal, programme_id: UUID) -> SurveyResults:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.SURVEYS_RESULTS
    )
    found = await compute(session, [programme.id], by_school=False)
    return _results(ResultsScope.PROGRAMME, programme.id, None, [programme.id], found)


async def for_school(
    session: AsyncSession, who: Principal, school_id: UUID, academic_year: str | None
) -> SurveyResults:
    school = await SchoolRepository(session, who).get_permitted(
        school_id, Permission.SURVEYS_RESULTS
    )
    ids = await repository.programme_ids(
        session, who, school_id=school.id, academic_year=academic_year
    )
    found = await compute(session, ids, by_school=False)
    return _results(ResultsScope.SCHOOL, school.id, academic_year, ids, found)


async def for_trust(
    session: AsyncSession, who: Principal, trust_id: UUID, academic_year: str | None
) -> SurveyResults:
    trust = await TrustRepository(session, who).get_permitted(trust_id, Permission.SURVEYS_RESULTS)
    ids = await repository.programme_ids(session, who, academic_year=academic_year)
    found = await compute(session, ids, by_school=True)
    return _results(ResultsScope.TRUST, trust.id, academic_year, ids, found)


def _results(
    scope: ResultsScope,
    scope_id: UUID,
    academic_year: str | None,
    programme_ids: list[UUID],
    audiences: list[SurveyAudienceResults],
) -> SurveyResults:
    return SurveyResults(
        scope=scope,
        scope_id=scope_id,
        academic_year=academic_year,
        suppressed_below=get_settings().reports_suppressed_below,
        programme_ids=programme_ids,
        audiences=audiences,
    )


async def headlines(
    session: AsyncSession, programme_ids: list[UUID], now: datetime | None = None
) -> list[SurveyHeadlineFigures]:
    """One headline per audience across the programmes, suppressed, for the reports (which
    check the caller may read them)."""
    found = await compute(session, programme_ids, by_school=False, now=now)
    return [
        SurveyHeadlineFigures(
            audience=r.audience,
            open=r.open,
            closes_on=r.closes_on,
            invited=r.invited,
            responded=r.responded,
            response_rate=r.response_rate,
            headline_mean=r.headline_mean,
            change_from_immediate=r.change_from_immediate,
        )
        for r in found
    ]


@dataclass(frozen=True)
class Material:
    """What the results are computed from, read in three grouped queries."""

    tallies: list[Tally]
    given: list[tuple[UUID, SurveyAudience, UUID, dict[str, object]]]
    templates: dict[UUID, SurveyTemplate]
    school_names: dict[UUID, str]

    def of(self, audience: SurveyAudience) -> tuple[list[Tally], list[SurveyTemplate]]:
        tallies = [t for t in self.tallies if t.audience is audience]
        used = {t.template_id for t in tallies} | {
            template for _, a, template, _ in self.given if a is audience
        }
        return tallies, [self.templates[t] for t in used if t in self.templates]


async def compute(
    session: AsyncSession,
    programme_ids: Sequence[UUID],
    *,
    by_school: bool,
    now: datetime | None = None,
) -> list[SurveyAudienceResults]:
    """Each audience's results across the programmes (with a row per school when `by_school`)."""
    tallies = await repository.tallies(session, programme_ids)
    given = await repository.answers_given(session, programme_ids)
    templates = await repository.templates_by_id(
        session, {t.template_id for t in tallies} | {g[2] for g in given}
    )
    names = await repository.school_names(session, {t.school_id for t in tallies})
    material = Material(tallies, given, templates, names if by_school else {})
    today = local_time(now or utcnow()).date()
    core = _core_questions(material)
    found: list[SurveyAudienceResults] = []
    for audience in AUDIENCES:
        immediate = found[0] if audience is SurveyAudience.TEACHER_FOLLOW_UP else None
        found.append(_audience(material, audience, core, today, immediate))
    return found


def _core_questions(material: Material) -> set[str]:
    """The Likert questions both teachers' surveys ask: the ones their change compares (before
    any follow-up is issued, the immediate survey's own)."""
    asked = []
    for audience in (SurveyAudience.TEACHER_IMMEDIATE, SurveyAudience.TEACHER_FOLLOW_UP):
        _, templates = material.of(audience)
        questions = figures.questions_of(templates)
        likert = {q.id for q in questions if q.type is QuestionType.LIKERT}
        if likert:
            asked.append(likert)
    return set.intersection(*asked) if asked else set()


@dataclass(frozen=True)
class Survey:
    """One audience's survey in the scope, ready to publish."""

    audience: SurveyAudience
    tallies: list[Tally]
    templates: list[SurveyTemplate]
    rows: list[Hashable]
    given: list[figures.Given]
    open: bool
    closes_on: date | None


def _audience(
    material: Material,
    audience: SurveyAudience,
    core: set[str],
    today: date,
    immediate: SurveyAudienceResults | None,
) -> SurveyAudienceResults:
    tallies, templates = material.of(audience)
    is_open, closes_on = figures.status(tallies, today, get_settings().surveys_open_days)
    answered_at = {school for school, a, _, _ in material.given if a is audience}
    schools = sorted(
        {t.school_id for t in tallies} | answered_at,
        key=lambda school: (material.school_names.get(school, ""), school),
    )
    by_school = bool(material.school_names) and bool(schools)
    rows: list[Hashable] = list(schools) if by_school else [WHOLE]
    given: list[figures.Given] = [
        (school if by_school else WHOLE, answers)
        for school, a, _, answers in material.given
        if a is audience
    ]
    survey = Survey(audience, tallies, templates, rows, given, is_open, closes_on)
    headline = core if audience in STAFF_AUDIENCES else None
    return _publish(survey, material, headline, immediate, by_school)


def _publish(
    survey: Survey,
    material: Material,
    headline_ids: set[str] | None,
    immediate: SurveyAudienceResults | None,
    by_school: bool,
) -> SurveyAudienceResults:
    threshold = get_settings().reports_suppressed_below
    questions = figures.questions_of(survey.templates)
    counted = [figures.count(q, survey.rows, survey.given) for q in questions]
    published = [figures.publish(c, threshold) for c in counted]
    pooled = [
        i
        for i, q in enumerate(questions)
        if q.type is QuestionType.LIKERT and (headline_ids is None or q.id in headline_ids)
    ]
    invited, responded = _responses(survey, threshold)
    whole_questions = [p.whole for p in published]
    headline_mean = figures.pooled_mean(
        [published[i] for i in pooled], [counted[i] for i in pooled], None
    )
    change = None
    if immediate is not None:
        whole_questions = _with_change(whole_questions, immediate)
        change = figures.difference(_rounded(headline_mean), immediate.headline_mean)
    latest = max(survey.templates, key=lambda t: t.version_number, default=None)
    result = SurveyAudienceResults(
        audience=survey.audience,
        template_key=latest.key if latest else survey.audience.value,
        versions=sorted({t.version_number for t in survey.templates}),
        title=latest.title if latest else None,
        open=survey.open,
        closes_on=survey.closes_on,
        invited=invited.total,
        responded=responded.total,
        response_rate=share(responded.total, invited.total),
        headline_mean=_rounded(headline_mean),
        change_from_immediate=change,
        questions=whole_questions,
        schools=_schools(survey, material, published, counted, pooled, invited, responded)
        if by_school
        else [],
    )
    return _while_open(result) if survey.open else result


def _responses(survey: Survey, threshold: int) -> tuple[Breakdown, Breakdown]:
    """(invited, responded) per row, each suppressed against the scope's total."""
    at = {row: index for index, row in enumerate(survey.rows)}
    invited, responded = [0] * len(survey.rows), [0] * len(survey.rows)
    for tally in survey.tallies:
        index = at.get(tally.school_id, 0)
        invited[index] += tally.invited
        responded[index] += tally.responded
    return suppress_breakdown(invited, threshold), suppress_breakdown(responded, threshold)


def _schools(
    survey: Survey,
    material: Material,
    published: list[Published],
    counted: list[Counted],
    pooled: list[int],
    invited: Breakdown,
    responded: Breakdown,
) -> list[SchoolSurveyResults]:
    rows: list[SchoolSurveyResults] = []
    for index, school in enumerate(survey.rows):
        assert isinstance(school, UUID), "a trust's rows are its schools"
        mean = figures.pooled_mean(
            [published[i] for i in pooled], [counted[i] for i in pooled], index
        )
        rows.append(
            SchoolSurveyResults(
                school_id=school,
                school_name=material.school_names.get(school, ""),
                invited=invited.cells[index],
                responded=responded.cells[index],
                response_rate=share(responded.cells[index], invited.cells[index]),
                headline_mean=_rounded(mean),
                questions=[p.rows[index] for p in published],
            )
        )
    return rows


def _with_change(
    questions: list[QuestionResult], immediate: SurveyAudienceResults
) -> list[QuestionResult]:
    """Each Likert question the immediate survey asked too, with the change in its mean."""
    before = {q.id: q.mean for q in immediate.questions if q.type is QuestionType.LIKERT}
    return [
        q.model_copy(update={"change_from_immediate": figures.difference(q.mean, before[q.id])})
        if q.type is QuestionType.LIKERT and q.id in before
        else q
        for q in questions
    ]


def _while_open(result: SurveyAudienceResults) -> SurveyAudienceResults:
    """No counts of responses while the survey is open: only how many were invited."""
    hidden = {"responded": None, "response_rate": None, "headline_mean": None}
    schools = [
        school.model_copy(
            update={**hidden, "questions": [figures.closed(q) for q in school.questions]}
        )
        for school in result.schools
    ]
    return result.model_copy(
        update={
            **hidden,
            "change_from_immediate": None,
            "questions": [figures.closed(q) for q in result.questions],
            "schools": schools,
        }
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def free_text(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    audience: SurveyAudience,
    now: datetime | None = None,
) -> SurveyFreeText:
    """The programme's free-text answers to the audience's survey, for SLT: once it is closed
    and has at least THRESHOLD_REPORTS_SUPPRESSED_BELOW responses, the words alone, sorted."""
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.SURVEYS_RESULTS
    )
    settings = get_settings()
    tallies = [
        t for t in await repository.tallies(session, [programme.id]) if t.audience is audience
    ]
    today = local_time(now or utcnow()).date()
    is_open, closes_on = figures.status(tallies, today, settings.surveys_open_days)
    withheld = _withheld(is_open, closes_on, sum(t.responded for t in tallies))
    listed: list[FreeTextAnswers] = []
    if withheld is None:
        listed = await _free_text_answers(session, programme.id, audience)
    return SurveyFreeText(audience=audience, open=is_open, withheld=withheld, questions=listed)


def _withheld(is_open: bool, closes_on: date | None, responded: int) -> str | None:
    threshold = get_settings().reports_suppressed_below
    if is_open:
        return f"The survey is open until {closes_on}: its answers are listed once it closes."
    if responded < threshold:
        return (
            f"Fewer than {threshold} responses: too few to list answers without pointing at "
            "who gave them."
        )
    return None


async def _free_text_answers(
    session: AsyncSession, programme_id: UUID, audience: SurveyAudience
) -> list[FreeTextAnswers]:
    given = await repository.answers_given(session, [programme_id], audience)
    templates = await repository.templates_by_id(session, {g[2] for g in given})
    questions = figures.questions_of(list(templates.values()))
    return [
        FreeTextAnswers(
            id=question.id,
            text=question.text,
            # Sorted, so the order says nothing of who answered when.
            answers=sorted(
                text.strip()
                for _, _, _, answers in given
                if isinstance(text := answers.get(question.id), str) and text.strip()
            ),
        )
        for question in questions
        if question.type is QuestionType.FREE_TEXT
    ]
