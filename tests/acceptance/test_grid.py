"""The ``grid`` mode on the real data: hourly BTC perp bars and the one-minute ETH perp files (Binance,
and Bybit whose file misses 400 of its minutes: no fill and no placement at an estimated price).

Checked against the raw candle files (read with the csv module, not the catalog):

* every rung fill is a maker fill at its limit price, on a bar that really traded through the limit
  (a buy: the bar's low below it, or the bar opening at or below it; a sell mirrored), with the
  venue's maker fee (read from the venue config) on its notional;
* after every step with a traded price the ladder is whole: ``2 x levels`` working rungs, buys on the
  contiguous levels from ``-levels`` up, sells on the contiguous levels up to ``levels``, exactly one
  empty level between them (so every fill was re-armed), never two working orders on one rung;
* the attribution sums to the change in equity (the summary's check, and again here).

The grid's cache (it skips reading its orders back while no order event came) changes nothing: a grid
reading them at every step gives the same trades and equity. A restart mid-run -- a fresh ``Grid`` taking over while the venue still holds the old ladder, several
times, always with rungs working -- gives the uninterrupted run's orders, trades and equity exactly: no
rung is sent twice. And a duplicate rung left on the venue (two processes sent it) is cancelled.
"""

from __future__ import annotations

import pytest

from basiskit.domain.orders import OrderType, Side
from basiskit.domain.trades import TradeStatus
from basiskit.engine.assembly import load_venue_config
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import run_backtest_steps
from basiskit.strategies.implementations.grid import Grid, ladder
from basiskit.strategies.registry import build_strategy

from groundtruth import candles

HOURLY = BacktestRequest("grid", "2024-03-01", "2024-05-01", 20_000.0,
                         overrides={"levels": 6, "spacing": 0.01, "order_size": 0.02})
MINUTE = BacktestRequest("grid", "2025-09-27T00:00", "2025-09-27T15:30", 20_000.0,
                         overrides={"bars": "1m", "token": "ETH", "step_seconds": 60, "levels": 5,
                                    "spacing": 0.0008, "order_size": 0.2, "funding": "none"})
GAPPY = BacktestRequest("grid", "2025-09-27T07:00", "2025-09-28T23:00", 20_000.0,  # 400 minutes missing in the file
                        overrides={**MINUTE.overrides, "account": "bybit.perp", "spacing": 0.001})
RAW = {"grid-hourly": ("cex/perp/binance_BTCUSDT_perp_1h_*.csv", 3600),
       "grid-minute": ("cex/perp/binance_ETHUSDT_perp_1m_*.csv", 60),
       "grid-minute-bybit": ("cex/perp/bybit_ETHUSDT_perp_1m_*.csv", 60)}
CASES = {"grid-hourly": HOURLY, "grid-minute": MINUTE, "grid-minute-bybit": GAPPY}


class Probe:
    """A driver that steps every step and records the ladder's working rungs after each."""

    def __init__(self, restart_every: int | None = None, config=None) -> None:
        self.ladders: list[tuple[int, bool, list]] = []
        self.restart_every, self.config = restart_every, config
        self.restarts: list[tuple[int, int]] = []  # (step, rungs working at the restart)

    def __call__(self, kernel, n_steps, progress=None, every=0) -> float:
        c = kernel.strategy.config

        def step(i: int) -> None:
            kernel.step(i)
            views = kernel.ctx.open_orders(c.account, c.token)
            rungs = [(ladder.parse(c.name, v.client_order_id), v) for v in views]
            self.ladders.append((i, kernel.ctx.price_live(c.account, c.token), rungs))
            if self.restart_every and i % self.restart_every == self.restart_every - 1 and rungs:
                fresh = build_strategy(self.config)
                fresh.restore(kernel.strategy.snapshot())  # {}: a stateless strategy keeps nothing
                kernel.use_strategy(fresh)
                self.restarts.append((i, len(rungs)))

        class Steps:
            feed = kernel.feed
            finish = kernel.finish
        Steps.step = staticmethod(step)
        return run_backtest_steps(Steps, n_steps, progress, every, batch=False)


@pytest.fixture(scope="module", params=list(CASES))
def probed(request, catalog):
    req = CASES[request.param]
    probe = Probe()
    return request.param, req, run_backtest(req, catalog, driver=probe), probe


def test_the_ladder_is_whole_after_every_step(probed):
    name, req, out, probe = probed
    L = out.config.levels
    checked = 0
    for i, live, rungs in probe.ladders:
        assert all(p is not None for p, _ in rungs), f"step {i}: an order that is not a rung"
        keys = [p for p, _ in rungs]
        assert len(keys) == len(set(keys)), f"step {i}: a duplicate rung {sorted(keys)}"
        if not live or not rungs:
            continue
        buys = sorted(k for k, s in keys if s == "b")
        sells = sorted(k for k, s in keys if s == "s")
        assert len(keys) == 2 * L, f"step {i}: {len(keys)} rungs"
        assert buys == list(range(-L, -L + len(buys))), f"step {i}: buys {buys}"
        assert sells == list(range(L - len(sells) + 1, L + 1)), f"step {i}: sells {sells}"
        checked += 1
    assert checked > 0.8 * len(probe.ladders)


def test_every_fill_is_a_maker_fill_the_raw_bars_allow(probed, source_dir):
    name, req, out, probe = probed
    pattern, bar_s = RAW[name]
    bars = {c.ts: c for c in candles(source_dir, pattern)}
    maker = load_venue_config("binance").perp.maker_fee_bps / 1e4
    fills = [t for t in out.loop.trades if t.ok and t.order.order_type is OrderType.LIMIT]
    assert len(fills) >= 20, f"{name}: only {len(fills)} rung fills"
    for tr in fills:
        o = tr.order
        assert tr.price == pytest.approx(o.limit_price, rel=1e-12)
        assert tr.executed_amount == pytest.approx(o.amount, rel=1e-12)
        assert tr.fee == pytest.approx(maker * tr.executed_amount * tr.price, rel=1e-9)
        closed = bars.get(tr.timestamp - bar_s * 10**9)  # the bar that closed at the fill's stamp
        opened = bars.get(tr.timestamp)                   # or the bar that opened through the limit
        if o.side is Side.BUY:
            ok = (closed is not None and closed.low < o.limit_price) or (opened is not None and opened.open <= o.limit_price)
        else:
            ok = (closed is not None and closed.high > o.limit_price) or (opened is not None and opened.open >= o.limit_price)
        assert ok, f"{name}: {o.client_order_id} filled at {tr.timestamp} but the raw bars never reached {o.limit_price}"
        assert not (closed is None and opened is None), f"{name}: a fill at {tr.timestamp}, where the file has no bar"
    s = out.summary
    assert s["failed_orders"] == 0
    assert sum(s["attribution"].values()) == pytest.approx(s["final_equity"] - s["initial_equity"], abs=1e-6)
    assert s["attribution"]["fees"] == pytest.approx(-sum(t.fee for t in out.loop.trades if t.ok), rel=1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_a_restart_with_working_rungs_sends_no_duplicate(catalog, name):
    req = CASES[name]
    whole = run_backtest(req, catalog, driver=Probe())
    probe = Probe(restart_every=97, config=whole.config)
    split = run_backtest(req, catalog, driver=probe)
    assert len(probe.restarts) >= 5 and all(n == 2 * whole.config.levels for _, n in probe.restarts)
    ids = lambda out: [(t.timestamp, t.order.client_order_id, t.status) for t in out.loop.trades]  # noqa: E731
    assert ids(split) == ids(whole)
    assert not [t for t in split.loop.trades if t.status is TradeStatus.REJECTED]  # no id sent twice
    assert list(split.loop.equity) == list(whole.loop.equity)
    for i, _, rungs in probe.ladders:
        keys = [p for p, _ in rungs]
        assert len(keys) == len(set(keys)), f"step {i}: duplicate rung after a restart"


def test_a_duplicate_rung_on_the_venue_is_cancelled(catalog):
    """A second process placed the same rung again (same level and side, another id): the grid keeps
    the older order and cancels the newer one at its next step."""
    from basiskit.domain.orders import Operation, Order

    req = HOURLY
    injected: dict = {}

    def driver(kernel, n_steps, progress=None, every=0):
        def step(i: int) -> None:
            kernel.step(i)
            if i == 30 and not injected:
                c = kernel.strategy.config
                v = kernel.ctx.open_orders(c.account, c.token)[0]
                k, side = ladder.parse(c.name, v.client_order_id)
                dup = Order(Operation.PERP_TRADE, c.account, v.amount, c.token, Side(v.side), order_type=OrderType.LIMIT,
                            limit_price=v.limit_price, client_order_id=ladder.order_id(c.name, k, side, 1))
                kernel.execution.execute([dup], kernel.report)
                injected["id"], injected["kept"] = dup.client_order_id, v.client_order_id
                injected["working"] = [o.client_order_id for o in kernel.ctx.open_orders(c.account, c.token)]
            if i == 31:
                injected["after"] = [o.client_order_id for o in kernel.ctx.open_orders()]

        class Steps:
            feed = kernel.feed
            finish = kernel.finish
        Steps.step = staticmethod(step)
        return run_backtest_steps(Steps, n_steps, progress, every, batch=False)

    out = run_backtest(req, catalog, driver=driver)
    assert injected["id"] in injected["working"]
    assert injected["id"] not in injected["after"] and injected["kept"] in injected["after"]
    cancelled = [e for e in out.loop.events if e.kind == "decision" and injected["id"] in e.data.get("cancels", [])]
    assert len(cancelled) == 1


class ReadsEveryStep(Grid):
    """The grid without its cache: it reads its orders back at every step."""

    @property
    def _whole(self) -> bool:
        return False

    @_whole.setter
    def _whole(self, value: bool) -> None:
        pass


@pytest.mark.parametrize("name", list(CASES))
def test_the_cache_changes_nothing(catalog, name):
    req = CASES[name]
    cached = run_backtest(req, catalog)

    def uncached(kernel, n_steps, progress=None, every=0):
        kernel.use_strategy(ReadsEveryStep(kernel.strategy.config))
        return run_backtest_steps(kernel, n_steps, progress, every)

    plain = run_backtest(req, catalog, driver=uncached)
    assert [(t.timestamp, t.order.client_order_id, t.status, t.price) for t in plain.loop.trades] == \
        [(t.timestamp, t.order.client_order_id, t.status, t.price) for t in cached.loop.trades]
    assert list(plain.loop.equity) == list(cached.loop.equity)
