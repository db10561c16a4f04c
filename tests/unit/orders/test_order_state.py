"""The order state table (domain/order_state.py) and OrderRecord."""

from __future__ import annotations

import itertools

import pytest

from basiskit.domain.order_state import (QTY_RTOL, TERMINAL, TRANSITIONS, IllegalTransition, OrderRecord, OrderStatus,
                                         is_legal, transition)
from basiskit.domain.orders import Operation, Order, Side
from basiskit.errors import SkipDecision, lookup

S = OrderStatus
LEGAL = {(a, b) for a, nxt in TRANSITIONS.items() for b in nxt}
EXPECTED = {
    (S.INITIALISED, S.SUBMITTED), (S.INITIALISED, S.REJECTED), (S.INITIALISED, S.CANCELLED),
    (S.SUBMITTED, S.ACCEPTED), (S.SUBMITTED, S.REJECTED), (S.SUBMITTED, S.CANCELLED),
    (S.ACCEPTED, S.PARTIALLY_FILLED), (S.ACCEPTED, S.FILLED), (S.ACCEPTED, S.CANCELLED), (S.ACCEPTED, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED), (S.PARTIALLY_FILLED, S.FILLED), (S.PARTIALLY_FILLED, S.CANCELLED),
    (S.PARTIALLY_FILLED, S.EXPIRED),
}


def order(amount: float = 1.0, cid: str | None = "c1") -> Order:
    return Order(Operation.PERP_TRADE, "binance.perp", amount, "BTC", side=Side.BUY, client_order_id=cid)


def accepted(amount: float = 1.0) -> OrderRecord:
    r = OrderRecord(order(amount), 0)
    r.submit(1)
    r.accept(2)
    return r


def test_the_table_is_exactly_the_documented_one():
    assert set(TRANSITIONS) == set(OrderStatus)
    assert LEGAL == EXPECTED
    assert TERMINAL == {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}


@pytest.mark.parametrize("a,b", sorted(EXPECTED, key=lambda ab: (ab[0].value, ab[1].value)))
def test_every_legal_transition_is_allowed(a, b):
    assert is_legal(a, b) and transition(a, b) is b


@pytest.mark.parametrize("a,b", sorted(set(itertools.product(OrderStatus, OrderStatus)) - EXPECTED,
                                       key=lambda ab: (ab[0].value, ab[1].value)))
def test_every_other_transition_is_refused(a, b):
    assert not is_legal(a, b)
    with pytest.raises(IllegalTransition, match=f"{a.value} -> {b.value}"):
        transition(a, b, client_order_id="x")


def test_illegal_transition_is_a_skip_with_its_code():
    e = IllegalTransition("no")
    assert isinstance(e, SkipDecision) and e.code == "EXEC-004" and lookup("EXEC-004").policy.value == "skip"
    assert e.to_dict()["resolution"].startswith("the change is refused")


def test_nothing_leaves_a_terminal_status():
    for t in TERMINAL:
        assert TRANSITIONS[t] == frozenset()
        with pytest.raises(IllegalTransition, match="terminal"):
            transition(t, S.ACCEPTED)


# ---- OrderRecord -------------------------------------------------------------------------------

def test_a_record_needs_an_id_and_starts_initialised():
    with pytest.raises(ValueError, match="client_order_id"):
        OrderRecord(order(cid=None), 0)
    r = OrderRecord(order(), 5)
    assert r.status is S.INITIALISED and r.history[0] == (5, S.INITIALISED, 0.0, None, "")
    assert r.filled == 0.0 and r.remaining == 1.0 and r.avg_price is None and not r.is_open and not r.is_terminal


def test_partial_fills_then_complete_with_average_price_and_history():
    r = accepted(2.0)
    assert r.is_open
    c = r.fill(10, 0.5, 100.0, "first")
    assert c.status is S.PARTIALLY_FILLED and c.quantity == 0.5 and c.price == 100.0 and c.reason == "first"
    r.fill(11, 0.5, 102.0)
    assert r.status is S.PARTIALLY_FILLED and r.filled == 1.0 and r.remaining == 1.0
    r.fill(12, 1.0, 104.0)
    assert r.status is S.FILLED and r.filled == 2.0 and r.remaining == 0.0 and r.is_terminal
    assert r.avg_price == pytest.approx((50 + 51 + 104) / 2.0)
    assert [h.status for h in r.history] == [S.INITIALISED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED,
                                             S.PARTIALLY_FILLED, S.FILLED]
    assert [h.ts for h in r.history] == [0, 1, 2, 10, 11, 12]


def test_float_dust_completes_the_order_and_overfill_is_refused():
    r = accepted(0.3)
    r.fill(3, 0.1, 10.0)
    r.fill(4, 0.1, 10.0)
    assert r.status is S.PARTIALLY_FILLED
    r.fill(5, 0.1, 10.0)  # 0.1 + 0.1 + 0.1 != 0.3 in floats
    assert r.status is S.FILLED and r.filled == 0.3 and r.remaining == 0.0
    r = accepted(1.0)
    r.fill(3, 0.6, 10.0)
    with pytest.raises(IllegalTransition, match="overfill"):
        r.fill(4, 0.4 + 1e-6, 10.0)
    assert r.status is S.PARTIALLY_FILLED and r.filled == 0.6 and len(r.history) == 4
    r.fill(4, 0.4 * (1 + QTY_RTOL / 2), 10.0)  # within tolerance: completes
    assert r.status is S.FILLED and r.filled == 1.0


@pytest.mark.parametrize("qty,price", [(0.0, 1.0), (-1.0, 1.0), (float("nan"), 1.0), (1.0, 0.0), (1.0, float("inf"))])
def test_nonsense_fills_are_refused(qty, price):
    r = accepted()
    with pytest.raises(IllegalTransition, match="positive finite"):
        r.fill(3, qty, price)
    assert r.status is S.ACCEPTED and r.filled == 0.0


@pytest.mark.parametrize("end", ["cancel", "expire", "fill"])
def test_a_terminal_record_is_never_filled_again(end):
    r = accepted()
    if end == "fill":
        r.fill(3, 1.0, 5.0)
    else:
        getattr(r, end)(3)
    before = r.history
    for attempt in (lambda: r.fill(4, 0.1, 5.0), lambda: r.cancel(4), lambda: r.expire(4), lambda: r.accept(4),
                    lambda: r.reject(4, "x")):
        with pytest.raises(IllegalTransition, match="illegal transition"):
            attempt()
    assert r.history == before


def test_fills_need_an_accepted_order_and_reject_only_before_acceptance():
    r = OrderRecord(order(), 0)
    with pytest.raises(IllegalTransition, match="initialised -> filled"):
        r.fill(1, 1.0, 1.0)
    r.submit(1)
    with pytest.raises(IllegalTransition, match="submitted -> filled"):
        r.fill(1, 1.0, 1.0)
    r.accept(2)
    with pytest.raises(IllegalTransition, match="accepted -> rejected"):
        r.reject(3, "late")
    r2 = OrderRecord(order(), 0)
    r2.submit(0)
    assert r2.reject(1, "bad price").reason == "bad price" and r2.status is S.REJECTED


def test_time_never_goes_backwards():
    r = accepted()
    with pytest.raises(ValueError, match="before the last"):
        r.fill(1, 0.5, 1.0)
    assert r.status is S.ACCEPTED
