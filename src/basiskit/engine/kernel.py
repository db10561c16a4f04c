"""The kernel: one event-driven loop for backtest, paper and live runs.

Only the kernel reads the clock. A driver hands it the times (a backtest: the clock's grid as fast as
possible; a live run: the wall clock) and, per time, one step runs:

    tick = feed.advance(i)           the market state moves to t; discrete market events of (t_prev, t]
    venue.on_market(tick)            each venue account, wallet first: accrual, funding, liquidation,
                                     marks -> account events, applied to the portfolio at once
    flows                            deposits land, withdrawal requests are queued (a request above
                                     the equity is an error unless partial payment is allowed)
    monitor.observe()                risk readings: net delta, margin ratios, health factors
    override / decide                the risk override (reduce-only) or strategy.decide(ctx), in passes:
    gate -> cancels -> execution     each pass's orders are reviewed, its cancels (``Decision.cancels``:
                                     resting orders, at their venue's book) run and then its orders
                                     (sequential, or atomic groups all or nothing); their trades are
                                     applied before the next pass
    withdrawals paid                 from the wallet, as far as cash allows
    recorder.record()                the step's readings (equity, net delta, margins, ...)

Between steps the backtest driver may call :meth:`Kernel.fast_forward`: a stretch of *quiet* steps
(only prices and funding move, the strategy holds) passed in one vectorised go with the results of
stepping them (``engine/quiet.py``); a live driver always steps.

Resting orders (limit, stop, take-profit, brackets) live in their venue's book: a venue reports their
fills (``Trade``, kept in ``trades`` like the decisions' trades) and status changes
(``OrderStatusChanged``) from ``on_market`` as account events; their changes at submission and cancel
come back through the execution manager's ``report`` (``engine/execution.py``). A cancel that fails (an
unknown id, an order that has ended) is a ``cancel_failed`` error event.

Every event of the step -- account events, trades, decisions, risk events -- is published as it
happens to the run's subscribers (the event log writes it at once, so a killed run leaves a valid
prefix) and account events reach the strategy through ``on_event``. Errors follow the exception
tree (``errors.exceptions``): a strategy's ``SkipDecision`` (or any exception it raises, wrapped as
``DecisionFailed``) skips the step's decision and is logged; ``StopRun`` errors stop the run; a feed or
venue call that raises ``RetryWithBackoff`` (``FeedUnavailable``, ``VenueUnavailable``: a live stream or
exchange that does not answer) is retried with exponential backoff, each retry logged, and stops the run
when the attempts are used up (:meth:`Kernel.retry`; an order is resent under its client order id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from basiskit.domain.events import AccountChange, Event
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.time import ns_to_iso
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.engine.context import EngineContext
from basiskit.engine.execution import ExecutionManager
from basiskit.engine.quiet import fast_forward
from basiskit.engine.recorder import StepRecorder
from basiskit.errors.exceptions import DecisionFailed, RetryWithBackoff, SkipDecision, StopRun
from basiskit.errors.retry import with_backoff
from basiskit.risk.gate import RiskGate
from basiskit.risk.monitor import RiskMonitor
from basiskit.strategies.base import Decision

REBALANCE_ACTIONS = ("entry_partial", "exit_partial")
RESERVE_LOW_FRACTION = 0.95  # hysteresis: equity moves make cash flicker around an exact target
MAX_SKIPPED_DECISIONS = 100  # a strategy failing this many steps in a row stops the run


class WithdrawalError(StopRun):
    """RUN-013: a withdrawal cannot be paid (larger than the equity at its date, or still unpaid at the
    end of the run); the message names the withdrawal, its date and the equity then."""

    code = "RUN-013"


@dataclass
class Flows:
    """Deposits and withdrawal requests by clock step, in share-class units of ``token`` (landing in /
    paid from ``wallet``)."""

    deposits: dict[int, float] = field(default_factory=dict)
    withdrawals: dict[int, float] = field(default_factory=dict)
    wallet: str = "wallet"
    token: str = "USDT"
    allow_partial: bool = False


class Kernel:
    """Args: feed (``data.feed.HistoricalFeed`` or a live feed: ``advance(i) -> MarketTick``, ``state``),
    venues (account name -> venue, wallet first), portfolio, strategy, execution, monitor, gate,
    override (or None), ctx, recorder, flows, prices (``OnchainPrices`` or None: shifted each step),
    subscribers (callables receiving every event as it happens), max_passes, reserve_ratio."""

    def __init__(self, feed, venues: dict, portfolio: Portfolio, strategy, execution: ExecutionManager,
                 monitor: RiskMonitor, gate: RiskGate, ctx: EngineContext, recorder: StepRecorder, flows: Flows,
                 override=None, prices=None, subscribers: list[Callable] | None = None, max_passes: int = 6,
                 reserve_ratio: float = 0.0) -> None:
        self.feed = feed
        self.venues = venues
        self.portfolio = portfolio
        self.strategy = strategy
        self.execution = execution
        self.monitor = monitor
        self.gate = gate
        self.override = override
        self.ctx = ctx
        self.recorder = recorder
        self.flows = flows
        self.prices = prices
        self.subscribers = list(subscribers or [])
        self.max_passes = max_passes
        self.reserve_ratio = reserve_ratio
        self.events: list = []          # every event of the run, in the order it happened
        self.trades: list[Trade] = []
        self.net_deposits = 0.0         # share-class units
        self.pending_withdrawal = 0.0   # share-class units
        self.decisions_deferred = 0
        self.decisions_failed = 0
        self.rebalances: dict[str, int] = {}
        self._reserve_low = False
        self._failures_in_a_row = 0
        self._step_decisions: list[dict] = []
        self._accruing = [v for v in venues.values() if getattr(v, "accrues", True)]
        # the RetryWithBackoff policy for venue and feed calls (``retry``); sleep is injectable for tests
        self.retry_attempts, self.retry_base_delay_s, self.retry_max_delay_s = 5, 0.05, 2.0
        self.sleep: Callable[[float], None] = time.sleep
        execution.retry = self.retry
        execution.publish = self.publish
        self._on_event = getattr(strategy, "on_event", None)
        self._batchable: bool | None = None  # whether quiet stretches can be batched (engine.quiet)
        self._quiet_from = 0  # no quiet stretch starts before this step (engine.quiet)
        self._quiet_window = 64  # steps a quiet stretch is tried over (adapted as stretches go)
        self._quiet_misses = 0   # failed attempts in a row (engine.quiet backs off)
        self.steps_batched = 0  # steps passed in quiet stretches

    def retry(self, what: str, call: Callable, first: RetryWithBackoff):
        """The ``RetryWithBackoff`` policy (errors/exceptions.py) for a call that has just failed with
        ``first``: call again with exponential backoff (``retry_attempts`` calls in all, waits from
        ``retry_base_delay_s`` doubling up to ``retry_max_delay_s``, through ``sleep``), each retry
        published as an ``engine``/``retry`` event (what, attempt, code, error, delay_s); once the
        attempts are used up the last error stops the run. Returns the call's result."""
        t = self.feed.state.t

        def log(attempt: int, exc: RetryWithBackoff, delay: float) -> None:
            self.publish(Event(t, "engine", "retry", {"what": what, "attempt": attempt, "code": exc.code,
                                                       "error": str(exc), "delay_s": delay}))

        log(1, first, self.retry_base_delay_s)
        self.sleep(self.retry_base_delay_s)
        return with_backoff(call, attempts=self.retry_attempts - 1, base_delay=self.retry_base_delay_s * 2,
                            max_delay=self.retry_max_delay_s, sleep=self.sleep,
                            on_retry=lambda k, exc, d: log(k + 1, exc, d))

    def use_strategy(self, strategy) -> None:
        """Hand the next steps to ``strategy`` (e.g. a restarted strategy restored from its stored
        ``snapshot()``): it decides and receives the account events from the next step on."""
        self.strategy = strategy
        self._on_event = getattr(strategy, "on_event", None)
        self._batchable = None
        self._quiet_from = 0
        self._quiet_misses = 0

    def fast_forward(self, i: int, n: int) -> int:
        """Pass the quiet steps from ``i`` on in one vectorised go (``engine.quiet``: same results as
        stepping them); returns the next step to :meth:`step` (``i`` when none could be passed)."""
        return fast_forward(self, i, n)

    # -- events ------------------------------------------------------------------------------------
    def publish(self, ev) -> None:
        self.events.append(ev)
        for sub in self.subscribers:
            sub(ev)

    def account_event(self, ev) -> None:
        """Apply an account event to the portfolio, publish it and tell the strategy."""
        self.portfolio.apply(ev)
        self.report(ev)

    def report(self, ev) -> None:
        """Publish an account event already applied to the portfolio and tell the strategy."""
        self.publish(ev)
        if self._on_event is not None:
            self._on_event(ev)

    def _unit_usd(self) -> float:
        return 1.0 if self.flows.token == "USDT" else self.prices.eth_usd_now

    # -- one step ----------------------------------------------------------------------------------
    def step(self, i: int) -> None:
        try:
            tick = self.feed.advance(i)
        except RetryWithBackoff as exc:  # a live feed that did not answer: the declared policy
            tick = self.retry(f"feed.advance step {i}", lambda: self.feed.advance(i), exc)
        t = tick.timestamp
        if self.prices is not None:
            self.prices.on_tick()
        apply = self.account_event
        for v in self._accruing:
            try:
                evs = v.on_market(tick)
            except RetryWithBackoff as exc:
                evs = self.retry(f"{v.name}.on_market", lambda: v.on_market(tick), exc)
            if evs:
                for ev in evs:
                    apply(ev)
                    if ev.kind == "trade":  # a resting order filled by the bar or the open
                        self.trades.append(ev)
        fl = self.flows
        ctx = self.ctx
        if fl.deposits and i in fl.deposits:
            amt = fl.deposits[i]
            self.net_deposits += amt
            apply(AccountChange(t, "engine", "deposit", deltas=((fl.wallet, fl.token, amt),),
                                data={"amount": amt, "token": fl.token}))
        if fl.withdrawals and i in fl.withdrawals:
            self._request_withdrawal(i, t, fl.withdrawals[i])
        risk = self.monitor.observe()
        ctx._pending_withdrawal, ctx._equity_cache = self.pending_withdrawal, None  # ctx._at, inlined (hot)
        self._decide(i, t, risk)
        if self.pending_withdrawal > 0.0:
            self._pay_withdrawals(t)
        eq = ctx.equity_usd()  # sum of venue values; cached if the strategy already asked
        if self.reserve_ratio:
            self._check_reserve(t, eq)
        if self._step_decisions:
            self._assess(t, eq)
        self.recorder.record(i, eq, self.net_deposits)

    def _request_withdrawal(self, i: int, t: int, amount: float) -> None:
        fl = self.flows
        self.pending_withdrawal += amount
        self.publish(Event(t, "engine", "withdrawal_requested", {"amount": amount, "token": fl.token}))
        self.ctx._at(i, self.pending_withdrawal)
        equity_sc = self.ctx.equity_usd() / self._unit_usd()
        pending = self.pending_withdrawal
        if pending > equity_sc * (1 + 1e-9) and not fl.allow_partial:
            raise WithdrawalError(
                f"withdrawal of {amount:,.6g} {fl.token} on {ns_to_iso(t)} cannot be paid: the equity then is "
                f"{equity_sc:,.6g} {fl.token}" + (f" and {pending - amount:,.6g} {fl.token} of earlier "
                                                   "withdrawals are still pending" if pending > amount else "")
                + " (set allow_partial_withdrawals=true to pay what can be paid and report the rest)")

    def _decide(self, i: int, t: int, risk) -> None:
        ctx, strategy = self.ctx, self.strategy
        forced = self.override.check() if self.override is not None else None
        if forced is not None:
            self.publish(Event(t, "risk", "risk_override", {"action": forced[0].value, "reason": forced[1]}))
        first_pass = True
        for _ in range(self.max_passes):
            try:
                if forced is not None:
                    action, why = forced
                    decision = Decision(action, strategy.reduce_risk(action, ctx), f"risk override: {why}")
                else:
                    decision = strategy.decide(ctx)
            except StopRun:
                raise
            except Exception as exc:  # noqa: BLE001 - the exception tree says what to do next
                self._decision_failed(t, exc)
                return
            if self._failures_in_a_row:
                self._failures_in_a_row = 0
            cancels = decision.cancels
            if not cancels and not decision.orders:
                if decision.deferred:
                    self.decisions_deferred += 1
                    self.publish(Event(t, "strategy", "decision_deferred", {"action": decision.action.value,
                                                                            "reason": decision.reason}))
                return
            orders: list = []
            if decision.orders:
                sizes = self.monitor.position_sizes()
                if forced is not None:
                    orders, gate_events = self.gate.reduce_only(decision.orders, sizes, t)
                    for ev in gate_events:
                        self.publish(ev)
                    if not orders and not cancels:
                        return
                else:
                    orders, gate_events = self.gate.review(decision.orders, risk, sizes, t)
                    for ev in gate_events:
                        self.publish(ev)
            record = {"action": decision.action.value, "reason": decision.reason, "orders": len(orders),
                      "trigger": decision.trigger}
            if cancels:
                record["cancels"] = list(cancels)
            self._step_decisions.append(record)
            self.publish(Event(t, "strategy", "decision", record))
            if first_pass and decision.action.value in REBALANCE_ACTIONS:
                key = decision.trigger or "other"
                self.rebalances[key] = self.rebalances.get(key, 0) + 1
            first_pass = False
            if cancels:  # before the decision's orders: a replaced order is gone before its successor arrives
                for ev in self.execution.cancel(cancels, self.report):
                    self.publish(ev)
            for tr in self.execution.execute(orders, self.report):
                self.trades.append(tr)
                if not tr.ok:
                    kind = ("order_deferred" if tr.status is TradeStatus.DEFERRED else
                            "order_skipped" if tr.error_code == "EXEC-009" else "order_failed")
                    self.publish(Event(t, tr.order.venue, kind, {"operation": tr.order.operation.value,
                                                                 "client_order_id": tr.order.client_order_id,
                                                                 "error_code": tr.error_code, "error": tr.error}))
            ctx._invalidate()
            if self.execution.all_skipped and not cancels:
                return  # every order was below its lot's minimum: nothing changed, the next pass would ask the same
            risk = self.monitor.observe()
        self.publish(Event(t, "engine", "max_passes_reached", {"passes": self.max_passes}))

    def _assess(self, t: int, eq: float) -> None:
        """The end of a step with decisions: the risk assessment after them and, when they re-targeted
        the book, one ``rebalance`` event summing them up."""
        m = self.monitor
        delta = m.net_delta_usd
        self.publish(Event(t, "risk", "assessment", {"as_of": "end_of_step", "equity_usd": eq, "net_delta_usd": delta,
                                                     "delta_drift": delta / eq if eq else None,
                                                     "margin_ratios": dict(m.margin_ratios)}))
        decisions, self._step_decisions = self._step_decisions, []
        partial = [d for d in decisions if d["action"] in REBALANCE_ACTIONS]
        if partial:
            self.publish(Event(t, "strategy", "rebalance", {"action": partial[0]["action"], "reason": partial[0]["reason"],
                                                            "passes": len(decisions),
                                                            "orders": sum(d["orders"] for d in decisions)}))

    def _decision_failed(self, t: int, exc: Exception) -> None:
        err = exc if isinstance(exc, SkipDecision) else DecisionFailed(f"{type(exc).__name__}: {exc}")
        self.decisions_failed += 1
        self._failures_in_a_row += 1
        self.publish(Event(t, "strategy", "error", {"code": err.code, "error": str(err),
                                                    "policy": "skip the decision; the next step decides again"}))
        if self._failures_in_a_row >= MAX_SKIPPED_DECISIONS:
            raise DecisionFailed(f"the strategy failed {self._failures_in_a_row} steps in a row (last at "
                                 f"{ns_to_iso(t)}: {err}); the run stops") from exc

    def _pay_withdrawals(self, t: int) -> None:
        fl = self.flows
        paid = min(self.pending_withdrawal, max(0.0, self.portfolio.ledger.get(fl.wallet, fl.token)))
        if paid > 0.0:
            self.net_deposits -= paid
            self.pending_withdrawal -= paid
            self.account_event(AccountChange(t, "engine", "withdrawal_paid", deltas=((fl.wallet, fl.token, -paid),),
                                             data={"amount": paid, "token": fl.token,
                                                   "still_pending": self.pending_withdrawal}))
            self.ctx._invalidate()

    def _check_reserve(self, t: int, eq: float) -> None:
        fl = self.flows
        unit = self._unit_usd()
        cash = self.portfolio.ledger.get(fl.wallet, fl.token)
        have, want = cash * unit, self.reserve_ratio * eq
        if have < want * RESERVE_LOW_FRACTION and not self._reserve_low:
            self.publish(Event(t, "risk", "reserve_low", {"cash": cash, "token": fl.token, "target": want / unit,
                                                          "reserve_ratio": self.reserve_ratio}))
            self._reserve_low = True
        elif have >= want:
            self._reserve_low = False

    # -- the end -----------------------------------------------------------------------------------
    def finish(self) -> None:
        """Raises WithdrawalError for withdrawals still unpaid (unless partial payment is allowed)."""
        rep = self.execution.skips_repeated
        if rep:  # orders skipped for their lot again and again (engine.execution): the counts, once
            self.publish(Event(self.feed.state.t, "execution", "order_skipped_repeats", {
                "total": sum(rep.values()),
                "orders": [{"venue": k[0], "operation": k[1].value, "token": k[2], "side": k[3].value if k[3] else None,
                            "amount": k[5], "times": n} for k, n in rep.items()]}))
        fl = self.flows
        if self.pending_withdrawal > 1e-9 and not fl.allow_partial:
            last = self.recorder.equity[-1] / self._unit_usd() if self.recorder.equity else float("nan")
            raise WithdrawalError(f"{self.pending_withdrawal:,.6g} {fl.token} of withdrawals were still unpaid at the end "
                                  f"of the run ({ns_to_iso(self.feed.state.t)}; equity then {last:,.6g} {fl.token}): end "
                                  "the run later or set allow_partial_withdrawals=true")
