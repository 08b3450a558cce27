"""The API explorer (Swagger UI at /docs) and reference (ReDoc at /redoc), served by this process.

The pages load nothing from elsewhere, so they work offline (a school's network, a laptop on a
train) and under a Content-Security-Policy that allows scripts from this origin only: the
built Swagger UI and ReDoc files come from the fastapi-standalone-docs package, and each page
starts its viewer from a script file of ours (app/static/docs/) rather than inline code.
"""

from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static" / "docs"
VIEWERS = "fastapi_standalone_docs"

SWAGGER_ASSETS = "/docs/assets"
# ReDoc's bundle loads its logo from the page's own path (/redoc/logo-mini.svg).
REDOC_ASSETS = "/redoc"

_COMMON = (
    "default-src 'none'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SWAGGER_POLICY = f"{_COMMON}; script-src 'self'; style-src 'self'"
# ReDoc's styled-components insert <style> elements at run time (no nonce support in the
# bundle), and its search index runs in a worker made from a blob.
REDOC_POLICY = f"{_COMMON}; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
{head}
</head>
<body>
{body}
</body>
</html>
"""


def install_docs(app: FastAPI, *, openapi_url: str, title: str) -> dict[str, str]:
    """Add /docs and /redoc to `app`; returns each page's Content-Security-Policy by path."""

    # Plain pages, as FastAPI adds its own: not API operations, so no permission or schema.
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return _page(
            f"{title} API explorer",
            f'<link rel="stylesheet" href="{root}{SWAGGER_ASSETS}/swagger-ui.css">',
            f'<div id="swagger-ui" data-openapi-url="{root}{openapi_url}"></div>\n'
            f'<script src="{root}{SWAGGER_ASSETS}/swagger-ui-bundle.js"></script>\n'
            f'<script src="{root}{SWAGGER_ASSETS}/swagger-init.js"></script>',
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return _page(
            f"{title} API reference",
            "",
            f'<div id="redoc" data-openapi-url="{root}{openapi_url}"></div>\n'
            f'<script src="{root}{REDOC_ASSETS}/redoc.standalone.js"></script>\n'
            f'<script src="{root}{SWAGGER_ASSETS}/redoc-init.js"></script>',
        )

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.mount(
        SWAGGER_ASSETS,
        StaticFiles(directory=STATIC, packages=[(VIEWERS, "static/swagger")]),
        name="swagger-ui-assets",
    )
    app.mount(REDOC_ASSETS, StaticFiles(packages=[(VIEWERS, "static/redoc")]), name="redoc-assets")
    return {"/docs": SWAGGER_POLICY, "/redoc": REDOC_POLICY}


def _root(request: Request) -> str:
    """The prefix a proxy serves the app under, so the page's links work behind it."""
    return escape(str(request.scope.get("root_path", "")).rstrip("/"))


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), head=head, body=body))
