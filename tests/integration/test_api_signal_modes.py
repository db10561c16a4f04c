"""The signal modes through the API: listed, configurable, and a backtest on the LUNC ticks submitted over
HTTP finishes with a reconciled summary and a report."""

from __future__ import annotations

import pytest

from liveserver import wait_for

SIGNAL_MODES = ("signal_reverse_delta_neutral", "signal_inventory_arbitrage", "signal_volatility_harvesting")


@pytest.mark.parametrize("mode", SIGNAL_MODES)
def test_signal_mode_runs_through_the_api(api, mode):
    listed = {i["mode"] for i in api.client.get("/api/v1/strategies").json()["items"]}
    assert mode in listed
    cfg = api.client.get(f"/api/v1/strategies/{mode}/config")
    assert cfg.status_code == 200
    body = {"mode": mode, "start": "2025-10-11", "end": "2025-10-12", "capital": 100000.0}
    run_id = api.client.post("/api/v1/backtests", json=body).json()["id"]
    run = wait_for(api.client, run_id, {"finished", "failed"}, timeout=300)
    assert run["status"] == "finished", run["error"]
    summary = api.client.get(f"/api/v1/backtests/{run_id}/summary").json()
    rec = summary["reconciliation"]
    assert abs(rec["difference"]) <= rec["tolerance"] and summary["trades"] > 0
    assert api.client.get(f"/api/v1/backtests/{run_id}/report").status_code == 200
