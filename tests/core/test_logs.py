"""The JSON log lines: an exception is written as its class, causes and frames, never its message,
whoever logged it (a library's log.exception too)."""

import json
import logging
import sys

from app.core.logs import JsonFormatter, failure

VALUE = "Amelia Okafor, born 2019-03-14, looked after"


def _raise_with_a_cause() -> None:
    try:
        raise ValueError(f"invalid input for query argument $1: '{VALUE}'")
    except ValueError as exc:
        raise RuntimeError(f"Failing row contains ({VALUE})") from exc


def test_a_logged_exception_is_written_without_its_message() -> None:
    try:
        _raise_with_a_cause()
    except RuntimeError:
        record = logging.getLogger("a.library").makeRecord(
            "a.library", logging.ERROR, __file__, 1, "it failed", (), exc_info=sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert VALUE not in line
    entry = json.loads(line)
    assert entry["message"] == "it failed"
    assert entry["error_class"] == "RuntimeError"
    assert entry["error_causes"] == ["ValueError"]
    assert any("_raise_with_a_cause" in frame for frame in entry["error_frames"])


def test_failure_names_the_class_and_where_only() -> None:
    try:
        _raise_with_a_cause()
    except RuntimeError as exc:
        described = failure(exc)
    assert VALUE not in json.dumps(described)
    assert described["error_frames"][-1].endswith("in _raise_with_a_cause")
