"""The basis strategy is tested with no engine: a fake context in, orders out."""

import pytest

from basiskit.domain.actions import Action
from basiskit.domain.orders import Operation, Side
from basiskit.strategies.registry import build_strategy, load_mode_config


class FakeContext:
    """Rule: spot and perp prices are ``price``; fees are ``cost``; balances are plain dicts."""

    def __init__(self, price=100.0, cost=0.0, cash=None, sizes=None, step=0, stale=(), transit=None, fee=0.0):
        self.price, self.cost, self.step = price, cost, step
        self.cash_ = cash or {}
        self.sizes = sizes or {}
        self.time_ns = 0
        self.stale = set(stale)        # accounts whose price did not trade at this step
        self.transit = transit or {}   # account -> USDT on its way there
        self.fee = fee                 # transfer fee between venues, USDT

    def price_live(self, account, token):
        return account not in self.stale

    def in_transit(self, account, token="USDT"):
        return self.transit.get(account, 0.0)

    def transfer_fee(self, src, dst, token="USDT"):
        return 0.0 if src.split(".")[0] == dst.split(".")[0] else self.fee

    def transfer_delay_s(self, src, dst, token="USDT"):
        return 0

    def equity_usd(self):
        usd = sum(v for (a, t), v in self.cash_.items() if t == "USDT")
        spot = sum(v * self.price for (a, t), v in self.cash_.items() if t != "USDT")
        return usd + spot

    def pending_withdrawal_usd(self):
        return 0.0

    def cash(self, account, token="USDT"):
        return self.cash_.get((account, token), 0.0)

    def withdrawable(self, account, token="USDT"):
        return self.cash(account, token)

    def spot_price(self, account, token):
        return self.price

    def perp_size(self, account, token):
        return self.sizes.get(account, 0.0)

    def perp_mark(self, account, token):
        return self.price

    def margin_balance(self, account):
        return self.cash(account)

    def margin_ratio(self, account):
        s = abs(self.sizes.get(account, 0.0))
        return self.cash(account) / (s * self.price) if s else None

    def net_delta_usd(self):
        spot = sum(v for (a, t), v in self.cash_.items() if t != "USDT")
        return (spot + sum(self.sizes.values())) * self.price

    def cost_rate(self, account):
        return self.cost


def test_entry_moves_cash_then_trades_to_the_stated_split():
    cfg = load_mode_config("btc_basis", {"perp_margin_fraction": 0.5})
    strat = build_strategy(cfg)
    ctx = FakeContext(cash={("wallet", "USDT"): 150_000.0})
    d = strat.decide(ctx)
    assert d.action is Action.ENTRY_FULL
    assert all(o.operation is Operation.TRANSFER for o in d.orders)
    moved = {o.to_venue: o.amount for o in d.orders}
    # rule with no costs: E = Q p (1 + k)  ->  Q = 150000 / (100 x 1.5) = 1000 BTC
    # (the spot leg carries a 1e-6 safety margin on its cash, taken from the last transfer)
    assert moved == pytest.approx({"bybit.spot": 100_000.0, "binance.perp": 25_000.0, "bybit.perp": 25_000.0}, rel=1e-5)
    assert sum(moved.values()) == pytest.approx(150_000.0, rel=1e-12)
    # apply the transfers, then the next pass trades
    ctx.cash_ = {("bybit.spot", "USDT"): 100_000.0, ("binance.perp", "USDT"): 25_000.0, ("bybit.perp", "USDT"): 25_000.0}
    d = strat.decide(ctx)
    got = {(o.venue, o.side): o.amount for o in d.orders}
    assert got == pytest.approx({("bybit.spot", Side.BUY): 1000.0, ("binance.perp", Side.SELL): 500.0,
                                 ("bybit.perp", Side.SELL): 500.0})
    # after the fills nothing is left to do in this step
    ctx.cash_ = {("bybit.spot", "BTC"): 1000.0, ("binance.perp", "USDT"): 25_000.0, ("bybit.perp", "USDT"): 25_000.0}
    ctx.sizes = {"binance.perp": -500.0, "bybit.perp": -500.0}
    assert strat.decide(ctx).orders == []


def test_margin_floor_breach_reduces_the_book_and_tops_up_margin():
    cfg = load_mode_config("btc_basis", {"perp_margin_fraction": 0.5, "margin_ratio_floor": 0.25})
    strat = build_strategy(cfg)
    strat.entered = True
    # price rose 100 -> 125: shorts lost 25 x 500 each; margin ratio (25000-12500)/62500 = 0.2 < 0.25
    ctx = FakeContext(price=125.0, step=5,
                      cash={("bybit.spot", "BTC"): 1000.0, ("binance.perp", "USDT"): 12_500.0, ("bybit.perp", "USDT"): 12_500.0},
                      sizes={"binance.perp": -500.0, "bybit.perp": -500.0})
    d = strat.decide(ctx)
    assert d.action is Action.EXIT_PARTIAL and "margin ratio" in d.reason
    # equity 150000 at 125 -> Q = 150000 / (125 x 1.5) = 800: sell 200 spot, buy back 100 on each venue
    got = {(o.venue, o.side): o.amount for o in d.orders}
    assert got == pytest.approx({("bybit.spot", Side.SELL): 200.0, ("binance.perp", Side.BUY): 100.0,
                                 ("bybit.perp", Side.BUY): 100.0})


def test_rebalance_off_holds_through_a_margin_breach():
    strat = build_strategy(load_mode_config("btc_basis", {"rebalance": False}))
    strat.entered = True
    ctx = FakeContext(price=125.0, step=5,
                      cash={("bybit.spot", "BTC"): 1000.0, ("binance.perp", "USDT"): 12_500.0, ("bybit.perp", "USDT"): 12_500.0},
                      sizes={"binance.perp": -500.0, "bybit.perp": -500.0})
    assert strat.decide(ctx).action is Action.HOLD


def test_margin_above_the_ceiling_goes_back_to_the_spot_leg():
    cfg = load_mode_config("btc_basis", {"perp_margin_fraction": 0.5, "margin_ratio_ceiling": 0.6})
    strat = build_strategy(cfg)
    strat.entered = True
    # price fell 100 -> 80: shorts gained 20 x 500 each; margin ratio (25000 + 10000) / 40000 = 0.875
    ctx = FakeContext(price=80.0, step=7,
                      cash={("bybit.spot", "BTC"): 1000.0, ("binance.perp", "USDT"): 35_000.0, ("bybit.perp", "USDT"): 35_000.0},
                      sizes={"binance.perp": -500.0, "bybit.perp": -500.0})
    d = strat.decide(ctx)
    assert d.action is Action.ENTRY_PARTIAL and d.trigger == "margin_ceiling"
    # equity 150000 at 80 -> Q = 1250: each venue keeps 0.5 x 625 x 80 = 25000 and sends 10000 to the spot leg
    moved = {(o.venue, o.to_venue): o.amount for o in d.orders if o.operation is Operation.TRANSFER}
    assert moved == pytest.approx({("binance.perp", "bybit.spot"): 10_000.0, ("bybit.perp", "bybit.spot"): 10_000.0},
                                  rel=1e-5)


def test_cash_in_transit_counts_toward_its_destination_and_the_shorts_follow_the_spot_held():
    cfg = load_mode_config("btc_basis", {"perp_margin_fraction": 0.5})
    strat = build_strategy(cfg)
    # the entry sent the money; it has not landed yet: nothing is sent twice, nothing is shorted unhedged
    ctx = FakeContext(cash={("wallet", "USDT"): 0.0}, transit={"bybit.spot": 100_000.0, "binance.perp": 25_000.0,
                                                                "bybit.perp": 25_000.0})
    ctx.equity_usd = lambda: 150_000.0
    assert strat.decide(ctx).orders == []


def test_a_retarget_that_needs_a_venue_without_a_traded_price_is_deferred():
    cfg = load_mode_config("btc_basis", {"perp_margin_fraction": 0.5, "margin_ratio_floor": 0.25})
    strat = build_strategy(cfg)
    strat.entered = True
    ctx = FakeContext(price=125.0, step=5, stale={"binance.perp"},
                      cash={("bybit.spot", "BTC"): 1000.0, ("binance.perp", "USDT"): 12_500.0, ("bybit.perp", "USDT"): 12_500.0},
                      sizes={"binance.perp": -500.0, "bybit.perp": -500.0})
    d = strat.decide(ctx)
    assert d.deferred and d.orders == [] and "binance.perp" in d.reason and d.trigger == "margin_floor"
    ctx.stale, ctx.step = set(), 6  # the data resumes: the same breach re-targets
    assert strat.decide(ctx).orders
