"""Credentials never appear in what a session writes: with every venue's API key and secret set in the
environment, a paper session, a live session against a simulated exchange, one through the ccxt adapters
against the exchange emulator (which holds the keys), a refused live request and
a failing request leave no trace of them in stdout, stderr, the session folder, the database or the
API's answers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from livekill import session_dir
from test_live_kill_anywhere import END, MODE, START, Exchange

BIN = Path(sys.executable).parent / "basiskit"
SECRETS = {f"{v}_API_{k}": f"sekrit-{v.lower()}-{k.lower()}-7f3a9c" for v in ("BINANCE", "BYBIT", "OKX")
           for k in ("KEY", "SECRET")}


def _run(args: list[str], data: Path, extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BASISKIT_DATABASE_URL", "BASISKIT_LIVE_CRASH_AT")}
    env.update(SECRETS, **(extra or {}))
    return subprocess.run([str(BIN), "live", *args, "--data-dir", str(data)], env=env, capture_output=True, text=True,
                          timeout=300)


def _all_text(data: Path, outputs: list[str]) -> str:
    parts = list(outputs)
    for f in data.rglob("*"):
        if f.is_file() and not f.is_symlink() and "catalog" not in f.relative_to(data).parts[:1]:
            if f.suffix == ".db":
                con = sqlite3.connect(f)
                parts.extend(con.iterdump())
                con.close()
            else:
                parts.append(f.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_no_credential_in_any_output_of_sessions_run_with_keys_set(catalog, tmp_path):
    data = session_dir(catalog, tmp_path)
    outs: list[str] = []
    paper = _run([MODE, "--paper", "--replay", START, "--replay", END], data)
    assert paper.returncode == 0, paper.stderr
    ex = Exchange(Path(catalog.data_dir), tmp_path)
    try:
        live = _run([MODE, "--live", "--exchange", str(ex.addr), "--replay", START, "--replay", END,
                     "--strategy-id", "s1"], data)
    finally:
        ex.close()
    assert live.returncode == 0, live.stderr
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer

    keys = {SECRETS[f"{v}_API_KEY"]: SECRETS[f"{v}_API_SECRET"] for v in ("BINANCE", "BYBIT")}
    with EmulatorServer(Replay(catalog, START, "2024-08-09"), keys) as srv:  # orders through the ccxt adapters
        ccxt_live = _run([MODE, "--live", "--emulator", srv.url, "--replay", START, "--replay", "2024-08-02",
                          "--strategy-id", "s2"], data)
        assert srv.emulator.replay.submissions  # the orders reached the emulator, signed with the keys
    assert ccxt_live.returncode == 0, ccxt_live.stderr
    refused = _run([MODE, "--live", "--replay", START, "--replay", END], data)  # no venue replaying it: refused
    assert refused.returncode == 2 and "LIVE-004" in refused.stderr
    bad = _run([MODE, "--paper", "--set", "live.emergency_stop_loss_pct=0"], data)
    assert bad.returncode == 2
    status = _run(["status", "--json"], data)
    assert status.returncode == 0 and "finished" in status.stdout
    for p in (paper, live, ccxt_live, refused, bad, status):
        outs += [p.stdout, p.stderr]
    text = _all_text(data, outs)
    assert "bybit.spot" in text and "heartbeat" in text  # the outputs are there and were read
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert leaked == []
