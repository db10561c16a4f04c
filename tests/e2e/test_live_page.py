"""The live page in Chromium: asks for the token, shows a running paper session (equity, positions,
feed ages, heartbeat) and updates itself without a reload; its stop button stops the session."""

from __future__ import annotations

import time


def test_live_page_shows_a_running_session_and_updates_itself(page, token_server, shot_dir):
    body = {"mode": "btc_basis", "execution_mode": "paper", "replay": ["2024-08-01", "2024-09-01"], "speed": 18000.0,
            "live": {"poll_s": 0.05, "heartbeat_s": 600}}
    r = token_server.client.post("/api/v1/live", json=body)
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    page.goto(token_server.url + "/live")
    page.wait_for_selector("#token-panel:not([hidden])")
    page.fill("#token-input", "e2e-secret-token")
    page.click("#token-form button[type=submit]")
    page.wait_for_function("document.querySelector('#v-state') && document.querySelector('#v-state').textContent === 'running'")
    page.wait_for_function("document.querySelector('#t-positions').textContent.includes('binance.perp | BTC')"
                           " || document.querySelector('#t-positions').textContent.includes('binance.perp|BTC')")
    first_step = page.text_content("#v-step")
    first_equity = page.text_content("#v-equity")
    assert first_equity and first_equity != "–"
    assert "perp.binance.BTCUSDT" in page.text_content("#t-feeds")
    assert run_id in page.text_content("#session-select")
    page.screenshot(path=shot_dir / "01-running.png", full_page=True)
    page.wait_for_function(f"document.querySelector('#v-step').textContent !== {first_step!r}", timeout=30_000)
    assert page.text_content("#v-step") != first_step  # it moved on by itself (polling)
    page.screenshot(path=shot_dir / "02-updated.png", full_page=True)
    page.click("#stop-btn")
    page.wait_for_function("document.querySelector('#v-state').textContent === 'interrupted'", timeout=60_000)
    page.screenshot(path=shot_dir / "03-stopped.png", full_page=True)
    assert page.js_errors == []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and token_server.client.get(f"/api/v1/live/{run_id}").json()["state"] == "running":
        time.sleep(0.2)
