"""The orders on their way in a latency book (venues/sim/latency_book.py) survive a trip through JSON
(what a session's stored book keeps, engine/live/recovery.py): a fresh book given ``in_flight()`` of
another executes them at their own due step, at the book then, as the original would have; an order
the book would refuse, or a stored order with an unknown field or enum value, is an error naming it."""

from __future__ import annotations

import json

import pytest

from basiskit.data.market_state import MarketState
from basiskit.domain.order_state import OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order, OrderType, Side, TimeInForce, order_from_json, order_to_json
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.sim.latency_book import LatencyBook

MS = 1_000_000


def _order(cid: str, side: Side = Side.BUY, token: str = "LUNC", limit: float = 4e-5) -> Order:
    return Order(Operation.SPOT_TRADE, "mexc.spot", 1000.0, token, side=side, order_type=OrderType.LIMIT,
                 limit_price=limit, time_in_force=TimeInForce.IOC, client_order_id=cid, reason="spread_entry")


def _book(state: MarketState, fills: list) -> LatencyBook:
    def fill(trig, order):  # the venue's booking: a taker fill at the trigger's price, what the test records
        fills.append((trig.client_order_id, trig.ts, trig.price, trig.quantity))
        return Trade(order, trig.ts, TradeStatus.FILLED, trig.quantity, trig.price)

    return LatencyBook("mexc.spot", Operation.SPOT_TRADE, state, {"LUNC": "S"}, 50 * MS, fill, lambda: None)


def test_order_json_round_trip_and_errors():
    o = _order("desk-a1-7")
    back = order_from_json(json.loads(json.dumps(order_to_json(o))))
    assert back == o and back.reason == "spread_entry" and back.time_in_force is TimeInForce.IOC
    with pytest.raises(ValueError, match="time_in_force 'FOK!'"):
        order_from_json({**order_to_json(o), "time_in_force": "FOK!"})
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        order_from_json({**order_to_json(o), "colour": "red"})


def test_a_fresh_book_given_the_stored_orders_executes_them_at_their_due_step():
    state = MarketState()
    state.px.update({"S": 3.7e-5, "S.bid": 3.69e-5, "S.ask": 3.71e-5})
    first: list = []
    book = _book(state, first)
    for k, (cid, side) in enumerate((("desk-a1-1", Side.BUY), ("desk-a1-2", Side.SELL))):
        state.t = k * 10 * MS  # placed at 0 and 10 ms: due at 50 and 60 ms
        rec = OrderRecord(_order(cid, side, limit=4e-5 if side is Side.BUY else 3e-5), state.t)
        rec.submit(state.t)
        book.place(rec)
    rows = json.loads(json.dumps(book.in_flight()))
    assert [r[:2] for r in rows] == [[50 * MS, 0], [60 * MS, 10 * MS]]

    second: list = []
    fresh = _book(state, second)
    restored = fresh.restore_in_flight(rows)
    assert fresh.active and [r.status for r in restored] == [OrderStatus.ACCEPTED] * 2
    assert [r.client_order_id for r in fresh.open_orders()] == ["desk-a1-1", "desk-a1-2"]
    for t, ask, bid in ((40 * MS, 3.8e-5, 3.6e-5), (55 * MS, 3.72e-5, 3.68e-5), (70 * MS, 3.73e-5, 3.67e-5)):
        state.t = t
        state.px.update({"S.ask": ask, "S.bid": bid})
        for b in (book, fresh):
            b.on_open()
    # the buy met the venue at 55 ms (the first step at or after 50 ms) at the ask then, the sell at 70 ms at the bid
    assert second == first == [("desk-a1-1", 55 * MS, 3.72e-5, 1000.0), ("desk-a1-2", 70 * MS, 3.67e-5, 1000.0)]
    assert [r.status for r in restored] == [OrderStatus.FILLED] * 2 and not fresh.active


def test_a_stored_order_the_book_would_refuse_is_an_error_naming_it():
    state = MarketState()
    rows = [[50 * MS, 0, order_to_json(_order("desk-a1-9", token="BTC"))]]
    with pytest.raises(ValueError, match="desk-a1-9"):
        _book(state, []).restore_in_flight(rows)
