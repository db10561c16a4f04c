"""A live or paper session: the backtest's kernel with a live feed, the wall-clock driver, the order
journal, recovery, the watchdog and the circuit breaker, persisting as it goes.

:func:`run_live` is the one entry (the service, the CLI and the recovery tests call it). Per step,
after the kernel stepped (``LiveDriver.after_step``), in one transaction (``save_step``): the book
snapshot (strategy state, balances, positions, account checkpoints) to the strategy's state, the
positions to ``strategy_positions``, the market events received since the last step to
``market_events`` (recording: the session can be replayed and backtested afterwards); then
``on_status`` gets the session's status (equity, positions, open orders, heartbeat, feed ages).

A signal mode (``strategies.signals``: book tickers are its clock) runs on a ``data.tick_live_feed.
TickLiveFeed`` through ``engine.tick_backtest.simulate_ticks`` (the tick backtest's own venues:
``BookSpot`` / ``BookPerp`` with their latency fills), each book ticker received a step. Their IOC orders
are journaled at the latency books (``JournaledBook``), and the orders still on their way are part of
the stored book (``in_flight``), so a restart puts them back on their way.

Execution modes: ``paper`` -- the venues are the simulators (fills at the live market's prices, no
keys); ``live`` -- every order goes to ``remote`` (an exchange: a live adapter set, or the simulated
exchange process of ``engine.live.sim_exchange``) before the session's own view of the account
applies it. When ``remote`` has ``lot(account, token)`` (the ccxt exchange: the markets' amount step and
minimums), the accounts' lot sizes are the venue's, and the execution manager rounds the orders to them
before they are journaled and sent (``engine.execution``, ``domain.lots``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from basiskit.data.live_feed import LiveFeed
from basiskit.engine.backtest import Simulation, simulate
from basiskit.engine.live.driver import LiveDriver
from basiskit.engine.live.journal import CrashPoints, JournaledAccount, JournaledBook, OrderJournal
from basiskit.engine.live.recovery import Recovery, book_snapshot
from basiskit.engine.live.watchdog import CircuitBreaker, FeedWatchdog
from basiskit.persistence.live_store import MarketEventRecord
from basiskit.persistence.records import PositionRecord

_FIELDS = {"bar": ("open_ns", "interval_s", "open", "high", "low", "close", "volume", "traded"),
           "book_ticker": ("bid", "bid_size", "ask", "ask_size"), "funding_rate": ("rate", "mark"),
           "oracle_price": ("price",), "index_update": ("liquidity_index", "variable_borrow_index"),
           "gas_price": ("gwei",), "mark_price": ("mark", "funding_estimate", "next_funding_ns")}


@dataclass
class LiveOptions:
    """How a session runs (``config.live.LiveSettings`` validated): ``execution_mode`` paper|live,
    ``stale_limit_s`` (seconds of silence per series before entries pause), ``emergency_stop_loss_pct``
    (percent), ``heartbeat_s``, ``poll_s``, ``settle_s`` (seconds)."""

    execution_mode: str = "paper"
    stale_limit_s: float = 5400.0
    emergency_stop_loss_pct: float = 15.0
    heartbeat_s: float = 60.0
    poll_s: float = 1.0
    settle_s: float = 2.0
    settle_wall_s: float = 0.0  # real seconds a step waits once its time has come (a venue clock that jumps)


@dataclass
class LiveOutcome:
    sim: Simulation | None
    driver: LiveDriver
    journal: OrderJournal
    recovery: Recovery
    feed: LiveFeed
    events_recorded: int = 0
    status: dict = field(default_factory=dict)


class MarketRecorder:
    """Keeps the market events the feed receives, for the store (``flush``)."""

    def __init__(self, store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.rows: list[MarketEventRecord] = []
        self.seq = 0
        self.recorded = 0

    def __call__(self, ev, receipt_ns: int) -> None:
        kind = ev.kind
        key = getattr(ev, "key", "gas.gwei")
        self.rows.append(MarketEventRecord(self.seq, ev.timestamp, receipt_ns, kind, key,
                                           {f: getattr(ev, f) for f in _FIELDS.get(kind, ())}))
        self.seq += 1

    def stored(self, n: int) -> None:
        """The first ``n`` of ``rows`` were stored by the caller (``save_step``): drop them, count them."""
        self.rows = self.rows[n:]
        self.recorded += n

    def flush(self) -> None:
        if self.rows:
            self.store.add_market_events(self.run_id, self.rows)
            self.recorded += len(self.rows)
            self.rows = []


def status_of(kernel, driver: LiveDriver, journal: OrderJournal, options: LiveOptions) -> dict:
    """What ``live status`` shows: equity (USD(T)), positions, open orders, last heartbeat, feed ages."""
    feed = kernel.feed
    pf = kernel.portfolio
    ages = feed.ages(driver.now_ns())
    opened = [r for r in journal.store.live_orders(journal.strategy_id, open_only=True)] if journal.store else []
    return {"execution_mode": options.execution_mode, "step": feed.state.step, "clock_ns": feed.state.t,
            "equity_usd": kernel.recorder.equity[-1] if kernel.recorder.equity else None,
            # perp positions (signed base units) and spot holdings (token units other than the quote)
            "positions": {**{f"{a}|{t}": v for (a, t), v in pf.ledger.balances.items()
                             if t not in ("USDT", "USDC") and abs(v) > 1e-12},
                          **{f"{a}|{t}": p.size for (a, t), p in pf.positions.items() if p.size}},
            "balances": {f"{a}|{t}": v for (a, t), v in pf.ledger.balances.items() if abs(v) > 1e-12},
            "open_orders": [{"client_order_id": r.client_order_id, "venue": r.venue, "operation": r.operation,
                             "status": r.status, "amount": r.amount} for r in opened],
            "last_heartbeat_ns": driver.last_heartbeat_ns or None,
            "feed_age_s": {k: (round(a, 3) if a != float("inf") else None) for k, a in sorted(ages.items())},
            "entries_paused": bool(driver.watchdog is not None and driver.watchdog.gate.paused),
            "orders_sent": journal.seq, "steps_done": driver.steps_done}


def run_live(config, strategy, feed: LiveFeed, capital: float, store, strategy_id: str, run_id: str,
             options: LiveOptions, remote=None, now_ns: Callable[[], int] = time.time_ns,
             sleep: Callable[[float], None] = time.sleep, should_stop: Callable[[], bool] | None = None,
             subscribers: list | None = None, crash: CrashPoints | None = None,
             on_status: Callable[[dict], None] | None = None) -> LiveOutcome:
    """Run a session to the end of ``feed.grid`` (or until stopped: ``RunInterrupted``; the circuit
    breaker: ``CircuitBreakerTripped``). Args as the module docstring; ``store``: a ``LiveStore``;
    ``strategy_id``: the key of the session's persisted book (the same across restarts)."""
    if options.execution_mode == "live" and remote is None:
        raise ValueError("a live session needs its venues' exchange connection (remote)")
    driver: LiveDriver
    journal = OrderJournal(store, strategy_id, run_id, clock=lambda: feed.state.t, crash=crash or CrashPoints(),
                           step_started=lambda: driver.step_started_ns,
                           step_started_cpu=lambda: driver.step_started_cpu_ns)
    recovery = Recovery(store, strategy_id, run_id, journal, remote, id_prefix=strategy_id)
    rec = MarketRecorder(store, run_id)
    feed.recorders.append(rec)
    outcome = LiveOutcome(None, None, journal, recovery, feed)  # type: ignore[arg-type]

    def patch(venues) -> None:
        # the exchange settles the market (funding, arrivals) when the first account the kernel shows the
        # market to (an accruing one: the wallet may not be) sees it
        first = next((n for n, a in venues.accounts.items() if getattr(a, "accrues", True)), None)
        live = options.execution_mode == "live"
        lot_of = getattr(remote, "lot", None) if live else None
        for name, acc in venues.accounts.items():
            JournaledAccount(acc, journal, remote if live else None, sync_market=name == first).install()
            if hasattr(getattr(acc, "resting", None), "in_flight"):  # a latency book: the signal modes' IOC orders
                JournaledBook(acc.resting, journal).install()
            if lot_of is not None and hasattr(acc, "lots"):
                # the venue's own lot sizes (ccxt's markets) replace the venue config's: the orders are rounded to them
                tokens = getattr(acc, "keys", None) or getattr(acc, "positions", {})
                acc.lots = {t: lot for t in tokens if (lot := lot_of(name, t)) is not None}

    def after_step(kernel, i: int) -> None:
        # one transaction: the book snapshot, the positions and the step's market events
        events = list(rec.rows)
        store.save_step(strategy_id, book_snapshot(kernel, recovery.attempt),
                        [PositionRecord(a, t, p.size) for (a, t), p in kernel.portfolio.positions.items() if p.size],
                        run_id, events)
        rec.stored(len(events))  # only once stored: a failed write leaves them for the next one
        if on_status is not None:
            outcome.status = status_of(kernel, driver, journal, options)
            on_status(outcome.status)

    def heartbeat(info: dict) -> None:
        if on_status is not None and driver.kernel is not None and driver.kernel.recorder.equity:
            outcome.status = status_of(driver.kernel, driver, journal, options)
            on_status(outcome.status)

    watchdog = FeedWatchdog({k: options.stale_limit_s for k in feed._keys})
    driver = LiveDriver(now_ns, sleep, should_stop, poll_s=options.poll_s, settle_s=options.settle_s,
                        heartbeat_s=options.heartbeat_s, watchdog=watchdog,
                        breaker=CircuitBreaker(options.emergency_stop_loss_pct), on_start=recovery,
                        after_step=after_step, on_heartbeat=heartbeat, settle_wall_s=options.settle_wall_s)
    outcome.driver = driver
    try:
        if getattr(strategy, "book_tickers", False):  # a signal mode: each book ticker received is a step
            from basiskit.engine.tick_backtest import simulate_ticks
            outcome.sim = simulate_ticks(config, strategy, None, capital, subscribers=subscribers, driver=driver,
                                         feed=feed, patch_venues=patch)
        else:
            outcome.sim = simulate(config, strategy, None, capital, subscribers=subscribers, driver=driver, feed=feed,
                                   patch_venues=patch)
    finally:
        rec.flush()
        outcome.events_recorded = rec.recorded
    return outcome
