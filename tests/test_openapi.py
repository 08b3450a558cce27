"""The committed contract matches the app, and every operation is documented for clients."""

import json
import re
from pathlib import Path
from typing import Any

from app.api import PUBLIC_ROUTES
from app.openapi import render_openapi

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_committed_openapi_is_current() -> None:
    live = render_openapi()
    assert COMMITTED.read_text() == live, (
        "openapi/openapi.json is stale: run `threshold export-openapi` and review the diff"
    )


def test_every_operation_is_named_tagged_summarised_and_secured() -> None:
    document = json.loads(render_openapi())
    ids = []
    for method, path, operation in _operations(document):
        ids.append(operation["operationId"])
        assert re.fullmatch(r"[a-z]+_[a-z_]+", operation["operationId"]), operation["operationId"]
        assert operation.get("tags"), (method, path)
        assert operation.get("summary"), (method, path)
        problems = {
            s
            for s, r in operation["responses"].items()
            if "application/problem+json" in r.get("content", {})
        }
        assert {"500", "503"} <= problems, (method, path)
        if (method, path) not in PUBLIC_ROUTES:
            assert operation.get("security"), f"{method} {path} declares no security scheme"
            assert {"401", "403"} <= problems
    assert len(ids) == len(set(ids))
    assert "OAuth2PasswordBearer" in document["components"]["securitySchemes"]


def test_every_tag_is_described() -> None:
    document = json.loads(render_openapi())
    used = {operation["tags"][0] for _, _, operation in _operations(document)}
    names = [tag["name"] for tag in document.get("tags", [])]
    assert len(names) == len(set(names)), "a tag is described twice (the later one is lost)"
    described = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    assert used == set(described), "openapi_tags (app/main.py) lists exactly the tags in use"
    assert all(len(description) > 40 for description in described.values()), described
