"""Lot sizes in a backtest of a strategy that does not round to them itself (the grid: a ladder of
``order_size`` perp limit orders on binance.perp), with ``venues.binance.perp.lot_sizes.enabled``: the
execution manager rounds every order down to Binance's BTCUSDT step (0.001) and skips, once, an order below
its minimum notional (100 USDT) instead of asking it again in a loop. A week of hourly data (2024-08)."""

from collections import Counter

from basiskit.engine.backtest import BacktestRequest, run_backtest

START, END = "2024-08-01", "2024-08-08"
LOTS_ON = {"binance": {"perp": {"lot_sizes": {"enabled": True}}}}


def _grid(catalog, size: float, lots: bool):
    ov = {"order_size": size, **({"venues": LOTS_ON} if lots else {})}
    return run_backtest(BacktestRequest("grid", START, END, 10_000.0, overrides=ov), catalog).loop


def test_grid_orders_are_rounded_down_to_the_step(catalog):
    loop = _grid(catalog, 0.0125, lots=True)
    perp = [t for t in loop.trades if t.order.operation.value == "perp_trade"]
    assert perp and all(t.status.value == "filled" for t in perp)
    assert {t.order.amount for t in perp} <= {0.012, 0.024}  # 0.0125 -> 0.012 (a re-armed pair: 2 x 0.012)
    rounded = [e for e in loop.events if e.kind == "lot_rounded"]
    assert rounded and all(e.data["step"] == 0.001 and abs(e.data["residual"] - (e.data["requested"] - e.data["amount"]))
                           < 1e-15 and 0 < e.data["residual"] < 0.001 for e in rounded)


def test_grid_orders_below_the_minimum_notional_are_skipped_once_not_in_a_loop(catalog):
    # 0.0015 BTC -> 0.001 on the step -> ~60 USDT at 2024-08 prices (55-65k), below the 100 USDT minimum
    loop = _grid(catalog, 0.0015, lots=True)
    kinds = Counter(e.kind for e in loop.events)
    assert not any(t.status.value == "filled" and t.order.operation.value == "perp_trade" for t in loop.trades)
    skipped = [t for t in loop.trades if t.error_code == "EXEC-009"]
    assert 1 <= len(skipped) == kinds["order_skipped"] <= 2  # the first buy and the first sell of the ladder
    assert "below the minimum notional 100" in skipped[0].error
    assert kinds["max_passes_reached"] == 0  # a pass of skipped orders ends the step's decisions
    (summary,) = [e for e in loop.events if e.kind == "order_skipped_repeats"]
    assert summary.data["total"] > 0 and all(o["amount"] == 0.0015 for o in summary.data["orders"])
    # without lots the same grid trades (the amounts as asked)
    assert any(t.order.amount == 0.0015 and t.status.value == "filled" for t in _grid(catalog, 0.0015, lots=False).trades)
