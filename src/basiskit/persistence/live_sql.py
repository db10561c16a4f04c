"""``SqlLiveStore``: the ``LiveStore`` on SQLAlchemy (the ``SqlRunStore`` plus the tables of migration
``0003_live_runner``: ``live_orders``, ``market_events``)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.exc import InterfaceError, OperationalError

from basiskit.errors.exceptions import StoreUnavailable

from basiskit.persistence.live_models import LiveOrderRow, MarketEventRow
from basiskit.persistence.live_store import LiveOrderRecord, MarketEventRecord, OPEN_STATUSES, _order_row
from basiskit.persistence.records import clean_json
from basiskit.persistence.sql import SqlRunStore

_ORDER_FIELDS = ("client_order_id", "run_id", "seq", "timestamp", "venue", "operation", "token", "side", "amount",
                 "status", "to_venue", "filled", "price", "data")


class SqlLiveStore(SqlRunStore):
    def __init__(self, url: str, migrate: bool = True) -> None:
        super().__init__(url, migrate)
        self._upsert = None
        self._write_engine = self.engine.execution_options(write=True)

    def put_order(self, strategy_id: str, rec: LiveOrderRecord) -> None:
        """One upsert in one Core transaction (the journal's write-ahead record is on the hot path
        between a market event and the order: no ORM session)."""
        row = _order_row(strategy_id, rec)
        if self._upsert is None:
            dialect = self.engine.dialect.name
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            stmt = dialect_insert(LiveOrderRow)
            cols = {c.name: stmt.excluded[c.name] for c in LiveOrderRow.__table__.columns
                    if c.name not in ("strategy_id", "client_order_id")}
            self._upsert = stmt.on_conflict_do_update(index_elements=["strategy_id", "client_order_id"], set_=cols)
        try:
            with self._write_engine.begin() as conn:
                conn.execute(self._upsert, [row])
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc

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
