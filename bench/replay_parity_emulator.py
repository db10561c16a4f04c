"""Replay parity through the exchange emulator over a month: a paper btc_basis session whose market
data are the emulator's websocket streams (ccxt feed -> StreamSource -> LiveFeed), on the emulator's
clock (step mode, advanced once the session has stepped), against the backtest of the same hours.
Prints the number of orders, whether they are identical (sequence, amounts, prices, outcomes), the
largest equity difference over the steps and the final equities; exit code 1 when they differ.

    python bench/replay_parity_emulator.py [--first 2024-08-01T01:00:00Z] [--end 2024-09-01T00:00:00Z]

(The same check over 47 hours is the test tests/integration/test_live_emulator_paper.py; a month takes
minutes: every step waits for the streams' messages.)
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import ccxt.pro as ccxtpro

from basiskit.data.catalog import Catalog, resolve_source_dir
from basiskit.data.live.stream_source import StreamSource, streams_for
from basiskit.data.live_feed import LiveFeed
from basiskit.domain.time import ns_to_iso, to_ns
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import BacktestRequest, prepare, run_backtest
from basiskit.engine.live.driver import EmulatorClock
from basiskit.engine.live.runner import LiveOptions, run_live
from basiskit.engine.live.session import feed_keys, funding_intervals
from basiskit.persistence.live_store import MemoryLiveStore
from basiskit.strategies.registry import build_strategy


def rows(trades):
    return [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.amount,
             t.status.value, t.executed_amount, t.price) for t in trades]


def main() -> int:
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer, ccxt_config

    ap = argparse.ArgumentParser()
    ap.add_argument("--first", default="2024-08-01T01:00:00Z")
    ap.add_argument("--end", default="2024-09-01T00:00:00Z")
    a = ap.parse_args()
    catalog = Catalog(Path(tempfile.gettempdir()) / "basiskit-bench-home", resolve_source_dir(None))
    catalog.ensure_imported()
    req = BacktestRequest("btc_basis", a.first, a.end, 100_000.0)
    backtest = run_backtest(req, catalog)
    config, clock = prepare(req)
    grid = [int(t) for t in clock.grid()]
    strategy = build_strategy(config)
    specs = series_specs(strategy.requirements(), set(catalog.dataset_ids()))
    keys, funding = feed_keys(specs), [s.key for s in specs if s.kind == "funding"]
    key, secret = "b-" + secrets.token_hex(6), secrets.token_hex(16)
    start = ns_to_iso(grid[0] - 3_600_000_000_000)
    t0 = time.perf_counter()
    with EmulatorServer(Replay(catalog, start, ns_to_iso(grid[-1] + 86_400_000_000_000)), {key: secret}) as srv:
        def client(venue):
            cfg = ccxt_config(venue, srv.url)
            return lambda: getattr(ccxtpro, venue)({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"],
                                                    "apiKey": key, "secret": secret})
        streams = streams_for(keys, funding)
        source = StreamSource({v: client(v) for v in streams}, streams)
        vclock = EmulatorClock(srv.url)
        feed = LiveFeed(grid, source, keys, funding_intervals(specs, config.venues), now_ns=vclock.now_ns)
        out: dict = {}

        def run() -> None:
            try:
                out["r"] = run_live(config, strategy, feed, 100_000.0, MemoryLiveStore(), "parity", "parity",
                                    LiveOptions("paper", 5400.0, 15.0, 3600.0, 0.05, 0.0, 0.3),
                                    now_ns=vclock.now_ns, sleep=vclock.sleep)
            except BaseException as exc:  # noqa: BLE001
                out["e"] = exc

        time.sleep(1.0)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        for i, t in enumerate(grid):
            srv.advance(to_ns=t)
            deadline = time.monotonic() + 60
            while th.is_alive() and feed.state.step < i and time.monotonic() < deadline:
                time.sleep(0.02)
        th.join(120)
        source.close()
    if "e" in out:
        raise out["e"]
    sim = out["r"].sim
    bt, live = rows(backtest.loop.trades), rows(sim.loop.trades)
    diffs = [abs(x - y) for x, y in zip(sim.loop.equity, backtest.loop.equity)]
    same = bt == live and len(sim.loop.equity) == len(backtest.loop.equity)
    print(f"btc_basis {a.first} .. {a.end}: {len(grid)} steps in {time.perf_counter() - t0:.0f} s through the emulator")
    print(f"orders: backtest {len(bt)}, paper session {len(live)}, identical (sequence, amounts, prices): {bt == live}")
    print(f"final equity: backtest {backtest.loop.equity[-1]!r}, paper {sim.loop.equity[-1]!r}, "
          f"difference {sim.loop.equity[-1] - backtest.loop.equity[-1]:.3e}; largest per-step difference {max(diffs):.3e}")
    print(f"market events received and recorded: {out['r'].events_recorded}")
    return 0 if same and max(diffs) <= 1e-9 * backtest.loop.equity[0] else 1


if __name__ == "__main__":
    sys.exit(main())
