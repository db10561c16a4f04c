"""``SqlLiveStore``: the ``LiveStore`` on SQLAlchemy (the ``SqlRunStore`` plus the tables of migration
``0003_live_runner``: ``live_orders``, ``market_events``).

A session's writes -- the journal's ``put_order`` (on the hot path between a market event and the
order) and the per-step ``save_step`` (state, positions and market events in one transaction) -- go
through a ``DirectWriter``: one dedicated DBAPI connection with statements compiled once (see
``persistence.direct`` for the transactions and what they are durable against). Reads, and the
``RunStore`` writes, go through the engine's pool as before."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Table, bindparam, delete, select

from basiskit.persistence.direct import DirectWriter, Prepared
from basiskit.persistence.live_models import LiveOrderRow, MarketEventRow
from basiskit.persistence.live_store import LiveOrderRecord, MarketEventRecord, OPEN_STATUSES
from basiskit.persistence.models import FundTransferRow, StrategyPositionRow, StrategyStateRow
from basiskit.persistence.records import PositionRecord, TransferRecord, clean_json, utcnow
from basiskit.persistence.sql import SqlRunStore

_ORDER_FIELDS = ("client_order_id", "run_id", "seq", "timestamp", "venue", "operation", "token", "side", "amount",
                 "status", "to_venue", "filled", "price", "data")


def _values(table: Table) -> dict[str, Any]:
    return {c.name: bindparam(c.name) for c in table.columns}


class SqlLiveStore(SqlRunStore):
    def __init__(self, url: str, migrate: bool = True) -> None:
        super().__init__(url, migrate)
        self._direct = DirectWriter(self.engine)
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert

        def upsert(table: Table, keys: list[str]) -> Prepared:
            stmt = dialect_insert(table).values(_values(table))
            return self._direct.prepare(stmt.on_conflict_do_update(
                index_elements=keys, set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}))

        self._put_order = upsert(LiveOrderRow.__table__, ["strategy_id", "client_order_id"])
        self._put_state = upsert(StrategyStateRow.__table__, ["strategy_id"])
        pos = StrategyPositionRow.__table__
        self._clear_positions = self._direct.prepare(delete(pos).where(pos.c.strategy_id == bindparam("strategy_id")))
        self._add_positions = self._direct.prepare(dialect_insert(pos).values(_values(pos)))
        self._add_events = self._direct.prepare(dialect_insert(MarketEventRow.__table__)
                                                .values(_values(MarketEventRow.__table__)))
        tr = FundTransferRow.__table__
        self._add_transfers = self._direct.prepare(dialect_insert(tr).values(
            {k: v for k, v in _values(tr).items() if k != "id"}))  # id: the database's sequence

    def put_order(self, strategy_id: str, rec: LiveOrderRecord) -> None:
        """One upsert, its own transaction, on the writer's connection (the journal's write-ahead
        record is on the hot path between a market event and the order). Raises StoreUnavailable."""
        row = {"strategy_id": strategy_id, "client_order_id": rec.client_order_id, "run_id": rec.run_id,
               "seq": rec.seq, "timestamp": rec.timestamp, "venue": rec.venue, "operation": rec.operation,
               "token": rec.token, "side": rec.side, "amount": rec.amount, "to_venue": rec.to_venue,
               "status": rec.status, "filled": rec.filled, "price": rec.price, "data": clean_json(rec.data),
               "updated_at": utcnow()}
        self._direct.run([(self._put_order, [row])])

    def save_step(self, strategy_id: str, state: dict[str, Any], positions: list[PositionRecord],
                  run_id: str, events: list[MarketEventRecord]) -> None:
        """A session's step, in one transaction: ``save_state`` + ``save_positions`` (all of the
        strategy's positions replaced) + ``add_market_events`` (the events received since the last step)."""
        now = utcnow()
        self._direct.run([
            (self._put_state, [{"strategy_id": strategy_id, "state": clean_json(state), "run_id": run_id,
                                "updated_at": now}]),
            (self._clear_positions, [{"strategy_id": strategy_id}]),
            (self._add_positions, [{"strategy_id": strategy_id, "venue": p.venue, "instrument": p.instrument,
                                    "size": p.size, "run_id": run_id, "updated_at": now} for p in positions]),
            (self._add_events, [_event_row(run_id, r) for r in events]),
        ])

    def add_transfers(self, transfers: list[TransferRecord]) -> None:
        """``RunStore.add_transfers`` on the writer's connection (the journal books a transfer's rows
        between two orders of a step)."""
        self._direct.run([(self._add_transfers, [asdict(t) for t in transfers])])

    def close(self) -> None:
        self._direct.close()
        super().close()

    def live_orders(self, strategy_id: str, open_only: bool = False) -> list[LiveOrderRecord]:
        q = select(LiveOrderRow).where(LiveOrderRow.strategy_id == strategy_id)
        if open_only:
            q = q.where(LiveOrderRow.status.in_(OPEN_STATUSES))
        with self._tx() as s:
            rows = s.execute(q.order_by(LiveOrderRow.timestamp, LiveOrderRow.run_id, LiveOrderRow.seq)).scalars().all()
        return [LiveOrderRecord(**{f: getattr(r, f) for f in _ORDER_FIELDS}) for r in rows]

    def add_market_events(self, run_id: str, rows: list[MarketEventRecord]) -> None:
        self._direct.run([(self._add_events, [_event_row(run_id, r) for r in rows])])

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


def _event_row(run_id: str, r: MarketEventRecord) -> dict[str, Any]:
    return {"run_id": run_id, "seq": r.seq, "timestamp": r.timestamp, "receipt_ns": r.receipt_ns, "kind": r.kind,
            "key": r.key, "data": clean_json(r.data)}
