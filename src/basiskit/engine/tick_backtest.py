"""Backtests of signal modes on book tickers: the same kernel, a tick clock.

A signal mode (``strategies.signals.base.BaseSignalStrategy``: ``book_tickers = True``) runs here
instead of on the hourly grid: ``engine.backtest.run_backtest`` hands it over. The steps are the
book-ticker events of the period (each event a step; ``data.book_frame``), replayed by
``data.tick_feed.TickFeed`` into the market state; the venues are ``BookSpot`` (``<spot_venue>.spot``)
and ``BookPerp`` (``<perp_venue>.perp``) with their fees from ``configs/venues/<venue>.yaml``, filling
at the opposite side of the book standing ``latency_ms`` after the decision (the signal strategies'
marketable IOC limit orders: ``venues.sim.latency_book``). The
kernel, execution manager, risk monitor, gate, recorder and the summary (with its reconciliation of
the attribution against the equity change: ``AccountingError``) are the hourly runs' own.

Capital: pre-funded accounts -- ``spot_capital_fraction`` of the capital is the spot account's USDT
at the start, the rest the perp account's collateral (a desk trading these books has its money on
the venues; moving it there is not what these runs measure). Not supported here: deposits and
withdrawals during the run (``BacktestInputError``), shocks, share classes other than USDT.

Datasets: a book-ticker dataset (``data.ticks.TICK_SPECS``) is read from the catalog's source dir; any
other id is an hourly candle dataset of the catalog seen as zero-spread books
(``data.ticks.bars_as_book_tickers``). A period in which a leg has no event raises ``DataError``
naming the dataset and the period.
"""

from __future__ import annotations

from basiskit.config.loader import ConfigError
from basiskit.data.book_frame import BookFrame, align_books
from basiskit.data.errors import DataError
from basiskit.data.tick_feed import TickFeed
from basiskit.data.ticks import TICK_SPECS, TickCatalog, bars_as_book_tickers
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.time import ns_to_iso
from basiskit.engine.assembly import WALLET, Venues, load_venue_config
from basiskit.engine.context import EngineContext
from basiskit.engine.drivers import run_backtest_steps
from basiskit.engine.execution import ExecutionManager
from basiskit.engine.kernel import Flows, Kernel
from basiskit.engine.recorder import StepRecorder
from basiskit.risk.gate import RiskGate
from basiskit.risk.monitor import RiskMonitor
from basiskit.venues.sim.book_venues import BookPerp, BookSpot
from basiskit.venues.sim.transfer import TRANSIT, TransferCosts, Transfers
from basiskit.venues.sim.wallet import Wallet


def load_streams(config, catalog, start_ns: int, end_ns: int) -> list:
    """The spot and perp book-ticker streams of ``config`` over ``[start_ns, end_ns]`` (module docstring).

    Raises: DataError (a dataset unknown, missing, bad, or without events in the period)."""
    out = []
    for ds in (config.spot_dataset, config.perp_dataset):
        if ds in TICK_SPECS:
            s = catalog.book_tickers(ds, start_ns, end_ns)
        else:
            catalog.ensure_imported()
            s = bars_as_book_tickers(catalog.load(ds), ds).between(start_ns, end_ns)
        if not len(s):
            raise DataError(f"no book in the period {ns_to_iso(start_ns)} .. {ns_to_iso(end_ns)}", key=ds)
        out.append(s)
    return out


def tick_report(catalog, config) -> dict:
    """The tick datasets' reports (``data.ticks.TickReport``) of a run, by dataset id."""
    cat = TickCatalog(catalog.source_dir)
    return {ds: cat.read(ds)[1].model_dump() for ds in (config.spot_dataset, config.perp_dataset) if ds in TICK_SPECS}


def build_book_venues(config, frame: BookFrame, state, portfolio: Portfolio) -> Venues:
    """The wallet, ``<spot_venue>.spot`` (BookSpot) and ``<perp_venue>.perp`` (BookPerp) of a signal run.

    Raises: ConfigError (a venue config missing, without the spot/perp section, or a bad key)."""
    ledger, attr = portfolio.ledger, portfolio.attribution
    base, lat = config.base, int(round(config.latency_ms * 1e6))
    overrides = dict(config.venues)
    scfg = load_venue_config(config.spot_venue, overrides.pop(config.spot_venue, None))
    pcfg = scfg if config.perp_venue == config.spot_venue else load_venue_config(config.perp_venue,
                                                                                 overrides.pop(config.perp_venue, None))
    if overrides:
        raise ConfigError(f"venues.{sorted(overrides)[0]}: this run uses only {config.spot_venue} and {config.perp_venue}")
    if scfg.spot is None:
        raise ConfigError(f"venue {config.spot_venue} has no spot section in its venue config (spot_venue)")
    if pcfg.perp is None:
        raise ConfigError(f"venue {config.perp_venue} has no perp section in its venue config (perp_venue)")
    wallet = Wallet(WALLET, state, ledger, attr)
    spot = BookSpot(f"{config.spot_venue}.spot", scfg.spot, state, ledger, attr, {base: config.spot_dataset},
                    latency_ns=lat)
    perp = BookPerp(f"{config.perp_venue}.perp", pcfg.perp, state, ledger, attr,
                    {base: (config.perp_dataset, f"funding.{config.perp_dataset}")}, latency_ns=lat)
    accounts = {WALLET: wallet, spot.name: spot, perp.name: perp}
    wcfg = load_venue_config(WALLET)
    costs = TransferCosts({WALLET: wcfg.transfers, config.spot_venue: scfg.transfers, config.perp_venue: pcfg.transfers})
    transfers = Transfers(accounts, costs, state, attr)
    accounts[TRANSIT] = transfers
    return Venues(accounts, [spot], [perp], costs, [], [], None, None, transfers, None)


def simulate_ticks(config, strategy, frame: BookFrame | None, capital: float, progress=None, subscribers=None,
                   driver=None, feed=None, patch_venues=None):
    """Run ``strategy`` over ``frame`` through the kernel; returns ``engine.backtest.Simulation``.
    ``feed``: a live tick feed (``data.tick_live_feed.TickLiveFeed``: a paper or live session, stepped by
    its ``driver``) instead of the ``TickFeed`` of ``frame``; ``patch_venues(venues)`` may wrap the built
    venues (the session's order journal), as ``engine.backtest.simulate``'s."""
    from basiskit.engine.backtest import Simulation, loop_result  # the hourly runner's result types

    if feed is None:
        feed = TickFeed(frame)
    state = feed.state
    portfolio = Portfolio()
    venues = build_book_venues(config, frame, state, portfolio)
    if patch_venues is not None:
        patch_venues(venues)
    spot, perp = venues.spot[0], venues.perp[0]
    portfolio.ledger.add(spot.name, "USDT", capital * config.spot_capital_fraction)
    portfolio.ledger.add(perp.name, "USDT", capital * (1.0 - config.spot_capital_fraction))
    execution = ExecutionManager(venues.accounts, venues.transfers, portfolio, state, None, WALLET)
    monitor = RiskMonitor(venues.spot, venues.perp, [], [], None)
    gate = RiskGate(monitor.perp_names)
    ctx = EngineContext(venues.accounts, state, portfolio, monitor, None, orders=execution)
    n = len(feed)
    recorder = StepRecorder(n, state, portfolio, monitor, venues.accounts, WALLET, "USDT", None,
                            snapshot_every=max(1, n // 200))
    kernel = Kernel(feed, venues.accounts, portfolio, strategy, execution, monitor, gate, ctx, recorder,
                    Flows({}, {}, WALLET, "USDT"), subscribers=subscribers)
    elapsed = (driver or run_backtest_steps)(kernel, n, progress, max(1, n // 200))
    loop = loop_result(kernel, recorder, portfolio)
    return Simulation(loop, portfolio.attribution, venues, monitor, elapsed, portfolio)


def run_tick_backtest(req, config, clock, strategy, catalog, progress=None, tolerance_usd: float = 0.01,
                      subscribers=None, driver=None):
    """``engine.backtest.run_backtest`` for a signal mode (module docstring); returns a ``BacktestOutcome``."""
    from basiskit.engine.backtest import BacktestInputError, BacktestOutcome, _summarise, share_class_view

    if req.deposits or req.withdrawals:
        raise BacktestInputError(f"{config.mode}: deposits and withdrawals are not supported on book-ticker runs")
    if config.shock:
        raise BacktestInputError(f"{config.mode}: shocks are not supported on book-ticker runs")
    streams = load_streams(config, catalog, clock.start_ns, clock.end_ns)
    frame = align_books(streams)
    sim = simulate_ticks(config, strategy, frame, float(req.capital), progress, subscribers, driver)
    loop, attr = sim.loop, sim.attr
    view = share_class_view(req, config, loop, attr, None)
    summary = _summarise(req, config, loop, attr, view, sim.elapsed, tolerance_usd, catalog, [], [])
    summary["book_tickers"] = {"events": len(frame), "invalid_books": int(frame.invalid.sum()),
                               "datasets": {s.key: {"events": len(s), "start": ns_to_iso(int(s.ts[0])),
                                                    "end": ns_to_iso(int(s.ts[-1]))} for s in streams},
                               "reports": tick_report(catalog, config), "latency_ms": config.latency_ms}
    summary["signals"] = _signal_counts(strategy)
    return BacktestOutcome(req, config, loop, summary, sim.monitor.perp_names, view)


def _signal_counts(strategy) -> dict:
    from basiskit.strategies.signals.kernels import REASONS, SIGNAL_NAMES

    by_signal: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for _, code, reason, _, _ in strategy.signals:
        by_signal[SIGNAL_NAMES[code]] = by_signal.get(SIGNAL_NAMES[code], 0) + 1
        by_reason[REASONS[reason]] = by_reason.get(REASONS[reason], 0) + 1
    return {"by_signal": by_signal, "by_reason": by_reason, "refused": strategy.refused,
            "sizing_capped": strategy.sizing_capped, "expired_orders": strategy.expired}
