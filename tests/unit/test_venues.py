"""Venue simulators on frames the tests build from stated rules."""

import numpy as np
import pytest

from basiskit.config.venues import PerpParams, SpotParams
from basiskit.data.feed import HistoricalFeed
from basiskit.data.market import MarketFrame
from basiskit.domain.orders import ExecutionMode, Operation, Order, Side
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import TradeStatus
from basiskit.engine.execution import ExecutionManager
from basiskit.venues.sim.cex_perp import CexPerp
from basiskit.venues.sim.cex_spot import CexSpot
from basiskit.config.venues import NetworkTransfer
from basiskit.venues.sim.transfer import TransferCosts, Transfers
from basiskit.venues.sim.wallet import Wallet

H = 3600 * 10**9


def frame(marks, funding_steps=(), rate=0.001):
    grid = np.arange(len(marks), dtype=np.int64) * H
    f = MarketFrame(grid=grid)
    f.series["perp.x.BTCUSDT"] = list(map(float, marks))
    f.series["spot.x.BTCUSDT"] = list(map(float, marks))
    times = [int(grid[i]) for i in funding_steps]
    f.funding["funding.x.BTCUSDT"] = (times, [rate] * len(times), [float(marks[i]) for i in funding_steps])
    return f


class Market:
    """A built frame replayed by hand: ``step(i)`` moves the market and accrues the venues (their
    events applied to the portfolio), ``do(venue, order)`` submits one order and applies its trade."""

    def __init__(self, f: MarketFrame):
        self.feed = HistoricalFeed(f)
        self.state = self.feed.state
        self.portfolio = Portfolio()
        self.ledger, self.attr = self.portfolio.ledger, self.portfolio.attribution
        self.venues: list = []
        self.i = -1

    def step(self, i: int) -> list:
        while self.i < i:
            self.i += 1
            tick = self.feed.advance(self.i)
            events = []
            for v in self.venues:
                for ev in v.on_market(tick):
                    self.portfolio.apply(ev)
                    events.append(ev)
        return events

    def do(self, venue, order):
        (tr,) = venue.submit([order])
        self.portfolio.apply(tr)
        return tr


def perp(m: Market, mmr=0.005, fee_bps=0.0, slip_bps=0.0):
    params = PerpParams(taker_fee_bps=fee_bps, slippage_bps=slip_bps, funding_interval_hours=8,
                        maintenance_margin_rate=mmr, liquidation_fee_rate=0.01)
    v = CexPerp("x.perp", params, m.state, m.ledger, m.attr, {"BTC": ("perp.x.BTCUSDT", "funding.x.BTCUSDT")})
    m.venues.append(v)
    return v


def test_short_earns_funding_and_attribution_matches_value_change():
    m = Market(frame([100, 110, 105, 120], funding_steps=(1, 3), rate=0.001))
    attr = m.attr
    v = perp(m, fee_bps=5, slip_bps=2)
    m.ledger.add("x.perp", "USDT", 1000.0)
    m.step(0)
    v0 = v.value_usd()
    tr = m.do(v, Order(Operation.PERP_TRADE, "x.perp", 2.0, "BTC", Side.SELL))
    assert tr.ok and tr.price == pytest.approx(100 * (1 - 2e-4))
    m.step(3)
    # funding: a short receives rate x size x mark at each settlement
    assert attr.total["funding"] == pytest.approx(0.001 * 2 * 110 + 0.001 * 2 * 120)
    # price: the short loses 2 x (120 - 100)
    assert attr.total["price_basis"] == pytest.approx(-2 * 20)
    assert v.value_usd() - v0 == pytest.approx(attr.sum(), abs=1e-9)


def test_reducing_a_short_realises_pnl_into_collateral():
    m = Market(frame([100, 90]))
    ledger = m.ledger
    v = perp(m)
    ledger.add("x.perp", "USDT", 500.0)
    m.step(0)
    m.do(v, Order(Operation.PERP_TRADE, "x.perp", 3.0, "BTC", Side.SELL))
    m.step(1)
    m.do(v, Order(Operation.PERP_TRADE, "x.perp", 1.0, "BTC", Side.BUY))
    assert v.size("BTC") == pytest.approx(-2.0)
    assert ledger.get("x.perp", "USDT") == pytest.approx(510.0)  # 1 BTC closed 10 lower
    assert v.unrealised_pnl() == pytest.approx(20.0)
    # flip through zero: buy 3 -> long 1 at 90
    m.do(v, Order(Operation.PERP_TRADE, "x.perp", 3.0, "BTC", Side.BUY))
    assert v.size("BTC") == pytest.approx(1.0)
    assert ledger.get("x.perp", "USDT") == pytest.approx(530.0)


def test_liquidation_when_margin_balance_falls_below_maintenance():
    # rule: 1 BTC short at 100 with 10 USDT margin; at 109.5 margin balance 0.5 < maintenance 0.5475
    m = Market(frame([100, 105, 109.5]))
    ledger, attr = m.ledger, m.attr
    v = perp(m, mmr=0.005)
    ledger.add("x.perp", "USDT", 10.0)
    m.step(0)
    assert m.do(v, Order(Operation.PERP_TRADE, "x.perp", 1.0, "BTC", Side.SELL)).ok
    assert m.step(1) == []
    events = m.step(2)
    assert [e.kind for e in events] == ["liquidation"]
    # no intrabar data in this frame: liquidated at the open of 109.5, where the margin balance is
    # 10 - 9.5 = 0.5; the clearance fee 109.5 x 1 % = 1.095 is charged on what is left (0.5), the
    # account ends at 0 and loses its whole value at the previous mark (10 - 5 = 5)
    assert ledger.get("x.perp", "USDT") == pytest.approx(0.0, abs=1e-12)
    assert events[0].data["fee_charged_usd"] == pytest.approx(0.5)
    assert events[0].data["loss_usd"] == pytest.approx(5.0)
    assert attr.total["liquidation"] == pytest.approx(-0.5)
    assert attr.total["price_basis"] == pytest.approx(-9.5)
    assert v.size("BTC") == 0.0
    assert v.value_usd() - 10.0 == pytest.approx(attr.sum(), abs=1e-9)


def test_opening_beyond_margin_is_rejected_and_changes_nothing():
    m = Market(frame([100]))
    ledger = m.ledger
    v = perp(m, mmr=0.1)
    ledger.add("x.perp", "USDT", 10.0)
    m.step(0)
    tr = m.do(v, Order(Operation.PERP_TRADE, "x.perp", 1.0, "BTC", Side.SELL))
    assert tr.status is TradeStatus.REJECTED and tr.error_code == "VENUE-003"
    assert v.size("BTC") == 0.0 and ledger.get("x.perp", "USDT") == 10.0


def test_atomic_group_is_all_or_nothing():
    m = Market(frame([100, 100]))
    ledger, attr = m.ledger, m.attr
    spot = CexSpot("x.spot", SpotParams(taker_fee_bps=10, slippage_bps=0), m.state, ledger, attr, {"BTC": "spot.x.BTCUSDT"})
    wallet = Wallet("wallet", m.state, ledger, attr)
    venues = {"wallet": wallet, "x.spot": spot}
    m.venues += [wallet, spot]
    ledger.add("wallet", "USDT", 1000.0)
    m.step(0)
    free = {"USDT": {"ERC20": NetworkTransfer(withdrawal_fee=0.0, withdrawal_delay_seconds=0, deposit_delay_seconds=0)}}
    costs = TransferCosts({"wallet": free, "x": free})
    em = ExecutionManager(venues, Transfers(venues, costs, m.state, attr), m.portfolio, m.state)
    before = ledger.snapshot()
    g = dict(execution_mode=ExecutionMode.ATOMIC, atomic_group_id="g1")
    trades = em.execute([
        Order(Operation.TRANSFER, "wallet", 500.0, "USDT", to_venue="x.spot", sequence_in_group=0, **g),
        Order(Operation.SPOT_TRADE, "x.spot", 4.0, "BTC", Side.BUY, sequence_in_group=1, **g),
        Order(Operation.SPOT_TRADE, "x.spot", 2.0, "BTC", Side.BUY, sequence_in_group=2, **g),  # 600 > cash left
    ], lambda ev: None)
    assert [t.status for t in trades] == [TradeStatus.FAILED] * 3
    assert all("leg 2" in t.error for t in trades)
    assert ledger.snapshot() == before
    assert attr.sum() == 0.0
    # sequential orders apply one by one: the first two fill, the third is rejected
    trades = em.execute([
        Order(Operation.TRANSFER, "wallet", 500.0, "USDT", to_venue="x.spot"),
        Order(Operation.SPOT_TRADE, "x.spot", 4.0, "BTC", Side.BUY),
        Order(Operation.SPOT_TRADE, "x.spot", 2.0, "BTC", Side.BUY),
    ], lambda ev: None)
    assert [t.status for t in trades] == [TradeStatus.FILLED, TradeStatus.FILLED, TradeStatus.REJECTED]
    assert ledger.get("x.spot", "BTC") == 4.0
    assert attr.total["fees"] == pytest.approx(-0.4)


def test_a_delayed_transfer_is_in_transit_then_lands_and_equity_never_jumps():
    class Account:
        def __init__(self, name, ledger):
            self.name, self.ledger = name, ledger

        def withdrawable(self, token):
            return self.ledger.get(self.name, token)

    m = Market(frame([100, 100, 100, 100]))
    ledger, attr = m.ledger, m.attr
    ledger.add("wallet", "USDT", 1000.0)
    accounts = {"wallet": Account("wallet", ledger), "bybit.perp": Account("bybit.perp", ledger)}
    # rule: the wallet withdraws on ERC20 for 1 USDT, on chain after 1 h; bybit credits after another 1 h
    out = NetworkTransfer(withdrawal_fee=1.0, withdrawal_delay_seconds=3600, deposit_delay_seconds=0)
    into = NetworkTransfer(withdrawal_fee=5.0, withdrawal_delay_seconds=0, deposit_delay_seconds=3600)
    costs = TransferCosts({"wallet": {"USDT": {"ERC20": out}, "WETH": {"ERC20": out}},
                           "bybit": {"USDT": {"ERC20": into}, "WETH": {"ERC20": into}}})
    tr = Transfers(accounts, costs, m.state, attr)
    m.venues.append(tr)
    m.step(0)
    fill = m.do(tr, Order(Operation.TRANSFER, "wallet", 400.0, "USDT", to_venue="bybit.perp"))
    assert fill.ok
    total = lambda: ledger.get("wallet", "USDT") + ledger.get("bybit.perp", "USDT") + tr.value_usd()  # noqa: E731
    assert ledger.get("wallet", "USDT") == 599.0 and tr.value_usd() == 400.0 and total() == 999.0
    assert m.step(1) == [] and ledger.get("bybit.perp", "USDT") == 0.0
    (ev,) = m.step(2)
    assert ev.kind == "transfer_arrived" and ledger.get("bybit.perp", "USDT") == 400.0 and tr.value_usd() == 0.0
    assert total() == 999.0 and attr.total["fees"] == -1.0
    ledger.add("wallet", "WETH", 20.0)
    refused = m.do(tr, Order(Operation.TRANSFER, "wallet", 10.0, "WETH", to_venue="bybit.perp"))
    assert not refused.ok and "USDT only" in refused.error


def test_a_transfer_takes_the_cheapest_common_network_and_same_venue_moves_are_free():
    nt = lambda fee, w, d: NetworkTransfer(withdrawal_fee=fee, withdrawal_delay_seconds=w, deposit_delay_seconds=d)  # noqa: E731
    costs = TransferCosts({
        "wallet": {"USDT": {"ERC20": nt(2.0, 15, 0)}},
        "binance": {"USDT": {"ERC20": nt(4.0, 600, 300), "TRC20": nt(1.0, 300, 120)}},
        "bybit": {"USDT": {"ERC20": nt(5.0, 600, 300), "TRC20": nt(1.5, 300, 60)}},
    })
    r = costs.route("binance.perp", "bybit.spot", "USDT")
    assert (r.network, r.fee, r.delay_ns) == ("TRC20", 1.0, (300 + 60) * 10**9)  # binance withdraws, bybit confirms
    r = costs.route("wallet", "binance.perp", "USDT")  # the wallet only speaks ERC20
    assert (r.network, r.fee, r.delay_ns) == ("ERC20", 2.0, (15 + 300) * 10**9)
    r = costs.route("binance.spot", "binance.perp", "USDT")
    assert (r.network, r.fee, r.delay_ns) == (None, 0.0, 0)
    assert costs.route("wallet", "bybit.perp", "WETH") is None  # no network configured for the token


def test_amounts_within_a_stated_tolerance_fill_for_what_is_there():
    from basiskit.domain.money import AMOUNT_RTOL

    m = Market(frame([100.0]))
    ledger = m.ledger
    spot = CexSpot("x.spot", SpotParams(taker_fee_bps=10, slippage_bps=1), m.state, ledger, m.attr, {"BTC": "spot.x.BTCUSDT"})
    m.venues.append(spot)
    m.step(0)
    ledger.add("x.spot", "USDT", 65.57)
    fill_cost = 100.0 * (1 + 1e-4) * (1 + 1e-3)  # USDT per BTC bought, fee and slippage included
    # a size computed as 'all the cash' that rounds a hair above it (half the tolerance) is filled for the cash
    q = 65.57 / fill_cost * (1 + AMOUNT_RTOL / 2)
    tr = m.do(spot, Order(Operation.SPOT_TRADE, "x.spot", q, "BTC", Side.BUY))
    assert tr.ok and ledger.get("x.spot", "USDT") == pytest.approx(0.0, abs=1e-12)
    assert tr.executed_amount == pytest.approx(65.57 / fill_cost, rel=1e-12)
    # beyond the tolerance it is refused, and the message shows the amounts differ
    ledger.add("x.spot", "USDT", 65.57)
    tr = m.do(spot, Order(Operation.SPOT_TRADE, "x.spot", 65.57 / fill_cost * (1 + 3 * AMOUNT_RTOL), "BTC", Side.BUY))
    assert tr.status is TradeStatus.REJECTED
    need, have = (float(x.split()[1]) for x in tr.error.split(": ")[1].split(", "))
    assert need > have and f"{need:.2f}" == f"{have:.2f}" == "65.57"  # 2 decimals would have hidden the gap
