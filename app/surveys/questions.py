"""The rules of a survey's questions: what a template may ask (checked when a trust saves it),
and what an answer must be (checked on a draft as it is saved, and in full on submitting).

Every problem is reported at once, each at its JSON pointer, in one 422.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from app.core.errors import Unprocessable, json_pointer
from app.surveys.models import QuestionType
from app.surveys.schemas import Answer, SurveyQuestion, SurveyTranslation

CHOICES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
LIKERT_POINTS = range(1, 6)
FREE_TEXT_MAX = 2000

Problem = dict[str, str]


def check_template(
    questions: Sequence[SurveyQuestion], translations: Mapping[str, SurveyTranslation]
) -> None:
    """Raises Unprocessable (422) for repeated ids, options where none belong or too few where
    they do, a condition on a question not asked before, or a translation of what is not there."""
    problems: list[Problem] = []
    earlier: dict[str, SurveyQuestion] = {}
    for index, question in enumerate(questions):
        at = ("questions", index)
        if question.id in earlier:
            problems.append(_problem(at, "id", f"'{question.id}' is already a question's id"))
        problems += _option_problems(at, question)
        if question.show_if is not None:
            problems += _condition_problems(at, question, earlier)
        earlier[question.id] = question
    problems += _translation_problems(earlier, translations)
    _raise(problems, "The survey's questions")


def _option_problems(at: tuple[str, int], question: SurveyQuestion) -> list[Problem]:
    values = [option.value for option in question.options]
    if question.type not in CHOICES:
        if values:
            return [_problem(at, "options", f"a {question.type} question has no options")]
        return []
    if len(values) < 2:
        return [_problem(at, "options", "a choice needs at least two options")]
    if len(set(values)) != len(values):
        return [_problem(at, "options", "each option needs a value of its own")]
    return []


def _condition_problems(
    at: tuple[str, int], question: SurveyQuestion, earlier: Mapping[str, SurveyQuestion]
) -> list[Problem]:
    assert question.show_if is not None
    condition = earlier.get(question.show_if.question)
    if condition is None:
        detail = f"'{question.show_if.question}' is not a question asked before this one"
        return [_problem(at, "show_if", detail, "question")]
    if condition.type is QuestionType.FREE_TEXT:
        return [_problem(at, "show_if", "a free-text answer cannot decide what is asked next")]
    wanted = question.show_if.equals
    # A multiple choice's condition names one of its options.
    multiple = condition.type is QuestionType.MULTIPLE_CHOICE
    kind = QuestionType.SINGLE_CHOICE if multiple else condition.type
    if _value_problem(condition, wanted, kind) is not None:
        detail = f"{wanted!r} is not an answer '{condition.id}' can be given"
        return [_problem(at, "show_if", detail, "equals")]
    return []


def _translation_problems(
    questions: Mapping[str, SurveyQuestion], translations: Mapping[str, SurveyTranslation]
) -> list[Problem]:
    problems: list[Problem] = []
    for language, translation in translations.items():
        for question_id, words in translation.questions.items():
            at = ("translations", language, "questions", question_id)
            question = questions.get(question_id)
            if question is None:
                problems.append(_problem(at, None, f"'{question_id}' is not a question"))
                continue
            known = {option.value for option in question.options}
            for value in words.options:
                if value not in known:
                    detail = f"'{value}' is not an option of '{question_id}'"
                    problems.append(_problem(at, "options", detail, value))
    return problems


def check_answers(
    questions: Sequence[dict[str, Any]], answers: Mapping[str, Answer], *, complete: bool
) -> None:
    """Each answer of the right kind for its question; when `complete` (submitting), every
    required question that is asked answered, and none answered that the skip logic leaves out.
    Raises Unprocessable (422)."""
    asked = [SurveyQuestion.model_validate(q) for q in questions]
    by_id = {q.id: q for q in asked}
    problems = [
        _problem(("answers",), question_id, "not a question of this survey")
        for question_id in answers
        if question_id not in by_id
    ]
    for question_id, value in answers.items():
        if question_id in by_id:
            detail = _value_problem(by_id[question_id], value, by_id[question_id].type)
            if detail is not None:
                problems.append(_problem(("answers",), question_id, detail))
    if complete and not problems:
        problems += _completeness_problems(asked, answers)
    _raise(problems, "The answers")


def shown(questions: Sequence[SurveyQuestion], answers: Mapping[str, Answer]) -> set[str]:
    """The questions asked, given these answers: a question whose condition is on a question
    not asked is not asked either."""
    asked: set[str] = set()
    for question in questions:
        rule = question.show_if
        if rule is None or (rule.question in asked and _meets(answers.get(rule.question), rule)):
            asked.add(question.id)
    return asked


def _meets(given: Answer | None, rule: Any) -> bool:
    if isinstance(given, list):
        return rule.equals in given
    return given is not None and type(given) is type(rule.equals) and given == rule.equals


def _completeness_problems(
    questions: Sequence[SurveyQuestion], answers: Mapping[str, Answer]
) -> list[Problem]:
    asked = shown(questions, answers)
    problems: list[Problem] = []
    for question in questions:
        given = answers.get(question.id)
        if question.id not in asked and given is not None:
            rule = question.show_if
            assert rule is not None
            detail = (
                f"not asked: it is asked only when '{rule.question}' is answered {rule.equals!r}"
            )
            problems.append(_problem(("answers",), question.id, detail))
        elif question.id in asked and question.required and _empty(given):
            problems.append(_problem(("answers",), question.id, "required: please answer it"))
    return problems


def _empty(given: Answer | None) -> bool:
    return given is None or given == [] or (isinstance(given, str) and not given.strip())


def _value_problem(question: SurveyQuestion, value: Any, kind: QuestionType) -> str | None:
    """What is wrong with `value` as an answer of `kind` to `question`, or None."""
    options = {option.value for option in question.options}
    if kind is QuestionType.LIKERT:
        ok = type(value) is int and value in LIKERT_POINTS
        return None if ok else "a whole number from 1 to 5"
    if kind is QuestionType.YES_NO:
        return None if type(value) is bool else "true (yes) or false (no)"
    if kind is QuestionType.SINGLE_CHOICE:
        return None if isinstance(value, str) and value in options else _one_of(options)
    if kind is QuestionType.MULTIPLE_CHOICE:
        ok = isinstance(value, list) and set(value) <= options and len(set(value)) == len(value)
        return None if ok else "a list of different options, each " + _one_of(options)
    if not isinstance(value, str) or len(value) > FREE_TEXT_MAX:
        return f"text of at most {FREE_TEXT_MAX} characters"
    return None


def _one_of(options: set[str]) -> str:
    return "one of " + ", ".join(sorted(options))


def _problem(
    at: tuple[str | int, ...], field: str | None, detail: str, *more: str | int
) -> Problem:
    parts = (*at, field, *more) if field is not None else (*at, *more)
    return {"pointer": json_pointer(*parts), "detail": detail}


def _raise(problems: list[Problem], what: str) -> None:
    if problems:
        listed = "; ".join(f"{p['pointer']}: {p['detail']}" for p in problems)
        raise Unprocessable(f"{what} are not valid: {listed}.", extra={"errors": problems})
