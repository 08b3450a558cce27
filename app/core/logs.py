"""Structured JSON logs. Records carry ids, never tokens, passwords, phone numbers or addresses.

Nor an exception's message: a database driver's error text quotes the values it was given
("invalid input for query argument $2: 'Amelia'", "Key (upn)=(...) already exists", "Failing
row contains (...)"), and anything else may quote its input too. A failure is logged as its
class, the classes it was raised from, and where: `failure(exc)`.
"""

import json
import logging
import sys
import time
import traceback
from typing import Any

from app.core.requestctx import current_request_id

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


_MAX_FRAMES = 20
_MAX_CAUSES = 5


def failure(exc: BaseException) -> dict[str, Any]:
    """The `extra` of a record about `exc`: its class, its causes' classes and where it was
    raised (file, line, function: code, not data). Log it instead of `exc_info`."""
    causes: list[str] = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(causes) < _MAX_CAUSES:
        causes.append(_class_name(cause))
        cause = cause.__cause__ or cause.__context__
    # lookup_lines=False: no source files are read, and no source text is logged.
    frames = traceback.StackSummary.extract(
        traceback.walk_tb(exc.__traceback__), lookup_lines=False
    )
    # Our own frames say which request path failed; of the libraries', the innermost says how.
    shown = [f for f in frames[:-1] if "site-packages" not in f.filename][-_MAX_FRAMES:]
    shown += frames[-1:]
    return {
        "error_class": _class_name(exc),
        "error_causes": causes,
        "error_frames": [f"{f.filename}:{f.lineno} in {f.name}" for f in shown],
    }


def _class_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[1] is not None:
            # A library's log.exception: its class and frames, never its message (see above).
            entry.update(failure(record.exc_info[1]))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own access log would print query strings; ours prints the path only.
    logging.getLogger("uvicorn.access").disabled = True
    # aiosqlite logs every statement with its parameters (the rows) at DEBUG; SQLAlchemy keeps its
    # own loggers at WARNING unless told otherwise. Neither follows a DEBUG level set here.
    for name in ("aiosqlite", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
