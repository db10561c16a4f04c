"""The contract can fail: venues each breaking one rule, built from the real simulators, fail the
suite at that rule (and a correct venue in the same world passes, in ``test_venue_contract.py``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import FEES, Attribution
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.aave_v3 import AaveV3
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot

import venue_contract as C
from world import build_world

BUY, SELL = Side.BUY, Side.SELL


class LedgerWritingSpot(CexSpot):
    """Books its fills into the ledger itself instead of reporting them."""

    def submit(self, orders):
        out = []
        for tr in super().submit(orders):
            for acc, tok, amt in tr.deltas:
                self.ledger.add(acc, tok, amt)
            out.append(replace(tr, deltas=()))
        return out


class DoubleBookingSpot(CexSpot):
    """Reports each fill's balance changes twice (the fill booked twice)."""

    def submit(self, orders):
        return [replace(tr, deltas=tr.deltas * 2) if tr.ok else tr for tr in super().submit(orders)]


class FeeHidingPerp(CexPerp):
    """Charges the taker fee but does not book it."""

    def submit(self, orders):
        return [replace(tr, pnl=tuple(p for p in tr.pnl if p[0] != FEES)) for tr in super().submit(orders)]


class LeakyRefusalPerp(CexPerp):
    """Refuses an order for lack of margin but leaves the position moved."""

    def _execute(self, order):
        tr = super()._execute(order)
        if not tr.ok and order.token in self.positions:
            self.positions[order.token].size += order.amount if order.side is BUY else -order.amount
        return tr


class AmnesiacAave(AaveV3):
    """Takes checkpoints but cannot restore them."""

    def restore(self, cp) -> None:
        return None


class StaleSnapshotSpot(CexSpot):
    """Reports the balances it had when it was built, not the ones its events left."""

    def account(self):
        if not hasattr(self, "_first"):
            self._first = super().account()
        return AccountSnapshot(self.name, dict(self._first.balances), {}, self.value_usd())


@pytest.fixture
def world(catalog, source_dir):
    w = build_world(catalog, source_dir)
    for _ in range(24):
        C.step(w)
    return w


def _break(world, account, cls):
    v = world.venues[account]
    v.__class__ = cls
    return v


def test_a_venue_writing_the_ledger_fails_rule_2(world):
    v = _break(world, "bybit.spot", LedgerWritingSpot)
    with pytest.raises(AssertionError, match="rule 2"):
        C.check_fill(world, v, Order(Operation.SPOT_TRADE, "bybit.spot", 0.1, "BTC", BUY))


def test_a_fill_booked_twice_fails_rule_3(world):
    v = _break(world, "bybit.spot", DoubleBookingSpot)
    with pytest.raises(AssertionError, match="rule 3"):
        C.check_fill(world, v, Order(Operation.SPOT_TRADE, "bybit.spot", 0.1, "BTC", BUY))


def test_an_unbooked_fee_fails_rule_3(world):
    v = _break(world, "binance.perp", FeeHidingPerp)
    with pytest.raises(AssertionError, match="rule 3"):
        C.check_fill(world, v, Order(Operation.PERP_TRADE, "binance.perp", 0.5, "BTC", SELL))


def test_interest_not_booked_fails_rule_3(world):
    v = world.venues["aave_v3"]
    C.check_fill(world, v, Order(Operation.SUPPLY, "aave_v3", 10_000.0, "USDT"))
    v.attr = Attribution()  # its bookings go to a book nobody reads
    v.attr.bucket(v.name)
    with pytest.raises(AssertionError, match="rule 3"):
        for _ in range(24):
            C.step(world)


def test_a_refusal_that_moves_the_position_fails_rule_5(world):
    v = _break(world, "binance.perp", LeakyRefusalPerp)
    with pytest.raises(AssertionError, match="rule 5"):
        C.check_refusal(world, v, Order(Operation.PERP_TRADE, "binance.perp", 10_000.0, "BTC", SELL))


def test_a_venue_that_cannot_restore_fails_rule_7(world):
    v = _break(world, "aave_v3", AmnesiacAave)
    with pytest.raises(AssertionError, match="rule 7"):
        C.check_checkpoint(world, v, Order(Operation.SUPPLY, "aave_v3", 5.0, "weETH"))


def test_a_snapshot_that_is_not_the_fold_fails_rule_8(world):
    v = _break(world, "bybit.spot", StaleSnapshotSpot)
    v.account()
    with pytest.raises(AssertionError, match="rule 8"):
        C.check_fill(world, v, Order(Operation.SPOT_TRADE, "bybit.spot", 0.1, "BTC", BUY))
