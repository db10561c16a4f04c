"""Helpers shared by the kill-anywhere tests (``tests/integration/test_live_kill_anywhere*.py``): a
session's data folder on the test session's catalog, its store and event logs, the environment of a
``basiskit live`` subprocess with a crash point, and the crash points read from a reference journal."""

from __future__ import annotations

import json
import os
from pathlib import Path

from basiskit.persistence.live_sql import SqlLiveStore


def session_dir(catalog, folder: Path) -> Path:
    """A ``--data-dir`` in ``folder`` whose catalog is the test session's (a symlink, nothing copied)."""
    d = folder / "home"
    d.mkdir()
    (d / "catalog").symlink_to(Path(catalog.data_dir) / "catalog")
    return d


def session_store(data: Path) -> SqlLiveStore:
    return SqlLiveStore(f"sqlite:///{data / 'basiskit.db'}")


def session_events(data: Path) -> list[dict]:
    """Every event line the sessions in ``data`` wrote, as dicts."""
    rows = []
    for f in (data / "live").glob("*/events/*_events.jsonl"):
        rows += [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
    return rows


def runner_env(crash: str | None, **extra: str) -> dict:
    """This process's environment for a ``basiskit live`` subprocess: no inherited crash point or database
    URL, ``BASISKIT_LIVE_CRASH_AT=crash`` when given, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("BASISKIT_LIVE_CRASH_AT", "BASISKIT_DATABASE_URL")}
    env.update(extra)
    if crash:
        env["BASISKIT_LIVE_CRASH_AT"] = crash
    return env


def order_points(journal) -> dict[str, str]:
    """The crash points of an order's and a transfer's life in a reference session's ``journal`` (its
    ``live_orders`` rows in order): before submitting the first order, after submitting the second
    before its answer, after the third's answer before it is stored, after the first leg of the first
    multi-leg rebalance is stored, and after a transfer that arrives later is stored (pending)."""
    by_t: dict[int, list] = {}
    for r in journal:
        by_t.setdefault(r.timestamp, []).append(r)
    times = sorted(by_t)
    rebalance = next(t for t in times if t > times[0] and len(by_t[t]) >= 2)
    first_leg = 1 + journal.index(by_t[rebalance][0])
    transfer = 1 + next(k for k, r in enumerate(journal) if r.operation == "transfer" and r.status == "arrived")
    return {"before_submit": "before_submit:1", "after_submit": "after_submit:2", "after_ack": "after_ack:3",
            "mid_rebalance": f"after_store:{first_leg}", "transfer_pending": f"after_store:{transfer}"}
