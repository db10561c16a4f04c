"""A finished backtest as the run store's records: equity points, orders, trades, transfers, and the
event records the kernel's event recorder kept while the run went (``runs.event_stream``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from basiskit.domain.trades import trade_row
from basiskit.engine.backtest import BacktestOutcome
from basiskit.persistence.records import (EquityPoint, EventRecord, OrderRecord, RunResults, TradeRecord,
                                          TransferRecord, finite_or_none)


def order_records(outcome: BacktestOutcome) -> list[OrderRecord]:
    return [OrderRecord(i, tr.timestamp, o.venue, o.operation.value, o.token, o.side.value if o.side else None,
                        float(o.amount), o.to_venue, o.atomic_group_id, o.reason)
            for i, tr in enumerate(outcome.loop.trades) for o in (tr.order,)]


def trade_records(outcome: BacktestOutcome) -> list[TradeRecord]:
    """The trades as store rows, from the one trade-row definition (``domain.trades.trade_row``)."""
    out = []
    for i, tr in enumerate(outcome.loop.trades):
        r = trade_row(tr)
        out.append(TradeRecord(i, r["timestamp_ns"], r["venue"], r["operation"], r["instrument"], r["side"], r["amount"],
                               r["price"], r["fee"], r["fee_currency"], r["gas"], r["status"], r["error_code"],
                               r["to_venue"], r["reason"]))
    return out


def _floats_or_none(values) -> list:
    """Python floats, None where not finite (``finite_or_none`` of each, the finite check in C)."""
    a = np.asarray(values, dtype=np.float64)
    out = a.tolist()
    if not np.isfinite(a).all():
        out = [finite_or_none(x) for x in out]
    return out


class EquityPoints(Sequence):
    """A run's equity points (``EquityPoint`` per clock step) made from its arrays as they are read:
    a store iterates them once (``BLOCK`` at a time), so the ~10^6 points of a minute-step run are
    never all objects at once. Indexing and slicing give ``EquityPoint`` s / lists of them."""

    BLOCK = 1 << 16

    def __init__(self, times, equity, net_deposits, net_delta) -> None:
        self._cols = tuple(np.asarray(c, dtype=t) for c, t in ((times, np.int64), (equity, np.float64),
                                                                (net_deposits, np.float64), (net_delta, np.float64)))

    def __len__(self) -> int:
        return len(self._cols[0])

    def _block(self, a: int, b: int) -> list[EquityPoint]:
        t, e, d, x = (c[a:b] for c in self._cols)
        return list(map(EquityPoint, range(a, b), t.tolist(), _floats_or_none(e), _floats_or_none(d),
                        _floats_or_none(x)))

    def __getitem__(self, i):
        if isinstance(i, slice):
            a, b, step = i.indices(len(self))
            return self._block(a, b)[::step] if step > 0 else [self[k] for k in range(a, b, step)]
        k = i + len(self) if i < 0 else i
        if not 0 <= k < len(self):
            raise IndexError(i)
        return self._block(k, k + 1)[0]

    def __iter__(self) -> Iterator[EquityPoint]:
        for a in range(0, len(self), self.BLOCK):
            yield from self._block(a, min(len(self), a + self.BLOCK))

    def rows(self, run_id: str) -> Iterator[tuple]:
        """The points as the store's insert rows ``(run_id, step, timestamp, equity, net_deposits,
        net_delta)``, made block by block straight from the arrays (no ``EquityPoint`` objects)."""
        n = len(self)
        for a in range(0, n, self.BLOCK):
            b = min(n, a + self.BLOCK)
            t, e, d, x = (c[a:b] for c in self._cols)
            yield from zip([run_id] * (b - a), range(a, b), t.tolist(), _floats_or_none(e), _floats_or_none(d),
                           _floats_or_none(x))


def equity_points(outcome: BacktestOutcome) -> EquityPoints:
    """Per-step equity, net deposits and net delta in share-class units (as in ``equity.csv``)."""
    loop, view = outcome.loop, outcome.view
    eq, dep, delta = (view.equity, view.net_deposits, view.net_delta) if view is not None else (
        loop.equity, loop.net_deposits, loop.net_delta)
    return EquityPoints(loop.times, eq, dep, delta)


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


def run_results(outcome: BacktestOutcome, run_id: str, events: list[EventRecord]) -> RunResults:
    return RunResults(equity=equity_points(outcome), orders=order_records(outcome), trades=trade_records(outcome),
                      events=events, transfers=transfer_records(outcome, run_id),
                      strategy_state=outcome.loop.strategy_state)
