"""``SqlLiveStore``: the ``LiveStore`` on SQLAlchemy (the ``SqlRunStore`` plus the tables of migration
``0003_live_runner``: ``live_orders``, ``market_events``)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from basiskit.persistence.live_models import LiveOrderRow, MarketEventRow
from basiskit.persistence.live_store import LiveOrderRecord, MarketEventRecord, OPEN_STATUSES, _order_row
from basiskit.persistence.records import clean_json
from basiskit.persistence.sql import SqlRunStore

_ORDER_FIELDS = ("client_order_id", "run_id", "seq", "timestamp", "venue", "operation", "token", "side", "amount",
                 "status", "to_venue", "filled", "price", "data")


class SqlLiveStore(SqlRunStore):
    def put_order(self, strategy_id: str, rec: LiveOrderRecord) -> None:
        row = _order_row(strategy_id, rec)
        with self._tx(write=True) as s:
            s.execute(delete(LiveOrderRow).where(LiveOrderRow.strategy_id == strategy_id,
                                                 LiveOrderRow.client_order_id == rec.client_order_id))
            s.execute(insert(LiveOrderRow), [row])

    def live_orders(self, strategy_id: str, open_only: bool = False) -> list[LiveOrderRecord]:
        q = select(LiveOrderRow).where(LiveOrderRow.strategy_id == strategy_id)
        if open_only:
            q = q.where(LiveOrderRow.status.in_(OPEN_STATUSES))
        with self._tx() as s:
            rows = s.execute(q.order_by(LiveOrderRow.timestamp, LiveOrderRow.run_id, LiveOrderRow.seq)).scalars().all()
        return [LiveOrderRecord(**{f: getattr(r, f) for f in _ORDER_FIELDS}) for r in rows]

    def add_market_events(self, run_id: str, rows: list[MarketEventRecord]) -> None:
        if not rows:
            return
        with self._tx(write=True) as s:
            s.execute(insert(MarketEventRow), [{"run_id": run_id, "seq": r.seq, "timestamp": r.timestamp,
                                                "receipt_ns": r.receipt_ns, "kind": r.kind, "key": r.key,
                                                "data": clean_json(r.data)} for r in rows])

    def market_events(self, run_id: str | None = None, start_ns: int | None = None,
                      end_ns: int | None = None) -> list[MarketEventRecord]:
        q = select(MarketEventRow)
        if run_id is not None:
            q = q.where(MarketEventRow.run_id == run_id)
        if start_ns is not None:
            q = q.where(MarketEventRow.timestamp >= start_ns)
        if end_ns is not None:
            q = q.where(MarketEventRow.timestamp <= end_ns)
        with self._tx() as s:
            rows = s.execute(q.order_by(MarketEventRow.timestamp, MarketEventRow.receipt_ns,
                                        MarketEventRow.seq)).scalars().all()
        return [MarketEventRecord(r.seq, r.timestamp, r.receipt_ns, r.kind, r.key, r.data) for r in rows]
