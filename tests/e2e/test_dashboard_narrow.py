"""The dashboard on a 420 px wide screen (a phone held upright): the page never scrolls sideways, the
form's controls are visible and clickable and start a backtest, the runs table scrolls inside its
own card with the run column pinned, and the comparison fits. Screenshots: ``shot_dir``."""

from __future__ import annotations

from browsercheck import assert_chart_drawn, chart_state

WIDTH = 420
VIEWPORT = {"width": WIDTH, "height": 900}
FORM_CONTROLS = ("#field-mode", "#field-start", "#field-end", "#field-capital", "#field-share_class",
                 "#param-fields input[data-config-key]:not([type=checkbox]) >> nth=0", "#bt-submit", "#bt-reset")
PAGE_CONTROLS = ("#nav-runs", "#nav-compare", "#runs-status", "#refresh-btn", "#compare-btn")


def page_width(page) -> dict:
    return page.evaluate("() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, "
                         "view: window.innerWidth})")


def assert_no_sideways_scroll(page) -> None:
    w = page_width(page)
    assert w["view"] == WIDTH and w["doc"] <= WIDTH and w["body"] <= WIDTH, w


def assert_usable(page, selector: str) -> None:
    """Visible, inside the screen's width, and clickable (Playwright's actionability checks: visible,
    stable, enabled, not covered by another element) -- without clicking."""
    loc = page.locator(selector)
    loc.scroll_into_view_if_needed()
    assert loc.is_visible(), selector
    box = loc.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5 and box["width"] >= 24, (selector, box)
    if loc.is_enabled():
        loc.click(trial=True, timeout=5_000)


def test_dashboard_at_420_px(browser, server, shot_dir):
    first = server.run({"mode": "btc_basis", "start": "2024-06-01", "end": "2024-06-15", "capital": 100000})
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB", timezone_id="UTC")
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/")
        page.wait_for_selector("#param-fields [data-config-key]", state="attached")
        row = page.locator(f"#runs-table tbody tr[data-run-id='{first['id']}']")
        row.wait_for()
        assert_no_sideways_scroll(page)
        for selector in FORM_CONTROLS + PAGE_CONTROLS:
            assert_usable(page, selector)
        page.screenshot(path=shot_dir / "01-form.png", full_page=True)

        # the runs table: wider than the screen, it scrolls inside its card; the run stays readable
        wrap = page.locator("#view-runs .table-wrap")
        dims = wrap.evaluate("w => ({scroll: w.scrollWidth, client: w.clientWidth, overflow: getComputedStyle(w).overflowX})")
        assert dims["client"] <= WIDTH and dims["overflow"] == "auto", dims
        assert "btc_basis" in row.locator("td.run-id").inner_text()
        assert_usable(page, f"#runs-table tbody tr[data-run-id='{first['id']}'] td.run-id")
        link = row.locator(".report-link")
        link.scroll_into_view_if_needed()  # scrolls the table's container, not the page
        assert link.is_visible() and link.bounding_box()["x"] + link.bounding_box()["width"] <= WIDTH + 0.5
        link.click(trial=True)
        pinned = row.locator("td.run-id").bounding_box()
        assert pinned["x"] >= 0 and pinned["x"] < WIDTH / 2, pinned  # the run column stays on screen
        assert_no_sideways_scroll(page)
        page.screenshot(path=shot_dir / "02-runs-scrolled.png", full_page=True)

        # the form starts a backtest; its progress, metrics and report link fit too
        page.select_option("#field-mode", "pure_lending")
        page.wait_for_function("() => document.querySelector('#data-range').textContent.includes('pure_lending')")
        page.fill("#field-start", "2024-03-01")
        page.fill("#field-end", "2024-03-15")
        page.fill("#field-capital", "100000")
        page.click("#bt-submit")
        page.wait_for_selector("#submission[data-status='finished'], #submission[data-status='failed']", timeout=120_000)
        assert page.get_attribute("#submission", "data-status") == "finished", page.inner_text("#submission")
        second = page.get_attribute("#submission", "data-run-id")
        assert_usable(page, "#submission-report")
        assert_no_sideways_scroll(page)
        page.screenshot(path=shot_dir / "03-finished.png", full_page=True)

        # compare the two runs
        for rid in (first["id"], second):
            box = page.locator(f".run-select[data-run-id='{rid}']")
            box.wait_for()
            box.check()
        assert_usable(page, "#compare-btn")
        page.click("#compare-btn")
        assert_chart_drawn(chart_state(page, "#compare-chart"), min_traces=2)
        assert_no_sideways_scroll(page)
        page.screenshot(path=shot_dir / "04-compare.png", full_page=True)
        assert not errors, errors
    finally:
        ctx.close()
