"""The circuit breaker stops a session at its stated loss: a paper replay of btc_basis with
live.emergency_stop_loss_pct=0.05 stops on the entry's costs (fees and slippage are a loss of more than
0.05 % of the starting equity), exit code 3, recorded failed with LIVE-001 and a circuit_breaker event."""

from __future__ import annotations

import json
import os
import subprocess

from livekill import session_dir
from test_live_kill_anywhere import BIN, END, MODE, START


def test_session_stops_at_the_stated_loss(catalog, tmp_path):
    data = session_dir(catalog, tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("BASISKIT_LIVE_CRASH_AT", "BASISKIT_DATABASE_URL")}
    done = subprocess.run([str(BIN), "live", MODE, "--paper", "--replay", START, "--replay", END, "--data-dir",
                           str(data), "--set", "live.emergency_stop_loss_pct=0.05"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "LIVE-001" in done.stderr
    (folder,) = (data / "live").iterdir()
    status = json.loads((folder / "status.json").read_text())
    assert status["state"] == "failed" and status["error"]["code"] == "LIVE-001"
    events = [json.loads(x) for f in (folder / "events").glob("*.jsonl") for x in f.read_text().splitlines()]
    trip = [e for e in events if e["kind"] == "circuit_breaker"]
    assert len(trip) == 1 and trip[0]["loss_pct"] >= 0.05 and trip[0]["limit_pct"] == 0.05
    assert status["steps_done"] < 169  # it stopped early
