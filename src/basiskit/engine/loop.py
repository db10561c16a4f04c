"""The loop: one pass of the shared clock.

    for each step i:
        venues.accrue(i)            funding settlements, interest (index), revaluation, liquidations
        deposits/withdrawal requests due at t_i
        risk monitor                net delta, margin ratios, health factors
        risk override               on a breach: exit_partial/exit_full replace decide, reduce-only
        strategy.decide(ctx)        -> Decision (action, orders, reason); repeated in passes while it
        risk gate                      returns orders (max ``max_passes``), each pass executed before
        execution manager              the next so the strategy sees its fills
        pay out withdrawals         from the wallet, as far as cash allows (rest stays pending); a
                                    withdrawal request above the equity at its step is an error
                                    (``WithdrawalError``) unless ``allow_partial`` (then it stays
                                    pending and is reported unpaid)
        record equity point, events; reserve_low when wallet cash falls below 95 % of reserve_ratio x
                                    equity (once, re-armed when the reserve is back at target)

Only this module reads the clock. Equity is the sum of every venue account's value in USD(T);
deposits and withdrawals move the share-class token (USDT, or WETH for the ETH share class) at the
wallet. With ``record_attribution`` the attribution totals are kept per step (for the share-class
conversion in ``engine.share_class``); with ``snapshot_every``
venue snapshots are taken every that many steps and at the last (``engine.snapshots``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from basiskit.domain.events import Event
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.domain.time import ns_to_iso
from basiskit.engine.context import EngineContext
from basiskit.engine.execution import ExecutionManager
from basiskit.engine.snapshots import SnapshotTaker, VenueSnapshots
from basiskit.errors.exceptions import StopRun
from basiskit.risk.gate import RiskGate
from basiskit.risk.monitor import RiskMonitor
from basiskit.strategies.base import BaseStrategy, Decision
from basiskit.venues.ledger import Attribution, Ledger


REBALANCE_ACTIONS = ("entry_partial", "exit_partial")
RESERVE_LOW_FRACTION = 0.95  # hysteresis: equity moves make cash flicker around an exact target


class WithdrawalError(StopRun):
    """RUN-013: a withdrawal cannot be paid (larger than the equity at its date, or still unpaid at the
    end of the run); the message names the withdrawal, its date and the equity then."""

    code = "RUN-013"


@dataclass
class LoopResult:
    times: list[int] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    net_deposits: list[float] = field(default_factory=list)
    net_delta: list[float] = field(default_factory=list)
    margin_ratios: dict[str, list] = field(default_factory=dict)  # perp account -> per-step margin ratio
    health_factor: list[float] = field(default_factory=list)       # first AAVE account (inf without debt)
    ltv: list[float] = field(default_factory=list)
    net_eth: list[float] = field(default_factory=list)
    attribution_steps: list[tuple] = field(default_factory=list)   # attribution totals after each step
    snapshots: VenueSnapshots = field(default_factory=VenueSnapshots)
    perp_notional: dict[str, list[float]] = field(default_factory=dict)  # perp account -> per-step notional, USD(T)
    trades: list[Trade] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    decisions_deferred: int = 0     # re-targets a strategy postponed (a venue it needs had no traded price)
    rebalances: dict[str, int] = field(default_factory=dict)  # trigger -> steps whose decisions re-targeted the book
    idle_cash_usd: list[float] = field(default_factory=list)  # per step: wallet cash + spot-account USDT + in transit
    unpaid_withdrawals: float = 0.0  # share-class units still pending at the end (allow_partial only)


class Engine:
    def __init__(self, grid_list: list[int], venues: dict, strategy: BaseStrategy, execution: ExecutionManager,
                 monitor: RiskMonitor, gate: RiskGate, ledger: Ledger, attribution: Attribution,
                 deposits: dict[int, float], withdrawals: dict[int, float], wallet: str = "wallet",
                 max_passes: int = 6, cash_token: str = "USDT", override=None, record_attribution: bool = False,
                 ctx: EngineContext | None = None, reserve_ratio: float = 0.0, snapshot_every: int = 0,
                 allow_partial_withdrawals: bool = False) -> None:
        self.grid = grid_list
        self.venues = venues
        self.strategy = strategy
        self.execution = execution
        self.monitor = monitor
        self.gate = gate
        self.ledger = ledger
        self.attr = attribution
        self.deposits = deposits
        self.withdrawals = withdrawals
        self.wallet = wallet
        self.max_passes = max_passes
        self.cash_token = cash_token
        self.override = override
        self.record_attribution = record_attribution
        self.reserve_ratio = reserve_ratio  # share-class cash / equity the wallet should keep (reserve_low events)
        self.ctx = ctx or EngineContext(venues, grid_list, monitor)
        self.snapshot_every = snapshot_every
        self.allow_partial = allow_partial_withdrawals

    def run(self, progress: Callable[[int], None] | None = None, progress_every: int = 0) -> LoopResult:
        res = LoopResult(times=self.grid)
        venue_list = [v for v in self.venues.values() if getattr(v, "accrues", True)]
        ledger, wallet = self.ledger, self.wallet
        ctx, strategy, monitor = self.ctx, self.strategy, self.monitor
        events = res.events
        eq_out, dep_out, delta_out = res.equity, res.net_deposits, res.net_delta
        mr_out = [(name, res.margin_ratios.setdefault(name, []), res.perp_notional.setdefault(name, []))
                  for name in monitor.perp_names]
        readings, notionals = monitor.margin_ratios, monitor.notionals
        net_deposits = 0.0
        pending_w = 0.0
        deposits, withdrawals = self.deposits, self.withdrawals
        cash_tok = self.cash_token
        aave_name = monitor.aave_names[0] if monitor.aave_names else None
        override = self.override
        record_attr = self.record_attribution
        unit_usd = (lambda i: 1.0) if cash_tok == "USDT" else (lambda i: monitor.eth_usd[i])
        reserve_ratio, reserve_was_low = self.reserve_ratio, False
        spot_keys = [(v.name, "USDT") for v in monitor.spot_venues]
        wallet_key = (wallet, cash_tok)
        transit = self.venues.get("transit")
        snap = SnapshotTaker(self.venues, self.attr, len(self.grid), self.snapshot_every) if self.snapshot_every else None
        snap_at = snap.next_step if snap is not None else -1
        for i, t in enumerate(self.grid):
            for v in venue_list:
                ev = v.accrue(i)
                if ev:
                    events.extend(ev)
            # flows after accrual: a WETH deposit must not be revalued from the previous step's price
            if deposits and i in deposits:
                amt = deposits[i]
                ledger.add(wallet, cash_tok, amt)
                net_deposits += amt  # share-class units
                events.append(Event(t, "engine", "deposit", {"amount": amt, "token": cash_tok}))
            if withdrawals and i in withdrawals:
                pending_w += withdrawals[i]
                events.append(Event(t, "engine", "withdrawal_requested", {"amount": withdrawals[i], "token": cash_tok}))
                ctx._at(i, pending_w)
                equity_sc = ctx.equity_usd() / unit_usd(i)
                if pending_w > equity_sc * (1 + 1e-9) and not self.allow_partial:
                    raise WithdrawalError(
                        f"withdrawal of {withdrawals[i]:,.6g} {cash_tok} on {ns_to_iso(t)} cannot be paid: the equity then is "
                        f"{equity_sc:,.6g} {cash_tok}" + (f" and {pending_w - withdrawals[i]:,.6g} {cash_tok} of earlier "
                                                           "withdrawals are still pending" if pending_w > withdrawals[i] else "")
                        + " (set allow_partial_withdrawals=true to pay what can be paid and report the rest)")
            risk = monitor.observe(i)
            ctx._at(i, pending_w)
            forced = override.check() if override is not None else None
            if forced is not None:
                events.append(Event(t, "risk", "risk_override", {"action": forced[0].value, "reason": forced[1]}))
            first_pass = True
            for _ in range(self.max_passes):
                if forced is not None:
                    action, why = forced
                    decision = Decision(action, getattr(strategy, action.value)(ctx), f"risk override: {why}")
                else:
                    decision = strategy.decide(ctx)
                if not decision.orders:
                    if decision.deferred:
                        res.decisions_deferred += 1
                        events.append(Event(t, "strategy", "decision_deferred", {"action": decision.action.value,
                                                                                 "reason": decision.reason}))
                    break
                if forced is not None:
                    orders, gate_events = self.gate.reduce_only(decision.orders, self._sizes(), t)
                    if not orders:
                        events.extend(gate_events)
                        break
                else:
                    orders, gate_events = self.gate.review(decision.orders, risk, self._sizes(), t)
                events.extend(gate_events)
                events.append(Event(t, "strategy", "decision", {"action": decision.action.value, "reason": decision.reason,
                                                                "orders": len(orders), "trigger": decision.trigger}))
                if first_pass and decision.action.value in REBALANCE_ACTIONS:
                    key = decision.trigger or "other"
                    res.rebalances[key] = res.rebalances.get(key, 0) + 1
                first_pass = False
                trades = self.execution.execute(orders, i)
                res.trades.extend(trades)
                for tr in trades:
                    if not tr.ok:
                        kind = "order_deferred" if tr.status is TradeStatus.DEFERRED else "order_failed"
                        events.append(Event(t, tr.order.venue, kind, {"operation": tr.order.operation.value,
                                                                      "error_code": tr.error_code, "error": tr.error}))
                ctx._invalidate()
                risk = monitor.observe(i)
            else:
                events.append(Event(t, "engine", "max_passes_reached", {"passes": self.max_passes}))
            if pending_w > 0.0:
                paid = min(pending_w, max(0.0, ledger.get(wallet, cash_tok)))
                if paid > 0.0:
                    ledger.add(wallet, cash_tok, -paid)
                    net_deposits -= paid
                    pending_w -= paid
                    events.append(Event(t, "engine", "withdrawal_paid", {"amount": paid, "token": cash_tok,
                                                                         "still_pending": pending_w}))
                    ctx._invalidate()
            eq = ctx.equity_usd()  # sum of venue values; cached if the strategy already asked
            eq_out.append(eq)
            if reserve_ratio:
                have, want = ledger.get(wallet, cash_tok) * unit_usd(i), reserve_ratio * eq
                if have < want * RESERVE_LOW_FRACTION and not reserve_was_low:
                    events.append(Event(t, "risk", "reserve_low", {
                        "cash": ledger.get(wallet, cash_tok), "token": cash_tok,
                        "target": want / unit_usd(i), "reserve_ratio": reserve_ratio}))
                    reserve_was_low = True
                elif have >= want:
                    reserve_was_low = False
            dep_out.append(net_deposits)
            balances = ledger.balances
            idle = balances.get(wallet_key, 0.0)
            if idle and cash_tok != "USDT":
                idle *= unit_usd(i)
            for key in spot_keys:
                idle += balances.get(key, 0.0)
            if transit is not None and transit.pending:
                idle += transit.value_usd(i)
            res.idle_cash_usd.append(idle)
            delta_out.append(monitor.net_delta_usd)
            for name, out, n_out in mr_out:
                out.append(readings[name])
                n_out.append(notionals[name])
            if aave_name is not None:
                res.health_factor.append(monitor.health_factors[aave_name])
                res.ltv.append(monitor.ltvs[aave_name])
                res.net_eth.append(monitor.net_eth)
            elif monitor.onchain:
                res.net_eth.append(monitor.net_eth)
            if record_attr:
                res.attribution_steps.append(tuple(self.attr.total.values()))
            if i == snap_at:
                snap.take(i)
                snap_at = snap.next_step
            if progress_every and i % progress_every == 0 and progress is not None:
                progress(i)
        if snap is not None:
            res.snapshots = snap.out
        if pending_w > 1e-9:
            if not self.allow_partial:
                raise WithdrawalError(f"{pending_w:,.6g} {cash_tok} of withdrawals were still unpaid at the end of the run "
                                      f"({ns_to_iso(self.grid[-1])}; equity then {eq_out[-1] / unit_usd(len(self.grid) - 1):,.6g} "
                                      f"{cash_tok}): end the run later or set allow_partial_withdrawals=true")
            res.unpaid_withdrawals = pending_w
        return res

    def _sizes(self) -> dict[tuple[str, str], float]:
        out = {}
        for name, v in self.venues.items():
            positions = getattr(v, "positions", None)
            if positions:
                for tok, pos in positions.items():
                    out[(name, tok)] = pos.size
        return out
