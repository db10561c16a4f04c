"""BaseSignalStrategy's contract on a fake context: the transition table, a refused entry leaves the rule's
state as before the event, sizing is capped by the balance, orders are spot leg then perp leg."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from basiskit.domain.orders import Side
from basiskit.strategies.implementations.reverse_delta_neutral import ReverseDeltaNeutral
from basiskit.strategies.registry import load_mode_config
from basiskit.strategies.signals import kernels as K
from basiskit.strategies.signals.base import IllegalSignal

SPOT, PERP = "ticks.mexc.spot.LUNCUSDT", "ticks.gateio.perp.LUNCUSDT"


class Ctx:
    def __init__(self, cash=1e9):
        self.step, self.time_ns, self.books, self._cash = -1, 0, {}, cash

    def at(self, step, sb, sa, pb, pa):
        self.step, self.time_ns = step, step * 1_000_000_000
        self.books = {SPOT + ".bid": sb, SPOT + ".ask": sa, PERP + ".bid": pb, PERP + ".ask": pa}
        return self

    def history(self, key, n):
        return [self.books[key]]

    def cash(self, account, token="USDT"):
        return self._cash


def strategy(**over):
    return ReverseDeltaNeutral(load_mode_config("signal_reverse_delta_neutral",
                                                {"warmup_events": 1, "entry_z": 0.0, "entry_bps": 0.0, **over}))


def test_enter_then_exit_orders_spot_then_perp():
    s = strategy(notional_usd=100.0)
    d = s.decide(Ctx().at(0, 1.0, 1.0, 1.01, 1.02))  # perp bid 100 bps over the spot ask: enter
    assert d.action.value == "entry_full" and [o.venue for o in d.orders] == ["mexc.spot", "gateio.perp"]
    assert d.orders[0].side is Side.BUY and d.orders[1].side is Side.SELL
    assert d.orders[0].amount == pytest.approx(100.0) == d.orders[1].amount
    assert s.decide(Ctx().at(0, 1.0, 1.0, 1.01, 1.02)).orders == []  # a second pass of the same event: nothing
    d = s.decide(Ctx().at(1, 1.0, 1.0, 0.99, 1.0))  # exit spread 0 bps <= exit_bps 2: converged
    assert d.action.value == "exit_full" and d.orders[0].side is Side.SELL and d.orders[1].side is Side.BUY
    assert [(c, r) for _, c, r, _, _ in s.signals] == [(K.ENTER, 1), (K.EXIT, 2)]


def test_refused_entry_puts_the_state_back():
    s = strategy()
    before = []
    s.validate_entry_conditions = lambda sig, ctx: before.append(s._saved.copy()) or "venue in maintenance"
    d = s.decide(Ctx().at(0, 1.0, 1.0, 1.01, 1.02))
    assert d.deferred and d.orders == [] and s.refused == 1
    np.testing.assert_array_equal(s.s, before[0])  # position flag, EW mean, count: as before the event
    assert s.signals == []


def test_sizing_is_capped_by_the_balance_and_counted():
    s = strategy(notional_usd=1000.0, max_position_fraction=0.5)
    d = s.decide(Ctx(cash=1000.0).at(0, 1.0, 1.0, 1.01, 1.02))
    assert d.orders[0].amount == pytest.approx(500.0) and s.sizing_capped == 1


@njit
def _always_exit(p, s, t, sb, sa, pb, pa, out):
    K.emit(out, K.EXIT, 2, -1.0, 1.0)


def test_a_signal_outside_the_transition_table_raises():
    s = strategy()
    s._rule = _always_exit
    with pytest.raises(IllegalSignal, match="exit while flat"):
        s.decide(Ctx().at(0, 1.0, 1.0, 1.01, 1.02))
