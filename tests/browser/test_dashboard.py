"""In Chromium: the dashboard draws its charts and tables from the vendored Chart.js, with no console errors."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot
from tests.dashboard.conftest import dave, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RANGE = "from=2026-03-27&to=2026-03-30"


@pytest.mark.usefixtures("world")
def test_the_dashboard_renders_charts_and_tables_without_console_errors(
    page, live_server, manager
):
    console_errors: list[str] = []

    def on_console(msg) -> None:
        # The browser's own favicon probe 404s on every page of the app; it is not the dashboard's.
        if msg.type == "error" and not msg.location.get("url", "").endswith(
            "/favicon.ico"
        ):
            console_errors.append(f"{msg.text} at {msg.location}")

    page.on("console", on_console)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    login(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/dashboard/?{RANGE}")

    for chart in ("compliance", "trend", "volume", "backlog", "channels", "sentiment"):
        canvas = page.locator(f"#chart-{chart}")
        canvas.wait_for()
        # Chart.js sizes the canvas and keeps its instance: proof it drew, not just that the tag exists.
        assert page.evaluate(
            f"Chart.getChart(document.getElementById('chart-{chart}')) !== undefined"
        )
        box = canvas.bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 100
    assert (
        page.evaluate(
            "Chart.getChart(document.getElementById('chart-trend')).data.datasets.length"
        )
        == 3
    )
    compliance = page.locator("#sla-compliance tbody tr")
    assert compliance.count() == 3
    assert (
        "60.0%" in compliance.first.inner_text()
    )  # first-response compliance (3 of 5)
    assert page.locator("#heatmap-customers tbody tr").count() == 7
    assert "Alice" in page.locator("#people").inner_text()
    assert "still open, not in the median" in page.locator("#kpis").inner_text()
    screenshot(page, "dashboard")
    assert page.console_errors == []
    assert console_errors == []
    assert failed == []


@pytest.mark.usefixtures("world")
def test_a_table_row_opens_the_queue_with_its_filters(page, live_server, manager):
    login(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/dashboard/?{RANGE}")
    link = page.locator("#volume tbody tr").first.locator("a")
    href = link.get_attribute("href")
    assert href is not None
    assert "from=2026-03-27" in href
    assert "to=2026-03-27" in href
    link.click()
    page.wait_for_url("**/mentions/?*")
    assert "from=2026-03-27" in page.url
