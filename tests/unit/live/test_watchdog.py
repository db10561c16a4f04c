"""The feed watchdog on the real LUNC book tickers (Gate.io perp stream with a 19.4 s silence), the
entry pause gate and the circuit breaker."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from basiskit.data.live_feed import LiveFeed
from basiskit.data.replay_source import EventListSource, book_tickers_from_csv
from basiskit.domain.orders import Operation, Order, Side
from basiskit.engine.live.driver import FastClock
from basiskit.engine.live.errors import CircuitBreakerTripped
from basiskit.engine.live.watchdog import CircuitBreaker, EntryPauseGate, FeedWatchdog
from basiskit.risk.gate import RiskGate

GATE = "GATEIO_FUTURES_LUNC_USDT_20251009_1615_20251011_1615.csv"
KEY = "perp.gateio.LUNCUSDT"


def _gate_ticks(source_dir: Path):
    return book_tickers_from_csv(source_dir / "ticks" / GATE, KEY)


def test_stale_lunc_feed_pauses_entries_within_limit_plus_one_second_and_resumes(source_dir):
    ticks = _gate_ticks(source_dir)
    gaps = sorted(((b.timestamp - a.timestamp, a.timestamp, b.timestamp) for a, b in zip(ticks, ticks[1:])), reverse=True)
    longest, silent_from, silent_to = gaps[0]
    assert 19.0e9 < longest < 20.0e9  # the data's real 19.4 s silence (README: ticks/)
    limit = 10.0
    silences = [(a, b) for g, a, b in gaps if g > limit * 1e9]  # the stream's silences above the limit
    assert len(silences) >= 2
    clock = FastClock(ticks[0].timestamp)
    feed = LiveFeed([ticks[-1].timestamp], EventListSource(ticks, received_at_stamp=True), [KEY], now_ns=clock.now_ns)
    events = []
    gate = EntryPauseGate(RiskGate([]))
    dog = FeedWatchdog({KEY: limit}, gate, events.append)
    poll = 0.25
    while clock.now_ns() < ticks[-1].timestamp + 1_000_000_000:
        now = clock.now_ns()
        feed.pump(now)
        dog.check(feed.ages(now), now, now)
        clock.sleep(poll)
    stale = [e for e in events if e.kind == "feed_stale"]
    fresh = [e for e in events if e.kind == "feed_fresh"]
    assert len(stale) == len(fresh)  # each pause resumed
    # a silence longer than the limit by more than one poll is always caught; one within a poll of the
    # limit only when a poll lands in it; no pause outside a silence longer than the limit
    sure = [(a, b) for a, b in silences if b - a > (limit + poll) * 1e9]
    assert len(sure) <= len(stale) <= len(silences)
    for s, f in zip(stale, fresh):
        a, b = next((a, b) for a, b in silences if a < s.data["wall_ns"] < b)
        assert a + limit * 1e9 < s.data["wall_ns"] <= a + (limit + 1.0) * 1e9  # within the limit + 1 s
        assert b <= f.data["wall_ns"] <= b + 1e9                                # resumes once data is fresh
        assert s.data["series"] == [KEY] and s.data["code"] == "LIVE-002"
    assert all(any(a < s.data["wall_ns"] < b for s in stale) for a, b in sure)
    assert (silent_from, silent_to) in silences  # the 19.4 s one among them
    assert not gate.paused


def _order(venue, op, side, amount=1.0, token="BTC"):
    return Order(op, venue, amount, token, side=side)


def test_paused_gate_lets_exits_through_only():
    gate = EntryPauseGate(RiskGate(["binance.perp"]))
    risk = SimpleNamespace(margin_ratios={})
    sizes = {("binance.perp", "BTC"): -1.0, ("bybit.spot", "BTC"): 0.0}
    entry = _order("binance.perp", Operation.PERP_TRADE, Side.SELL)       # grows the short
    exit_ = _order("binance.perp", Operation.PERP_TRADE, Side.BUY, 0.5)   # reduces it
    buy = _order("bybit.spot", Operation.SPOT_TRADE, Side.BUY)
    kept, evs = gate.review([entry, exit_, buy], risk, sizes, 0)
    assert kept == [entry, exit_, buy] and evs == []
    gate.paused = True
    kept, evs = gate.review([entry, exit_, buy], risk, sizes, 0)
    assert kept == [exit_]
    assert [e.kind for e in evs] == ["entries_paused"] and evs[0].data["dropped"] == 2


def _kernel(equities, net_deposits=0.0):
    events = []
    k = SimpleNamespace(recorder=SimpleNamespace(equity=[]), net_deposits=net_deposits,
                        feed=SimpleNamespace(state=SimpleNamespace(t=0)), publish=events.append)
    return k, events


def test_circuit_breaker_stops_at_the_stated_loss():
    b = CircuitBreaker(15.0)
    k, events = _kernel([])
    k.recorder.equity.append(100_000.0)
    b.check(k)
    k.recorder.equity.append(85_000.01)  # 14.99999 % down: goes on
    b.check(k)
    assert events == []
    k.recorder.equity.append(84_999.0)   # 15.001 % down
    with pytest.raises(CircuitBreakerTripped) as exc:
        b.check(k)
    assert exc.value.code == "LIVE-001"
    assert events[-1].kind == "circuit_breaker" and events[-1].data["loss_pct"] == pytest.approx(15.001)


def test_circuit_breaker_counts_deposits_in_the_baseline():
    b = CircuitBreaker(10.0)
    k, events = _kernel([])
    k.recorder.equity.append(100_000.0)
    b.check(k)
    k.net_deposits = 50_000.0            # a deposit is not a gain: equity 140k on a 150k baseline is -6.7 %
    k.recorder.equity.append(140_000.0)
    b.check(k)
    assert events == []
    k.recorder.equity.append(134_000.0)  # -10.67 %
    with pytest.raises(CircuitBreakerTripped):
        b.check(k)
    with pytest.raises(ValueError):
        CircuitBreaker(0.0)
