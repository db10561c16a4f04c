"""Persistence of runs and strategy state: SQLAlchemy 2 models, Alembic migrations, the ``RunStore``
interface with a SQL implementation (SQLite by default, PostgreSQL by URL) and an in-memory one."""

from basiskit.persistence.memory import MemoryRunStore
from basiskit.persistence.protocol import RunStore
from basiskit.persistence.records import (EquityPoint, EventRecord, NewRun, OrderRecord, Page, PositionRecord,
                                          RunRecord, RunResults, RunStatus, TradeRecord, TransferRecord)
from basiskit.persistence.sql import SqlRunStore
from basiskit.persistence.url import database_url

__all__ = ["MemoryRunStore", "RunStore", "SqlRunStore", "database_url", "EquityPoint", "EventRecord", "NewRun",
           "OrderRecord", "Page", "PositionRecord", "RunRecord", "RunResults", "RunStatus", "TradeRecord",
           "TransferRecord"]
