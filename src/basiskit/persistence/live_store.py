"""``LiveStore``: what a live or paper session persists as it goes, beside the ``RunStore``.

A session writes, as they change: its strategy's state (``save_state``), its positions
(``save_positions``), its transfers (``add_transfers``) -- the ``RunStore``'s strategy tables -- and,
here, every order and transfer by client order id (``put_order``: a write-ahead journal, the
``intent`` written before the order is handed to the venue) and every market event it received
(``add_market_events``); after each step, ``save_step`` writes the state, the positions and the
step's market events together. After a crash, recovery reads the journal's open orders and compares them
with the venue's (``engine.live.recovery``). ``MemoryLiveStore`` (tests) and ``SqlLiveStore``
(SQLite/PostgreSQL, tables of migration ``0003_live_runner``) pass the same tests.

Order statuses: ``intent`` (journaled, not yet handed to the venue), ``submitted`` (handed, no answer
yet), then ``filled`` / ``rejected`` / ``deferred`` (the venue's answer), ``not_sent`` (recovery found
an intent the venue never received), ``pending`` (a transfer in transit), ``arrived``.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from basiskit.persistence.memory import MemoryRunStore
from basiskit.persistence.records import PositionRecord, clean_json, utcnow

OPEN_STATUSES = ("intent", "submitted", "pending")


@dataclass(frozen=True, slots=True)
class LiveOrderRecord:
    """One order or transfer of a session (amount in token units, price in quote units, timestamp
    int ns UTC clock time)."""

    client_order_id: str
    run_id: str
    seq: int
    timestamp: int
    venue: str
    operation: str
    token: str
    side: str | None
    amount: float
    status: str
    to_venue: str | None = None
    filled: float = 0.0
    price: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class MarketEventRecord:
    """A market event as received: venue ``timestamp`` and ``receipt_ns`` (int ns UTC), its ``kind``
    (``bar``, ``book_ticker``, ``funding_rate``, ...), series ``key`` and fields (``data``)."""

    seq: int
    timestamp: int
    receipt_ns: int
    kind: str
    key: str
    data: dict[str, Any]


class LiveStore(Protocol):
    def put_order(self, strategy_id: str, rec: LiveOrderRecord) -> None: ...

    def live_orders(self, strategy_id: str, open_only: bool = False) -> list[LiveOrderRecord]: ...

    def add_market_events(self, run_id: str, rows: list[MarketEventRecord]) -> None: ...

    def market_events(self, run_id: str | None = None, start_ns: int | None = None,
                      end_ns: int | None = None) -> list[MarketEventRecord]: ...

    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None: ...

    def save_step(self, strategy_id: str, state: dict[str, Any], positions: list[PositionRecord], run_id: str,
                  events: list[MarketEventRecord]) -> None: ...

    def load_state(self, strategy_id: str) -> dict[str, Any] | None: ...


def _sorted_events(rows, run_id, start_ns, end_ns) -> list[MarketEventRecord]:
    out = [r for rid, r in rows if (run_id is None or rid == run_id)
           and (start_ns is None or r.timestamp >= start_ns) and (end_ns is None or r.timestamp <= end_ns)]
    return sorted(out, key=lambda r: (r.timestamp, r.receipt_ns, r.seq))


class MemoryLiveStore(MemoryRunStore):
    """``LiveStore`` (and ``RunStore``) in memory."""

    def __init__(self) -> None:
        super().__init__()
        self._orders: dict[tuple[str, str], LiveOrderRecord] = {}
        self._market: list[tuple[str, MarketEventRecord]] = []
        self._live_lock = threading.Lock()

    def put_order(self, strategy_id: str, rec: LiveOrderRecord) -> None:
        with self._live_lock:
            # clean_json copies every dict and list (JSON data: the leaves are immutable)
            self._orders[(strategy_id, rec.client_order_id)] = replace(rec, data=clean_json(rec.data))

    def live_orders(self, strategy_id: str, open_only: bool = False) -> list[LiveOrderRecord]:
        with self._live_lock:
            rows = [r for (sid, _), r in self._orders.items() if sid == strategy_id and (r.is_open or not open_only)]
        return sorted(rows, key=lambda r: (r.timestamp, r.run_id, r.seq))

    def add_market_events(self, run_id: str, rows: list[MarketEventRecord]) -> None:
        with self._live_lock:
            self._market.extend((run_id, replace(r, data=clean_json(r.data))) for r in rows)  # as the SQL store

    def save_step(self, strategy_id: str, state: dict[str, Any], positions: list[PositionRecord], run_id: str,
                  events: list[MarketEventRecord]) -> None:
        """``save_state`` + ``save_positions`` + ``add_market_events`` (one transaction in the SQL store)."""
        self.save_state(strategy_id, state, run_id)
        self.save_positions(strategy_id, positions, run_id)
        self.add_market_events(run_id, events)

    def market_events(self, run_id: str | None = None, start_ns: int | None = None,
                      end_ns: int | None = None) -> list[MarketEventRecord]:
        with self._live_lock:
            rows = list(self._market)
        return _sorted_events(rows, run_id, start_ns, end_ns)


def _order_row(strategy_id: str, rec: LiveOrderRecord) -> dict[str, Any]:
    d = asdict(rec)
    d["data"] = clean_json(d["data"])
    return dict(d, strategy_id=strategy_id, updated_at=utcnow())


__all__ = ["LiveOrderRecord", "LiveStore", "MarketEventRecord", "MemoryLiveStore", "OPEN_STATUSES",
           "_order_row", "_sorted_events"]
