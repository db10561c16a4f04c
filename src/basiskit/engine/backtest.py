"""Backtest runner: request in, validated run out.

Builds the clock, the market frame (from the catalog), the venues and the strategy, runs the loop,
reconciles the attribution against the equity change, and returns everything the exporters need.

Raises:
    BacktestInputError: negative/zero capital, end before start, a flow date outside the period,
        an unsupported share class.
    ConfigError / UnknownModeError: config problems (named key).
    DataError: data missing for the period (named dataset and time).
    AccountingError: attribution does not sum to the equity change within ``tolerance_usd``.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from basiskit.config.loader import ConfigError
from basiskit.config.modes import ModeConfig
from basiskit.data.errors import DataError
from basiskit.data.feed import HistoricalFeed
from basiskit.data.rewards import load_restaking_rewards
from basiskit.domain.portfolio import SOURCES, Attribution, Portfolio
from basiskit.domain.time import ns_to_iso, to_ns
from basiskit.domain.tokens import ShareClass
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.assembly import WALLET, build_venues, reward_windows, series_specs
from basiskit.engine.clock import Clock
from basiskit.engine.context import EngineContext
from basiskit.engine.drivers import run_backtest_steps
from basiskit.engine.execution import ExecutionManager
from basiskit.engine.kernel import Flows, Kernel, WithdrawalError
from basiskit.engine.recorder import StepRecorder
from basiskit.engine.share_class import to_eth_steps
from basiskit.engine.shocks import apply_shock
from basiskit.engine.snapshots import VenueSnapshots
from basiskit.errors.exceptions import InvalidInput, StopRun
from basiskit.results.benchmark_growth import aave_growth, susde_growth
from basiskit.results.book_metrics import book_metrics, excess_returns
from basiskit.results.metrics import compute_metrics
from basiskit.risk.gate import RiskGate
from basiskit.risk.monitor import RiskMonitor
from basiskit.risk.override import RiskOverride
from basiskit.strategies.registry import build_strategy, load_mode_config

SUPPORTED_SHARE_CLASSES = {
    "pure_lending": {ShareClass.USDT}, "btc_basis": {ShareClass.USDT}, "eth_basis": {ShareClass.USDT},
    "eth_staking_only": {ShareClass.ETH, ShareClass.USDT}, "eth_leveraged": {ShareClass.ETH, ShareClass.USDT},
    "eth_leveraged_restaking": {ShareClass.ETH, ShareClass.USDT},
    "usdt_market_neutral_no_leverage": {ShareClass.USDT}, "usdt_market_neutral": {ShareClass.USDT},
}


class BacktestInputError(InvalidInput, ValueError):
    code = "RUN-001"
    """A request value is invalid; the message names the field."""


class AccountingError(StopRun, RuntimeError):
    code = "RUN-002"
    """The attribution book and the balances disagree."""


@dataclass(frozen=True)
class BacktestRequest:
    mode: str
    start: str
    end: str
    capital: float
    share_class: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    deposits: tuple[tuple[str, float], ...] = ()
    withdrawals: tuple[tuple[str, float], ...] = ()


@dataclass
class BacktestOutcome:
    request: BacktestRequest
    config: ModeConfig
    loop: LoopResult
    summary: dict
    perp_names: list[str]
    view: "ShareClassView | None" = None
    strategy: object = None  # the run's strategy object as it ended (e.g. an ML mode's forecasts and folds)


def _flows(items, grid: np.ndarray, what: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for when, amount in items:
        if not (amount > 0):
            raise BacktestInputError(f"{what} amount must be positive, got {amount} at {when}")
        t = to_ns(when)
        if t < grid[0] or t > grid[-1]:
            raise BacktestInputError(f"{what} date {when} is outside the backtest period {ns_to_iso(int(grid[0]))} .. {ns_to_iso(int(grid[-1]))}")
        i = int(np.searchsorted(grid, t, side="left"))
        out[i] = out.get(i, 0.0) + float(amount)
    return out


def prepare(req: BacktestRequest) -> tuple[ModeConfig, Clock]:
    """Validate the request without touching data (used by the API's validate endpoint too)."""
    if not (req.capital > 0) or req.capital == float("inf"):
        raise BacktestInputError(f"capital must be a positive number, got {req.capital}")
    overrides = dict(req.overrides)
    if req.share_class is not None:
        overrides["share_class"] = req.share_class
    config = load_mode_config(req.mode, overrides)
    allowed = SUPPORTED_SHARE_CLASSES.get(config.mode, {ShareClass.USDT})
    if config.share_class not in allowed:
        raise ConfigError(f"share_class {config.share_class.value} is not supported by {config.mode} "
                          f"(supported: {', '.join(sorted(s.value for s in allowed))})")
    try:
        start, end = to_ns(req.start), to_ns(req.end)
    except ValueError as exc:
        raise BacktestInputError(str(exc)) from exc
    if end <= start:
        raise BacktestInputError(f"end {req.end} must be after start {req.start}")
    return config, Clock(start, end, config.step_seconds)


def run_backtest(req: BacktestRequest, catalog, progress: Callable[[int, int], None] | None = None,
                 tolerance_usd: float = 0.01, subscribers: list | None = None,
                 driver: Callable | None = None, transfer_store=None) -> BacktestOutcome:
    """Run ``req`` on ``catalog`` and return its outcome. A pure function of (request, catalog): it reads
    the catalog (which must be imported: ``Catalog.ensure_imported``), writes nothing, keeps no global
    state, and applies a shock to its own copy of the data -- safe on a process pool or Ray.
    ``subscribers`` receive every event as it happens (the event log writer); ``driver`` hands the
    kernel its times (``engine.drivers``; default: as fast as possible); ``transfer_store`` receives every
    state change of a managed transfer (modes that configure ``transfers``; default: kept in memory)."""
    config, clock = prepare(req)
    grid = clock.grid()
    deposits = _flows(req.deposits, grid, "deposit")
    withdrawals = _flows(req.withdrawals, grid, "withdrawal")
    strategy = build_strategy(config)
    if getattr(strategy, "book_tickers", False):  # a signal mode: book-ticker events are its clock
        from basiskit.engine.tick_backtest import run_tick_backtest
        return run_tick_backtest(req, config, clock, strategy, catalog, progress, tolerance_usd, subscribers, driver)
    reqs = strategy.requirements()
    eth_class = config.share_class is ShareClass.ETH
    if eth_class and not reqs.onchain_tokens:
        raise ConfigError(f"share_class ETH needs on-chain ETH prices, which {config.mode} does not use")
    catalog = catalog.for_policy(config.data_policy)  # its own store when the policy repairs rows
    specs = series_specs(reqs, set(catalog.dataset_ids()))
    frame = catalog.frame(grid, specs)  # built once when the request's coverage was just checked
    if hasattr(strategy, "prepare"):  # a strategy that learns from the catalog first (ML modes: walk-forward training)
        strategy.prepare(catalog, grid)
    shocked = apply_shock(frame, config.shock) if config.shock else []
    rewards = load_restaking_rewards(catalog.source_dir) if reqs.restaking_rewards else None
    sim = simulate(config, strategy, frame, float(req.capital), deposits, withdrawals, rewards, progress, subscribers=subscribers,
                   driver=driver, transfer_store=transfer_store)
    loop, attr, venues, monitor, elapsed = sim.loop, sim.attr, sim.venues, sim.monitor, sim.elapsed
    eth_usd = frame.series["eth.usd.oracle"] if venues.prices else None
    view = share_class_view(req, config, loop, attr, eth_usd)
    facts = market_facts(frame, venues, config.step_seconds)
    perp_names = monitor.perp_names
    del frame, sim, venues, monitor, eth_usd
    if len(grid) >= LARGE_RUN_STEPS:  # the market data and the venues (a reference cycle) go before the summary
        gc.collect()
    summary = _summarise(req, config, loop, attr, view, elapsed, tolerance_usd, catalog, specs, shocked, facts)
    if hasattr(strategy, "summary_sections"):  # the strategy's own sections (ML modes: per-fold results)
        extra = strategy.summary_sections(loop.times, view.equity)
        summary["null_reasons"].update(extra.pop("_null_reasons", {}))
        summary.update(extra)
    return BacktestOutcome(req, config, loop, summary, perp_names, view, strategy)


LARGE_RUN_STEPS = 100_000  # from this many steps the run's market data is freed before its summary


SNAPSHOT_SECONDS = 86_400  # venue snapshots (report: positions and funding by venue) once a clock day


@dataclass
class LoopResult:
    """What a run recorded: per-step series (``engine.recorder``), every event in the order it happened,
    every trade, and the counts the summary reports."""

    times: Sequence[int] = field(default_factory=lambda: array("q"))
    equity: Sequence[float] = field(default_factory=lambda: array("d"))
    net_deposits: Sequence[float] = field(default_factory=lambda: array("d"))
    net_delta: Sequence[float] = field(default_factory=lambda: array("d"))
    margin_ratios: dict[str, Sequence[float]] = field(default_factory=dict)  # NaN: no position
    health_factor: Sequence[float] = field(default_factory=lambda: array("d"))
    ltv: Sequence[float] = field(default_factory=lambda: array("d"))
    net_eth: Sequence[float] = field(default_factory=lambda: array("d"))
    attribution_steps: Sequence[float] = field(default_factory=lambda: array("d"))  # flat, len(SOURCES) per step
    snapshots: VenueSnapshots = field(default_factory=VenueSnapshots)
    perp_notional: dict[str, Sequence[float]] = field(default_factory=dict)
    idle_cash_usd: Sequence[float] = field(default_factory=lambda: array("d"))
    trades: list[Trade] = field(default_factory=list)
    events: list = field(default_factory=list)
    decisions_deferred: int = 0
    decisions_failed: int = 0
    rebalances: dict[str, int] = field(default_factory=dict)
    unpaid_withdrawals: float = 0.0
    strategy_state: dict = field(default_factory=dict)
    final_balances: dict[tuple[str, str], float] = field(default_factory=dict)  # (account, token) -> token units
    final_positions: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # -> (size, entry)
    steps_batched: int = 0  # steps passed in quiet stretches (engine.quiet), not one by one


@dataclass
class Simulation:
    loop: LoopResult
    attr: Attribution
    venues: object
    monitor: RiskMonitor
    elapsed: float
    portfolio: Portfolio | None = None


def simulate(config: ModeConfig, strategy, frame, capital: float, deposits: dict[int, float] | None = None,
             withdrawals: dict[int, float] | None = None, reward_distributions: list | None = None,
             progress: Callable[[int, int], None] | None = None, patch_venues: Callable | None = None,
             subscribers: list | None = None, driver: Callable | None = None, transfer_store=None,
             feed=None) -> Simulation:
    """Run ``strategy`` on an aligned ``MarketFrame`` (from the catalog, or built by a test from stated
    rules) through the kernel. ``capital`` is in share-class units; ``patch_venues(venues)`` may adjust
    the built venues (tests: e.g. a zero flash-loan fee); ``subscribers`` receive every event as it
    happens (e.g. the event log writer); ``driver`` hands the kernel its times (``engine.drivers``:
    as fast as possible by default, or ``RealtimeDriver`` on the wall clock); ``feed``: a live feed
    (``data.live_feed.LiveFeed``: a paper or live run) instead of the historical replay of ``frame``."""
    run = assemble(config, strategy, frame, capital, deposits, withdrawals, reward_distributions, patch_venues,
                   subscribers, transfer_store, feed)
    n = run.n
    elapsed = (driver or run_backtest_steps)(run.kernel, n, progress, max(1, n // 200))
    return run.result(elapsed)


@dataclass
class Assembled:
    """A run put together and not yet stepped: its kernel and what :meth:`result` reads afterwards.
    ``engine.portfolio`` steps several of these in lockstep (a multi-strategy run)."""

    kernel: Kernel
    recorder: StepRecorder
    portfolio: Portfolio
    venues: object
    monitor: RiskMonitor
    n: int

    def result(self, elapsed: float) -> Simulation:
        """The run's ``Simulation`` once its kernel has stepped (``elapsed``: seconds of loop)."""
        portfolio, venues, monitor = self.portfolio, self.venues, self.monitor
        loop = loop_result(self.kernel, self.recorder, portfolio)
        return Simulation(loop, portfolio.attribution, venues, monitor, elapsed, portfolio)


def loop_result(kernel: Kernel, recorder: StepRecorder, portfolio: Portfolio) -> LoopResult:
    """What a stepped kernel leaves: the recorder's per-step series, the kernel's trades, events and
    counters, the strategy's final snapshot and the portfolio's final balances and positions."""
    return LoopResult(times=recorder.times, equity=recorder.equity, net_deposits=recorder.net_deposits,
                      net_delta=recorder.net_delta, margin_ratios=recorder.margin_ratios,
                      health_factor=recorder.health_factor, ltv=recorder.ltv, net_eth=recorder.net_eth,
                      attribution_steps=recorder.attribution_steps, snapshots=recorder.snapshots,
                      perp_notional=recorder.perp_notional, idle_cash_usd=recorder.idle_cash_usd,
                      trades=kernel.trades, events=kernel.events, decisions_deferred=kernel.decisions_deferred,
                      decisions_failed=kernel.decisions_failed, rebalances=kernel.rebalances,
                      unpaid_withdrawals=kernel.pending_withdrawal if kernel.pending_withdrawal > 1e-9 else 0.0,
                      strategy_state=kernel.strategy.snapshot() if hasattr(kernel.strategy, "snapshot") else {},
                      final_balances={k: v for k, v in portfolio.ledger.balances.items() if v},
                      final_positions={k: (p.size, p.entry) for k, p in portfolio.positions.items() if p.size},
                      steps_batched=kernel.steps_batched)


def assemble(config: ModeConfig, strategy, frame, capital: float, deposits: dict[int, float] | None = None,
             withdrawals: dict[int, float] | None = None, reward_distributions: list | None = None,
             patch_venues: Callable | None = None, subscribers: list | None = None, transfer_store=None,
             feed=None) -> Assembled:
    """The venues, portfolio, risk, execution and kernel of one run of ``strategy`` on ``frame`` (the
    arguments as :func:`simulate`'s; ``transfer_store``: where managed transfers write their state changes),
    ready to step."""
    reqs = strategy.requirements()
    eth_class = config.share_class is ShareClass.ETH
    rows = reward_windows(reward_distributions, reqs.include_estimated_rewards) if reqs.restaking_rewards else []
    if feed is None:
        feed = HistoricalFeed(frame, rows)
    state = feed.state
    portfolio = Portfolio()
    venues = build_venues(reqs, state, portfolio, rows, config.venues, transfer_store)
    if patch_venues is not None:
        patch_venues(venues)
    cash_token = "WETH" if eth_class else "USDT"
    portfolio.ledger.add(WALLET, cash_token, capital)  # the run's capital, before the first step
    tx_base = venues.aave[0].params.tx_base_gas if venues.aave else 21000
    execution = ExecutionManager(venues.accounts, venues.transfers, portfolio, state, venues.gas, WALLET, tx_base)
    monitor = RiskMonitor(venues.spot, venues.perp, venues.onchain, venues.aave, venues.prices)
    gate = RiskGate(monitor.perp_names)
    override = RiskOverride(config.risk, monitor) if config.risk.override else None
    ctx = EngineContext(venues.accounts, state, portfolio, monitor, venues.prices, orders=execution)
    n = len(feed)
    recorder = StepRecorder(n, state, portfolio, monitor, venues.accounts, WALLET, cash_token, venues.prices,
                            record_attribution=eth_class, snapshot_every=max(1, SNAPSHOT_SECONDS // config.step_seconds))
    flows = Flows(deposits or {}, withdrawals or {}, WALLET, cash_token, config.allow_partial_withdrawals)
    kernel = Kernel(feed, venues.accounts, portfolio, strategy, execution, monitor, gate, ctx, recorder, flows,
                    override=override, prices=venues.prices, subscribers=subscribers,
                    reserve_ratio=getattr(config, "reserve_ratio", 0.0))
    return Assembled(kernel, recorder, portfolio, venues, monitor, n)


@dataclass
class ShareClassView:
    """Per-step series and attribution in share-class units (USDT as booked, or ETH).

    ``attribution_steps``: cumulative attribution after each step, shape (steps, len(SOURCES)),
    columns in ``SOURCES`` order, its last row is ``attribution`` -- kept for the ETH share class
    only (it needs every step for the conversion; a USDT run's totals at the venue snapshot steps are
    in ``loop.snapshots.attribution_usd``)."""

    unit: str
    equity: np.ndarray
    net_deposits: np.ndarray
    net_delta: np.ndarray
    attribution: dict[str, float]
    eth_usd: np.ndarray | None
    attribution_steps: np.ndarray | None = None


def share_class_view(req: BacktestRequest, config: ModeConfig, loop: LoopResult, attr: Attribution,
                     eth_usd: list[float] | None) -> ShareClassView:
    equity_usd = np.asarray(loop.equity)
    dep = np.asarray(loop.net_deposits)
    p = np.asarray(eth_usd) if eth_usd is not None else None
    if config.share_class is ShareClass.ETH:
        flat = np.asarray(loop.attribution_steps, dtype=np.float64)
        eq, steps = to_eth_steps(equity_usd, p, flat.reshape(-1, len(SOURCES)), SOURCES, float(req.capital))
        attribution = {s: float(v) for s, v in zip(SOURCES, steps[-1])}
        delta = np.asarray(loop.net_delta) / p - eq
        return ShareClassView("ETH", eq, dep, delta, attribution, p, steps)
    return ShareClassView("USDT", equity_usd, dep, np.asarray(loop.net_delta), dict(attr.total), p)


def _dataset_entry(info) -> dict:
    """Range, rows repaired per check class and the data policy's non-default entries of one dataset."""
    return {"start": info.start, "end": info.end, "repairs": dict(info.repairs), "data_policy": dict(info.data_policy)}


def _summarise(req, config, loop: LoopResult, attr: Attribution, view: ShareClassView, elapsed: float, tol_usd: float,
               catalog, specs, shocked: list[str], market: MarketFacts | None = None) -> dict:
    equity, net_dep = view.equity, view.net_deposits
    initial = float(req.capital)
    final = float(equity[-1])
    change = final - initial - float(net_dep[-1])
    attribution = view.attribution
    tol = tol_usd if view.unit == "USDT" else tol_usd / float(view.eth_usd[-1])
    diff = sum(attribution.values()) - change
    if abs(diff) > tol:
        raise AccountingError(f"attribution sums to {sum(attribution.values()):.9f} but equity changed by {change:.9f} "
                              f"{view.unit} (difference {diff:.9f} > {tol:.9f})")
    times = np.asarray(loop.times)
    annualise_short = getattr(config, "annualise_short_runs", False)
    metrics, null_reasons = compute_metrics(times, equity, net_dep, initial, annualise_short)
    annualise = metrics["apr"] is not None or annualise_short
    datasets = sorted({s.dataset_id for s in specs})
    hf_all = np.asarray(loop.health_factor, dtype=np.float64)
    hf = hf_all[np.isfinite(hf_all)]
    funding_usd = {v: b.get("funding", 0.0) for v, b in attr.by_venue.items() if v in loop.perp_notional}
    book, book_reasons = book_metrics(
        times_ns=times, years=metrics["years"], equity_usd=loop.equity, equity_sc=equity, attribution_sc=attribution,
        funding_usd_by_venue=funding_usd, perp_notional=loop.perp_notional, margin_ratios=loop.margin_ratios,
        net_delta_usd=loop.net_delta, idle_cash_usd=loop.idle_cash_usd,
        perp_margin_fraction=getattr(config, "perp_margin_fraction", None) if loop.perp_notional else None,
        trades=loop.trades, eth_usd=view.eth_usd, annualise=annualise)
    null_reasons.update(book_reasons)
    excess, excess_reasons = excess_returns(times, metrics["total_return"], metrics["apr"],
                                            _benchmark_growth(catalog, times, view.unit))
    null_reasons.update(excess_reasons)
    market = market or MarketFacts()
    out = {
        "mode": config.mode,
        "start": ns_to_iso(loop.times[0]),
        "end": ns_to_iso(loop.times[-1]),
        "share_class": config.share_class.value,
        "initial_equity": initial,
        "final_equity": final,
        "net_deposits": float(net_dep[-1]),
        **{k: metrics[k] for k in ("total_return", "apr", "apy", "sharpe", "sortino", "volatility", "max_drawdown",
                                   "calmar", "longest_drawdown_days")},
        "attribution": attribution,
        ("attribution_by_venue" if view.unit == "USDT" else "attribution_by_venue_usd"): attr.by_venue,
        "reconciliation": {"equity_change": change, "attribution_sum": sum(attribution.values()), "difference": diff,
                           "tolerance": tol, "unit": view.unit},
        **book,
        "excess_return": excess,
        "rebalances_by_trigger": dict(sorted(loop.rebalances.items())),
        "steps": len(loop.times),
        "step_seconds": config.step_seconds,
        "trades": sum(1 for t in loop.trades if t.ok),
        "failed_orders": sum(1 for t in loop.trades if t.status in (TradeStatus.REJECTED, TradeStatus.FAILED)),
        "orders_deferred": sum(1 for t in loop.trades if t.status is TradeStatus.DEFERRED),
        "decisions_deferred": loop.decisions_deferred,
        "decisions_failed": loop.decisions_failed,
        "strategy_state": loop.strategy_state,
        "stale_hours": market.stale_hours,
        "gap_valuations": market.gaps,
        "unpaid_withdrawals": loop.unpaid_withdrawals,
        "liquidations": sum(1 for e in loop.events if e.kind == "liquidation"),
        "risk_overrides": sum(1 for e in loop.events if e.kind == "risk_override"),
        "min_health_factor": float(hf.min()) if hf.size else None,
        "max_ltv": _max(loop.ltv),
        "max_abs_net_delta": float(np.max(np.abs(view.net_delta))) if len(view.net_delta) else None,
        "loop_seconds": elapsed,
        "steps_per_second": len(loop.times) / elapsed if elapsed > 0 else None,
        "datasets": {d: _dataset_entry(catalog.info(d)) for d in datasets},
        "config": config.model_dump(mode="json"),
        "shocked_series": shocked,
        "deposits": [list(x) for x in req.deposits],
        "withdrawals": [list(x) for x in req.withdrawals],
        "null_reasons": {k: v for k, v in sorted(null_reasons.items())},
    }
    if view.unit != "USDT":
        out["final_equity_usd"] = float(loop.equity[-1])
    return out


def _max(values: Sequence[float]) -> float | None:
    """``max(values)`` (None when empty) in C; a series holding NaN takes Python's ``max`` (its order rules)."""
    a = np.asarray(values, dtype=np.float64)
    if not a.size:
        return None
    return float(a.max()) if not np.isnan(a).any() else max(values)


@dataclass
class MarketFacts:
    """What the run's market data was like: hours without a traded price per venue account (valued
    from a reference, never filled at) and how each data gap was valued."""

    stale_hours: dict[str, float] = field(default_factory=dict)
    gaps: list[dict] = field(default_factory=list)


def market_facts(frame, venues, step_seconds: int) -> MarketFacts:
    """Stale hours per spot/perp account: clock steps where any of its instruments' bar did not trade."""
    hours = {}
    for v in [*venues.spot, *venues.perp]:
        keys = list(v.keys.values()) if hasattr(v, "keys") else [p.key for p in v.positions.values()]
        series = [frame.stale[k] for k in keys if k in frame.stale]
        if not series:
            hours[v.name] = 0.0
            continue
        any_stale = np.logical_or.reduce([np.frombuffer(s, dtype=np.uint8) != 0 if isinstance(s, bytes) else
                                          np.asarray(s, dtype=bool) for s in series])  # Flags: one byte a step
        hours[v.name] = float(any_stale.sum()) * step_seconds / 3600
    return MarketFacts(hours, [g.as_dict() for g in frame.gaps])


def _benchmark_growth(catalog, times: np.ndarray, unit: str) -> dict[str, np.ndarray]:
    """Growth of the benchmarks a desk compares with: AAVE v3 USDT supply and Ethena sUSDe (USDT class),
    AAVE v3 WETH supply (ETH class); a benchmark missing from the catalog is left out."""
    notes: list[str] = []
    out = {}
    wanted = {"aave_v3_weth_supply": lambda: aave_growth(catalog, "WETH", times)} if unit == "ETH" else {
        "aave_v3_usdt_supply": lambda: aave_growth(catalog, "USDT", times),
        "ethena_susde": lambda: susde_growth(catalog, times, notes)}
    for name, fn in wanted.items():
        try:
            out[name] = fn()
        except DataError:
            continue
    return out
