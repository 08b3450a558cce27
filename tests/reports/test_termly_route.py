"""The termly report as the API serves it: a school's and the trust's page built from a generated
school's finished programme, with its own policy, opened in headless Chromium (charts with their
titles, the school's name, no console errors) and printed to PDF."""

from pathlib import Path

import httpx

from app.core.permissions import Role
from app.reports.termly import PAGE_POLICY
from app.synthetic.generator import World
from tests.browser import open_page
from tests.conftest import bearer
from tests.reports.helpers import finished_programme

CHARTS = """[...document.querySelectorAll('svg[role="img"]')].map(svg => ({
    title: svg.querySelector('title').textContent,
    width: svg.getBoundingClientRect().width,
}))"""


async def _page(client: httpx.AsyncClient, world: World, url: str, role: Role) -> str:
    response = await client.get(
        f"/api/v1/reports/{url}/termly.html", headers=await bearer(world.login(role))
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == PAGE_POLICY
    assert response.headers["cache-control"] == "no-store"
    return response.text


async def test_a_schools_and_the_trusts_pages_render_from_a_finished_programme(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    await finished_programme(client, world)
    home = world.trusts[0]
    school = home.schools[0]
    pages = {
        "school": await _page(client, world, f"schools/{school.id}", Role.SCHOOL_ADMIN),
        "trust": await _page(client, world, f"trusts/{home.trust.id}", Role.TRUST_ADMIN),
    }
    for name, html in pages.items():
        saved = tmp_path / f"{name}.html"
        saved.write_text(html, encoding="utf-8")
        with open_page(saved.as_uri(), tmp_path / f"profile-{name}") as page:
            charts = page.evaluate(CHARTS)
            assert len(charts) == 4, charts
            assert all(c["title"] and c["width"] > 300 for c in charts), charts
            assert school.name in page.evaluate("document.body.innerText")
            assert page.evaluate("document.scripts.length") == 0
            assert page.console_errors() == []
            pdf = page.print_pdf()
        assert pdf.startswith(b"%PDF-")
