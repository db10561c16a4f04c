"""What the dashboard needs from the API, against a live server (SQLite and PostgreSQL) and the real
data: key metrics on run listings, a downsampled equity curve, the run's HTML report, share classes
per mode, and the page with its static files served without a token (and nothing else)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings
from basiskit.persistence import NewRun

from liveserver import serve_in_thread, wait_for

SHORT = {"mode": "btc_basis", "start": "2024-03-01", "end": "2024-03-15", "capital": 100000.0}


def _finished(api, body=SHORT) -> dict:
    run_id = api.client.post("/api/v1/backtests", json=body).json()["id"]
    run = wait_for(api.client, run_id, {"finished", "failed"}, timeout=120)
    assert run["status"] == "finished", run["error"]
    return run


def test_listing_and_status_carry_the_key_metrics_of_finished_runs(api):
    run = _finished(api)
    api.store.create_run(NewRun("queued-1", "btc_basis", {"mode": "btc_basis"}))
    summary = api.client.get(f"/api/v1/backtests/{run['id']}/summary").json()
    items = {r["id"]: r for r in api.client.get("/api/v1/backtests").json()["items"]}
    metrics = items[run["id"]]["metrics"]
    for key in ("share_class", "initial_equity", "final_equity", "total_return", "apr", "apy", "sharpe",
                "max_drawdown", "min_health_factor", "liquidations"):
        assert metrics[key] == summary[key], key
    assert metrics["share_class"] == "USDT" and metrics["final_equity"] > 0
    assert items["queued-1"]["metrics"] is None
    assert run["metrics"] == metrics  # GET /backtests/{id} has them too
    assert run["links"]["report"] == f"/api/v1/backtests/{run['id']}/report"


def test_equity_curve_is_evenly_downsampled_with_both_ends(api):
    run = _finished(api)
    full = api.client.get(f"/api/v1/backtests/{run['id']}/equity", params={"limit": 100_000}).json()
    assert full["total"] == 14 * 24 + 1
    curve = api.client.get(f"/api/v1/backtests/{run['id']}/equity/curve", params={"points": 10}).json()
    assert curve["steps"] == full["total"] and len(curve["step"]) == len(curve["equity"]) == len(curve["timestamp"]) == 10
    by_step = {p["step"]: p for p in full["items"]}
    assert curve["step"][0] == 0 and curve["step"][-1] == full["total"] - 1
    assert all(b - a in (37, 38) for a, b in zip(curve["step"], curve["step"][1:]))  # even spacing
    for step, eq, ts in zip(curve["step"], curve["equity"], curve["timestamp"]):
        assert eq == by_step[step]["equity"] and ts == by_step[step]["timestamp"]
    assert curve["share_class"] == "USDT" and curve["initial_equity"] == SHORT["capital"]
    whole = api.client.get(f"/api/v1/backtests/{run['id']}/equity/curve", params={"points": 5000}).json()
    assert whole["step"] == list(range(full["total"]))

    api.store.create_run(NewRun("queued-1", "btc_basis", {"mode": "btc_basis"}))
    r = api.client.get("/api/v1/backtests/queued-1/equity/curve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "RUN-005"
    r = api.client.get("/api/v1/backtests/nope/equity/curve")
    assert r.status_code == 404 and r.json()["error"]["code"] == "RUN-004"
    assert api.client.get(f"/api/v1/backtests/{run['id']}/equity/curve", params={"points": 1}).status_code == 422


def test_report_is_served_and_written_when_missing(api):
    run = _finished(api)
    url = f"/api/v1/backtests/{run['id']}/report"
    r = api.client.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'id="chart-equity"' in r.text and run["id"] in r.text
    report = Path(run["out_dir"]) / "report.html"
    report.unlink()
    again = api.client.get(url)
    assert again.status_code == 200 and 'id="chart-equity"' in again.text and report.is_file()

    api.store.create_run(NewRun("queued-1", "btc_basis", {"mode": "btc_basis"}))
    r = api.client.get("/api/v1/backtests/queued-1/report")
    assert r.status_code == 409 and r.json()["error"]["code"] == "RUN-005"
    r = api.client.get("/api/v1/backtests/nope/report")
    assert r.status_code == 404 and r.json()["error"]["code"] == "RUN-004"
    shutil.rmtree(run["out_dir"])
    r = api.client.get(url)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RUN-008"


def test_mode_config_lists_the_share_classes_a_mode_runs_in(api):
    def classes(mode: str) -> list[str]:
        return api.client.get(f"/api/v1/strategies/{mode}/config").json()["share_classes"]

    assert classes("eth_leveraged") == ["ETH", "USDT"]  # its default first
    assert classes("btc_basis") == ["USDT"]
    assert classes("usdt_market_neutral") == ["USDT"]  # its hedge refuses the ETH share class
    ok = api.client.post("/api/v1/strategies/eth_leveraged/validate", json={"share_class": "USDT"})
    bad = api.client.post("/api/v1/strategies/usdt_market_neutral/validate", json={"share_class": "ETH"})
    assert ok.status_code == 200 and bad.status_code == 422


@pytest.fixture
def token_api(catalog, tmp_path):
    app = create_app(ApiSettings(data_dir=tmp_path / "home", token="s3cret"), catalog=catalog)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=60.0) as client:
        yield client


def test_pages_are_served_without_a_token_and_only_the_shipped_files(token_api):
    c = token_api
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for src in ("/static/app.js", "/static/app.css"):
        assert src in page.text
        r = c.get(src)
        assert r.status_code == 200 and len(r.content) > 1000
        assert c.get(src, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    plotly = c.get("/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert plotly.status_code == 200 and plotly.headers["content-type"].startswith("text/javascript")
    assert plotly.headers["content-encoding"] == "gzip" and len(plotly.content) > 1_000_000  # httpx decoded it
    assert int(plotly.headers["content-length"]) < len(plotly.content) / 2  # sent compressed
    assert c.get("/static/plotly.min.js", headers={"Accept-Encoding": "identity"}).headers.get("content-encoding") is None
    for bad in ("/static/nope.js", "/static/..%2F..%2Fpyproject.toml", "/static/__init__.py", "/static/"):
        r = c.get(bad)
        assert r.status_code == 404 and r.json()["error"]["code"] == "API-003", bad
    # the data stays behind the token
    assert c.get("/api/v1/backtests").status_code == 401
    assert c.get("/api/v1/backtests/x/report").status_code == 401
    assert c.get("/api/v1/backtests/x/report", headers={"Authorization": "Bearer s3cret"}).status_code == 404
    paths = c.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
    assert {"/api/v1/backtests/{run_id}/report", "/api/v1/backtests/{run_id}/equity/curve"} <= set(paths)
