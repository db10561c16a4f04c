"""The run's order registry (engine/order_registry.py): ids, idempotent resubmission, look-ups."""

from __future__ import annotations

import dataclasses

import pytest

from basiskit.domain.order_state import OrderRecord, OrderStatus
from basiskit.domain.orders import Operation, Order, OrderType, Side
from basiskit.engine.order_registry import OrderRegistry
from basiskit.errors import DuplicateOrderId, SkipDecision


def order(cid: str | None = None, amount: float = 1.0, token: str = "BTC", venue: str = "binance.perp") -> Order:
    return Order(Operation.PERP_TRADE, venue, amount, token, side=Side.BUY, order_type=OrderType.LIMIT,
                 limit_price=100.0, client_order_id=cid)


def test_ids_are_assigned_deterministically_and_orders_submitted():
    a, b = OrderRegistry("run7"), OrderRegistry("run7")
    ids_a = [a.submit(order(), t).record.client_order_id for t in range(3)]
    ids_b = [b.submit(order(), t).record.client_order_id for t in range(3)]
    assert ids_a == ids_b == ["run7-1", "run7-2", "run7-3"]
    r = a.get("run7-2")
    assert r.status is OrderStatus.SUBMITTED and [h.status for h in r.history] == [OrderStatus.INITIALISED,
                                                                                   OrderStatus.SUBMITTED]
    assert r.order.limit_price == 100.0 and r.history[-1].ts == 1


def test_assigned_ids_skip_ids_the_caller_took():
    reg = OrderRegistry("s")
    reg.submit(order("s-1"), 0)
    reg.submit(order("s-3"), 0)
    assert [reg.submit(order(), 1).record.client_order_id for _ in range(3)] == ["s-2", "s-4", "s-5"]


def test_a_resubmitted_id_returns_the_existing_record_whatever_its_state():
    reg = OrderRegistry("s")
    first = reg.submit(order("mine"), 0)
    assert first.new
    first.record.accept(1)
    first.record.fill(2, 1.0, 99.0)
    again = reg.submit(order("mine"), 5)
    assert not again.new and again.record is first.record and again.record.status is OrderStatus.FILLED
    assert len(reg) == 1 and again.record.filled == 1.0
    # the reason is free text, not part of the order's identity
    assert not reg.submit(dataclasses.replace(order("mine"), reason="retry after timeout"), 6).new


def test_an_id_reused_for_a_different_order_is_refused():
    reg = OrderRegistry("s")
    reg.submit(order("mine"), 0)
    with pytest.raises(DuplicateOrderId, match="'mine' already names another order") as exc:
        reg.submit(order("mine", amount=2.0), 1)
    assert isinstance(exc.value, SkipDecision) and exc.value.code == "EXEC-005"
    assert reg.get("mine").order.amount == 1.0 and len(reg) == 1


def test_orders_without_ids_are_new_each_time():
    reg = OrderRegistry("s")
    assert reg.submit(order(), 0).new and reg.submit(order(), 0).new and len(reg) == 2


def test_lookups_open_orders_and_adopted_children():
    reg = OrderRegistry("s")
    btc = reg.submit(order(), 0).record
    eth = reg.submit(order(token="ETH"), 0).record
    spot = reg.submit(order(venue="binance.spot"), 0).record
    btc.accept(1)
    eth.reject(1, "no")
    assert reg.open_orders() == [btc, spot]
    assert reg.open_orders(token="BTC") == [btc, spot] and reg.open_orders(venue="binance.perp") == [btc]
    assert "s-1" in reg and "nope" not in reg and list(reg) == [btc, eth, spot]
    with pytest.raises(KeyError, match="unknown client order id 'nope'"):
        reg.get("nope")
    child = OrderRecord(order("s-1-tp-1"), 2)
    reg.adopt(child)
    reg.adopt(child)  # the same record again: nothing happens
    assert reg.get("s-1-tp-1") is child
    with pytest.raises(DuplicateOrderId):
        reg.adopt(OrderRecord(order("s-1-tp-1"), 3))


@pytest.mark.parametrize("prefix", ["", "a b"])
def test_the_prefix_is_a_word(prefix):
    with pytest.raises(ValueError, match="prefix"):
        OrderRegistry(prefix)
