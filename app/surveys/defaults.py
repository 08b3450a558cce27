"""The surveys that ship with Threshold, given to every trust the first time it needs them (see
repository.ensure_defaults); a trust then edits its own copy.

The teacher's immediate survey and the one-month follow-up ask the same core questions, with the
same ids, so the two compare; the follow-up adds what only a month in the classroom can tell.
The parents' survey is short and in plain English, for a phone and for translation.
"""

from typing import Any

from app.surveys.models import SurveyAudience

_AGREE = "How much do you agree? 1 = strongly disagree, 5 = strongly agree."

TEACHER_CORE: list[dict[str, Any]] = [
    {
        "id": "know_child_better",
        "type": "likert",
        "text": "The visits helped me know the children in my class better.",
    },
    {
        "id": "relationship_with_family",
        "type": "likert",
        "text": "The visits helped me build a relationship with the families.",
    },
    {
        "id": "confident_supporting",
        "type": "likert",
        "text": "I feel confident supporting the children whose homes I visited.",
    },
    {
        "id": "workload_manageable",
        "type": "likert",
        "text": "The visits were a manageable part of my workload.",
    },
    {
        "id": "learned_something_new",
        "type": "yes_no",
        "text": "Did you learn something about a child that you would not otherwise have known?",
    },
    {
        "id": "what_learned",
        "type": "free_text",
        "text": "What did you learn? (Please leave out names.)",
        "required": False,
        "show_if": {"question": "learned_something_new", "equals": True},
    },
]

TEACHER_FOLLOW_UP_ONLY: list[dict[str, Any]] = [
    {
        "id": "changed_practice",
        "type": "multiple_choice",
        "text": "Since the visits, have you changed any of these?",
        "required": False,
        "options": [
            {"value": "seating", "label": "Seating or groupings"},
            {"value": "topics", "label": "Topics or examples used in lessons"},
            {"value": "contact_home", "label": "How I contact families"},
            {"value": "support", "label": "Support for particular children"},
        ],
    },
    {
        "id": "would_visit_again",
        "type": "yes_no",
        "text": "Would you want to do home visits again next year?",
    },
]

PARENT: list[dict[str, Any]] = [
    {
        "id": "visit_helpful",
        "type": "likert",
        "text": "The visit was helpful. (1 = not at all, 5 = very)",
    },
    {
        "id": "felt_listened_to",
        "type": "yes_no",
        "text": "Did you feel the school listened to you?",
    },
    {
        "id": "child_feels",
        "type": "single_choice",
        "text": "How does your child feel about starting the new class?",
        "options": [
            {"value": "happy", "label": "Happy"},
            {"value": "unsure", "label": "Not sure"},
            {"value": "worried", "label": "Worried"},
        ],
    },
    {
        "id": "anything_else",
        "type": "free_text",
        "text": "Is there anything else you would like to tell us?",
        "required": False,
    },
]

DEFAULTS: dict[SurveyAudience, dict[str, Any]] = {
    SurveyAudience.TEACHER_IMMEDIATE: {
        "title": "Your home visits: straight after",
        "introduction": f"A few questions now your visits are done. {_AGREE}",
        "questions": TEACHER_CORE,
    },
    SurveyAudience.TEACHER_FOLLOW_UP: {
        "title": "Your home visits: one month on",
        "introduction": "The same questions a month on, and two more. " + _AGREE,
        "questions": [*TEACHER_CORE, *TEACHER_FOLLOW_UP_ONLY],
    },
    SurveyAudience.PARENT: {
        "title": "Your home visit: tell us what you thought",
        "introduction": "Four short questions. Your answers do not have your name on them.",
        "questions": PARENT,
    },
}
