"""The live store (write-ahead order journal, market-event recording) behaves the same in memory,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from basiskit.persistence.live_sql import SqlLiveStore
from basiskit.persistence.live_store import LiveOrderRecord, MarketEventRecord, MemoryLiveStore


@pytest.fixture(params=["memory", "sql"])
def store(request, db_url):
    if request.param == "memory":
        yield MemoryLiveStore()
        return
    s = SqlLiveStore(db_url)
    yield s
    s.close()


def _rec(cid, status, seq=1, t=10, **kw):
    return LiveOrderRecord(cid, "run-1", seq, t, "binance.perp", "perp_trade", "BTC", "sell", 0.5, status, **kw)


def test_orders_are_upserted_by_client_id_and_open_ones_listed(store):
    store.put_order("s1", _rec("a-1", "intent"))
    store.put_order("s1", _rec("a-2", "intent", seq=2, t=20))
    store.put_order("s2", _rec("a-1", "filled"))          # another strategy's journal
    store.put_order("s1", _rec("a-1", "submitted"))
    store.put_order("s1", _rec("a-1", "filled", filled=0.5, price=60_000.0, data={"fee": 1.5, "x": float("nan")}))
    rows = store.live_orders("s1")
    assert [(r.client_order_id, r.status) for r in rows] == [("a-1", "filled"), ("a-2", "intent")]
    assert rows[0].filled == 0.5 and rows[0].price == 60_000.0 and rows[0].data == {"fee": 1.5, "x": None}
    assert [r.client_order_id for r in store.live_orders("s1", open_only=True)] == ["a-2"]
    assert [r.status for r in store.live_orders("s2")] == ["filled"]


def test_market_events_round_trip_in_time_order(store):
    rows = [MarketEventRecord(k, t, t + 5, "bar", "perp.binance.BTCUSDT", {"open": float(k)})
            for k, t in enumerate([30, 10, 20])]
    store.add_market_events("run-1", rows)
    store.add_market_events("run-2", [MarketEventRecord(0, 15, 16, "funding_rate", "funding.binance.BTCUSDT",
                                                        {"rate": 1e-4, "mark": 1.0})])
    got = store.market_events("run-1")
    assert [r.timestamp for r in got] == [10, 20, 30] and got[0].data == {"open": 1.0}
    assert [r.timestamp for r in store.market_events(start_ns=15, end_ns=20)] == [15, 20]
    assert len(store.market_events()) == 4


def test_save_step_replaces_state_and_positions_and_appends_the_events(store):
    from basiskit.persistence.records import PositionRecord

    ev = [MarketEventRecord(0, 10, 11, "bar", "perp.binance.BTCUSDT", {"close": 1.5, "volume": float("inf")})]
    store.save_step("s1", {"step": 1, "x": float("nan")}, [PositionRecord("binance.perp", "BTC", -0.5),
                                                          PositionRecord("bybit.perp", "BTC", 0.5)], "run-1", ev)
    store.save_step("s1", {"step": 2}, [PositionRecord("binance.perp", "BTC", -0.25)], "run-1",
                    [MarketEventRecord(1, 20, 21, "bar", "perp.binance.BTCUSDT", {"close": 2.0})])
    store.save_step("s2", {"other": True}, [], "run-2", [])
    assert store.load_state("s1") == {"step": 2} and store.load_state("s2") == {"other": True}
    assert store.positions("s1") == [PositionRecord("binance.perp", "BTC", -0.25)] and store.positions("s2") == []
    got = store.market_events("run-1")
    assert [(r.seq, r.data) for r in got] == [(0, {"close": 1.5, "volume": None}), (1, {"close": 2.0})]


def test_transfers_are_appended(store):
    from basiskit.persistence.records import TransferRecord

    rows = [TransferRecord("s1", 10, "transfer", "USDT", 100.0, "binance.spot", "binance.perp", "pending", "run-1"),
            TransferRecord("s1", 20, "transfer", "USDT", 100.0, "binance.spot", "binance.perp", "arrived", "run-1")]
    store.add_transfers(rows[:1])
    store.add_transfers(rows[1:])
    store.add_transfers([TransferRecord("s2", 5, "deposit", "USDT", 1.0)])
    assert store.transfers("s1") == rows and len(store.transfers()) == 3
