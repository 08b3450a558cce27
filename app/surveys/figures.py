"""A survey's figures from its invitations' tallies and its responses' answers: pure functions,
every count published through app/core/suppression.

The rows of a breakdown are schools (a trust's results) or one row for the whole scope. Each
single-answer question (Likert, yes/no, single choice) is a table of rows × answers with its
margins, so a school's small cell is protected against the school's total and against the
trust's count of that answer; a multiple choice's options do not sum to a total, so each option
is a breakdown of its own across the rows. A mean or median shows only where the whole
distribution it comes from shows: beside a suppressed cell it would give the cell away.
"""

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.core.london import local_time
from app.core.suppression import suppress_breakdown, suppress_table
from app.surveys.models import QuestionType, SurveyTemplate
from app.surveys.repository import Tally
from app.surveys.schemas import AnswerCount, QuestionResult, SurveyQuestion

LIKERT = [str(point) for point in range(1, 6)]
YES_NO = ["yes", "no"]
SINGLE_ANSWER = frozenset({QuestionType.LIKERT, QuestionType.YES_NO, QuestionType.SINGLE_CHOICE})

Row = Hashable
Given = tuple[Row, dict[str, Any]]


def status(tallies: Sequence[Tally], today: date, open_days: int) -> tuple[bool, date | None]:
    """(open, closes_on): open while an invitation is unanswered and the last issue is less than
    `open_days` old; once everyone has answered it closed the day the last one did."""
    if not tallies:
        return False, None
    deadline = local_time(max(t.last_issued_at for t in tallies)).date()
    deadline += timedelta(days=open_days)
    if sum(t.responded for t in tallies) < sum(t.invited for t in tallies):
        return today < deadline, deadline
    answered = [t.last_answered_at for t in tallies if t.last_answered_at is not None]
    return False, _day(max(answered)) if answered else deadline


def _day(instant: datetime) -> date:
    return local_time(instant).date()


def questions_of(templates: Sequence[SurveyTemplate]) -> list[SurveyQuestion]:
    """Every question asked by the versions, as the newest asks it; answers compare by id."""
    found: dict[str, SurveyQuestion] = {}
    for template in sorted(templates, key=lambda t: -t.version_number):
        for asked in template.questions:
            question = SurveyQuestion.model_validate(asked)
            found.setdefault(question.id, question)
    return list(found.values())


def answers_of(question: SurveyQuestion) -> list[str]:
    if question.type is QuestionType.LIKERT:
        return LIKERT
    if question.type is QuestionType.YES_NO:
        return YES_NO
    return [option.value for option in question.options]


def _hits(question: SurveyQuestion, given: Any, answers: list[str]) -> list[int] | None:
    """The answers (by index) a response's value counts towards; None when not answered (or
    answered in a shape this version does not ask)."""
    kind = question.type
    if kind is QuestionType.FREE_TEXT:
        return [] if isinstance(given, str) and given.strip() else None
    if kind is QuestionType.MULTIPLE_CHOICE:
        if not isinstance(given, list):
            return None
        return sorted(answers.index(v) for v in set(given) if v in answers)
    if kind is QuestionType.LIKERT:
        value = str(given) if type(given) is int else None
    elif kind is QuestionType.YES_NO:
        value = ("yes" if given else "no") if type(given) is bool else None
    else:
        value = given if isinstance(given, str) else None
    return [answers.index(value)] if value in answers else None


@dataclass(frozen=True)
class Counted:
    """One question's raw counts: per row, per answer, and how many rows' responses answered."""

    question: SurveyQuestion
    answers: list[str]
    counts: list[list[int]]
    answered: list[int]


def count(question: SurveyQuestion, rows: Sequence[Row], given: Sequence[Given]) -> Counted:
    answers = answers_of(question)
    at = {row: index for index, row in enumerate(rows)}
    counts = [[0] * len(answers) for _ in rows]
    answered = [0] * len(rows)
    for row, response in given:
        hits = _hits(question, response.get(question.id), answers)
        if hits is None:
            continue
        answered[at[row]] += 1
        for hit in hits:
            counts[at[row]][hit] += 1
    return Counted(question, answers, counts, answered)


@dataclass(frozen=True)
class Published:
    """One question as published: the whole scope's figures, and each row's."""

    whole: QuestionResult
    rows: list[QuestionResult]
    # Unrounded means where shown, for the change between the teachers' two surveys.
    whole_mean: float | None


def publish(counted: Counted, threshold: int) -> Published:
    rows, whole, answered, total = _masked_counts(counted, threshold)
    raw_whole = _column_sums(counted)
    whole_result = _result(counted, whole, total, raw_whole)
    row_results = [
        _result(counted, cells, row_answered, raw)
        for cells, row_answered, raw in zip(rows, answered, counted.counts, strict=True)
    ]
    return Published(whole_result, row_results, _mean(counted.question, whole, raw_whole))


def _column_sums(counted: Counted) -> list[int]:
    return [sum(row[j] for row in counted.counts) for j in range(len(counted.answers))]


def _masked_counts(
    counted: Counted, threshold: int
) -> tuple[list[list[int | None]], list[int | None], list[int | None], int | None]:
    """(rows' cells, the whole's cells, rows' answered, the whole's answered), suppressed."""
    kind = counted.question.type
    if kind in SINGLE_ANSWER:
        table = suppress_table(counted.counts, threshold)
        return table.cells, table.column_totals, table.row_totals, table.total
    by_answer = [
        suppress_breakdown([row[j] for row in counted.counts], threshold)
        for j in range(len(counted.answers))
    ]
    answered = suppress_breakdown(counted.answered, threshold)
    rows = [[b.cells[i] for b in by_answer] for i in range(len(counted.counts))]
    return rows, [b.total for b in by_answer], answered.cells, answered.total


def _result(
    counted: Counted, cells: list[int | None], answered: int | None, raw: list[int]
) -> QuestionResult:
    question = counted.question
    free_text = question.type is QuestionType.FREE_TEXT
    mean = _mean(question, cells, raw)
    return QuestionResult(
        id=question.id,
        type=question.type,
        text=question.text,
        answered=answered,
        distribution=None
        if free_text
        else [AnswerCount(value=v, count=c) for v, c in zip(counted.answers, cells, strict=True)],
        mean=None if mean is None else round(mean, 2),
        median=None if mean is None else _median(raw),
    )


def _mean(question: SurveyQuestion, cells: list[int | None], raw: list[int]) -> float | None:
    """A Likert mean, where its whole distribution shows (and there is one)."""
    if question.type is not QuestionType.LIKERT or None in cells or sum(raw) == 0:
        return None
    return sum(point * n for point, n in enumerate(raw, start=1)) / sum(raw)


def _median(raw: list[int]) -> float:
    return float(statistics.median(p for p, n in enumerate(raw, start=1) for _ in range(n)))


def closed(result: QuestionResult) -> QuestionResult:
    """The question while its survey is open: no counts at all."""
    return result.model_copy(
        update={"answered": None, "distribution": None, "mean": None, "median": None}
    )


def pooled_mean(
    published: Sequence[Published], counted: Sequence[Counted], row: int | None
) -> float | None:
    """The mean of every Likert answer to the questions given (the whole scope's, or one row's),
    where each of their means shows."""
    means = [p.whole.mean if row is None else p.rows[row].mean for p in published]
    if not published or None in means:
        return None
    raws = [_column_sums(c) if row is None else c.counts[row] for c in counted]
    answers = sum(sum(raw) for raw in raws)
    points = sum(p * n for raw in raws for p, n in enumerate(raw, start=1))
    return points / answers if answers else None


def difference(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else round(later - earlier, 2)
