"""What each message says: the English defaults that ship with Threshold, the placeholders each
kind provides, the languages a family may be written to in, and rendering.

Templates use `((name))` placeholders, as Notify's own templates do. Each Notify template holds
only `((body))` (and `((subject))` for email): Threshold renders the words itself, so a trust can
change them, and add languages, without touching Notify.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.notifications.models import STAFF_KINDS, MessageChannel, MessageKind

ENGLISH = "en"
PLACEHOLDER = re.compile(r"\(\(([a-z_]+)\)\)")
# Anything in double brackets: what a writer meant as a placeholder, spelt right or not.
_ANY_PLACEHOLDER = re.compile(r"\(\(([^()]*)\)\)")

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
    MessageKind.VISIT_OVERDUE: (
        *_COMMON,
        "staff_name",
        "visitors",
        "family_name",
        "visit_time",
        "overdue",
    ),
    # Never a name, a category or a link that carries either: only that one awaits, and how urgent.
    MessageKind.SAFEGUARDING_CONCERN: (*_COMMON, "staff_name", "urgency"),
    # Never whose file, or where it went: only that one sent has no receipt after some days.
    MessageKind.SAFEGUARDING_TRANSFER: (*_COMMON, "staff_name", "days"),
    MessageKind.STAFF_SURVEY: (*_COMMON, "staff_name", "survey_title"),
    MessageKind.FAMILY_SURVEY: (*_COMMON, "family_name", "survey_title", "code", "link"),
}

# What a template of each kind must say, checked when a trust saves one: an invitation without
# its code and link, or a confirmation without the day and time, would reach the family and
# tell them nothing they can act on. Checked in the body, the one part every channel carries.
REQUIRED: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.INVITATION: ("code", "link"),
    MessageKind.ANSWER_REMINDER: ("code", "link"),
    MessageKind.VISIT_CONFIRMATION: ("visit_day", "visit_time"),
    MessageKind.VISIT_REMINDER: ("visit_day", "visit_time"),
    MessageKind.VISIT_CHANGED: ("visit_day", "visit_time"),
    MessageKind.VISIT_CANCELLED: ("visit_day", "visit_time"),
    MessageKind.ITINERARY_PUBLISHED: (),
    MessageKind.VISIT_OVERDUE: ("visitors", "overdue"),
    MessageKind.SAFEGUARDING_CONCERN: ("urgency",),
    MessageKind.SAFEGUARDING_TRANSFER: ("days",),
    MessageKind.STAFF_SURVEY: (),
    MessageKind.FAMILY_SURVEY: ("link",),
}

# Realistic values for every placeholder, for previews and for measuring a text's length before
# it is saved: as long as the real ones usually are, so a preview's fragment count is honest.
SAMPLES: dict[str, str] = {
    "school_name": "Oakfield Primary School",
    "school_phone": "01634 723456",
    "family_name": "Khan",
    "code": "KX7M-4PQ2-9RTB-W3HN-6CJD",
    "link": "https://threshold.example/families/KX7M4PQ29RTBW3HN6CJD",
    "closes_on": "Friday 10 July",
    "visit_day": "Tuesday 8 September",
    "visit_time": "10:30",
    "visitors": "Ms Patel (class teacher) and Mr Jones (teaching assistant)",
    "place": "at your home",
    "previous_day": "Monday 7 September",
    "previous_time": "14:00",
    "reason": "the teacher is unwell",
    "staff_name": "Priya",
    "overdue": "have not checked out 15 minutes after the planned end",
    "visit_count": "12",
    "first_day": "Monday 7 September",
    "urgency": "urgent",
    "days": "5",
    "survey_title": "Your home visit: tell us what you thought",
}

# Staff are written to by email (reach.staff); families on every channel. A safeguarding alert
# also goes by text to a DSL's work mobile (KCSIE: a DSL is reached at once, wherever they are).
STAFF_CHANNELS = (MessageChannel.EMAIL,)
STAFF_SMS_KINDS = frozenset({MessageKind.SAFEGUARDING_CONCERN})
FAMILY_CHANNELS = (MessageChannel.SMS, MessageChannel.EMAIL, MessageChannel.LETTER)


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
    MessageKind.VISIT_OVERDUE: Wording(
        subject="Safety check: a home visit is overdue",
        body=(
            "((staff_name)), safety check for ((school_name)): ((visitors)) ((overdue)) at "
            "the ((family_name)) family's ((visit_time)) visit. Please call them now, then "
            "acknowledge the alert in Threshold."
        ),
    ),
    MessageKind.SAFEGUARDING_CONCERN: Wording(
        subject="Safeguarding: a concern awaits at ((school_name))",
        body=(
            "((staff_name)), a safeguarding concern marked ((urgency)) awaits a designated "
            "safeguarding lead at ((school_name)). Please sign in to Threshold now and "
            "acknowledge it."
        ),
    ),
    MessageKind.SAFEGUARDING_TRANSFER: Wording(
        subject="Safeguarding: a file sent by ((school_name)) has no receipt",
        body=(
            "((staff_name)), a child protection file ((school_name)) sent to another school "
            "((days)) days ago has no receipt or confirmation yet. Please sign in to Threshold "
            "and follow it up with the receiving school."
        ),
    ),
    MessageKind.STAFF_SURVEY: Wording(
        subject="A short survey about your home visits",
        body=(
            "((staff_name)), a short survey about your home visits for ((school_name)) awaits "
            "you in Threshold: ((survey_title)). It takes about five minutes."
        ),
    ),
    MessageKind.FAMILY_SURVEY: Wording(
        subject="Tell ((school_name)) what you thought of your home visit",
        body=(
            "((school_name)) would like to know what you thought of your home visit. Four short "
            "questions: ((link)) (your code is ((code)))."
        ),
    ),
}

# Where a channel's default differs from the kind's: a text read on a lock screen is short, and
# says only that a concern of an urgency awaits at a school (no name, no category, no link).
CHANNEL_DEFAULTS: dict[tuple[MessageKind, MessageChannel], Wording] = {
    (MessageKind.SAFEGUARDING_CONCERN, MessageChannel.SMS): Wording(
        body=(
            "Threshold: a safeguarding concern marked ((urgency)) awaits a DSL at "
            "((school_name)). Please sign in now and acknowledge it."
        ),
    ),
}


def default_wording(kind: MessageKind, channel: MessageChannel) -> Wording:
    """Threshold's own words for a kind on a channel, when the trust has none of its own."""
    return CHANNEL_DEFAULTS.get((kind, channel), DEFAULTS[kind])


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


# Three-letter codes an MIS may hold instead of a name (ISO 639-2, both its bibliographic and
# terminology forms, and the DfE census codes that differ from them), for the languages above.
# Without this a contact recorded as "POL" would be written to as "pol", which no template is.
THREE_LETTER_CODES: dict[str, str] = {
    "eng": "en",
    "enb": "en",  # DfE: believed to be English
    "wel": "cy",
    "cym": "cy",
    "pol": "pl",
    "urd": "ur",
    "pan": "pa",
    "pnj": "pa",  # DfE
    "ben": "bn",
    "bng": "bn",  # DfE
    "ara": "ar",
    "rum": "ro",
    "ron": "ro",
    "som": "so",
    "por": "pt",
    "spa": "es",
    "fre": "fr",
    "fra": "fr",
    "frn": "fr",  # DfE
    "lit": "lt",
    "tur": "tr",
    "guj": "gu",
    "tam": "ta",
    "ukr": "uk",
    "rus": "ru",
    "chi": "zh",
    "zho": "zh",
    "pus": "ps",
    "per": "fa",
    "fas": "fa",
    "kur": "ku",
    "tir": "ti",
    "ita": "it",
    "hun": "hu",
    "slo": "sk",
    "slk": "sk",
    "cze": "cs",
    "ces": "cs",
    "bul": "bg",
    "lav": "lv",
    "alb": "sq",
    "sqi": "sq",
}

# The code a template is saved under: ISO 639-1 (two letters), or ISO 639-3 (three) for a
# language with no two-letter code, such as Cantonese (yue) or Sylheti (syl).
LANGUAGE_SHAPE = r"^[a-z]{2,3}$"


def language_code(preferred: str | None) -> str:
    """The code of a contact's preferred language (an MIS name such as "Polish", a three-letter
    code such as "POL", or a code already); English when none is recorded."""
    if not preferred or not preferred.strip():
        return ENGLISH
    name = preferred.strip().lower()
    if name in LANGUAGE_CODES:
        return LANGUAGE_CODES[name]
    if name in THREE_LETTER_CODES:
        return THREE_LETTER_CODES[name]
    if re.fullmatch(r"[a-z]{2,3}", name):
        return name
    return name[:8]


def unknown_placeholders(kind: MessageKind, *texts: str | None) -> list[str]:
    """Placeholders a template uses that its kind does not provide, in the order written. Any
    text in double brackets counts, so "((Code))" or "((visit day))" is caught here rather than
    reaching a family as written."""
    allowed = set(PLACEHOLDERS[kind])
    found: list[str] = []
    for text in texts:
        for name in _ANY_PLACEHOLDER.findall(text or ""):
            if name not in allowed and name not in found:
                found.append(name)
    return found


def missing_required(kind: MessageKind, body: str) -> list[str]:
    """The placeholders a body of this kind must carry and does not."""
    used = set(PLACEHOLDER.findall(body))
    return [name for name in REQUIRED[kind] if name not in used]


def channels_for(kind: MessageKind) -> tuple[MessageChannel, ...]:
    if kind in STAFF_SMS_KINDS:
        return (MessageChannel.SMS, *STAFF_CHANNELS)
    return STAFF_CHANNELS if kind in STAFF_KINDS else FAMILY_CHANNELS


# GSM 03.38, the alphabet a text is sent in when every character is in it: 160 characters in a
# single text, 153 in each part of a longer one. A character of the extension table takes two.
# Anything else (Welsh ŵ and ŷ, Polish ł, Urdu or Bengali script, emoji) sends the whole text as
# Unicode: 70 characters in a single text, 67 in each part.
_GSM = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
# Notify refuses a text longer than this (six GSM parts).
SMS_MAX_CHARACTERS = 918


@dataclass(frozen=True)
class SmsLength:
    characters: int
    fragments: int
    unicode: bool


# Characters GOV.UK Notify replaces before it sends a text (typographic quotes, dashes and an
# ellipsis pasted from a word processor), so that they do not turn a text into Unicode.
_NOTIFY_REPLACES = str.maketrans(
    {"\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2018": "'", "\u2019": "'"}
    | {"\u201c": '"', "\u201d": '"', "\u200b": ""}
)


def sms_length(text: str) -> SmsLength:
    """How long a text is as a phone network counts it, and how many texts it is sent as."""
    text = text.translate(_NOTIFY_REPLACES)
    unicode = any(c not in _GSM and c not in _GSM_EXTENDED for c in text)
    if unicode:
        characters, single, part = len(text), 70, 67
    else:
        characters = len(text) + sum(1 for c in text if c in _GSM_EXTENDED)
        single, part = 160, 153
    fragments = 1 if characters <= single else -(-characters // part)
    return SmsLength(characters=characters, fragments=fragments, unicode=unicode)


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
    return default_wording(kind, channel), ENGLISH
