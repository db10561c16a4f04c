"""The web dashboard at ``/`` driven in a real headless Chromium against a live server with the real
data: a backtest started from the form runs to the end and its report draws the equity chart;
invalid input shows the API's message next to the field; reports make no network request; runs
compare side by side; with a token the page asks for it. Screenshots: ``shot_dir``."""

from __future__ import annotations

import re

from browsercheck import NetworkLog, assert_chart_drawn, chart_state, local_only, same_origin

SHORT = {"start": "2024-03-01", "end": "2024-03-15", "capital": 100000}
STEPS_14_DAYS = 14 * 24 + 1  # hourly clock, both ends included


def open_dashboard(page, server) -> NetworkLog:
    log = NetworkLog(same_origin(server.url)).attach(page)
    page.goto(server.url + "/")
    page.wait_for_selector("#field-mode option[value='btc_basis']", state="attached")
    page.wait_for_selector("#param-fields [data-config-key]", state="attached")
    return log


def choose_mode(page, mode: str) -> None:
    page.select_option("#field-mode", mode)
    page.wait_for_function("(m) => document.querySelector('#data-range').textContent.includes(m)", arg=mode)


def fill_period(page, start: str, end: str, capital) -> None:
    page.fill("#field-start", start)
    page.fill("#field-end", end)
    page.fill("#field-capital", str(capital))


def open_link(page, link):
    """Follow ``link``: in the popup it opens (target=_blank) or in the same tab."""
    if link.get_attribute("target") == "_blank":
        with page.context.expect_page() as popup:
            link.click()
        target = popup.value
    else:
        link.click()
        target = page
    target.wait_for_load_state("load")
    return target


def test_backtest_from_form(page, server, shot_dir):
    log = open_dashboard(page, server)
    choose_mode(page, "btc_basis")
    fill_period(page, SHORT["start"], SHORT["end"], SHORT["capital"])
    page.fill("#field-config-delta_drift_threshold", "0.03")  # a key parameter, sent as an override
    page.screenshot(path=shot_dir / "01-form.png", full_page=True)

    page.click("#bt-submit")
    page.wait_for_selector("#submission[data-run-id]", state="visible")
    run_id = page.get_attribute("#submission", "data-run-id")
    page.screenshot(path=shot_dir / "02-progress.png", full_page=True)
    page.wait_for_selector("#submission[data-status='finished'], #submission[data-status='failed'], "
                           "#submission[data-status='interrupted']", timeout=120_000)
    assert page.get_attribute("#submission", "data-status") == "finished", page.inner_text("#submission")

    bar = page.locator("#submission-progress")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert bar.get_attribute("data-done") == bar.get_attribute("data-total") == str(STEPS_14_DAYS)
    run = server.client.get(f"/api/v1/backtests/{run_id}").json()
    assert run["status"] == "finished" and run["mode"] == "btc_basis"
    assert run["request"]["start"] == SHORT["start"] and run["request"]["end"] == SHORT["end"]
    assert run["request"]["capital"] == SHORT["capital"]
    assert run["request"]["config"] == {"delta_drift_threshold": 0.03}  # only the changed parameter
    row = page.locator(f"#runs-table tbody tr[data-run-id='{run_id}']")
    row.locator(".report-link").wait_for()
    assert row.get_attribute("data-status") == "finished"
    final = f"{run['metrics']['final_equity']:,.2f} USDT"
    assert final in row.inner_text() and final in page.inner_text("#submission-metrics")
    page.screenshot(path=shot_dir / "03-finished.png", full_page=True)

    report = open_link(page, page.locator("#submission-report"))
    assert report.url.endswith(f"/api/v1/backtests/{run_id}/report")
    assert_chart_drawn(chart_state(report, "#chart-equity"))
    report.screenshot(path=shot_dir / "04-report.png", full_page=False)
    assert log.outside() == [] and not page.js_errors, (log.outside(), page.js_errors)


def test_invalid_form_shows_field_error(page, server, shot_dir):
    open_dashboard(page, server)
    choose_mode(page, "btc_basis")

    fill_period(page, SHORT["start"], SHORT["end"], -5)
    page.click("#bt-submit")
    capital_error = page.locator('.field-error[data-field="capital"]')
    capital_error.wait_for(state="visible")
    api = server.client.post("/api/v1/backtests", json={"mode": "btc_basis", **SHORT, "capital": -5}).json()["error"]
    expected = next(d["message"] for d in api["details"] if d["field"] == "capital")
    assert capital_error.inner_text() == expected
    assert "invalid" in page.get_attribute("#field-capital", "class")
    page.screenshot(path=shot_dir / "01-capital-error.png", full_page=True)

    fill_period(page, SHORT["end"], SHORT["start"], SHORT["capital"])  # end before start
    page.click("#bt-submit")
    end_error = page.locator('.field-error[data-field="end"]')
    end_error.wait_for(state="visible")
    api = server.client.post("/api/v1/backtests", json={"mode": "btc_basis", **SHORT, "start": SHORT["end"],
                                                        "end": SHORT["start"]}).json()["error"]
    assert api["field"] == "end" and end_error.inner_text() == api["message"]
    assert capital_error.is_hidden()  # the previous error was cleared
    page.screenshot(path=shot_dir / "02-end-error.png", full_page=True)

    fill_period(page, SHORT["start"], SHORT["end"], SHORT["capital"])
    page.fill("#field-config-perp_margin_fraction", "7")
    page.click("#bt-submit")
    param_error = page.locator('.field-error[data-field="config.perp_margin_fraction"]')
    param_error.wait_for(state="visible")
    assert param_error.inner_text()
    page.screenshot(path=shot_dir / "03-parameter-error.png", full_page=True)

    assert server.client.get("/api/v1/backtests").json()["total"] == 0  # nothing was started
    assert page.locator("#submission").is_hidden() and not page.js_errors


def test_report_makes_no_network_request(context, server, shot_dir, tmp_path):
    run = server.run({"mode": "eth_leveraged", "start": "2024-06-01", "end": "2024-06-15", "capital": 100})
    report_file = server.client.get(f"/api/v1/backtests/{run['id']}").json()["out_dir"] + "/report.html"

    # the check can fail: a page that loads plotly from a CDN is caught (and the request aborted)
    cdn = tmp_path / "cdn.html"
    cdn.write_text('<html><body><script src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script></body></html>')
    probe = context.new_page()
    caught = NetworkLog(local_only).attach(probe)
    probe.goto(cdn.as_uri())
    assert caught.outside() == ["https://cdn.plot.ly/plotly-2.35.2.min.js"]
    probe.close()

    from_disk = context.new_page()
    disk_log = NetworkLog(local_only).attach(from_disk)
    from_disk.goto(f"file://{report_file}")
    assert_chart_drawn(chart_state(from_disk, "#chart-equity"))
    from_disk.screenshot(path=shot_dir / "01-report-from-file.png")
    assert disk_log.outside() == []
    assert disk_log.seen and all(local_only(u) for u in disk_log.seen)

    served = context.new_page()
    url = f"{server.url}/api/v1/backtests/{run['id']}/report"
    served_log = NetworkLog(lambda u: u == url or u.split(":", 1)[0] in ("data", "blob")).attach(served)
    served.goto(url)
    assert_chart_drawn(chart_state(served, "#chart-equity"))
    served.screenshot(path=shot_dir / "02-report-served.png")
    assert served_log.outside() == [] and served_log.seen[0] == url


def test_compare_runs(page, server, shot_dir):
    june = {"start": "2024-06-01", "end": "2024-06-15"}
    a = server.run({"mode": "btc_basis", **june, "capital": 100000})
    b = server.run({"mode": "eth_leveraged", **june, "capital": 100})
    log = open_dashboard(page, server)
    for run in (a, b):
        page.locator(f".run-select[data-run-id='{run['id']}']").check()
    page.screenshot(path=shot_dir / "01-selected.png", full_page=True)
    page.click("#compare-btn")

    state = chart_state(page, "#compare-chart")
    assert_chart_drawn(state, min_traces=2)
    assert state["traces"] == 2
    headers = page.locator("#compare-table thead th[data-run-id]")
    assert sorted(headers.evaluate_all("ths => ths.map(th => th.dataset.runId)")) == sorted([a["id"], b["id"]])
    table = page.inner_text("#compare-table")
    assert a["id"] in table and b["id"] in table
    apr = page.locator("#compare-table tr[data-metric='APR'] td.num").all_inner_texts()
    # two-week runs are not annualised (null, with the reason in the summary): the table shows a dash
    assert apr == ["—" if r["metrics"]["apr"] is None else f"{r['metrics']['apr'] * 100:.2f} %" for r in (a, b)]
    # USDT and ETH runs: plotted as growth of 1 on one axis by default
    assert page.is_checked("#compare-normalise")
    assert page.text_content("#compare-chart .g-ytitle") == "growth of 1"
    page.screenshot(path=shot_dir / "02-compare-growth.png", full_page=True)

    page.uncheck("#compare-normalise")  # share-class units: the ETH run on a second axis
    page.wait_for_selector("#compare-chart .g-y2title")
    assert chart_state(page, "#compare-chart")["paths"] >= 2
    assert page.text_content("#compare-chart .g-ytitle") == "USDT" and page.text_content("#compare-chart .g-y2title") == "ETH"
    page.screenshot(path=shot_dir / "03-compare-units.png", full_page=True)
    assert log.outside() == [] and not page.js_errors, (log.outside(), page.js_errors)
    assert any(u.endswith("/static/plotly.min.js") for u in log.seen)  # plotly came from this server


def test_dashboard_asks_for_the_token_and_sends_it(page, token_server, shot_dir):
    run = token_server.run({"mode": "pure_lending", **SHORT})
    log = NetworkLog(same_origin(token_server.url)).attach(page)
    page.goto(token_server.url + "/")
    page.wait_for_selector("#token-panel", state="visible")
    assert page.locator("#runs-table tbody tr").count() == 0
    page.screenshot(path=shot_dir / "01-token-asked.png", full_page=True)

    page.fill("#token-input", "e2e-secret-token")
    page.click("#token-form button[type='submit']")
    row = page.locator(f"#runs-table tbody tr[data-run-id='{run['id']}']")
    row.wait_for()
    assert page.locator("#token-panel").is_hidden()
    assert page.evaluate("() => sessionStorage.getItem('basiskit.apiToken')") == "e2e-secret-token"
    page.screenshot(path=shot_dir / "02-token-accepted.png", full_page=True)

    report = open_link(page, row.locator(".report-link"))  # fetched with the token, shown from a blob: URL
    report.wait_for_url(re.compile(r"^blob:"))
    assert_chart_drawn(chart_state(report, "#chart-equity"))
    report.screenshot(path=shot_dir / "03-report-with-token.png")
    assert log.outside() == [] and not page.js_errors, (log.outside(), page.js_errors)


def test_cancel_a_running_run_from_the_runs_table(page, server, shot_dir):
    # ~1,440,000 steps of the mode whose steps are the least often quiet (its dust trigger): several
    # seconds of loop, so still running when the button is clicked (a 1-minute btc_basis year now
    # loops in under a second: quiet stretches)
    long = {"mode": "eth_leveraged_restaking", "start": "2024-05-13", "end": "2025-09-25", "capital": 50,
            "config": {"step_seconds": 30}}
    run_id = server.client.post("/api/v1/backtests", json=long).json()["id"]
    open_dashboard(page, server)
    row = page.locator(f"#runs-table tbody tr[data-run-id='{run_id}']")
    row.locator(".cancel-btn").wait_for()
    page.wait_for_function("(id) => { const r = document.querySelector(`#runs-table tr[data-run-id='${id}']`);"
                           " return r && r.dataset.status === 'running' && Number(r.querySelector('.progress')"
                           ".dataset.done) > 0; }", arg=run_id, timeout=90_000)
    page.screenshot(path=shot_dir / "01-running.png", full_page=True)
    row.locator(".cancel-btn").click()
    page.wait_for_selector(f"#runs-table tr[data-run-id='{run_id}'][data-status='cancelled']", timeout=30_000)
    assert "RUN-010" in row.inner_text() and row.locator(".cancel-btn").count() == 0
    assert row.locator(".badge.cancelled").inner_text() == "cancelled"
    run = server.client.get(f"/api/v1/backtests/{run_id}").json()
    assert run["status"] == "cancelled" and 0 < run["progress"]["done"] < run["progress"]["total"]
    page.screenshot(path=shot_dir / "02-cancelled.png", full_page=True)
    assert not page.js_errors, page.js_errors
