"""The grid's decisions against a hand-built context (no engine): funding the perp account, the first
ladder, re-arming after a fill, a fixed reference, the ids, the risk override's exit; and the stateless
template's rules."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, OrderType, Side
from basiskit.strategies.base import HOLD
from basiskit.strategies.categories.stateless import StatelessStrategy
from basiskit.strategies.implementations.grid import Grid, GridConfig

T = 1_714_521_600 * 10**9


class Ctx:
    def __init__(self, price=100.0, wallet=1000.0, margin=0.0, size=0.0, orders=(), known=(), transit=0.0, live=True):
        self.price, self.wallet, self.margin, self.size = price, wallet, margin, size
        self.orders, self.known, self.transit, self.live = list(orders), set(known), transit, live
        self.time_ns = T

    def cash(self, account, token="USDT"):
        return self.wallet if account == "wallet" else self.margin

    def perp_size(self, account, token):
        return self.size

    def perp_mark(self, account, token):
        return self.price

    def transfer_fee(self, a, b, token="USDT"):
        return 1.0

    def in_transit(self, account, token="USDT"):
        return self.transit

    def price_live(self, account, token):
        return self.live

    def open_orders(self, account=None, token=None):
        return self.orders

    def order_status(self, cid):
        return object() if cid in self.known else None


def view(cid, price):
    return SimpleNamespace(client_order_id=cid, limit_price=price)


def grid(**kw) -> Grid:
    return Grid(GridConfig(levels=2, spacing=0.01, order_size=0.5, **kw))


def test_first_the_margin_then_the_ladder():
    g = grid(margin_fraction=0.5)
    d = g.decide(Ctx())
    assert d.action is Action.ENTRY_FULL and len(d.orders) == 1
    o = d.orders[0]
    assert (o.operation, o.venue, o.to_venue, o.amount) == (Operation.TRANSFER, "wallet", "binance.perp", 499.0)
    assert g.decide(Ctx(transit=499.0)) is HOLD       # waits for the transfer to land
    assert g.decide(Ctx(margin=499.0, live=False)) is HOLD  # no traded price: nothing is placed
    d = g.decide(Ctx(margin=499.0, wallet=500.0))
    assert d.action is Action.ENTRY_PARTIAL and not d.cancels
    got = [(o.side, o.limit_price, o.client_order_id, o.order_type) for o in d.orders]
    assert got == [(Side.BUY, pytest.approx(100 / 1.01**2), "grid--2b-1714521600", OrderType.LIMIT),
                   (Side.BUY, pytest.approx(100 / 1.01), "grid--1b-1714521600", OrderType.LIMIT),
                   (Side.SELL, pytest.approx(101.0), "grid-+1s-1714521600", OrderType.LIMIT),
                   (Side.SELL, pytest.approx(102.01), "grid-+2s-1714521600", OrderType.LIMIT)]
    assert all(o.amount == 0.5 for o in d.orders)


def test_a_fill_is_re_armed_from_the_working_orders_alone():
    # the buy at -1 (99.0099...) filled; a fresh instance sees the other three rungs and the price
    working = [view("grid--2b-1", 100 / 1.01**2), view("grid-+1s-1", 101.0), view("grid-+2s-1", 102.01),
               view("o-7", 50.0)]  # someone else's order: left alone
    d = grid().decide(Ctx(price=99.1, margin=400.0, size=0.5, orders=working))
    assert not d.cancels
    assert [(o.side, o.limit_price, o.client_order_id) for o in d.orders] == [
        (Side.SELL, pytest.approx(100.0), "grid-+0s-1714521600")]


def test_a_fixed_reference_and_a_used_id():
    g = grid(reference_price=200.0)
    d = g.decide(Ctx(price=200.0, margin=400.0, known={"grid--1b-1714521600", "grid--1b-1714521600a"}))
    ids = {o.client_order_id: o.limit_price for o in d.orders}
    assert ids["grid--1b-1714521600b"] == pytest.approx(200 / 1.01)
    assert ids["grid-+2s-1714521600"] == pytest.approx(200 * 1.01**2)


def test_the_risk_override_closes_the_position():
    g = grid()
    assert g.exit_full(Ctx(size=0.0)) == []
    [o] = g.reduce_risk(Action.EXIT_PARTIAL, Ctx(size=-1.5))
    assert (o.side, o.amount, o.reduce_only, o.order_type) == (Side.BUY, 1.5, True, OrderType.MARKET)


def test_the_stateless_template():
    class Nothing(StatelessStrategy):
        def requirements(self):
            raise NotImplementedError

        def orders(self, ctx):
            return []

    s = Nothing(None)
    assert s.decide(None) is HOLD and s.snapshot() == {}
    s.restore({})
    with pytest.raises(ValueError, match="stateless"):
        s.restore({"x": 1})
    with pytest.raises(NotImplementedError):
        StatelessStrategy(None).orders(None)


def test_a_plan_is_never_reused_outside_its_decide_call():
    g = grid()
    g.decide(Ctx(margin=400.0))
    assert g.scratch is None
    later = g.orders(Ctx(price=120.0, margin=400.0))  # a direct call plans from its own context
    assert min(o.limit_price for o in later if o.side is Side.SELL) == pytest.approx(121.2)
