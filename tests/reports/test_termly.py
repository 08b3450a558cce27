"""The printable termly report: its page as written, its response's headers under the app's own
middleware, and the page as Chromium shows it (charts, tables, no console errors, a phone's
width) and prints it to PDF."""

import base64
import hashlib
import re
import threading
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from starlette.responses import Response

from app.main import create_app
from app.reports.termly import PAGE_POLICY, html_response, render_termly
from tests.browser import Page, open_page
from tests.reports.termly_fixtures import (
    CLASSES,
    HOSTILE_SCHOOL,
    SCHOOLS,
    school_report,
    trust_report,
)

CHART_TITLES = {
    "chart-groups": "Reach by pupil group: ",
    "chart-days": "Reach day by day: ",
    "chart-preferences": "Preferences met: ",
    "chart-surveys": "Survey scores: ",
}
NO_EFFECT = "they do not show that the visits caused any change"


class _Outline(HTMLParser):
    """The page's elements, each with its attributes, and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def _outline(page: str) -> _Outline:
    outline = _Outline()
    outline.feed(page)
    return outline


def _words(outline: _Outline) -> str:
    return re.sub(r"\s+", " ", " ".join(outline.text))


def test_the_page_is_a_complete_accessible_document() -> None:
    page = render_termly(trust_report())
    outline = _outline(page)
    assert page.startswith("<!DOCTYPE html>")
    assert outline.tags("html") == [{"lang": "en-GB"}]
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in outline.tags(
        "meta"
    )
    charts = outline.tags("svg")
    assert [c["id"] for c in charts] == list(CHART_TITLES)
    assert all(c["role"] == "img" for c in charts)
    tables = outline.tags("table")
    assert len(tables) == len(outline.tags("caption")) >= 8
    assert all(th.get("scope") in ("col", "row") for th in outline.tags("th"))
    # Every table scrolls in its own keyboard-reachable region.
    wraps = [d for d in outline.tags("div") if d.get("class") == "table-wrap"]
    assert len(wraps) == len(tables)
    assert all(w["tabindex"] == "0" for w in wraps)


def test_nothing_in_the_page_runs_or_loads() -> None:
    page = render_termly(trust_report())
    outline = _outline(page)
    assert not outline.tags("script")
    assert not [
        t for t, a in outline.elements if "style" in a or any(k.startswith("on") for k in a)
    ]
    assert not [
        a for _, a in outline.elements if (a.get("src") or a.get("href", "#") or "#")[0] != "#"
    ]
    # A school named like markup is shown as its name.
    assert "<script>alert" not in page
    assert HOSTILE_SCHOOL in _words(outline)
    assert "St Mary&#39;s &amp; St John&#39;s &lt;script&gt;" in page


def test_the_policy_allows_exactly_the_pages_stylesheet() -> None:
    outline = _outline(render_termly(school_report()))
    digest = base64.b64encode(hashlib.sha256(outline.style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}';" in PAGE_POLICY
    assert PAGE_POLICY.startswith("default-src 'none';")
    assert "unsafe" not in PAGE_POLICY
    assert "script-src" not in PAGE_POLICY


def test_a_trust_report_has_a_row_for_each_school_and_suppresses_small_figures() -> None:
    words = _words(_outline(render_termly(trust_report())))
    assert "Trust report" in words
    assert "Households by school" in words
    assert "Households by class" not in words
    for school in SCHOOLS:
        assert school in words
    # EHC plan children are too few to show: their row reads "–", never 0.
    ehcp = re.search(r"EHC plan((?: – suppressed \*)+) English as", words)
    assert ehcp is not None
    assert ehcp.group(1).count("suppressed") == 5
    assert "Fewer than 5 concerns were raised at the schools" in words
    assert "Suppressed: fewer than 5, or a figure that would let a suppressed one" in words
    assert NO_EFFECT in words
    # Figures as the trust's reader reads them.
    assert "Households in scope 1,300" in words
    assert "Children reached 83%" in words
    assert "Free school meals 180 131 73% 86% −13 points" in words
    assert "Reception 700 651 665 601 21 – suppressed * – suppressed * 14" in words
    assert "Year 1 600 558 570 496 18" in words
    assert "Longest day, first visit's start to last visit's end 6 h 35 min" in words
    assert "Figures as at 30 October 2026, 16:05 (UK time)" in words


def test_a_school_report_has_a_row_for_each_class() -> None:
    words = _words(_outline(render_termly(school_report())))
    assert "School report" in words
    assert "Households by class" in words
    assert "Households by school" not in words
    for name in CLASSES:
        assert name in words
    assert "6 concerns were raised at the school" in words
    assert "Teachers, a month later Still open until 24 October 2026: not counted yet." in words
    assert NO_EFFECT in words


async def test_the_response_keeps_the_pages_policy_under_the_apps_middleware() -> None:
    app = create_app()

    async def termly_page() -> Response:
        return html_response(trust_report())

    app.add_api_route("/termly.html", termly_page)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        served = await client.get("/termly.html")
    assert served.status_code == 200
    assert served.headers["content-type"] == "text/html; charset=utf-8"
    assert served.headers["content-security-policy"] == PAGE_POLICY
    assert served.headers["cache-control"] == "no-store"
    # The headers every answer carries still come.
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["x-frame-options"] == "DENY"
    assert served.text == render_termly(trust_report())


# --- In Chromium ------------------------------------------------------------------------------


def _handler(pages: Mapping[str, Response]) -> type[BaseHTTPRequestHandler]:
    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path)
            if page is None:
                self.send_error(404)
                return
            self.send_response(page.status_code)
            for name, value in page.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Pages


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The pages with their responses' own headers (their policy among them), as the API will
    answer them, on a local port."""
    trust = html_response(trust_report())
    # A page that breaks its policy, to show the console check would see it.
    broken = html_response(trust_report())
    broken.body = bytes(broken.body).replace(b"<main>", b'<main style="color: red">')
    broken.headers["content-length"] = str(len(broken.body))
    pages = {
        "/trust.html": trust,
        "/school.html": html_response(school_report()),
        "/broken.html": broken,
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pages))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


_CHARTS_SHOWN = """[...document.querySelectorAll('svg[role="img"]')].map(svg => ({
    id: svg.id,
    title: svg.querySelector('title').textContent,
    named: svg.getAttribute('aria-labelledby').split(' ')
        .map(id => document.getElementById(id).tagName),
    width: svg.getBoundingClientRect().width,
    height: svg.getBoundingClientRect().height,
}))"""
_TABLES_SHOWN = """[...document.querySelectorAll('table')].map(table => ({
    caption: table.caption.textContent,
    rows: table.rows.length,
    scroller: getComputedStyle(table.parentElement).overflowX,
}))"""


def _check_charts(page: Page, title: str) -> None:
    shown = page.evaluate(_CHARTS_SHOWN)
    assert [c["id"] for c in shown] == list(CHART_TITLES)
    for chart in shown:
        assert chart["title"] == CHART_TITLES[chart["id"]] + title
        assert chart["named"] == ["title", "desc"]
        assert chart["width"] > 300, chart
        assert chart["height"] > 30, chart


def test_the_trust_report_renders_in_chromium_and_prints_to_pdf(
    served: str, tmp_path: Path
) -> None:
    report = trust_report()
    with open_page(f"{served}/trust.html", tmp_path) as page:
        _check_charts(page, report.title)
        tables = page.evaluate(_TABLES_SHOWN)
        captions = [t["caption"] for t in tables]
        assert "Households by school" in captions
        assert "Children visited, by pupil group" in captions
        assert all(t["rows"] >= 2 for t in tables)
        # The stylesheet applied: the policy's hash let it through.
        assert {t["scroller"] for t in tables} == {"auto"}
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.title") == f"{report.title}: termly impact report"
        assert page.console_errors() == []
        pdf = page.print_pdf()
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 40_000
    # A4 (595 × 842 points), and a page at least for each section that starts on a new one.
    assert re.search(rb"/MediaBox \[0 0 59[45]\.\d+ 84[12]\.\d+\]", pdf)
    pages = len(re.findall(rb"/Type /Page\b(?!s)", pdf))
    assert pages >= 9, pages


def test_the_school_report_saved_as_a_file_renders_and_prints(tmp_path: Path) -> None:
    """Saved from the browser and opened again later, the page still stands on its own."""
    report = school_report()
    saved = tmp_path / "termly.html"
    saved.write_text(render_termly(report), encoding="utf-8")
    with open_page(saved.as_uri(), tmp_path / "profile") as page:
        _check_charts(page, report.title)
        tables = page.evaluate(_TABLES_SHOWN)
        captions = [t["caption"] for t in tables]
        assert captions[:2] == ["Programmes in this report", "Children visited, by pupil group"]
        assert any(c.startswith("Households by class") for c in captions)
        assert {t["scroller"] for t in tables} == {"auto"}
        assert page.console_errors() == []
        pdf = page.print_pdf()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) >= 9


def test_a_page_that_breaks_its_policy_is_caught(served: str, tmp_path: Path) -> None:
    with open_page(f"{served}/broken.html", tmp_path) as page:
        errors = page.console_errors()
    assert any("Content Security Policy" in error for error in errors), errors


@pytest.mark.parametrize("path", ["/trust.html", "/school.html"])
def test_on_a_phone_nothing_overflows_but_wide_tables_scroll_in_place(
    served: str, tmp_path: Path, path: str
) -> None:
    with open_page(f"{served}{path}", tmp_path, width=390, height=844) as page:
        assert page.evaluate("window.innerWidth") == 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        widths = page.evaluate(
            "[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().right)"
        )
        assert len(widths) == 4
        assert max(widths) <= 390
        scrolling = page.evaluate(
            "[...document.querySelectorAll('.table-wrap')]"
            ".filter(w => w.scrollWidth > w.clientWidth).length"
        )
        assert scrolling >= 1  # the reach tables are wider than a phone, and scroll in place
        assert page.console_errors() == []
