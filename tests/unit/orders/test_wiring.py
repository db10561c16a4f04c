"""Resting orders wired into the engine: the execution manager (registry, placing, cancels, atomic
groups), the venues' books driven by the market state (CexSpot, CexPerp), order-status events.

Market data built by the tests, by this rule: an hourly grid t_i = i h; the bar that opens at t_i has
the open / high / low given in ``bars[i]``; the market state at step i shows the open of bar i
(``px``) and the high / low of bar i-1, the bar that closed at t_i (``hi`` / ``lo``; NaN at step 0).
Expected numbers below are derived by hand from the stated prices, fees and slippage.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from basiskit.config.modes import ModeConfig
from basiskit.config.venues import PerpParams, SpotParams
from basiskit.data.feed import HistoricalFeed
from basiskit.data.market import MarketFrame
from basiskit.domain.actions import Action
from basiskit.domain.events import OrderStatusChanged
from basiskit.domain.order_state import OrderStatus
from basiskit.domain.orders import ExecutionMode, Operation, Order, OrderType, Side, TimeInForce
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import simulate
from basiskit.engine.execution import ExecutionManager
from basiskit.runs.event_stream import lines_of
from basiskit.strategies.base import HOLD, BaseStrategy, Decision, Requirements
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot

H = 3600 * 10**9
SPOT, PERP = "spot.x.BTCUSDT", "perp.x.BTCUSDT"
BUY, SELL = Side.BUY, Side.SELL
LIMIT, STOP, TP = OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT


def built_frame(bars: list[tuple[float, float, float]], stale: list[bool] | None = None) -> MarketFrame:
    """``bars[i]`` = (open, high, low) of the bar opening at step i (module docstring's rule)."""
    n = len(bars)
    f = MarketFrame(grid=np.arange(n, dtype=np.int64) * H)
    opens = [float(b[0]) for b in bars]
    highs = [math.nan] + [float(b[1]) for b in bars[:-1]]
    lows = [math.nan] + [float(b[2]) for b in bars[:-1]]
    for key in (SPOT, PERP):
        f.series[key] = list(opens)
        f.highs[key] = list(highs)
        f.lows[key] = list(lows)
        if stale is not None:
            f.stale[key] = list(stale)
    return f


class Desk:
    """The kernel's order of things, by hand: ``step(i)`` advances the market and applies each venue's
    ``on_market`` events; ``send(*orders)`` runs them through the execution manager. ``events`` is every
    account event reported, in order."""

    def __init__(self, bars, stale=None, spot_fees=(10.0, 2.0, 5.0), perp_fees=(5.0, 2.0, 1.0), mmr=0.005,
                 frame: MarketFrame | None = None):
        self.feed = HistoricalFeed(frame if frame is not None else built_frame(bars, stale))
        self.state = self.feed.state
        self.portfolio = Portfolio()
        self.ledger, self.attr = self.portfolio.ledger, self.portfolio.attribution
        taker, maker, slip = spot_fees
        self.spot = CexSpot("x.spot", SpotParams(taker_fee_bps=taker, maker_fee_bps=maker, slippage_bps=slip),
                            self.state, self.ledger, self.attr, {"BTC": SPOT})
        taker, maker, slip = perp_fees
        self.perp = CexPerp("x.perp", PerpParams(taker_fee_bps=taker, maker_fee_bps=maker, slippage_bps=slip,
                                                 funding_interval_hours=8, maintenance_margin_rate=mmr,
                                                 liquidation_fee_rate=0.01),
                            self.state, self.ledger, self.attr, {"BTC": (PERP, "funding.x.BTCUSDT")})
        self.venues = {"x.spot": self.spot, "x.perp": self.perp}
        self.em = ExecutionManager(self.venues, None, self.portfolio, self.state)
        self.events: list = []
        self.i = -1

    def step(self, i: int) -> list:
        out = []
        while self.i < i:
            self.i += 1
            tick = self.feed.advance(self.i)
            for v in self.venues.values():
                for ev in v.on_market(tick):
                    self.portfolio.apply(ev)
                    out.append(ev)
        self.events += out
        return out

    def send(self, *orders: Order) -> list[Trade]:
        return self.em.execute(list(orders), self.events.append)

    def statuses(self, cid: str) -> list[tuple[str, int]]:
        return [(e.status, e.timestamp) for e in self.events
                if isinstance(e, OrderStatusChanged) and e.client_order_id == cid]

    def trades_of(self, cid: str) -> list[Trade]:
        return [e for e in self.events if isinstance(e, Trade) and e.order.client_order_id == cid]


def spot_order(side, amount, otype=OrderType.MARKET, price=None, **kw) -> Order:
    if otype is LIMIT:
        kw["limit_price"] = price
    elif otype is not OrderType.MARKET:
        kw["stop_price"] = price
    return Order(Operation.SPOT_TRADE, "x.spot", amount, "BTC", side=side, order_type=otype, **kw)


def perp_order(side, amount, otype=OrderType.MARKET, price=None, **kw) -> Order:
    if otype is LIMIT:
        kw["limit_price"] = price
    elif otype is not OrderType.MARKET:
        kw["stop_price"] = price
    return Order(Operation.PERP_TRADE, "x.perp", amount, "BTC", side=side, order_type=otype, **kw)


# ---- a limit on spot -----------------------------------------------------------------------------

def test_a_spot_limit_buy_fills_at_its_limit_when_a_bar_trades_through_it_not_when_it_touches():
    # bar 0 touches 99 exactly (low 99): not through; bar 1 trades through it (low 98)
    d = Desk([(100, 101, 99.0), (100, 101, 98.0), (99.5, 100, 99.2), (100, 100.5, 99.5)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    v0 = d.spot.value_usd()
    assert d.send(spot_order(BUY, 2.0, LIMIT, 99.0, client_order_id="bid")) == []  # rests: no trade yet
    assert d.statuses("bid") == [("accepted", 0)]
    assert d.step(1) == [] and d.ledger.get("x.spot", "BTC") == 0.0  # the touch did not fill it
    evs = d.step(2)
    (tr,) = [e for e in evs if isinstance(e, Trade)]
    fee = 2.0 * 99.0 * 2e-4  # maker fee 2 bps, no slippage
    assert tr.ok and tr.price == 99.0 and tr.executed_amount == 2.0 and tr.fee == pytest.approx(fee, rel=1e-12)
    assert tr.timestamp == 2 * H  # inside bar 1: stamped at its close
    assert [type(e).__name__ for e in evs] == ["Trade", "OrderStatusChanged"]  # the money, then the status
    assert d.statuses("bid")[-1] == ("filled", 2 * H)
    assert d.ledger.get("x.spot", "BTC") == 2.0
    assert d.ledger.get("x.spot", "USDT") == pytest.approx(1000.0 - 2 * 99.0 - fee, rel=1e-12)
    assert d.em.order_status("bid").status == "filled" and d.em.open_orders() == []
    d.step(3)
    # the account's value change is what the attribution booked: 2 BTC bought at 99 now marked at 100
    assert d.spot.value_usd() - v0 == pytest.approx(d.attr.sum(), abs=1e-9)
    assert d.attr.total["price_basis"] == pytest.approx(2 * (100.0 - 99.0), abs=1e-9)
    assert d.attr.total["fees"] == pytest.approx(-fee, rel=1e-12) and d.attr.total["slippage"] == 0.0


def test_a_limit_that_crosses_at_submission_is_a_taker_fill_never_beyond_its_limit():
    d = Desk([(100, 101, 99), (100, 101, 99)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    (tr,) = d.send(spot_order(BUY, 1.0, LIMIT, 100.02))  # 5 bps slippage would be 100.05: capped at 100.02
    assert tr.ok and tr.timestamp == 0 and tr.price == 100.02
    assert tr.fee == pytest.approx(100.02 * 10e-4, rel=1e-12)  # taker fee
    (tr,) = d.send(spot_order(BUY, 1.0, LIMIT, 101.0))
    assert tr.price == pytest.approx(100.0 * 1.0005, rel=1e-12)


# ---- stops on the perp ---------------------------------------------------------------------------

def test_a_perp_stop_triggers_inside_the_bar_at_its_price_and_at_the_open_when_the_price_gaps_past_it():
    # bar 0: 100..101/96 (stop at 95 not reached); bar 1 reaches 94: the 95 stop fires at 95
    d = Desk([(100, 101, 96), (99, 100, 94), (96, 97, 95.5)])
    d.ledger.add("x.perp", "USDT", 1000.0)
    d.step(0)
    v0 = d.perp.value_usd()
    (entry,) = d.send(perp_order(BUY, 1.0))
    assert entry.price == pytest.approx(100 * 1.0001, rel=1e-12)
    assert d.send(perp_order(SELL, 1.0, STOP, 95.0, client_order_id="stop")) == []
    assert d.step(1) == [] and d.perp.size("BTC") == 1.0
    evs = d.step(2)
    (tr,) = [e for e in evs if isinstance(e, Trade)]
    assert tr.order.client_order_id == "stop" and tr.timestamp == 2 * H
    assert tr.price == pytest.approx(95.0 * (1 - 1e-4), rel=1e-12)  # taker: slippage and the taker fee
    assert tr.fee == pytest.approx(95.0 * (1 - 1e-4) * 5e-4, rel=1e-12)
    assert d.perp.size("BTC") == 0.0 and d.portfolio.positions[("x.perp", "BTC")].size == 0.0
    assert d.perp.value_usd() - v0 == pytest.approx(d.attr.sum(), abs=1e-9)
    # a gap: a 97 stop on a long; bars 0 and 1 stay above 97, step 2 opens at 93: filled at that open
    d2 = Desk([(100, 101, 98), (100, 100.5, 98.5), (93, 94, 92)])
    d2.ledger.add("x.perp", "USDT", 1000.0)
    d2.step(0)
    d2.send(perp_order(BUY, 1.0), perp_order(SELL, 1.0, STOP, 97.0, client_order_id="stop"))
    assert d2.step(1) == []  # bar 0: low 98, above 97
    evs = d2.step(2)  # bar 1: low 98.5, above 97; the open of step 2 is 93, beyond the stop
    (tr,) = [e for e in evs if isinstance(e, Trade)]
    assert tr.timestamp == 2 * H and tr.price == pytest.approx(93.0 * (1 - 1e-4), rel=1e-12)


def test_resting_fills_of_a_bar_come_before_its_intrabar_liquidation_check():
    # 1 BTC long at 100 with 10 USDT of margin: at 90 the account is far below maintenance. A stop at
    # 97 closes it on the way down inside the same bar, so nothing is liquidated.
    d = Desk([(100, 100, 99), (100, 100, 89), (90, 91, 89)], perp_fees=(0.0, 0.0, 0.0), mmr=0.005)
    d.ledger.add("x.perp", "USDT", 10.0)
    d.step(0)
    d.send(perp_order(BUY, 1.0), perp_order(SELL, 1.0, STOP, 97.0))
    d.step(1)
    evs = d.step(2)
    assert [e.kind for e in evs] == ["trade", "order_status"]  # no liquidation
    assert d.ledger.get("x.perp", "USDT") == pytest.approx(10.0 - 3.0, abs=1e-12)
    # the same book without the stop is liquidated in that bar
    d = Desk([(100, 100, 99), (100, 100, 89), (90, 91, 89)], perp_fees=(0.0, 0.0, 0.0), mmr=0.005)
    d.ledger.add("x.perp", "USDT", 10.0)
    d.step(0)
    d.send(perp_order(BUY, 1.0))
    d.step(1)
    assert [e.kind for e in d.step(2)] == ["liquidation"]


# ---- time in force -------------------------------------------------------------------------------

def test_ioc_fills_what_crosses_at_once_and_fok_fills_all_or_expires():
    d = Desk([(100, 101, 99), (100, 101, 90)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    (tr,) = d.send(spot_order(BUY, 1.0, LIMIT, 101.0, time_in_force=TimeInForce.IOC, client_order_id="ioc"))
    assert tr.ok and tr.executed_amount == 1.0 and d.statuses("ioc") == [("accepted", 0), ("filled", 0)]
    assert d.send(spot_order(BUY, 1.0, LIMIT, 99.0, time_in_force=TimeInForce.IOC, client_order_id="ioc2")) == []
    assert [s for s, _ in d.statuses("ioc2")] == ["accepted", "expired"]
    assert d.send(spot_order(BUY, 1.0, LIMIT, 99.0, time_in_force=TimeInForce.FOK, client_order_id="fok")) == []
    assert [s for s, _ in d.statuses("fok")] == ["accepted", "expired"]
    (tr,) = d.send(spot_order(BUY, 2.0, LIMIT, 100.5, time_in_force=TimeInForce.FOK, client_order_id="fok2"))
    assert tr.executed_amount == 2.0 and d.em.order_status("fok2").status == "filled"
    d.step(1)  # bar 0 went down to 99 and bar 1 to 90: nothing expired comes back
    assert [t for t in d.events if isinstance(t, Trade) and t.order.client_order_id in ("ioc2", "fok")] == []
    # a stop with IOC is refused by the book: a REJECTED trade and the status
    (tr,) = d.send(spot_order(SELL, 1.0, STOP, 95.0, time_in_force=TimeInForce.IOC, client_order_id="bad"))
    assert tr.status is TradeStatus.REJECTED and tr.error_code == "VENUE-002"
    assert d.statuses("bad")[-1][0] == "rejected"


def test_gtd_expires_at_its_time():
    d = Desk([(100, 101, 99.5), (100, 101, 98), (100, 101, 98)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    d.send(spot_order(BUY, 1.0, LIMIT, 99.0, time_in_force=TimeInForce.GTD, expire_ns=H + H // 2, client_order_id="g"))
    d.step(1)
    assert d.em.order_status("g").status == "accepted"
    d.step(2)  # expired in the middle of bar 1, which traded through 99 (low 98) but may have done so later
    assert d.statuses("g")[-1] == ("expired", H + H // 2)
    assert d.ledger.get("x.spot", "BTC") == 0.0


# ---- cancels -------------------------------------------------------------------------------------

def test_a_cancel_withdraws_the_order_and_a_bad_cancel_is_an_error_event_not_a_crash():
    d = Desk([(100, 101, 99.5), (100, 101, 90), (95, 96, 94)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    d.send(spot_order(BUY, 1.0, LIMIT, 99.0, client_order_id="bid"))
    assert [v.client_order_id for v in d.em.open_orders("x.spot")] == ["bid"]
    assert d.em.cancel(["bid"], d.events.append) == []
    assert d.statuses("bid")[-1] == ("cancelled", 0) and d.em.open_orders() == []
    d.step(2)  # bar 1 traded through 99: a cancelled order does not fill
    assert d.ledger.get("x.spot", "BTC") == 0.0
    errors = d.em.cancel(["bid", "nope"], d.events.append)
    assert [(e.kind, e.data["client_order_id"], e.data["code"]) for e in errors] == [
        ("cancel_failed", "bid", "EXEC-004"), ("cancel_failed", "nope", "EXEC-007")]
    assert "already ended" in errors[0].data["error"] and "no order of this run" in errors[1].data["error"]
    # a market order cannot be cancelled either: it has filled
    (tr,) = d.send(spot_order(BUY, 0.5))
    (err,) = d.em.cancel([tr.order.client_order_id], d.events.append)
    assert err.data["code"] == "EXEC-004"


# ---- reduce-only ---------------------------------------------------------------------------------

def test_reduce_only_fills_at_most_the_position_and_is_cancelled_without_one():
    d = Desk([(100, 101, 99), (100, 106, 99), (104, 105, 103)], perp_fees=(5.0, 2.0, 1.0))
    d.ledger.add("x.perp", "USDT", 1000.0)
    d.step(0)
    d.send(perp_order(BUY, 1.0), perp_order(SELL, 2.0, LIMIT, 105.0, reduce_only=True, client_order_id="ro"))
    d.step(2)  # bar 1 trades through 105
    (tr,) = d.trades_of("ro")
    assert tr.executed_amount == 1.0 and tr.price == 105.0 and d.perp.size("BTC") == 0.0  # maker: no slippage
    assert tr.fee == pytest.approx(105.0 * 2e-4, rel=1e-12)  # maker fee 2 bps
    assert [s for s, _ in d.statuses("ro")] == ["accepted", "partially_filled", "cancelled"]
    entry = 100.0 * 1.0001  # the market entry: 1 bp slippage, 5 bps taker fee
    cash = 1000.0 - entry * 5e-4 + (105.0 - entry) - 105.0 * 2e-4
    assert d.ledger.get("x.perp", "USDT") == pytest.approx(cash, rel=1e-12)
    # a reduce-only order with nothing to reduce is cancelled when it meets a price
    d.send(perp_order(BUY, 1.0, LIMIT, 103.0, reduce_only=True, client_order_id="ro2"))
    assert d.statuses("ro2")[-1][0] == "cancelled" and d.trades_of("ro2") == []


# ---- brackets ------------------------------------------------------------------------------------

def test_a_market_entry_with_a_bracket_gets_its_legs_and_the_first_leg_to_fire_cancels_the_other():
    d = Desk([(100, 101, 99), (100, 103.5, 99.5), (103, 104, 102)])
    d.ledger.add("x.perp", "USDT", 1000.0)
    d.step(0)
    (entry,) = d.send(perp_order(BUY, 1.0, take_profit=103.0, stop_loss=98.0, client_order_id="e"))
    assert entry.ok and d.statuses("e") == []  # a market order: its trade line is enough
    assert [v.client_order_id for v in d.em.open_orders()] == ["e-tp-1", "e-sl-1"]
    assert d.em.order_status("e-tp-1").order_type == "take_profit" and d.em.order_status("e-tp-1").amount == 1.0
    d.step(2)  # bar 1 reaches 103.5 >= 103: the take-profit fires at 103
    (tp,) = d.trades_of("e-tp-1")
    assert tp.price == pytest.approx(103.0 * (1 - 1e-4), rel=1e-12) and tp.timestamp == 2 * H
    assert d.statuses("e-sl-1")[-1][0] == "cancelled" and d.perp.size("BTC") == 0.0
    assert d.em.open_orders() == []
    # a bracket whose prices cannot work is refused before anything is sent
    (bad,) = d.send(perp_order(BUY, 1.0, take_profit=90.0, stop_loss=95.0))
    assert bad.status is TradeStatus.REJECTED and d.perp.size("BTC") == 0.0


# ---- the registry through the execution manager ---------------------------------------------------

def test_the_same_id_twice_fills_once_and_the_same_id_for_another_order_is_refused():
    d = Desk([(100, 101, 99)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    first = d.send(spot_order(BUY, 1.0, client_order_id="once"))
    again = d.send(spot_order(BUY, 1.0, client_order_id="once", reason="retry after a timeout"))
    assert [t.status for t in first + again] == [TradeStatus.FILLED, TradeStatus.REJECTED]
    assert again[0].error_code == "EXEC-006" and "already submitted" in again[0].error
    assert d.ledger.get("x.spot", "BTC") == 1.0  # one fill
    other = d.send(spot_order(BUY, 2.0, client_order_id="once"))
    assert other[0].error_code == "EXEC-005" and d.ledger.get("x.spot", "BTC") == 1.0
    (leg_like,) = d.send(spot_order(BUY, 0.1, client_order_id="mine-tp-1"))  # the form of a bracket leg's id
    assert leg_like.error_code == "EXEC-005" and "bracket leg" in leg_like.error and "mine-tp-1" not in d.em.registry
    auto = d.send(spot_order(BUY, 0.1), spot_order(BUY, 0.1))
    assert [t.order.client_order_id for t in auto] == ["o-1", "o-2"]
    rec = d.em.registry.get("o-1")
    assert [c.status for c in rec.history] == [OrderStatus.INITIALISED, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED,
                                               OrderStatus.FILLED]
    assert [e for e in d.events if isinstance(e, OrderStatusChanged)] == []  # market orders: trade lines only


def test_resting_orders_are_refused_inside_an_atomic_group_and_the_group_changes_nothing():
    d = Desk([(100, 101, 99)])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    before = d.ledger.snapshot()
    g = dict(execution_mode=ExecutionMode.ATOMIC, atomic_group_id="g")
    trades = d.send(spot_order(BUY, 1.0, sequence_in_group=0, **g),
                    spot_order(BUY, 1.0, LIMIT, 99.0, sequence_in_group=1, **g))
    assert [t.status for t in trades] == [TradeStatus.FAILED] * 2
    assert all(t.error_code == "EXEC-008" for t in trades) and d.ledger.snapshot() == before
    assert d.em.open_orders() == [] and {d.em.order_status(t.order.client_order_id).status for t in trades} == {"rejected"}


# ---- data gaps -----------------------------------------------------------------------------------

def test_no_resting_fill_at_a_stale_price_nor_inside_a_bar_that_did_not_trade():
    # step 1's bar did not trade (a gap valued from a reference venue): its range and its open are
    # estimates. The limit waits for the traded open of step 3, which is below it: filled at its limit.
    bars = [(100, 101, 99.5), (98, 99, 90), (97, 98, 96), (95, 96, 94)]
    d = Desk(bars, stale=[False, True, True, False])
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    d.send(spot_order(BUY, 1.0, LIMIT, 99.0, client_order_id="bid"))
    d.step(1)  # bar 0 (traded) stayed above 99; the open of step 1 (98) is stale: not a fill
    d.step(2)
    assert d.trades_of("bid") == []  # bars 1 and 2 did not trade: no fill at their prices (low 90)
    d.step(3)
    (tr,) = d.trades_of("bid")
    assert tr.timestamp == 3 * H and tr.price == 99.0  # the price moved through the limit during the gap
    # an order placed at a stale price is deferred, like a market order there
    d2 = Desk(bars, stale=[False, True, True, False])
    d2.ledger.add("x.spot", "USDT", 1000.0)
    d2.step(1)
    (tr,) = d2.send(spot_order(BUY, 1.0, LIMIT, 99.0, client_order_id="late"))
    assert tr.status is TradeStatus.DEFERRED and tr.error_code == "VENUE-006"
    assert d2.em.order_status("late").status == "rejected"


def test_a_venue_without_resting_orders_never_touches_its_book():
    d = Desk([(100, 101, 99), (100, 101, 90)])
    d.ledger.add("x.spot", "USDT", 1000.0)

    def boom(*a, **k):
        raise AssertionError("the book was called")

    d.spot.resting.book.on_bar = d.spot.resting.book.on_open = boom
    d.perp.resting.book.on_bar = d.perp.resting.book.on_open = boom
    d.step(1)
    assert not d.spot.resting.active and not d.perp.resting.active


# ---- through the kernel --------------------------------------------------------------------------

class BidThenCancel(BaseStrategy):
    """Funds binance.spot at step 0, bids 1 BTC at 95 at step 2, looks at its open orders and cancels the
    bid and an id it never sent at step 3."""

    def __init__(self):
        super().__init__(None)
        self.seen: dict = {}

    def requirements(self) -> Requirements:
        return Requirements(spot={"binance.spot": ["BTC"]}, resting_orders=True)

    def decide(self, ctx) -> Decision:
        seen = self.seen
        if ctx.step == 0 and "fund" not in seen:
            seen["fund"] = True
            return Decision(Action.ENTRY_FULL, [Order(Operation.TRANSFER, "wallet", 1000.0, "USDT", to_venue="binance.spot")])
        if ctx.step == 2 and "bid" not in seen:
            seen["bid"] = True
            return Decision(Action.ENTRY_FULL, [Order(Operation.SPOT_TRADE, "binance.spot", 1.0, "BTC", side=BUY,
                                                      order_type=LIMIT, limit_price=95.0, client_order_id="bid")])
        if ctx.step == 3 and "cancel" not in seen:
            seen["cancel"] = True
            seen["open"] = [(v.client_order_id, v.status, v.limit_price) for v in ctx.open_orders("binance.spot", "BTC")]
            return Decision(Action.EXIT_FULL, cancels=["bid", "ghost"], reason="the bid is stale")
        if ctx.step == 3 and "after" not in seen:
            seen["after"] = ctx.order_status("bid").status
            seen["unknown"] = ctx.order_status("ghost")
        return HOLD


def test_a_strategy_cancels_through_the_kernel_and_the_event_log_shows_the_order_life():
    # flat at 100; the bar that opens at step 3 trades down to 90, through the 95 bid (cancelled by then)
    bars = [(100, 100.5, 99.5)] * 3 + [(100, 100.5, 90)] + [(100, 100.5, 99.5)] * 2
    f = built_frame(bars)
    frame = MarketFrame(grid=f.grid, series={"spot.binance.BTCUSDT": f.series[SPOT]},
                        highs={"spot.binance.BTCUSDT": f.highs[SPOT]}, lows={"spot.binance.BTCUSDT": f.lows[SPOT]})
    strategy = BidThenCancel()
    lines: list = []
    sim = simulate(ModeConfig(mode="probe"), strategy, frame, 2000.0, subscribers=[lambda ev: lines.extend(lines_of(ev))])
    assert strategy.seen["open"] == [("bid", "accepted", 95.0)]
    assert strategy.seen["after"] == "cancelled" and strategy.seen["unknown"] is None
    assert [t for t in sim.loop.trades if t.order.client_order_id == "bid"] == []
    assert sim.loop.final_balances.get(("binance.spot", "BTC"), 0.0) == 0.0
    (bad,) = [e for e in sim.loop.events if e.kind == "cancel_failed"]
    assert bad.data["client_order_id"] == "ghost" and bad.data["code"] == "EXEC-007"
    status_lines = [(c, d["client_order_id"], d["status"]) for _, c, k, d in lines if k == "order_status"]
    assert status_lines == [("binance.spot", "bid", "accepted"), ("binance.spot", "bid", "cancelled")]
    assert ("execution", "cancel_failed") in [(c, k) for _, c, k, _ in lines]
    (decision,) = [d for _, c, k, d in lines if k == "decision" and d.get("cancels")]
    assert decision["cancels"] == ["bid", "ghost"] and decision["orders"] == 0
    at = {(k, d.get("status"), bool(d.get("cancels"))): n for n, (_, c, k, d) in enumerate(lines)}
    assert at[("decision", None, True)] < at[("order_status", "cancelled", False)] < at[("cancel_failed", None, False)]


def test_with_id_gives_what_dataclasses_replace_gives():
    o = Order(Operation.PERP_TRADE, "x.perp", 2.0, "BTC", SELL, order_type=LIMIT, limit_price=101.0,
              time_in_force=TimeInForce.GTD, expire_ns=5, take_profit=90.0, stop_loss=105.0, oco_group="g",
              reduce_only=True, reason="why")
    w = o.with_id("k-1")
    assert w == dataclasses.replace(o, client_order_id="k-1") and hash(w) == hash(dataclasses.replace(o, client_order_id="k-1"))
    assert o.client_order_id is None and w.client_order_id == "k-1"
    assert [getattr(w, f.name) for f in dataclasses.fields(Order) if f.name != "client_order_id"] == \
        [getattr(o, f.name) for f in dataclasses.fields(Order) if f.name != "client_order_id"]


def test_a_spot_series_carries_highs_and_lows_only_for_a_strategy_that_sends_resting_orders():
    available = {"spot.binance.BTCUSDT", "spot.bybit.BTCUSDT"}
    (plain,) = series_specs(Requirements(spot={"binance.spot": ["BTC"]}), available)
    (resting,) = series_specs(Requirements(spot={"binance.spot": ["BTC"]}, resting_orders=True), available)
    assert (plain.extremes, resting.extremes) == (False, True)
    # without them the account refuses resting orders and bracketed entries (nothing is sent), and says why
    f = built_frame([(100, 101, 99), (100, 101, 90)])
    f.highs.pop(SPOT), f.lows.pop(SPOT)
    d = Desk(None, frame=f)
    d.ledger.add("x.spot", "USDT", 1000.0)
    d.step(0)
    (tr,) = d.send(spot_order(BUY, 1.0, LIMIT, 99.0, client_order_id="bid"))
    assert tr.status is TradeStatus.REJECTED and tr.error_code == "VENUE-002" and "resting_orders=True" in tr.error
    (tr,) = d.send(spot_order(BUY, 1.0, take_profit=110.0, stop_loss=95.0))
    assert tr.status is TradeStatus.REJECTED and d.ledger.get("x.spot", "BTC") == 0.0
    assert d.statuses("bid") == [("rejected", 0)] and d.em.open_orders() == []
