"""AAVE borrowing, flash-loan atomic groups and the leveraged book on market data built by the test.

Rules of the built data: hourly grid; ETH/USD constant 2,000; weETH/ETH rate ``1.05 e^{y t}``, weETH
liquidity index ``e^{s t}``, WETH variable borrow index ``e^{b t}`` (t in years, continuously
compounded constant rates); gas price as given; the weETH/WETH pool at the exchange rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from basiskit.data.market import MarketFrame
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.trades import TradeStatus
from basiskit.engine.backtest import simulate
from basiskit.domain.time import SECONDS_PER_YEAR, to_ns
from basiskit.engine.execution import ExecutionManager
from basiskit.engine.assembly import build_venues
from basiskit.strategies.registry import build_strategy, load_mode_config
from basiskit.data.feed import HistoricalFeed
from basiskit.domain.portfolio import Attribution, Ledger, Portfolio

ETH_USD = 2000.0
HOUR_NS = 3600 * 10**9


def built_frame(hours: int, y: float, s: float, b: float, gwei: float = 0.0, start: str = "2024-06-01") -> MarketFrame:
    grid = to_ns(start) + np.arange(hours + 1, dtype=np.int64) * HOUR_NS
    t = (grid - grid[0]) / 1e9 / SECONDS_PER_YEAR
    rate = 1.05 * np.exp(y * t)
    return MarketFrame(grid=grid, series={
        "eth.usd.oracle": [ETH_USD] * len(grid),
        "eth.usdt": [ETH_USD] * len(grid),
        "lst.weETH.eth": rate.tolist(),
        "aave.weETH.liquidity_index": np.exp(s * t).tolist(),
        "aave.WETH.variable_borrow_index": np.exp(b * t).tolist(),
        "pool.weETHWETH": rate.tolist(),
        "gas.gwei": [gwei] * len(grid),
    })


def no_flash_fee(venues) -> None:
    venues.accounts["aave_v3"]._fee = 0.0


@pytest.mark.parametrize("t", [0.5, 0.8, 0.9])
def test_levered_return_is_y_plus_s_minus_bt_over_one_minus_t(t):
    y, s, b = 0.030, 0.001, 0.022
    cfg = load_mode_config("eth_leveraged", {"target_ltv": t, "ltv_band": 1e-7, "min_trade_usd": 0,
                                             "onchain_min_trade_fraction": 0, "gas_reserve_eth": 0,
                                             "risk": {"override": False}})
    hours = 24 * 365
    frame = built_frame(hours, y, s, b)
    capital = 1000.0
    sim = simulate(cfg, build_strategy(cfg), frame, capital, patch_venues=no_flash_fee)
    equity_eth = np.asarray(sim.loop.equity) / ETH_USD
    years = hours * 3600 / SECONDS_PER_YEAR
    growth = math.log(equity_eth[-1] / capital) / years  # continuously compounded, per year
    assert equity_eth[0] == pytest.approx(capital, rel=1e-12)  # no costs at entry
    assert growth == pytest.approx((y + s - b * t) / (1 - t), abs=1e-6)
    assert max(sim.loop.ltv[1:]) == pytest.approx(t, abs=1e-6)
    assert sum(1 for tr in sim.loop.trades if not tr.ok) == 0


class Harness:
    """The venues of eth_leveraged on built data, stepped by hand (what the kernel does each step)."""

    def __init__(self, gwei: float):
        cfg = load_mode_config("eth_leveraged", {"target_ltv": 0.85})
        strategy = build_strategy(cfg)
        self.feed = HistoricalFeed(built_frame(3, 0.03, 0.001, 0.02, gwei=gwei))
        self.portfolio = Portfolio()
        self.venues = build_venues(strategy.requirements(), self.feed.state, self.portfolio)
        self.portfolio.ledger.add("wallet", "WETH", 10.0)
        self.ex = ExecutionManager(self.venues.accounts, self.venues.transfers, self.portfolio, self.feed.state,
                                   self.venues.gas)
        self.step(0)

    def step(self, i: int) -> list:
        tick = self.feed.advance(i)
        self.venues.prices.on_tick()
        events = []
        for v in self.venues.accounts.values():
            for ev in v.on_market(tick):
                self.portfolio.apply(ev)
                events.append(ev)
        return events

    def execute(self, orders):
        return self.ex.execute(orders, lambda ev: None)


def _setup(gwei: float):
    h = Harness(gwei)
    return h, h.portfolio.ledger, h.portfolio.attribution, h


def _loop_group(borrow: float, gid: str = "g1") -> list[Order]:
    rate = 1.05
    legs = [(Operation.FLASH_BORROW, "aave_v3", 40.0, "WETH"), (Operation.STAKE, "etherfi", 50.0, "WETH"),
            (Operation.SUPPLY, "aave_v3", 50.0 / rate, "weETH"), (Operation.BORROW, "aave_v3", borrow, "WETH"),
            (Operation.FLASH_REPAY, "aave_v3", 40.02, "WETH")]
    return [Order(op, v, a, tok, execution_mode=ExecutionMode.ATOMIC, atomic_group_id=gid, sequence_in_group=k)
            for k, (op, v, a, tok) in enumerate(legs)]


@pytest.mark.parametrize("gwei", [0.0, 20.0])
def test_atomic_group_whose_borrow_breaks_max_ltv_changes_no_balance_but_pays_gas(gwei):
    h, ledger, attr, ex = _setup(gwei)
    aave, staking = h.venues.accounts["aave_v3"], h.venues.accounts["etherfi"]
    before = (ledger.snapshot(), aave.checkpoint(), staking.checkpoint(), dict(attr.total))
    # 50 ETH of weETH collateral, E-mode max LTV 93 %: borrowing 48 ETH is 96 %
    trades = ex.execute(_loop_group(borrow=48.0))
    assert [tr.status for tr in trades] == [TradeStatus.FAILED] * 5
    assert all("max LTV" in tr.error and "leg 3" in tr.error for tr in trades)
    units = 90_000 + 150_000 + 180_000 + 250_000 - 3 * 21_000  # one transaction up to the failing leg
    gas_eth = units * gwei * 1e-9
    after = ledger.snapshot()
    assert after.pop(("wallet", "WETH")) == pytest.approx(10.0 - gas_eth, rel=1e-12)
    snap = dict(before[0])
    snap.pop(("wallet", "WETH"))
    assert after == snap
    assert aave.checkpoint() == before[1] and staking.checkpoint() == before[2]
    assert attr.total["gas"] == pytest.approx(-gas_eth * ETH_USD, rel=1e-12)
    assert {k: v for k, v in attr.total.items() if k != "gas"} == {k: v for k, v in before[3].items() if k != "gas"}


def test_the_same_group_within_max_ltv_fills_and_pays_gas_once():
    h, ledger, attr, ex = _setup(20.0)
    aave = h.venues.accounts["aave_v3"]
    trades = ex.execute(_loop_group(borrow=40.02))
    assert all(tr.ok for tr in trades)
    units = 90_000 + 150_000 + 180_000 + 250_000 + 21_000 - 4 * 21_000
    assert attr.total["gas"] == pytest.approx(-units * 20e-9 * ETH_USD, rel=1e-12)
    assert attr.total["flash_fees"] == pytest.approx(-0.02 * ETH_USD, rel=1e-9)  # 5 bps of 40 WETH
    assert aave.borrowed("WETH") == pytest.approx(40.02)
    assert aave.ltv() == pytest.approx(40.02 / 50.0)
    assert aave.health_factor() == pytest.approx(50.0 * 0.95 / 40.02)  # E-mode liquidation threshold 95 %


def test_a_flash_loan_left_open_fails_the_group():
    h, ledger, attr, ex = _setup(0.0)
    group = _loop_group(borrow=40.02)[:-1]  # no flash_repay
    before = ledger.snapshot()
    trades = ex.execute(group)
    assert all(tr.status is TradeStatus.FAILED for tr in trades)
    assert "not repaid" in trades[0].error
    assert ledger.snapshot() == before


def test_liquidation_follows_the_aave_close_factor_and_bonus():
    """Debt pushed above the liquidation threshold: half the debt is repaid (HF >= 0.95) and collateral worth
    the repaid debt x (1 + 1 % E-mode bonus) is seized; the loss is the bonus on the repaid debt."""
    h, ledger, attr, ex = _setup(0.0)
    aave = h.venues.accounts["aave_v3"]
    assert all(tr.ok for tr in ex.execute(_loop_group(borrow=40.02)))
    aave.scaled_debt["WETH"] *= 48.5 / 40.02  # as if the debt had grown to 48.5 ETH: HF = 47.5/48.5 < 1
    assert 0.95 < aave.health_factor() < 1
    events = h.step(1)
    (ev,) = [e for e in events if e.kind == "liquidation"]
    debt = aave._bidx("WETH") * (aave.scaled_debt["WETH"]) + ev.data["debt_repaid"]
    assert ev.data["close_factor"] == 0.5
    assert ev.data["debt_repaid"] == pytest.approx(0.5 * debt, rel=1e-12)
    rate = aave.prices.eth("weETH")
    assert ev.data["collateral_seized"] * rate == pytest.approx(ev.data["debt_repaid"] * 1.01, rel=1e-12)
    assert ev.data["loss_usd"] == pytest.approx(ev.data["debt_repaid"] * 0.01 * ETH_USD, rel=1e-9)
    assert attr.total["liquidation"] == pytest.approx(-ev.data["loss_usd"], rel=1e-12)


def test_unstaking_goes_through_the_withdrawal_queue_at_the_request_rate():
    h, ledger, attr, ex = _setup(0.0)
    staking = h.venues.accounts["etherfi"]
    assert ex.execute([Order(Operation.STAKE, "etherfi", 10.0, "WETH")])[0].ok
    weeth = ledger.get("wallet", "weETH")
    assert weeth == pytest.approx(10.0 / 1.05)  # minted at the exchange rate
    staking.delay_ns = 2 * HOUR_NS
    h.step(1)
    assert ex.execute([Order(Operation.UNSTAKE, "etherfi", weeth, "weETH")])[0].ok
    rate_1 = staking.rate()
    assert ledger.get("wallet", "weETH") == 0.0 and staking.queued_eth() == pytest.approx(weeth * rate_1)
    assert staking.value_usd() == pytest.approx(weeth * rate_1 * ETH_USD)
    assert [e for e in h.step(2) if e.component == "etherfi"] == []  # not claimable yet
    (claim,) = [e for e in h.step(3) if e.component == "etherfi"]
    assert claim.kind == "withdrawal_claimed"
    assert ledger.get("wallet", "WETH") == pytest.approx(weeth * rate_1)  # no yield while queued


def test_aave_health_factor_is_checked_intrabar_when_it_depends_on_eth_usd():
    """Rule: 10,000 USDT supplied (LT 78 %, no E-mode), 3.5 WETH borrowed at ETH 2,000: HF = 7,800 / (3.5 P),
    1 at P* = 2,228.57. The next bar opens at 2,100 (HF 1.06) but its previous bar's high is 2,300: the
    account is liquidated at P* (close factor 50 %, USDT bonus 4.5 %), the loss booked at the step's price."""
    from basiskit.config.venues import AaveParams
    from basiskit.engine.assembly import load_venue_config
    from basiskit.venues.sim.aave_v3 import AaveV3
    from basiskit.venues.sim.gas import GasModel
    from basiskit.venues.sim.onchain_prices import OnchainPrices

    def run(high: float):
        grid = to_ns("2024-06-01") + np.arange(3, dtype=np.int64) * HOUR_NS
        eth = [2000.0, 2100.0, 2100.0]
        frame = MarketFrame(grid=grid, series={"eth.usd.oracle": eth, "eth.usdt": eth, "gas.gwei": [0.0] * 3,
                                               "aave.USDT.liquidity_index": [1.0] * 3,
                                               "aave.WETH.variable_borrow_index": [1.0] * 3},
                            highs={"eth.usd.oracle": [float("nan"), high, float("nan")]},
                            lows={"eth.usd.oracle": [float("nan"), 1990.0, float("nan")]})
        params: AaveParams = load_venue_config("aave_v3").aave
        feed = HistoricalFeed(frame)
        portfolio = Portfolio()
        prices = OnchainPrices(feed.state, [], [])
        gas = GasModel(feed.state, pay_in="WETH", valuation=prices)
        aave = AaveV3("aave_v3", params, feed.state, portfolio.ledger, portfolio.attribution, gas,
                      {"USDT": "aave.USDT.liquidity_index"}, {"WETH": "aave.WETH.variable_borrow_index"}, prices=prices)
        portfolio.ledger.add("wallet", "USDT", 10_000.0)
        tick = feed.advance(0)
        prices.on_tick()
        aave.on_market(tick)
        for order in (Order(Operation.SUPPLY, "aave_v3", 10_000.0, "USDT"), Order(Operation.BORROW, "aave_v3", 3.5, "WETH")):
            (tr,) = aave.submit([order])
            assert tr.ok
            portfolio.apply(tr)
        tick = feed.advance(1)
        prices.on_tick()
        before = aave.value_usd()
        events = aave.on_market(tick)
        for ev in events:
            portfolio.apply(ev)
        return aave, events, before, portfolio.attribution

    aave, events, _, _ = run(high=2150.0)  # HF at 2,150 is 1.037: no breach
    assert events == [] and aave.health_factor() == pytest.approx(7800 / (3.5 * 2100))
    aave, events, before, attr = run(high=2300.0)
    (ev,) = events
    p_star = 7800 / 3.5
    assert ev.data["trigger"] == "intrabar" and ev.data["eth_usd_at_liquidation"] == pytest.approx(p_star)
    assert ev.data["debt_repaid"] == pytest.approx(1.75) and ev.data["close_factor"] == 0.5
    assert ev.data["collateral_seized"] == pytest.approx(1.75 * p_star * 1.045)
    loss = 1.75 * p_star * 1.045 - 1.75 * 2100  # seized USDT less the debt repaid, at the step's ETH price
    assert ev.data["loss_usd"] == pytest.approx(loss)
    assert aave.value_usd() - before == pytest.approx(-loss)
    assert attr.total["liquidation"] == pytest.approx(-loss)
