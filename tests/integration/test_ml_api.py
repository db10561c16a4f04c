"""The ML directional modes through the API: both listed with their configs, a backtest submitted,
run and served with its per-fold results (summary and report)."""

from __future__ import annotations

from liveserver import wait_for

ML_MODES = ("ml_btc_directional", "ml_usdt_directional")


def test_ml_modes_are_listed_and_a_submitted_ml_backtest_serves_its_folds(api):
    items = {i["mode"]: i for i in api.client.get("/api/v1/strategies").json()["items"]}
    for mode in ML_MODES:
        assert mode in items and "LightGBM" in items[mode]["description"]
        cfg = api.client.get(f"/api/v1/strategies/{mode}/config").json()
        assert cfg["default_config"]["horizon_hours"] == 8 and cfg["share_classes"] == ["USDT"]
    typo = api.client.post("/api/v1/strategies/ml_btc_directional/validate", json={"config": {"purge_hour": 8}})
    assert typo.status_code == 422 and "purge_hour" in typo.text
    short = api.client.post("/api/v1/strategies/ml_btc_directional/validate",
                            json={"config": {"purge_hours": 4}})  # below the 8 h label horizon
    assert short.status_code == 422 and "purge_hours" in short.text
    r = api.client.post("/api/v1/backtests", json={"mode": "ml_usdt_directional", "start": "2025-03-28",
                                                   "end": "2025-04-03", "capital": 20000})
    assert r.status_code == 202, r.text
    run = wait_for(api.client, r.json()["id"], {"finished", "failed"}, timeout=120)
    assert run["status"] == "finished", run
    summary = api.client.get(f"/api/v1/backtests/{run['id']}/summary").json()
    assert [f["fold"] for f in summary["ml_folds"]] == ["2025-03", "2025-04"]
    assert abs(summary["reconciliation"]["difference"]) <= 1e-6
    report = api.client.get(f"/api/v1/backtests/{run['id']}/report")
    assert report.status_code == 200 and '<table id="ml-folds">' in report.text
