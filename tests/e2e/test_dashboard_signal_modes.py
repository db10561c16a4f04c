"""The signal modes in the dashboard (headless Chromium): listed in the form with their parameters, and
a backtest on the LUNC book tickers started from the form finishes with a report."""

from __future__ import annotations

from test_dashboard import fill_period, open_dashboard

SIGNAL_MODES = ("signal_reverse_delta_neutral", "signal_inventory_arbitrage", "signal_volatility_harvesting")


def test_signal_modes_in_the_form_and_a_tick_run(page, server, shot_dir):
    open_dashboard(page, server)
    for mode in SIGNAL_MODES:
        page.wait_for_selector(f"#field-mode option[value='{mode}']", state="attached")
    page.select_option("#field-mode", "signal_inventory_arbitrage")  # no hourly datasets: no data-range hint
    page.wait_for_selector("#field-config-clip_usd", state="attached")  # its own parameters are in the form
    fill_period(page, "2025-10-11", "2025-10-12", 100000)
    page.screenshot(path=shot_dir / "01-form.png", full_page=True)
    page.click("#bt-submit")
    page.wait_for_selector("#submission[data-run-id]", state="visible")
    page.wait_for_selector("#submission[data-status='finished'], #submission[data-status='failed'], "
                           "#submission[data-status='interrupted']", timeout=180_000)
    assert page.get_attribute("#submission", "data-status") == "finished", page.inner_text("#submission")
    run_id = page.get_attribute("#submission", "data-run-id")
    summary = server.client.get(f"/api/v1/backtests/{run_id}/summary").json()
    assert summary["mode"] == "signal_inventory_arbitrage" and summary["trades"] > 0
    page.screenshot(path=shot_dir / "02-finished.png", full_page=True)
    assert not page.js_errors
