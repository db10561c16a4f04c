"""/api/v1/live: token always (also on loopback, also on a server started without one), start a paper
session replaying a recorded week, status with equity/positions/open orders/heartbeat/feed ages,
events, stop."""

from __future__ import annotations

import time

import httpx
import pytest

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings

from liveserver import serve_in_thread

TOKEN = "live-test-token"
BODY = {"mode": "btc_basis", "execution_mode": "paper", "replay": ["2024-08-01", "2024-08-15"], "speed": 36000.0,
        "live": {"poll_s": 0.05, "heartbeat_s": 600}}


def _serve(catalog, tmp_path, token):
    settings = ApiSettings(data_dir=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'basiskit.db'}", token=token)
    return serve_in_thread(create_app(settings, catalog=catalog))


def test_live_endpoints_need_the_token_even_on_loopback_and_without_a_server_token(catalog, tmp_path):
    with _serve(catalog, tmp_path, None) as url:
        r = httpx.get(f"{url}/api/v1/live")
        assert r.status_code == 401 and r.json()["error"]["code"] == "API-002"
        assert "BASISKIT_API_TOKEN" in r.json()["error"]["message"]
        assert httpx.get(f"{url}/api/v1/strategies").status_code == 200  # the rest stays open on loopback
    with _serve(catalog, tmp_path / "b", TOKEN) as url:
        assert httpx.post(f"{url}/api/v1/live", json=BODY).status_code == 401
        assert httpx.get(f"{url}/api/v1/live", headers={"Authorization": "Bearer nope"}).status_code == 401
        r = httpx.get(f"{url}/api/v1/live", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json() == {"items": []}
        assert httpx.get(f"{url}/live").status_code == 200  # the page holds no data


def test_start_status_events_stop(catalog, tmp_path):
    with _serve(catalog, tmp_path, TOKEN) as url, httpx.Client(base_url=url, timeout=60,
                                                             headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        bad = c.post("/api/v1/live", json={**BODY, "live": {"emergency_stop_loss_pct": 0}})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "LIVE-004"
        assert c.post("/api/v1/live", json={**BODY, "overrides": {"no_such_key": 1}}).status_code == 422
        r = c.post("/api/v1/live", json=BODY)
        assert r.status_code == 202
        run_id = r.json()["run_id"]
        deadline = time.monotonic() + 120
        st = {}
        while time.monotonic() < deadline:
            st = c.get(f"/api/v1/live/{run_id}").json()
            if st.get("state") == "running" and st.get("positions") and (st.get("step") or 0) >= 30:
                break
            time.sleep(0.2)
        assert st["state"] == "running", st
        assert st["equity_usd"] > 90_000 and st["execution_mode"] == "paper"
        assert {"bybit.spot|BTC", "binance.perp|BTC", "bybit.perp|BTC"} <= set(st["positions"])
        assert st["positions"]["binance.perp|BTC"] < 0 < st["positions"]["bybit.spot|BTC"]
        assert st["last_heartbeat_ns"] and isinstance(st["open_orders"], list)
        assert set(st["feed_age_s"]) >= {"perp.binance.BTCUSDT", "spot.bybit.BTCUSDT"}
        ev = c.get(f"/api/v1/live/{run_id}/events", params={"kind": "heartbeat"}).json()["items"]
        assert ev and all(e["kind"] == "heartbeat" for e in ev)
        assert any(e["kind"] == "decision" for e in c.get(f"/api/v1/live/{run_id}/events").json()["items"])
        listed = c.get("/api/v1/live").json()["items"]
        assert [s["run_id"] for s in listed] == [run_id]
        assert c.delete(f"/api/v1/live/{run_id}").status_code == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and c.get(f"/api/v1/live/{run_id}").json()["state"] == "running":
            time.sleep(0.2)
        assert c.get(f"/api/v1/live/{run_id}").json()["state"] == "interrupted"
        gone = c.delete(f"/api/v1/live/{run_id}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "LIVE-005"
        assert c.get("/api/v1/live/live-nope").status_code == 404
