"""Lot-size rules (domain/lots.py, engine/execution.py, btc_basis on the lots), against hand-computed values.

Rules: an amount is rounded toward zero to the step; an order below the minimum amount or notional is not
sent (skipped with a reason, EXEC-009); the legs of a hedge share one rounded size."""

import random

import pytest

from basiskit.domain.events import Event
from basiskit.domain.lots import LotSize, floor_to_step
from basiskit.domain.orders import Operation, Order, Side
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.execution import ExecutionManager
from basiskit.strategies.registry import build_strategy, load_mode_config

from test_basis_strategy import FakeContext

BINANCE_PERP = LotSize(0.001, 0.001, 100.0)   # BTCUSDT USD-M: step 0.001, min 0.001, min notional 100 USDT
BYBIT_SPOT = LotSize(0.000001, 0.000048, 1.0)  # BTCUSDT spot: basePrecision, minOrderQty, minOrderAmt
BYBIT_PERP = LotSize(0.001, 0.001, 5.0)        # BTCUSDT linear: qtyStep, minOrderQty, minNotionalValue


# -- rounding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount, step, want", [
    (0.8337, 0.001, 0.833),              # toward zero, never up
    (0.8339999, 0.001, 0.833),
    (1.0301543212008923, 0.000001, 1.030154),
    (0.12345678, 0.00001, 0.12345),
    (0.3 - 0.1, 0.1, 0.2),               # 0.19999999999999998: float noise of an on-grid difference is the grid point
    (0.199, 0.1, 0.1),
    (7.0, 0.5, 7.0),                     # a step that is not a power of ten
    (7.4, 0.5, 7.0),
    (0.0009, 0.001, 0.0),
])
def test_amounts_round_toward_zero_to_the_step(amount, step, want):
    got = floor_to_step(amount, step)
    assert got == want and repr(got) == repr(want)  # the float of the decimal (ccxt's truncation keeps it)


def test_rounding_never_exceeds_the_amount_and_loses_less_than_one_step():
    rng = random.Random(7)
    for _ in range(2000):
        step = rng.choice([1e-6, 1e-5, 1e-3, 0.01, 0.5])
        x = rng.uniform(0, 50)
        got = floor_to_step(x, step)
        assert got <= x * (1 + 1e-12) and x - got < step * (1 + 1e-9)


def test_bad_steps_and_amounts_are_refused():
    with pytest.raises(ValueError, match="step"):
        floor_to_step(1.0, 0.0)
    with pytest.raises(ValueError, match="amount"):
        floor_to_step(-1.0, 0.001)


def test_minimums_at_a_price():
    # Binance perp at 60000 USDT: 100 / 60000 = 0.0016667 BTC -> the smallest order on the grid is 0.002
    assert BINANCE_PERP.minimum(60_000.0) == 0.002
    assert BINANCE_PERP.problem(0.001, 60_000.0) and "notional" in BINANCE_PERP.problem(0.001, 60_000.0)  # 60 USDT
    assert BINANCE_PERP.problem(0.002, 60_000.0) is None                                               # 120 USDT
    # Bybit spot: the minimum amount 0.000048 binds (notional 1 USDT = 0.0000167 BTC)
    assert BYBIT_SPOT.minimum(60_000.0) == 0.000048
    assert "minimum amount" in BYBIT_SPOT.problem(0.000047, 60_000.0)
    assert BYBIT_SPOT.problem(0.000048, 60_000.0) is None
    assert "rounds to nothing" in BYBIT_PERP.problem(0.0, 60_000.0)


# -- the execution manager ------------------------------------------------------------------------
class _State:
    t = 1_000


class _Venue:
    """A spot account at ``price`` with ``lot`` (None: any amount) that fills what it gets."""

    def __init__(self, lot, price=60_000.0):
        self._lot, self._price, self.got = lot, price, []

    def lot(self, token):
        return self._lot

    def price(self, token):
        return self._price

    def submit(self, orders):
        self.got += [o.amount for o in orders]
        return [Trade(o, _State.t, TradeStatus.FILLED, executed_amount=o.amount, price=self._price) for o in orders]


def _run(lot, amount):
    venue = _Venue(lot)
    ex = ExecutionManager({"bybit.spot": venue}, None, Portfolio(), _State())
    events: list = []
    ex.publish = events.append
    trades = ex.execute([Order(Operation.SPOT_TRADE, "bybit.spot", amount, "BTC", Side.BUY)], lambda ev: None)
    return venue, ex, trades, events


def test_the_execution_manager_sends_the_amount_rounded_down_and_publishes_the_residual():
    venue, ex, trades, events = _run(LotSize(0.001, 0.001, 5.0), 0.8337)
    assert venue.got == [0.833] and trades[0].status is TradeStatus.FILLED and trades[0].order.amount == 0.833
    assert ex.order_status(trades[0].order.client_order_id).amount == 0.833  # the record has the rounded amount
    (ev,) = events
    assert isinstance(ev, Event) and ev.kind == "lot_rounded" and ev.data["requested"] == 0.8337
    assert ev.data["amount"] == 0.833 and ev.data["residual"] == pytest.approx(0.0007, abs=1e-15)


def test_an_order_below_the_minimum_notional_is_skipped_not_sent():
    # 0.0015 BTC -> 0.001 on the grid -> 60 USDT at 60000, below Binance's 100 USDT
    venue, ex, trades, events = _run(BINANCE_PERP, 0.0015)
    assert venue.got == [] and events == []
    (tr,) = trades
    assert tr.status is TradeStatus.REJECTED and tr.error_code == "EXEC-009" and "notional 60" in tr.error
    assert tr.order.client_order_id is None or tr.order.client_order_id not in ex.registry  # never registered


def test_the_same_order_skipped_again_is_not_reported_again_but_counted():
    venue = _Venue(BINANCE_PERP)
    ex = ExecutionManager({"bybit.spot": venue}, None, Portfolio(), _State())
    small = Order(Operation.SPOT_TRADE, "bybit.spot", 0.0015, "BTC", Side.BUY)
    first = ex.execute([small], lambda ev: None)
    assert [t.error_code for t in first] == ["EXEC-009"] and ex.all_skipped
    again = ex.execute([small, small], lambda ev: None)
    assert again == [] and ex.all_skipped and sum(ex.skips_repeated.values()) == 2 and venue.got == []
    # a sendable order in the same call: not all skipped, and it goes
    ok = ex.execute([small, Order(Operation.SPOT_TRADE, "bybit.spot", 0.0021, "BTC", Side.BUY)], lambda ev: None)
    assert not ex.all_skipped and venue.got == [0.002] and [t.order.amount for t in ok] == [0.002]
    # the same amount once the price makes it worth the minimum notional (0.001 x 120000 = 120 USDT): sent
    venue._price = 120_000.0
    assert ex.execute([small], lambda ev: None)[0].status is TradeStatus.FILLED and venue.got[-1] == 0.001


def test_without_a_lot_the_amount_goes_as_it_is():
    venue, _, trades, events = _run(None, 0.8337)
    assert venue.got == [0.8337] and events == []


# -- btc_basis on the lots ------------------------------------------------------------------------
class LotContext(FakeContext):
    """``FakeContext`` with the venues' real BTCUSDT lot sizes."""

    lots = {"bybit.spot": BYBIT_SPOT, "binance.perp": BINANCE_PERP, "bybit.perp": BYBIT_PERP}

    def lot(self, account, token):
        return self.lots.get(account)


def test_the_hedge_legs_share_one_rounded_size():
    strat = build_strategy(load_mode_config("btc_basis", {"perp_margin_fraction": 0.5}))
    # equity 150000 at 60000, no costs: Q = 150000 / (60000 x 1.5) = 1.6666667 BTC; each short 0.8333333 -> 0.833
    # on the 0.001 grid; the spot their sum 1.666; margins 0.5 x 0.833 x 60000 = 24990 (10 USDT off the 25000
    # held: within the margin tolerance, no transfer)
    ctx = LotContext(price=60_000.0, cash={("bybit.spot", "USDT"): 100_000.0, ("binance.perp", "USDT"): 25_000.0,
                                           ("bybit.perp", "USDT"): 25_000.0})
    d = strat.decide(ctx)
    got = {(o.venue, o.side): o.amount for o in d.orders}
    assert got == {("bybit.spot", Side.BUY): 1.666, ("binance.perp", Side.SELL): 0.833, ("bybit.perp", Side.SELL): 0.833}
    assert "delta residual +0 BTC" in d.reason  # visible in the decision: 1.666 - 2 x 0.833


def test_when_cash_limits_the_spot_the_shorts_are_rounded_first_and_the_spot_buys_what_they_hedge():
    strat = build_strategy(load_mode_config("btc_basis", {"perp_margin_fraction": 0.5}))
    strat.entered = False
    ctx = LotContext(price=60_000.0, cash={("bybit.spot", "USDT"): 100_000.0, ("binance.perp", "USDT"): 25_000.0,
                                           ("bybit.perp", "USDT"): 25_000.0})
    strat._step = ctx.step
    strat._targets = (1.666, {"binance.perp": -0.833, "bybit.perp": -0.833}, {"binance.perp": 24_990.0, "bybit.perp": 24_990.0})
    ctx.cash_[("bybit.spot", "USDT")] = 50_000.0  # half the cash landed: 50000 / 60000 = 0.8333333 BTC affordable
    orders = strat._increase(ctx)
    # hedged share 0.8333333 / 1.666 = 0.5002; each short 0.833 x 0.5002 = 0.41667 -> 0.416; spot = 0.832
    got = {(o.venue, o.side): o.amount for o in orders}
    assert got == {("bybit.spot", Side.BUY): 0.832, ("binance.perp", Side.SELL): 0.416, ("bybit.perp", Side.SELL): 0.416}


def test_a_rehedge_below_the_minimum_is_not_built_and_not_asked_again():
    # shorts 0.833 (Binance, wanted 0.833 + 0.001 -> an add of 0.001 = 60 USDT < 100) and spot 1.666: the delta
    # drift trigger (threshold 0.0001 of equity) fires each step; the add is below Binance's minimum notional
    strat = build_strategy(load_mode_config("btc_basis", {"perp_margin_fraction": 0.5, "delta_drift_threshold": 0.0001}))
    strat.entered = True
    cash = {("bybit.spot", "BTC"): 1.666, ("bybit.spot", "USDT"): 60.0, ("binance.perp", "USDT"): 24_990.0,
            ("bybit.perp", "USDT"): 24_990.0}
    for step in (3, 4):
        ctx = LotContext(price=60_000.0, step=step, cash=dict(cash), sizes={"binance.perp": -0.832, "bybit.perp": -0.833})
        ctx.equity_usd = lambda: 1.666 * 60_000.0 + 60.0 + 2 * 24_990.0
        assert strat.decide(ctx).orders == []  # no order below the lot: nothing refused, nothing retried
    # on Bybit's perp (minimum notional 5 USDT) the same add of 0.001 is sent
    strat = build_strategy(load_mode_config("btc_basis", {"perp_margin_fraction": 0.5, "delta_drift_threshold": 0.0001}))
    strat.entered = True
    ctx = LotContext(price=60_000.0, step=3, cash=dict(cash), sizes={"binance.perp": -0.833, "bybit.perp": -0.832})
    ctx.equity_usd = lambda: 1.666 * 60_000.0 + 60.0 + 2 * 24_990.0
    got = {(o.venue, o.side): o.amount for o in strat.decide(ctx).orders}
    assert got == {("bybit.perp", Side.SELL): 0.001}
