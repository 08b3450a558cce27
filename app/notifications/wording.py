"""What each message says: the English defaults that ship with Threshold, the placeholders each
kind provides, the languages a family may be written to in, and rendering.

Templates use `((name))` placeholders, as Notify's own templates do. Each Notify template holds
only `((body))` (and `((subject))` for email): Threshold renders the words itself, so a trust can
change them, and add languages, without touching Notify.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.notifications.models import MessageChannel, MessageKind

ENGLISH = "en"
PLACEHOLDER = re.compile(r"\(\(([a-z_]+)\)\)")

# What the cause of each kind supplies. A template may use any of these and nothing else.
_COMMON = ("school_name", "school_phone")
_VISIT = (*_COMMON, "family_name", "visit_day", "visit_time", "visitors", "place")
PLACEHOLDERS: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.INVITATION: (*_COMMON, "family_name", "code", "link", "closes_on"),
    MessageKind.ANSWER_REMINDER: (*_COMMON, "family_name", "code", "link", "closes_on"),
    MessageKind.VISIT_CONFIRMATION: _VISIT,
    MessageKind.VISIT_REMINDER: _VISIT,
    MessageKind.VISIT_CHANGED: (*_VISIT, "previous_day", "previous_time"),
    MessageKind.VISIT_CANCELLED: (*_COMMON, "family_name", "visit_day", "visit_time", "reason"),
    MessageKind.ITINERARY_PUBLISHED: (*_COMMON, "staff_name", "visit_count", "first_day"),
}


@dataclass(frozen=True)
class Wording:
    body: str
    subject: str | None = None  # email only


_CONTACT = "If your plans change, please contact the school on ((school_phone))."

# Short enough for two SMS fragments where it can be; plain English a translator can work from.
DEFAULTS: dict[MessageKind, Wording] = {
    MessageKind.INVITATION: Wording(
        subject="Choose a time for your home visit from ((school_name))",
        body=(
            "((school_name)) would like to visit the ((family_name)) family at home before term "
            "starts. Please choose the times that suit you by ((closes_on)): ((link)) "
            "(your code is ((code)))."
        ),
    ),
    MessageKind.ANSWER_REMINDER: Wording(
        subject="Reminder: choose a time for your home visit",
        body=(
            "A reminder from ((school_name)): please choose the times that suit you for your "
            "home visit by ((closes_on)): ((link)) (your code is ((code)))."
        ),
    ),
    MessageKind.VISIT_CONFIRMATION: Wording(
        subject="Your home visit from ((school_name))",
        body=(
            "((school_name)): your home visit is on ((visit_day)) at ((visit_time)), ((place)), "
            "with ((visitors)). " + _CONTACT
        ),
    ),
    MessageKind.VISIT_REMINDER: Wording(
        subject="Reminder: your home visit on ((visit_day))",
        body=(
            "A reminder from ((school_name)): ((visitors)) will visit on ((visit_day)) at "
            "((visit_time)), ((place)). " + _CONTACT
        ),
    ),
    MessageKind.VISIT_CHANGED: Wording(
        subject="Your home visit has moved",
        body=(
            "((school_name)): your home visit has moved from ((previous_day)) at "
            "((previous_time)) to ((visit_day)) at ((visit_time)), ((place)), with ((visitors)). "
            + _CONTACT
        ),
    ),
    MessageKind.VISIT_CANCELLED: Wording(
        subject="Your home visit has been cancelled",
        body=(
            "((school_name)): your home visit on ((visit_day)) at ((visit_time)) has been "
            "cancelled (((reason))). Please contact the school on ((school_phone)) if you have "
            "any questions."
        ),
    ),
    MessageKind.ITINERARY_PUBLISHED: Wording(
        subject="Your home visits are published",
        body=(
            "((staff_name)), your home visits for ((school_name)) are published: ((visit_count)) "
            "visits from ((first_day)). Your itinerary is in Threshold."
        ),
    ),
}

# The names an MIS gives a language, as ISO 639-1 codes. A language not listed here is kept
# as its lower-cased name, so a trust can still write templates for it.
LANGUAGE_CODES: dict[str, str] = {
    "english": "en",
    "welsh": "cy",
    "polish": "pl",
    "urdu": "ur",
    "punjabi": "pa",
    "panjabi": "pa",
    "bengali": "bn",
    "arabic": "ar",
    "romanian": "ro",
    "somali": "so",
    "portuguese": "pt",
    "spanish": "es",
    "french": "fr",
    "lithuanian": "lt",
    "turkish": "tr",
    "gujarati": "gu",
    "tamil": "ta",
    "ukrainian": "uk",
    "russian": "ru",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "yue",
    "pashto": "ps",
    "farsi": "fa",
    "persian": "fa",
    "kurdish": "ku",
    "tigrinya": "ti",
    "italian": "it",
    "hungarian": "hu",
    "slovak": "sk",
    "czech": "cs",
    "bulgarian": "bg",
    "latvian": "lv",
    "albanian": "sq",
}


def language_code(preferred: str | None) -> str:
    """The code of a contact's preferred language (an MIS name such as "Polish", or a code
    already); English when none is recorded."""
    if not preferred or not preferred.strip():
        return ENGLISH
    name = preferred.strip().lower()
    if name in LANGUAGE_CODES.values() or re.fullmatch(r"[a-z]{2,3}", name):
        return name
    return LANGUAGE_CODES.get(name, name)[:8]


def unknown_placeholders(kind: MessageKind, *texts: str | None) -> list[str]:
    """Placeholders a template uses that its kind does not provide, in the order written."""
    allowed = set(PLACEHOLDERS[kind])
    found: list[str] = []
    for text in texts:
        for name in PLACEHOLDER.findall(text or ""):
            if name not in allowed and name not in found:
                found.append(name)
    return found


def render(wording: Wording, values: Mapping[str, str]) -> Wording:
    """The words with every placeholder filled; a placeholder without a value is left empty
    rather than sent as "((name))"."""

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), "")), text)

    return Wording(
        body=fill(wording.body), subject=fill(wording.subject) if wording.subject else None
    )


def choose(
    kind: MessageKind,
    channel: MessageChannel,
    language: str,
    trust_wordings: Mapping[tuple[MessageKind, MessageChannel, str], Wording],
) -> tuple[Wording, str]:
    """The trust's wording in the family's language, else the trust's English, else the default;
    with the language actually used."""
    for wanted in (language, ENGLISH):
        found = trust_wordings.get((kind, channel, wanted))
        if found is not None:
            return found, wanted
    return DEFAULTS[kind], ENGLISH
