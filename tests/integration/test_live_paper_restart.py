"""A paper session killed (SIGKILL) in the middle of a rebalance and restarted with the same strategy id:
its venue is its own simulator, so it resumes from the last stored step -- the book as stored, the
strategy restored, the interrupted step's orders voided (written as events) -- and finishes hedged."""

from __future__ import annotations

import json
import os
import subprocess

from basiskit.persistence.live_sql import SqlLiveStore

from livekill import session_dir
from test_live_kill_anywhere import BIN, END, MODE, START


def _run(data, crash=None):
    env = {k: v for k, v in os.environ.items() if k not in ("BASISKIT_LIVE_CRASH_AT", "BASISKIT_DATABASE_URL")}
    if crash:
        env["BASISKIT_LIVE_CRASH_AT"] = crash
    return subprocess.run([str(BIN), "live", MODE, "--paper", "--replay", START, "--replay", END, "--data-dir",
                           str(data), "--strategy-id", "p"], env=env, capture_output=True, text=True, timeout=300)


def test_paper_session_killed_mid_rebalance_resumes_from_its_stored_book(catalog, tmp_path):
    data = session_dir(catalog, tmp_path)
    killed = _run(data, "after_store:9")  # the 9th order: inside a re-target after the entry
    assert killed.returncode == -9, killed.stderr[-2000:]
    store = SqlLiveStore(f"sqlite:///{data / 'basiskit.db'}")
    saved = store.load_state("p")
    before = store.live_orders("p")
    store.close()
    assert saved is not None and len(before) == 9
    late = [r.client_order_id for r in before if r.timestamp > saved["t"]]  # the interrupted step's orders
    assert late
    done = _run(data)
    assert done.returncode == 0, done.stderr[-3000:]
    store = SqlLiveStore(f"sqlite:///{data / 'basiskit.db'}")
    journal = {r.client_order_id: r for r in store.live_orders("p")}
    book = store.load_state("p")
    store.close()
    assert all(journal[c].status == "void" for c in late)
    assert not [r for r in journal.values() if r.is_open]
    events = []
    for f in (data / "live").glob("*/events/*_events.jsonl"):
        events += [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
    kinds = [e["kind"] for e in events]
    assert kinds.count("recovery_paper_order_voided") == len(late)
    assert "recovery_strategy_restored" in kinds
    adopted = [e for e in events if e["kind"] == "recovery_adopted"]
    assert adopted and adopted[-1]["source"] == "stored book"
    spot = book["balances"]["bybit.spot|BTC"]
    shorts = sum(v[0] for k, v in book["positions"].items())
    assert spot > 0 and abs(spot + shorts) <= 0.01 * spot  # hedged at the end
    assert book["t"] > saved["t"]
