"""Replay parity on the LUNC book tickers: a paper session of a signal mode on the exchange emulator's
streams makes the tick backtest's orders.

The emulator replays four recorded minutes of MEXC spot (as Binance spot LUNC/USDT) and Gate.io perp
(as Binance USDT-M LUNCUSDT) book tickers in manual mode: the test sends the recorded updates one
venue millisecond at a time and waits until the session has received them (deterministic and fast,
not real time). The session takes them through ccxt.pro's own ``binance`` class (websocket streams,
``data.live.ccxt_feed``, ``StreamSource``) into a ``TickLiveFeed``: each book ticker received is a
kernel step, the fills are the tick backtest's simulators (``BookSpot`` / ``BookPerp``, 50 ms latency).
Compared with ``run_backtest`` of the same period on the catalog: the same orders (sequence, venues,
sides, amounts, prices, outcomes: trades and order status changes), the same step times (the venue's
millisecond stamps of the recorded times) and the same equity at every step, to 1e-9. The session's
recording, replayed from the store, makes its orders again.

The comparison can fail: the same backtest with one update dropped, or two neighbouring updates
swapped, has other step times and other equity (checked below), so a session that lost or
reordered an update would not pass."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import replace

import numpy as np

from basiskit.data.book_frame import align_books
from basiskit.data.live.ccxt_feed import Stream
from basiskit.data.live.stream_source import StreamSource
from basiskit.data.tick_live_feed import TickLiveFeed
from basiskit.engine.backtest import BacktestRequest, prepare, run_backtest
from basiskit.data.replay_source import EventListSource
from basiskit.engine.live.runner import LiveOptions, run_live
from basiskit.live_ticks import recorded_book_tickers
from basiskit.engine.tick_backtest import load_streams, simulate_ticks
from basiskit.persistence.live_store import MemoryLiveStore
from basiskit.strategies.registry import build_strategy

MODE = "signal_reverse_delta_neutral"
START, END = "2025-10-11T04:36:33Z", "2025-10-11T04:40:33Z"  # in the two recordings' 93-minute overlap
OVERRIDES = {"warmup_events": 50}  # four minutes are ~600 events: a shorter warm-up lets it trade in them
CAPITAL = 100_000.0
NS_MS = 1_000_000


def _trades(loop) -> list:
    return [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.amount,
             t.order.limit_price, t.status.value, t.executed_amount, t.price) for t in loop.trades]


def _statuses(loop) -> list:
    return [(e.component, e.status, e.reason, e.quantity, e.price) for e in loop.events if e.kind == "order_status"]


def test_paper_session_on_the_emulators_lunc_ticks_makes_the_tick_backtests_orders(catalog):
    import ccxt.pro as ccxtpro

    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer, ccxt_config
    from basiskit.emulator.ticks import TickReplay, TickStream

    req = BacktestRequest(MODE, START, END, CAPITAL, overrides=OVERRIDES)
    backtest = run_backtest(req, catalog)
    config, clock = prepare(req)
    spot, perp = load_streams(config, catalog, clock.start_ns, clock.end_ns)
    ms = np.sort(np.concatenate([spot.ts, perp.ts]) // NS_MS)
    n = ms.size
    assert n == len(backtest.loop.times) and n > 300
    assert (np.diff(ms) > 0).all()  # no two updates share a venue millisecond: the replay's order is the recording's

    ticks = TickReplay([TickStream("binance.spot", "LUNC", spot), TickStream("binance.perp", "LUNC", perp)])
    key, secret = "t-" + secrets.token_hex(6), secrets.token_hex(16)
    with EmulatorServer(Replay(catalog, "2024-03-01", "2024-03-02"), {key: secret}, ticks=ticks) as srv:
        cfg = ccxt_config("binance", srv.url)
        source = StreamSource({"binance": lambda: ccxtpro.binance({**cfg["ccxt"], "urls": cfg["urls"],
                                                                   "options": cfg["options"]})},
                              {"binance": [Stream("binance", "spot", "LUNC"), Stream("binance", "perp", "LUNC")]})
        feed = TickLiveFeed(source, {"spot.binance.LUNCUSDT": config.spot_dataset,
                                     "perp.binance.LUNCUSDT": config.perp_dataset}, n)
        store = MemoryLiveStore()
        out: dict = {}

        def run() -> None:
            try:
                out["result"] = run_live(config, build_strategy(config), feed, CAPITAL, store, "lunc", "lunc-run",
                                         LiveOptions("paper", 600.0, 15.0, 60.0, 0.05, 0.0))
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                out["error"] = exc

        try:
            deadline = time.monotonic() + 20
            while len(srv.emulator.streams.subs) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)  # both book-ticker streams subscribed
            assert len(srv.emulator.streams.subs) == 2
            th = threading.Thread(target=run, daemon=True)
            th.start()
            for k, t_ms in enumerate(ms.tolist()):  # one venue millisecond at a time, once the last one arrived
                assert srv.advance_ticks((t_ms + 1) * NS_MS)["ticks_sent"] == 1  # the update stamped in t_ms
                deadline = time.monotonic() + 10
                while feed.events_received <= k and th.is_alive() and time.monotonic() < deadline:
                    time.sleep(0.0005)
                assert "error" not in out, out.get("error")
                assert feed.events_received == k + 1, (k, feed.events_received)
            th.join(30)
            assert not th.is_alive(), f"the session is still waiting: {feed.state.step + 1} of {n} updates stepped"
        finally:
            source.close()
    assert "error" not in out, out.get("error")
    session = out["result"]
    sim = session.sim
    assert session.driver.steps_done == n and feed.late_events == 0
    bt = _trades(backtest.loop)
    assert len(bt) >= 5  # the strategy trades in the window
    assert _trades(sim.loop) == bt  # the same orders: sequence, venues, sides, amounts, limits, outcomes, prices
    assert _statuses(sim.loop) == _statuses(backtest.loop)
    assert list(sim.loop.times) == [t // NS_MS * NS_MS for t in backtest.loop.times]  # every update, in order
    eq_bt = np.asarray(backtest.loop.equity)
    eq = np.asarray(sim.loop.equity)
    assert abs(eq[-1] - eq_bt[-1]) <= 1e-9 * eq_bt[-1]
    assert np.all(np.abs(eq - eq_bt) <= 1e-9 * eq_bt)  # every step
    # the session recorded every update it received, under the datasets' keys: replayed from the store
    # (BASIS_DATA_MODE=db's reader), the same strategy makes the session's orders again
    assert session.events_recorded == n
    recorded = recorded_book_tickers(config, None, store, "db", clock.start_ns, clock.end_ns)
    assert len(recorded) == n
    ident = {k: k for k in (config.spot_dataset, config.perp_dataset)}
    again = run_live(config, build_strategy(config), TickLiveFeed(EventListSource(recorded), ident, n), CAPITAL,
                     MemoryLiveStore(), "again", "again", LiveOptions("paper", 600.0, 15.0, 60.0, 0.05, 0.0))
    assert _trades(again.sim.loop) == bt and list(again.sim.loop.equity) == list(sim.loop.equity)

    # each step's update is the recording's, in its order, with its exact prices and sizes
    frame = align_books([spot, perp])
    rows = {s.key: s for s in (spot, perp)}
    pos = {k: 0 for k in rows}
    want = []
    for k in frame.src.tolist():
        key = frame.keys[k]
        r, j = rows[key], pos[key]
        pos[key] = j + 1
        want.append((int(r.ts[j]) // NS_MS * NS_MS, key, float(r.bid[j]), float(r.bid_size[j]), float(r.ask[j]),
                     float(r.ask_size[j])))
    assert [(e.timestamp, e.key, e.bid, e.bid_size, e.ask, e.ask_size) for e in feed.events] == want

    # the outcome checks alone can fail too: one update dropped (other steps), or two neighbouring perp
    # updates swapped while the position is open (other equity), and the backtest is not the session's
    tr = backtest.loop.trades  # (spot, perp) legs of an entry, then of its exit
    held = max(((tr[i].timestamp, tr[i + 2].timestamp) for i in range(0, len(tr) - 2, 4)), key=lambda w: w[1] - w[0])
    mid = perp.bid + perp.ask
    j = next(j for j in range(len(perp) - 1) if held[0] < perp.ts[j] and perp.ts[j + 1] < held[1] and mid[j] != mid[j + 1])
    for bad in ([_drop(spot, len(spot) // 2), perp], [spot, _swap(perp, j)]):
        other = simulate_ticks(config, build_strategy(config), align_books(bad), CAPITAL)
        assert (list(other.loop.times) != list(backtest.loop.times)
                or not np.allclose(np.asarray(other.loop.equity), eq_bt, rtol=1e-9, atol=0.0))


_COLS = ("bid", "bid_size", "ask", "ask_size")


def _drop(series, j: int):
    """``series`` without its update ``j``."""
    keep = np.ones(len(series), dtype=bool)
    keep[j] = False
    return replace(series, **{f: getattr(series, f)[keep] for f in ("ts", "line") + _COLS})


def _swap(series, j: int):
    """``series`` with updates ``j`` and ``j + 1`` delivered in each other's place (times kept)."""
    idx = np.arange(len(series))
    idx[[j, j + 1]] = idx[[j + 1, j]]
    return replace(series, **{f: getattr(series, f)[idx] for f in _COLS})
