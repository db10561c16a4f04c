"""A finished backtest as stored records and as the events of its event log.

Events (written through :class:`basiskit.eventlog.EventLog`, then stored): the loop's own events
(strategy decisions with action and reason, funding, deposits/withdrawals, risk overrides, failed
orders, liquidations) interleaved with

* ``execution``/``order`` for every order sent (after the decision that produced it),
* ``<venue account>``/``trade`` for every fill (or failure) the venue reported,
* ``risk``/``assessment`` after every step with a decision: equity, net delta, delta drift and
  margin ratios at the end of that step,
* ``strategy``/``rebalance`` once per step whose decisions re-targeted the book (entry_partial /
  exit_partial), with the action, reason, passes and order count.

Error-like events carry a registry ``code`` (EXEC-001 failed order, RISK-001 risk override,
RISK-002 liquidation).
"""

from __future__ import annotations

import bisect
from typing import Any

from basiskit.engine.backtest import BacktestOutcome
from basiskit.eventlog import EventLog
from basiskit.persistence.records import (EquityPoint, EventRecord, OrderRecord, RunResults, TradeRecord,
                                          TransferRecord, finite_or_none)

CODES = {"order_failed": "EXEC-001", "risk_override": "RISK-001", "liquidation": "RISK-002"}
REBALANCE_ACTIONS = {"entry_partial", "exit_partial"}
_HEAD = ("run_id", "seq", "timestamp", "clock_ns", "component", "kind")


def _instrument(order) -> str:
    return f"{order.token}{order.quote}" if order.side is not None else order.token


def order_records(outcome: BacktestOutcome) -> list[OrderRecord]:
    return [OrderRecord(i, tr.timestamp, o.venue, o.operation.value, o.token, o.side.value if o.side else None,
                        float(o.amount), o.to_venue, o.atomic_group_id, o.reason)
            for i, tr in enumerate(outcome.loop.trades) for o in (tr.order,)]


def trade_records(outcome: BacktestOutcome) -> list[TradeRecord]:
    out = []
    for i, tr in enumerate(outcome.loop.trades):
        o = tr.order
        out.append(TradeRecord(i, tr.timestamp, o.venue, o.operation.value, _instrument(o), o.side.value if o.side else None,
                               float(tr.executed_amount if tr.ok else o.amount), finite_or_none(tr.price),
                               finite_or_none(tr.fee), tr.fee_currency, finite_or_none(tr.gas_usd), tr.status.value,
                               tr.error_code, o.to_venue, o.reason))
    return out


def equity_points(outcome: BacktestOutcome) -> list[EquityPoint]:
    """Per-step equity, net deposits and net delta in share-class units (as in ``equity.csv``)."""
    loop, view = outcome.loop, outcome.view
    eq, dep, delta = (view.equity, view.net_deposits, view.net_delta) if view is not None else (
        loop.equity, loop.net_deposits, loop.net_delta)
    return [EquityPoint(i, int(t), finite_or_none(float(e)), finite_or_none(float(d)), finite_or_none(float(x)))
            for i, (t, e, d, x) in enumerate(zip(loop.times, eq, dep, delta))]


def transfer_records(outcome: BacktestOutcome, run_id: str) -> list[TransferRecord]:
    """Deposits, paid withdrawals (wallet side) and filled transfers between accounts."""
    out = []
    for e in outcome.loop.events:
        if e.component == "engine" and e.kind in ("deposit", "withdrawal_paid"):
            dep = e.kind == "deposit"
            amount = e.data.get("amount", e.data.get("amount_usd"))
            if amount is None:
                continue
            out.append(TransferRecord(run_id, e.timestamp, "deposit" if dep else "withdrawal",
                                      str(e.data.get("token", "USDT")), float(amount), None if dep else "wallet",
                                      "wallet" if dep else None, "filled", run_id))
    for tr in outcome.loop.trades:
        o = tr.order
        if o.operation.value == "transfer":
            out.append(TransferRecord(run_id, tr.timestamp, "transfer", o.token,
                                      float(tr.executed_amount if tr.ok else o.amount), o.venue, o.to_venue,
                                      tr.status.value, run_id))
    out.sort(key=lambda t: t.timestamp)
    return out


def _event_stream(outcome: BacktestOutcome) -> list[tuple[int, str, str, dict[str, Any]]]:
    loop = outcome.loop
    trades = loop.trades
    times = loop.times
    stream: list[tuple[int, str, str, dict[str, Any]]] = []
    k = 0  # next trade not yet attached to a decision
    steps: dict[int, list[dict[str, Any]]] = {}
    for e in loop.events:
        data = dict(e.data)
        if e.kind in CODES:
            data.setdefault("code", CODES[e.kind])
        stream.append((e.timestamp, e.component, e.kind, data))
        if e.component == "strategy" and e.kind == "decision":
            steps.setdefault(e.timestamp, []).append(data)
            n = int(data.get("orders", 0) or 0)
            for tr in trades[k:k + n]:
                stream.extend(_trade_events(tr))
            k += n
    for tr in trades[k:]:  # trades not matched to a decision event (kept, in time order)
        stream.extend(_trade_events(tr))
    for t, decisions in steps.items():
        stream.append((t, "risk", "assessment", _assessment(outcome, bisect.bisect_left(times, t))))
        partial = [d for d in decisions if d.get("action") in REBALANCE_ACTIONS]
        if partial:
            stream.append((t, "strategy", "rebalance", {"action": partial[0]["action"], "reason": partial[0].get("reason", ""),
                                                         "passes": len(decisions),
                                                         "orders": sum(int(d.get("orders", 0) or 0) for d in decisions)}))
    order = sorted(range(len(stream)), key=lambda i: (stream[i][0], i))  # stable in clock time
    return [stream[i] for i in order]


def _trade_events(tr) -> list[tuple[int, str, str, dict[str, Any]]]:
    o = tr.order
    order = {"venue": o.venue, "operation": o.operation.value, "instrument": _instrument(o),
             "side": o.side.value if o.side else None, "amount": o.amount, "to_venue": o.to_venue, "reason": o.reason}
    fill = {"operation": o.operation.value, "instrument": _instrument(o), "side": order["side"],
            "amount": tr.executed_amount if tr.ok else o.amount, "price": tr.price, "fee": tr.fee,
            "fee_currency": tr.fee_currency, "gas_usd": tr.gas_usd, "status": tr.status.value}
    if not tr.ok:
        fill.update({"error_code": tr.error_code, "error": tr.error, "code": "EXEC-001"})
    return [(tr.timestamp, "execution", "order", order), (tr.timestamp, o.venue, "trade", fill)]


def _assessment(outcome: BacktestOutcome, i: int) -> dict[str, Any]:
    loop = outcome.loop
    eq, delta = loop.equity[i], loop.net_delta[i]
    return {"as_of": "end_of_step", "equity_usd": eq, "net_delta_usd": delta,
            "delta_drift": delta / eq if eq else None,
            "margin_ratios": {name: series[i] for name, series in loop.margin_ratios.items()}}


def write_events(log: EventLog, outcome: BacktestOutcome) -> list[EventRecord]:
    """Emit every event of ``outcome`` through ``log``; return them as stored records."""
    out = []
    for t, component, kind, data in _event_stream(outcome):
        rec = log.emit(t, component, kind, data)
        out.append(EventRecord(rec["seq"], int(t), component, kind, {k: v for k, v in rec.items() if k not in _HEAD}))
    return out


def run_results(outcome: BacktestOutcome, run_id: str, events: list[EventRecord]) -> RunResults:
    return RunResults(equity=equity_points(outcome), orders=order_records(outcome), trades=trade_records(outcome),
                      events=events, transfers=transfer_records(outcome, run_id))
