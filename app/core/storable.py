"""Text the databases can store: NUL and unpaired surrogates are refused where input arrives.

PostgreSQL's text types cannot hold NUL (U+0000), and no UTF-8 database can hold an unpaired
surrogate (JSON's "\\ud800" decodes to one). Either made the driver fail mid-request: a 500, and
on PostgreSQL an error whose text carried the row's values into the logs; SQLite stored the NUL,
so the two databases disagreed as well. `refuse_unstorable_input` runs before anything else of
every request (an app-wide dependency, after the framework has parsed the body) and answers 422
naming where, never the value. CSV cells are checked where they are read (core/csvio.py).
"""

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from fastapi import Request, UploadFile, params
from fastapi.exceptions import RequestValidationError

from app.core.errors import MAX_VALIDATION_ERRORS
from app.core.middleware import is_json

Location = tuple[str | int, ...]

MESSAGE = (
    "contains a character that cannot be stored (NUL, U+0000, or an unpaired surrogate); remove it"
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In JSON text either can only come as an escape (a raw NUL is not valid JSON, a raw surrogate
# not valid UTF-8): \u0000, or \uD800-\uDFFF, which is also half of a valid pair (an emoji), so
# the parsed value decides. A body without such an escape, nearly every one, is not walked.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def clean_key(key: str) -> str:
    """A key fit to name in a location: its unstorable characters replaced."""
    return _UNSTORABLE.sub("\ufffd", key)


def unstorable_in(value: Any, at: Location = ()) -> Iterator[Location]:
    """Where in a parsed JSON value (or any nest of dicts, lists and strings) text is unstorable:
    strings and object keys, depth first, in document order."""
    # (where, value, whether the key leading here is itself unstorable)
    stack: list[tuple[Location, Any, bool]] = [(at, value, False)]
    while stack:
        where, current, bad_key = stack.pop()
        if bad_key or (isinstance(current, str) and unstorable(current)):
            yield where
        if isinstance(current, dict):
            stack.extend(
                ((*where, clean_key(key)), child, unstorable(key))
                for key, child in reversed(current.items())
            )
        elif isinstance(current, list):
            stack.extend(
                ((*where, i), child, False) for i, child in reversed(list(enumerate(current)))
            )


def _in_pairs(kind: str, pairs: Iterable[tuple[str, Any]]) -> Iterator[Location]:
    for name, value in pairs:
        if unstorable(name) or (isinstance(value, str) and unstorable(value)):
            yield (kind, clean_key(name))
        elif isinstance(value, UploadFile) and value.filename and unstorable(value.filename):
            yield (kind, clean_key(name), "filename")


async def _in_body(request: Request) -> list[Location]:
    """The body as the route read it (before any dependency runs): nothing when it takes none."""
    field = getattr(request.scope.get("route"), "body_field", None)
    if field is None:
        return []
    if isinstance(field.field_info, params.Form):  # File too: the framework's own test
        form = await request.form()  # the parsed form, kept by the request
        return list(_in_pairs("body", form.multi_items()))
    if not is_json(request.scope):
        return []
    if not _SUSPECT_ESCAPE.search(await request.body()):
        return []
    try:
        parsed = await request.json()
    except ValueError:  # the framework answers malformed JSON itself
        return []
    # The answer lists no more than this many places anyway.
    return list(islice(unstorable_in(parsed, ("body",)), MAX_VALIDATION_ERRORS))


async def refuse_unstorable_input(request: Request) -> None:
    """422 when a path or query parameter, form field or JSON string (or key) holds unstorable
    text. The answer names each place as a JSON pointer and never echoes the value."""
    refuse_at(
        [
            *_in_pairs("path", request.path_params.items()),
            *_in_pairs("query", request.query_params.multi_items()),
            *await _in_body(request),
        ]
    )


def refuse_at(found: list[Location]) -> None:
    """The 422 for unstorable text at these places (nothing when there are none); also for JSON
    a route decodes itself, such as a form field holding a JSON document."""
    if found:
        raise RequestValidationError(
            [
                {"type": "unstorable_text", "loc": loc, "msg": MESSAGE, "input": None}
                for loc in found
            ]
        )
