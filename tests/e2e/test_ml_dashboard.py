"""The ML directional modes in the dashboard (real headless Chromium, live server, real data): both are in
the mode list with their parameters; one started from the form runs to the end and its report shows the
walk-forward table with the summary's folds. Screenshots: ``shot_dir``."""

from __future__ import annotations

from test_dashboard import choose_mode, fill_period, open_dashboard, open_link


def test_ml_mode_from_the_dashboard_shows_its_folds(page, server, shot_dir):
    log = open_dashboard(page, server)
    for mode in ("ml_btc_directional", "ml_usdt_directional"):
        assert page.locator(f"#field-mode option[value='{mode}']").count() == 1
    choose_mode(page, "ml_usdt_directional")
    page.wait_for_selector("#field-config-entry_edge", state="attached")
    assert page.input_value("#field-config-horizon_hours") == "8"
    fill_period(page, "2025-03-28", "2025-04-03", 20000)
    page.screenshot(path=shot_dir / "01-form.png", full_page=True)
    page.click("#bt-submit")
    page.wait_for_selector("#submission[data-run-id]", state="visible")
    run_id = page.get_attribute("#submission", "data-run-id")
    page.wait_for_selector("#submission[data-status='finished'], #submission[data-status='failed'], "
                           "#submission[data-status='interrupted']", timeout=120_000)
    assert page.get_attribute("#submission", "data-status") == "finished", page.inner_text("#submission")
    summary = server.client.get(f"/api/v1/backtests/{run_id}/summary").json()
    report = open_link(page, page.locator("#submission-report"))
    rows = report.locator("#ml-folds tr")
    assert rows.count() == 1 + len(summary["ml_folds"]) == 3
    for k, fold in enumerate(summary["ml_folds"], 1):
        cells = rows.nth(k).locator("td").all_inner_texts()
        assert cells[0] == fold["fold"] and cells[3] == f"{fold['hit_rate'] * 100:.1f} %"
    report.locator("#ml-folds").scroll_into_view_if_needed()
    report.screenshot(path=shot_dir / "02-report-folds.png", full_page=False)
    assert log.outside() == [] and not page.js_errors, (log.outside(), page.js_errors)
