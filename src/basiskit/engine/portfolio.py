"""Several strategies in one run (a *portfolio*): one clock, one loop, a sub-account book per strategy.

``run_portfolio(portfolio, start, end, capital, catalog)`` prepares every strategy of a
``strategies.portfolio.PortfolioConfig`` as a run of its own -- its mode config, its market frame, its
venue accounts, wallet and ledger (its *sub-accounts*) and ``allocation x capital`` USDT -- and steps
their kernels together, step by step on the same clock (:class:`Lockstep`: the drivers of
``engine.drivers`` see one kernel; a live driver would wait for the wall clock once per step for all of
them). Nothing is shared between the strategies' books, so:

* each strategy's result is a full run summary (``_summarise``: its attribution must sum to its own
  equity change, else ``AccountingError``);
* the combined result sums them: equity (USDT) and net deposits per step, attribution per source; its
  reconciliation (Σ attribution = combined equity change) is checked with the same tolerance.

Quiet stretches (``engine.quiet``) are passed per strategy as in a run of its own (:class:`Lockstep`).
Limits: USDT share class only; no deposits or withdrawals (a portfolio is funded once); one strategy
raising ``StopRun`` stops the whole run.

Raises:
    ConfigError: a strategy's mode config is invalid (the message starts with ``strategies[k] (<id>)``),
        strategies on different clock steps, a share class other than USDT.
    BacktestInputError, DataError, AccountingError: as ``run_backtest``, naming the strategy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from basiskit.config.loader import ConfigError
from basiskit.data.rewards import load_restaking_rewards
from basiskit.domain.portfolio import SOURCES
from basiskit.domain.time import ns_to_iso
from basiskit.domain.tokens import ShareClass
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import (AccountingError, Assembled, BacktestOutcome, BacktestRequest, _summarise,
                                      assemble, market_facts, prepare, share_class_view)
from basiskit.engine.drivers import run_backtest_steps
from basiskit.engine.shocks import apply_shock
from basiskit.errors.exceptions import InvalidInput
from basiskit.results.metrics import compute_metrics
from basiskit.strategies.categories.stateful import StrategyComponents
from basiskit.strategies.portfolio import PortfolioConfig
from basiskit.strategies.registry import build_strategy, mode_entry


class Lockstep:
    """The kernels of a portfolio as one kernel for a driver (``engine.drivers``).

    ``step(i)`` steps, in the portfolio's order, every kernel whose next step is ``i``. A live driver
    (``RealtimeDriver``) calls it for every clock time, so every kernel steps every time, together.
    The backtest driver also calls ``fast_forward(i, n)`` after a step: each kernel that has just
    stepped passes its own quiet stretch from ``i`` on (``engine.quiet``, as it would alone) and the
    driver goes on at the earliest next step of any kernel. The strategies' books share nothing, so
    each kernel sees exactly the calls a run of its own would: the same numbers."""

    def __init__(self, kernels: list) -> None:
        self.kernels = kernels
        self.feed = kernels[0].feed  # the drivers read the clock (``feed.grid``) from it; all share it
        self.next = [0] * len(kernels)  # each kernel's next step
        self._quiet_from = 0  # the driver asks fast_forward after every step; each kernel decides for itself

    def step(self, i: int) -> None:
        nxt = self.next
        for j, k in enumerate(self.kernels):
            if nxt[j] == i:
                k.step(i)
                nxt[j] = i + 1

    def fast_forward(self, i: int, n: int) -> int:
        nxt = self.next
        for j, k in enumerate(self.kernels):
            if nxt[j] == i and i >= k._quiet_from:
                nxt[j] = k.fast_forward(i, n)
        return min(nxt)

    def finish(self) -> None:
        for k in self.kernels:
            k.finish()


@dataclass
class PortfolioOutcome:
    """``outcomes``: strategy id -> that strategy's ``BacktestOutcome`` (its own summary); ``times`` (ns),
    ``equity`` (combined USDT per step), ``equity_by_strategy``; ``summary``: the combined summary."""

    portfolio: PortfolioConfig
    outcomes: dict[str, BacktestOutcome]
    times: np.ndarray
    equity: np.ndarray
    equity_by_strategy: dict[str, np.ndarray]
    summary: dict = field(default_factory=dict)


@dataclass
class _Slot:
    id: str
    req: BacktestRequest
    config: object
    catalog: object
    specs: list
    frame: object
    shocked: list
    run: Assembled


def _prepare_slot(k: int, slot, start: str, end: str, capital: float, catalog, grid_ref) -> _Slot:
    where = f"strategies[{k}] ({slot.id})"
    req = BacktestRequest(slot.mode, start, end, capital * slot.allocation, overrides=dict(slot.config))
    try:
        config, clock = prepare(req)
    except InvalidInput as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    if config.share_class is not ShareClass.USDT:
        raise ConfigError(f"{where}: share_class {config.share_class.value}: a portfolio runs in USDT only")
    grid = clock.grid()
    if grid_ref is not None and (len(grid) != len(grid_ref) or (grid != grid_ref).any()):
        raise ConfigError(f"{where}.config.step_seconds: {config.step_seconds} s; every strategy of a portfolio "
                          "runs on the first one's clock step")
    cls, _ = mode_entry(config.mode)
    stateful = hasattr(cls, "use_components")
    strategy = build_strategy(config, StrategyComponents(slot.id) if stateful else None)
    reqs = strategy.requirements()
    cat = catalog.for_policy(config.data_policy)
    specs = series_specs(reqs, set(cat.dataset_ids()))
    frame = cat.frame(grid, specs)
    shocked = apply_shock(frame, config.shock) if config.shock else []
    rewards = load_restaking_rewards(cat.source_dir) if reqs.restaking_rewards else None
    run = assemble(config, strategy, frame, float(req.capital), reward_distributions=rewards)
    return _Slot(slot.id, req, config, cat, specs, frame, shocked, run)


def run_portfolio(portfolio: PortfolioConfig, start: str, end: str, capital: float, catalog,
                  progress: Callable[[int, int], None] | None = None, driver: Callable | None = None,
                  tolerance_usd: float = 0.01) -> PortfolioOutcome:
    """Run every strategy of ``portfolio`` on its sub-accounts with ``allocation x capital`` USDT over
    [start, end], in one loop; returns each strategy's outcome and the combined summary (a pure
    function of its inputs, like ``run_backtest``). Raises: see the module docstring."""
    if not (capital > 0) or capital == float("inf"):
        raise ConfigError(f"capital must be a positive number, got {capital}")
    slots: list[_Slot] = []
    grid = None
    for k, slot in enumerate(portfolio.strategies):
        s = _prepare_slot(k, slot, start, end, capital, catalog, grid)
        grid = np.asarray(s.run.kernel.feed.grid) if grid is None else grid
        slots.append(s)
    n = slots[0].run.n
    elapsed = (driver or run_backtest_steps)(Lockstep([s.run.kernel for s in slots]), n, progress, max(1, n // 200))
    outcomes: dict[str, BacktestOutcome] = {}
    for s in slots:
        sim = s.run.result(elapsed)
        view = share_class_view(s.req, s.config, sim.loop, sim.attr, None)
        facts = market_facts(s.frame, sim.venues, s.config.step_seconds)
        try:
            summary = _summarise(s.req, s.config, sim.loop, sim.attr, view, elapsed, tolerance_usd, s.catalog, s.specs,
                                 s.shocked, facts)
        except AccountingError as exc:
            raise AccountingError(f"strategy {s.id}: {exc}") from exc
        summary["strategy_id"] = s.id
        outcomes[s.id] = BacktestOutcome(s.req, s.config, sim.loop, summary, sim.monitor.perp_names, view)
    return _combine(portfolio, outcomes, float(capital), tolerance_usd, elapsed)


def _combine(portfolio: PortfolioConfig, outcomes: dict[str, BacktestOutcome], capital: float, tol: float,
             elapsed: float) -> PortfolioOutcome:
    first = next(iter(outcomes.values()))
    times = np.asarray(first.loop.times)
    by = {sid: np.asarray(o.view.equity, dtype=np.float64) for sid, o in outcomes.items()}
    equity = np.sum(list(by.values()), axis=0)
    net_dep = np.sum([np.asarray(o.view.net_deposits, dtype=np.float64) for o in outcomes.values()], axis=0)
    attribution = {src: sum(o.summary["attribution"][src] for o in outcomes.values()) for src in SOURCES}
    change = float(equity[-1]) - capital - float(net_dep[-1])
    diff = sum(attribution.values()) - change
    if abs(diff) > tol:
        raise AccountingError(f"portfolio: attribution sums to {sum(attribution.values()):.9f} but the combined "
                              f"equity changed by {change:.9f} USDT (difference {diff:.9f} > {tol})")
    annualise_short = any(o.config.annualise_short_runs for o in outcomes.values())
    metrics, null_reasons = compute_metrics(times, equity, net_dep, capital, annualise_short)
    slots = {s.id: s for s in portfolio.strategies}
    summary = {
        "mode": "portfolio",
        "description": portfolio.description,
        "start": ns_to_iso(int(times[0])),
        "end": ns_to_iso(int(times[-1])),
        "share_class": "USDT",
        "initial_equity": capital,
        "final_equity": float(equity[-1]),
        "net_deposits": float(net_dep[-1]),
        **{k: metrics[k] for k in ("total_return", "apr", "apy", "sharpe", "sortino", "volatility", "max_drawdown",
                                   "calmar", "longest_drawdown_days")},
        "attribution": attribution,
        "attribution_by_strategy": {sid: o.summary["attribution"] for sid, o in outcomes.items()},
        "attribution_by_venue": {f"{sid}/{venue}": vals for sid, o in outcomes.items()
                                 for venue, vals in o.summary["attribution_by_venue"].items()},
        "reconciliation": {"equity_change": change, "attribution_sum": sum(attribution.values()), "difference": diff,
                           "tolerance": tol, "unit": "USDT"},
        "strategies": {sid: {"mode": o.config.mode, "allocation": slots[sid].allocation,
                             "initial_equity": o.summary["initial_equity"], "final_equity": o.summary["final_equity"],
                             "total_return": o.summary["total_return"], "apr": o.summary["apr"],
                             "max_drawdown": o.summary["max_drawdown"], "trades": o.summary["trades"],
                             "reconciliation": o.summary["reconciliation"]}
                       for sid, o in outcomes.items()},
        "steps": int(len(times)),
        "loop_seconds": elapsed,
        "null_reasons": dict(sorted(null_reasons.items())),
    }
    return PortfolioOutcome(portfolio, outcomes, times, equity, by, summary)
