"""The run's event log, written as the run goes: a kernel subscriber that turns each event into log
lines the moment it is published.

Every event becomes one line (``component``, ``kind``, its ``data``), except a trade, which becomes
two: ``execution``/``order`` (what was sent, with its client order id) and ``<venue account>``/
``trade`` (what the venue did). Account events (trades, funding, liquidations, transfers, gas, ...)
carry their ``deltas`` and ``pnl``: folding them over the starting capital in ``seq`` order gives the
run's balances (the portfolio is the fold of its events). Error-like events carry a registry ``code`` (EXEC-001 a failed
order, RISK-001 a risk override, RISK-002 a liquidation). Lines are flushed to
``events/<component>_events.jsonl`` every ``flush_every`` lines and at the end, so a run killed at any
point leaves a log that is a valid prefix of the full run's log (whole lines only).
"""

from __future__ import annotations

from typing import Any

from basiskit.domain.trades import Trade, instrument
from basiskit.eventlog import EventLog
from basiskit.persistence.records import EventRecord

CODES = {"order_failed": "EXEC-001", "risk_override": "RISK-001", "liquidation": "RISK-002"}
_HEAD = ("run_id", "seq", "timestamp", "clock_ns", "component", "kind")


def lines_of(ev) -> list[tuple[int, str, str, dict[str, Any]]]:
    """The log lines ``(clock ns, component, kind, data)`` of one event."""
    if isinstance(ev, Trade):
        o = ev.order
        order = {"client_order_id": o.client_order_id, "venue": o.venue, "operation": o.operation.value,
                 "instrument": instrument(o), "side": o.side.value if o.side else None, "amount": o.amount,
                 "order_type": o.order_type.value, "to_venue": o.to_venue, "reason": o.reason}
        fill = {"client_order_id": o.client_order_id, "operation": o.operation.value, "instrument": instrument(o),
                "side": order["side"], "amount": ev.executed_amount if ev.ok else o.amount, "price": ev.price,
                "fee": ev.fee, "fee_currency": ev.fee_currency, "gas_usd": ev.gas_usd, "status": ev.status.value}
        if not ev.ok:
            fill.update({"error_code": ev.error_code, "error": ev.error, "code": "EXEC-001"})
        _changes(ev, fill)
        return [(ev.timestamp, "execution", "order", order), (ev.timestamp, o.venue, "trade", fill)]
    data = dict(ev.data)
    if ev.kind in CODES:
        data.setdefault("code", CODES[ev.kind])
    _changes(ev, data)
    return [(ev.timestamp, ev.component, ev.kind, data)]


def _changes(ev, data: dict) -> None:
    """An account event's ledger changes and bookings, so the log alone rebuilds the portfolio:
    ``deltas`` ``[[account, token, token units], ...]``, ``pnl`` ``[[source, venue, USD(T)], ...]``."""
    deltas = getattr(ev, "deltas", None)
    if deltas:
        data["deltas"] = [list(d) for d in deltas]
    pnl = getattr(ev, "pnl", None)
    if pnl:
        data["pnl"] = [list(b) for b in pnl]


class EventRecorder:
    """Subscriber: writes every published event to ``log`` at once (see module docstring) and keeps
    the records for the run store when ``keep``."""

    def __init__(self, log: EventLog, keep: bool = True) -> None:
        self.log = log
        self.keep = keep
        self.records: list[EventRecord] = []

    def __call__(self, ev) -> None:
        for t, component, kind, data in lines_of(ev):
            rec = self.log.emit(t, component, kind, data)
            if self.keep:
                self.records.append(EventRecord(rec["seq"], int(t), component, kind,
                                                {k: v for k, v in rec.items() if k not in _HEAD},
                                                self.log.last_data_json))
