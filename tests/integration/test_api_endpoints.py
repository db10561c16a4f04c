"""The REST API against a live server with a real database (SQLite and PostgreSQL) and the real data."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings
from basiskit.config.loader import ConfigError, configs_dir
from basiskit.persistence import MemoryRunStore
from basiskit.strategies.registry import MODES

from liveserver import serve_in_thread, wait_for

SHORT = {"mode": "btc_basis", "start": "2024-03-01", "end": "2024-03-15", "capital": 100000.0}


def test_strategies_list_every_registered_mode_with_its_yaml_description(api):
    r = api.client.get("/api/v1/strategies")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["mode"] for i in items] == sorted(MODES)
    for i in items:
        yaml_desc = yaml.safe_load((configs_dir() / "modes" / f"{i['mode']}.yaml").read_text())["description"]
        assert i["description"] == yaml_desc


def test_mode_config_gives_defaults_and_schema(api):
    r = api.client.get("/api/v1/strategies/btc_basis/config")
    assert r.status_code == 200
    body = r.json()
    raw = yaml.safe_load((configs_dir() / "modes" / "btc_basis.yaml").read_text())
    for key, value in raw.items():
        assert body["default_config"][key] == value, key
    props = body["json_schema"]["properties"]
    assert {"hedge_allocation", "perp_margin_fraction", "step_seconds"} <= set(props)
    assert body["json_schema"].get("additionalProperties") is False
    r = api.client.get("/api/v1/strategies/btc_basys/config")
    assert r.status_code == 404 and r.json()["error"]["code"] == "STRAT-003"


def test_validate_names_the_fields_and_writes_nothing(api):
    ok = api.client.post("/api/v1/strategies/btc_basis/validate", json={"config": {"rebalance": False}})
    assert ok.status_code == 200 and ok.json()["config"]["rebalance"] is False and ok.json()["valid"] is True
    full = api.client.post("/api/v1/strategies/btc_basis/validate",
                           json={"start": "2024-03-01", "end": "2024-03-15", "capital": 5000})
    assert full.status_code == 200 and full.json()["steps"] == 14 * 24 + 1 and full.json()["covered"] is True
    bad = api.client.post("/api/v1/strategies/btc_basis/validate",
                          json={"config": {"hedge_alocation": {"binance": 1.0}, "perp_margin_fraction": 7}})
    assert bad.status_code == 422
    err = bad.json()["error"]
    assert err["code"] == "CONFIG-001" and err["field"] in ("config.hedge_alocation", "config.perp_margin_fraction")
    assert {d["field"] for d in err["details"]} == {"config.hedge_alocation", "config.perp_margin_fraction"}
    late = api.client.post("/api/v1/strategies/btc_basis/validate", json={"start": "2025-09-01", "end": "2025-12-01"})
    assert late.status_code == 422 and late.json()["error"]["code"] == "DATA-002"
    assert late.json()["error"]["field"] == "end" and "BTCUSDT" in late.json()["error"]["message"]
    assert api.store.list_runs().total == 0


def test_requirements_report_venues_datasets_and_coverage(api):
    r = api.client.get("/api/v1/strategies/btc_basis/requirements")
    assert r.status_code == 200
    body = r.json()
    assert body["venues"]["perp"] == {"binance.perp": ["BTC"], "bybit.perp": ["BTC"]}
    ids = {d["dataset_id"] for d in body["datasets"]}
    assert {"spot.bybit.BTCUSDT", "perp.binance.BTCUSDT", "funding.binance.BTCUSDT", "funding.bybit.BTCUSDT"} <= ids
    assert body["covered"] is None
    inside = api.client.get("/api/v1/strategies/btc_basis/requirements", params={"start": "2024-03-01", "end": "2024-07-01"})
    assert inside.json()["covered"] is True and all(d["covered"] for d in inside.json()["datasets"])
    before = api.client.get("/api/v1/strategies/pure_lending/requirements", params={"start": "2023-06-01", "end": "2024-02-01"})
    aave = [d for d in before.json()["datasets"] if d["dataset_id"] == "aave.USDT"][0]
    assert before.json()["covered"] is False and aave["covered"] is False and "2023-06-01" in aave["problem"]


def test_submitted_backtest_runs_in_the_background_and_its_results_are_served(api):
    r = api.client.post("/api/v1/backtests", json={**SHORT, "deposits": [{"date": "2024-03-05", "amount": 1000}]})
    assert r.status_code == 202 and r.headers["location"] == f"/api/v1/backtests/{r.json()['id']}"
    run_id = r.json()["id"]
    run = wait_for(api.client, run_id, {"finished", "failed"})
    assert run["status"] == "finished", run
    assert run["progress"]["done"] == run["progress"]["total"] == 14 * 24 + 1 and run["duration_seconds"] > 0
    summary = api.client.get(f"/api/v1/backtests/{run_id}/summary").json()
    out = Path(run["out_dir"])
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["run_id"] == run_id and summary["net_deposits"] == 1000.0
    equity = api.client.get(f"/api/v1/backtests/{run_id}/equity", params={"limit": 5, "offset": 24}).json()
    assert equity["total"] == summary["steps"] and [p["step"] for p in equity["items"]] == [24, 25, 26, 27, 28]
    assert equity["items"][0]["timestamp"] == "2024-03-02T00:00:00Z"
    eq_csv = (out / "equity.csv").read_text().splitlines()
    assert len(eq_csv) - 1 == equity["total"]
    trades = api.client.get(f"/api/v1/backtests/{run_id}/trades").json()
    assert trades["total"] == len((out / "trades.csv").read_text().splitlines()) - 1 > 0
    events = api.client.get(f"/api/v1/backtests/{run_id}/events", params={"limit": 100000}).json()
    assert events["total"] == len((out / "events.csv").read_text().splitlines()) - 1
    kinds = {(e["component"], e["kind"]) for e in events["items"]}
    assert {("strategy", "decision"), ("execution", "order"), ("risk", "assessment"), ("engine", "deposit"),
            ("binance.perp", "funding")} <= kinds
    decisions = api.client.get(f"/api/v1/backtests/{run_id}/events", params={"component": "strategy", "kind": "decision"})
    assert all(e["data"]["action"] and e["data"]["reason"] for e in decisions.json()["items"])
    listed = api.client.get("/api/v1/backtests", params={"status": "finished"}).json()
    assert [x["id"] for x in listed["items"]] == [run_id]


MALFORMED = [
    ({**SHORT, "mode": "btc_basys"}, "STRAT-003", "mode"),
    ({**SHORT, "start": "2024-03-15", "end": "2024-03-01"}, "RUN-001", "end"),
    ({**SHORT, "capital": 0}, "API-001", "capital"),
    ({**SHORT, "capital": -100}, "API-001", "capital"),
    ({**SHORT, "config": {"hedge_alocation": {"binance": 1.0}}}, "CONFIG-001", "config.hedge_alocation"),
    ({**SHORT, "leverage": 3}, "API-001", "leverage"),
    ({**SHORT, "start": "2024-02-30"}, "API-001", "start"),
    ({**SHORT, "deposits": [{"date": "2025-01-01", "amount": 5}]}, "RUN-001", "deposits[0].date"),
    ({k: v for k, v in SHORT.items() if k != "end"}, "API-001", "end"),
]


@pytest.mark.parametrize("body,code,field", MALFORMED)
def test_malformed_backtests_get_4xx_naming_the_field_and_write_nothing(api, body, code, field):
    r = api.client.post("/api/v1/backtests", json=body)
    assert 400 <= r.status_code < 500
    err = r.json()["error"]
    assert (err["code"], err["field"]) == (code, field), err
    assert field in err["message"] or field in json.dumps(err["details"])
    assert api.store.list_runs().total == 0
    results = api.settings.results
    assert not results.exists() or not any(results.iterdir())


def test_delete_removes_the_run_and_its_files(api):
    run_id = api.client.post("/api/v1/backtests", json=SHORT).json()["id"]
    run = wait_for(api.client, run_id, {"finished"})
    assert Path(run["out_dir"]).is_dir()
    assert api.client.delete(f"/api/v1/backtests/{run_id}").status_code == 204
    assert not Path(run["out_dir"]).exists()
    for path in ("", "/summary", "/equity"):
        r = api.client.get(f"/api/v1/backtests/{run_id}{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "RUN-004"
    assert api.client.delete(f"/api/v1/backtests/{run_id}").status_code == 404


def test_errors_are_json_with_codes(api):
    r = api.client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "API-003"
    r = api.client.get("/api/v1/backtests", params={"limit": 0})
    assert r.status_code == 422 and r.json()["error"]["field"] == "limit"
    r = api.client.put("/api/v1/backtests")
    assert r.status_code == 405 and r.json()["error"]["code"] == "API-004"
    r = api.client.post("/api/v1/backtests", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "API-001" and r.json()["error"]["field"] == "body"
    codes = {e["code"] for e in api.client.get("/api/v1/errors").json()["items"]}
    assert {"STRAT-001", "STRAT-002", "STRAT-003", "DATA-002", "VENUE-001", "EXEC-001", "RISK-001"} <= codes


def test_health_reports_components_with_metrics(api):
    api.client.get("/api/v1/strategies")
    r = api.client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert {"api", "database", "catalog", "backtests"} <= set(body["components"])
    db = body["components"]["database"]
    assert db["last_update"] is not None and db["error_rate"] == 0.0 and db["processing_ms"]["mean"] >= 0
    assert body["components"]["api"]["samples"] >= 1


class _DownStore(MemoryRunStore):
    def ping(self) -> None:
        raise ConnectionError("connection refused")


def test_a_dead_database_makes_health_unhealthy(catalog, tmp_path):
    app = create_app(ApiSettings(data_dir=tmp_path), store=_DownStore(), catalog=catalog)
    with serve_in_thread(app) as url:
        r = httpx.get(f"{url}/health")
    assert r.status_code == 503 and r.json()["status"] == "unhealthy"
    assert "refused" in r.json()["components"]["database"]["last_error"]


def test_a_token_is_required_off_loopback_and_checked_when_set(catalog, tmp_path):
    with pytest.raises(ConfigError) as exc:
        create_app(ApiSettings(data_dir=tmp_path, host="0.0.0.0"), store=MemoryRunStore(), catalog=catalog)
    assert exc.value.field == "host"
    app = create_app(ApiSettings(data_dir=tmp_path, host="0.0.0.0", token="s3cret"), store=MemoryRunStore(),
                     catalog=catalog)
    with serve_in_thread(app) as url:
        none = httpx.get(f"{url}/api/v1/strategies")
        wrong = httpx.get(f"{url}/api/v1/backtests", headers={"Authorization": "Bearer nope"})
        right = httpx.get(f"{url}/api/v1/strategies", headers={"Authorization": "Bearer s3cret"})
        post = httpx.post(f"{url}/api/v1/backtests", json=SHORT)
        health = httpx.get(f"{url}/health")
        schema = httpx.get(f"{url}/openapi.json").json()
    for r in (none, wrong, post):
        assert r.status_code == 401 and r.json()["error"]["code"] == "API-002"
        assert r.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200 and health.status_code == 200
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
