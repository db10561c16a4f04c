"""The components of stateful strategies: the position manager (fills -> signed positions; saved to and
loaded from the store's ``strategy_positions``) and the state managers (in memory; store-backed through
the ``RunStore`` protocol -- here ``MemoryRunStore``; the SQL store passes the same protocol contract)."""

from __future__ import annotations

import json

import pytest

from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.persistence import MemoryRunStore, PositionRecord
from basiskit.strategies.categories.stateful import StatefulStrategy, StrategyComponents
from basiskit.strategies.components import (InMemoryStateManager, PositionManager, StoreStateManager)


def fill(account: str, token: str, side: Side, amount: float, status=TradeStatus.FILLED,
         op=Operation.PERP_TRADE) -> Trade:
    return Trade(Order(op, account, amount, token, side), 0, status, executed_amount=amount if status is TradeStatus.FILLED else 0.0,
                 price=100.0)


def test_positions_follow_fills_and_ignore_everything_else():
    pm = PositionManager("s1")
    pm.on_event(fill("binance.perp", "BTC", Side.SELL, 0.5))
    pm.on_event(fill("binance.perp", "BTC", Side.BUY, 0.2))
    pm.on_event(fill("binance.perp", "BTC", Side.BUY, 9.0, status=TradeStatus.REJECTED))  # not a fill
    pm.on_event(fill("bybit.spot", "ETH", Side.BUY, 2.0, op=Operation.SPOT_TRADE))
    pm.on_event(Trade(Order(Operation.TRANSFER, "wallet", 50.0, "USDT", to_venue="binance.perp"), 0,
                      TradeStatus.FILLED, executed_amount=50.0))  # a transfer is no position
    assert pm.size("binance.perp", "BTCUSDT") == pytest.approx(-0.3, abs=1e-12)
    assert pm.size("bybit.spot", "ETHUSDT") == 2.0
    assert pm.size("okx.perp", "BTCUSDT") == 0.0
    pm.apply_fill("bybit.spot", "ETHUSDT", -2.0)  # flat positions disappear
    assert pm.all() == {("binance.perp", "BTCUSDT"): pytest.approx(-0.3, abs=1e-12)}


def test_positions_round_trip_through_the_store_and_json():
    store = MemoryRunStore()
    pm = PositionManager("grid-a", store=store)
    pm.apply_fill("binance.perp", "BTCUSDT", 0.25)
    pm.apply_fill("bybit.perp", "ETHUSDT", -3.0)
    pm.save(run_id="r1")
    assert store.positions("grid-a") == [PositionRecord("binance.perp", "BTCUSDT", 0.25),
                                         PositionRecord("bybit.perp", "ETHUSDT", -3.0)]
    assert store.positions("other") == []
    again = PositionManager("grid-a", store=store)
    again.load()
    assert again.all() == pm.all()
    fresh = PositionManager("x")
    fresh.restore(json.loads(json.dumps(pm.snapshot())))
    assert fresh.all() == pm.all()
    with pytest.raises(ValueError, match="expected \\[account, instrument, size\\]"):
        fresh.restore([["a", "b"]])
    with pytest.raises(ValueError, match="no store"):
        PositionManager("y").save()
    with pytest.raises(ValueError, match="no store"):
        PositionManager("y").load()
    with pytest.raises(ValueError, match="non-empty"):
        PositionManager("")


class FakeCtx:
    def __init__(self, sizes):
        self.sizes = sizes

    def perp_size(self, account, token):
        return self.sizes.get((account, token), 0.0)


def test_reconcile_reports_a_venue_that_disagrees():
    pm = PositionManager("s")
    pm.apply_fill("binance.perp", "BTCUSDT", -1.0)
    assert pm.reconcile(FakeCtx({("binance.perp", "BTC"): -1.0})) == {}
    assert pm.reconcile(FakeCtx({("binance.perp", "BTC"): -0.9})) == {("binance.perp", "BTCUSDT"): (-1.0, -0.9)}


def test_state_managers():
    mem = InMemoryStateManager()
    mem.set("pairs", [{"long": "binance", "short": "bybit", "entry_spread": 0.0003}])
    assert mem.dirty
    got = mem.get("pairs")
    got[0]["long"] = "okx"  # a copy: the state does not change
    assert mem.get("pairs")[0]["long"] == "binance"
    with pytest.raises(TypeError, match="'bad'"):
        mem.set("bad", {1, 2})
    with pytest.raises(TypeError, match="not JSON-able"):
        mem.set("nan", float("nan"))
    with pytest.raises(TypeError, match="keys are strings"):
        mem.set(3, 1)  # type: ignore[arg-type]
    mem.delete("pairs")
    assert mem.get_all() == {} and mem.load() is False

    store = MemoryRunStore()
    sm = StoreStateManager(store, "fa-1", run_id="r9")
    assert sm.load() is False
    sm.set("switches", 3)
    sm.save()
    assert not sm.dirty and store.load_state("fa-1") == {"switches": 3}
    other = StoreStateManager(store, "fa-1")
    assert other.load() is True and other.get("switches") == 3
    with pytest.raises(ValueError):
        StoreStateManager(store, "")


class Toy(StatefulStrategy):
    def requirements(self):  # pragma: no cover - not run
        raise NotImplementedError


def test_a_stateful_strategy_snapshots_its_components():
    store = MemoryRunStore()
    comps = StrategyComponents("toy", state=StoreStateManager(store, "toy"), positions=PositionManager("toy", store))
    s = Toy(None, comps)
    s.state.set("phase", "open")
    s.on_event(fill("binance.perp", "BTC", Side.SELL, 1.0))
    snap = json.loads(json.dumps(s.snapshot()))
    assert snap == {"state": {"phase": "open"}, "positions": [["binance.perp", "BTCUSDT", -1.0]]}
    t = Toy(None)
    t.restore(snap)
    assert t.snapshot() == snap
    with pytest.raises(ValueError, match="unknown strategy state keys"):
        t.restore({"phase": 1})
    t.use_components(StrategyComponents("other"))
    assert t.snapshot() == {"state": {}, "positions": []}
