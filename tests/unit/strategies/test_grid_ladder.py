"""The grid's ladder arithmetic (``implementations/grid/ladder.py``) against hand-worked cases, and the
market-data helpers of the stateless category."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from basiskit.strategies.categories import market
from basiskit.strategies.implementations.grid import GridConfig, ladder
from basiskit.strategies.implementations.grid.ladder import Rung


def rungs(*spec: str) -> list[Rung]:
    """``"-2b"``, ``"+1s"`` ... -> rungs (price irrelevant here)."""
    return [Rung(int(s[:-1]), s[-1], f"g-{s}-0", 1.0) for s in spec]


def test_level_prices_are_geometric():
    assert ladder.level_price(100.0, 0.01, 0) == 100.0
    assert ladder.level_price(100.0, 0.01, 2) == pytest.approx(102.01, rel=1e-15)
    assert ladder.level_price(100.0, 0.01, -1) == pytest.approx(100 / 1.01, rel=1e-15)
    assert ladder.nearest_level(100.0, 0.01, 102.0) == 2       # log(1.02)/log(1.01) = 1.99
    assert ladder.nearest_level(100.0, 0.01, 99.4) == -1       # -0.60
    assert ladder.nearest_level(100.0, 0.01, 99.6) == 0        # -0.40


def test_the_reference_reads_back_exactly_from_any_rung():
    ref = ladder.snap(61234.56789012345)
    assert ref == 61234.56789
    for k in range(-40, 41):
        assert ladder.reference_from(ladder.level_price(ref, 0.0037, k), 0.0037, k) == ref


def test_ids_round_trip_and_other_ids_are_not_rungs():
    cid = ladder.order_id("grid", -3, "b", 1714521600)
    assert cid == "grid--3b-1714521600"
    assert ladder.parse("grid", cid) == (-3, "b")
    assert ladder.parse("grid", ladder.order_id("grid", 12, "s", 5, "ab")) == (12, "s")
    assert ladder.parse("grid", "grid2-+1s-5") is None
    assert ladder.parse("grid", "o-17") is None
    assert ladder.parse("grid", "entry-tp-1") is None


def test_centre_and_plan_by_hand():
    L = 3
    # start: no rungs, price at the reference -> buys -3..-1, sells 1..3
    assert ladder.centre([], L, 0.01, 100.0, 100.0) == 0
    assert ladder.wanted(0, L) == {(-3, "b"), (-2, "b"), (-1, "b"), (1, "s"), (2, "s"), (3, "s")}
    # the buy at -1 filled (price went to ~99): gap -1..0, price at -1 -> centre -1: sell at 0 re-armed
    book = rungs("-3b", "-2b", "+1s", "+2s", "+3s")
    assert ladder.centre(book, L, 0.01, 100.0, 99.0) == -1
    cancel, place = ladder.plan(book, ladder.wanted(-1, L))
    assert cancel == [] and place == [(0, "s")]
    # two buys filled in one bar and the price came back to the reference: gap -2..0, centre at the price
    book = rungs("-3b", "+1s", "+2s", "+3s")
    assert ladder.centre(book, L, 0.01, 100.0, 100.2) == 0
    assert ladder.plan(book, ladder.wanted(0, L)) == ([], [(-2, "b"), (-1, "b")])
    # the price fell below the ladder: every buy filled, centre clamped to -3
    book = rungs("+1s", "+2s", "+3s")
    assert ladder.centre(book, L, 0.01, 100.0, 90.0) == -3
    assert ladder.plan(book, ladder.wanted(-3, L))[1] == [(-2, "s"), (-1, "s"), (0, "s")]
    # a duplicate rung and a crossed order: the newer duplicate and the crossed one are cancelled
    book = rungs("-3b", "-2b", "-2b", "+1s", "+2s", "+3s", "+2b")
    c = ladder.centre(book, L, 0.01, 100.0, 100.0)
    assert c == 0  # crossed (buy at +2 above the sell at +1): the price decides
    cancel, place = ladder.plan(book, ladder.wanted(c, L))
    assert cancel == ["g--2b-0", "g-+2b-0"] and place == [(-1, "b")]


def test_grid_config_refuses_bad_values():
    assert GridConfig().account == "binance.perp"
    for bad in ({"account": "binance.spot"}, {"account": "perp"}, {"levels": 0}, {"spacing": 0},
                {"order_size": -1}, {"name": "has space"}, {"bars": "5m"}, {"levlels": 3}):
        with pytest.raises(ValidationError):
            GridConfig(**bad)


class Ctx:
    """A context with a hand-made price history (oldest first) for ``perp.binance.BTCUSDT``."""

    def __init__(self, xs):
        self.xs = xs

    def history(self, key, n):
        assert key == "perp.binance.BTCUSDT"
        return self.xs[-n:]

    def perp_mark(self, account, token):
        return self.xs[-1]

    def spot_price(self, account, token):
        return -1.0


def test_market_helpers():
    ctx = Ctx([100.0, 110.0, 99.0, 108.9])
    assert market.series_key("binance.perp", "BTC") == "perp.binance.BTCUSDT"
    assert market.series_key("bybit.spot", "ETH") == "spot.bybit.ETHUSDT"
    assert market.price(ctx, "binance.perp", "BTC") == 108.9
    assert market.price(ctx, "binance.spot", "BTC") == -1.0
    assert market.sma(ctx, "binance.perp", "BTC", 2) == pytest.approx(103.95)
    assert market.sma(ctx, "binance.perp", "BTC", 5) is None
    r = [math.log(1.1), math.log(0.9), math.log(1.1)]
    m = sum(r) / 3
    assert market.realised_vol(ctx, "binance.perp", "BTC", 3) == pytest.approx(math.sqrt(sum((x - m) ** 2 for x in r) / 2))
    assert market.realised_vol(ctx, "binance.perp", "BTC", 4) is None
    with pytest.raises(ValueError, match="not a CEX spot or perp"):
        market.kind_of("aave_v3")
    with pytest.raises(ValueError):
        market.recent(ctx, "binance.perp", "BTC", 0)
