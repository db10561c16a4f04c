"""``GET /api/v1/sweeps`` and ``GET /api/v1/sweeps/{id}`` on a live server (SQLite and PostgreSQL): the
sweep recorded by the service is listed with its progress; one sweep gives its trials with each trial's
run (readable under /api/v1/backtests), the best trial, importance and chart figures; unknown: 404."""

from __future__ import annotations

from basiskit import service
from basiskit.sweeps import run_sweep
from basiskit.sweeps.executors import SerialExecutor


def test_sweeps_listed_and_read(api, catalog):
    assert api.client.get("/api/v1/sweeps").json() == {"items": [], "total": 0}
    spec = service.sweep_spec("btc_basis", "2024-03-01", "2024-03-08", 100_000,
                              ["delta_drift_threshold=0.01,0.03", "perp_margin_fraction=0.4,0.5"],
                              objective="total_return", sampler="grid")
    run_sweep(spec, catalog, api.store, SerialExecutor(), write=False)
    listed = api.client.get("/api/v1/sweeps").json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["id"] == spec.sweep_id and item["status"] == "finished"
    assert item["progress"] == {"done": 4, "total": 4, "running": 0, "failed": 0, "fraction": 1.0}
    r = api.client.get(f"/api/v1/sweeps/{spec.sweep_id}")
    assert r.status_code == 200
    body = r.json()
    assert [t["index"] for t in body["trials"]] == [0, 1, 2, 3]
    assert body["trials"][3]["params"] == {"delta_drift_threshold": 0.03, "perp_margin_fraction": 0.5}
    best = max(body["trials"], key=lambda t: t["value"])
    assert body["best"]["index"] == best["index"]
    summary = api.client.get(f"/api/v1/backtests/{best['run_id']}/summary").json()
    assert summary["total_return"] == best["value"] and summary["config"]["perp_margin_fraction"] == best["params"]["perp_margin_fraction"]
    assert body["charts"]["heatmap"]["data"][0]["type"] == "heatmap"
    assert body["charts"]["parcoords"]["data"][0]["type"] == "parcoords"
    # trial runs stay out of the runs listing
    assert api.client.get("/api/v1/backtests").json()["total"] == 0
    missing = api.client.get("/api/v1/sweeps/sw-btc_basis-0000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "SWEEP-003"
