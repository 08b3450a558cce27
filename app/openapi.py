"""The committed contract: openapi/openapi.json is this function's output."""

import json

from app.core.settings import Settings


def render_openapi() -> str:
    from app.main import create_app

    # Render with docs on and the default settings, so the document never depends on the host.
    app = create_app(Settings(environment="development", docs_enabled=True, database_url=""))
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
