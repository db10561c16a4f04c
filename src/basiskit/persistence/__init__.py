"""Persistence of runs and strategy state: SQLAlchemy 2 models, Alembic migrations, the ``RunStore``
interface with a SQL implementation (SQLite by default, PostgreSQL by URL) and an in-memory one.

``SqlRunStore`` is imported on first use (``from basiskit.persistence import SqlRunStore`` works as
before): importing the records or the protocol must not load SQLAlchemy (~0.2 s), which a backtest
that records nothing (``--no-record``) never needs.
"""

from typing import TYPE_CHECKING, Any

from basiskit.persistence.memory import MemoryRunStore
from basiskit.persistence.protocol import RunStore
from basiskit.persistence.records import (EquityPoint, EventRecord, NewRun, OrderRecord, Page, PositionRecord,
                                          RunRecord, RunResults, RunStatus, TradeRecord, TransferRecord)
from basiskit.persistence.url import database_url

if TYPE_CHECKING:
    from basiskit.persistence.sql import SqlRunStore

__all__ = ["MemoryRunStore", "RunStore", "SqlRunStore", "database_url", "EquityPoint", "EventRecord", "NewRun",
           "OrderRecord", "Page", "PositionRecord", "RunRecord", "RunResults", "RunStatus", "TradeRecord",
           "TransferRecord"]


def __getattr__(name: str) -> Any:
    if name == "SqlRunStore":  # SQLAlchemy loads here, when a SQL store is wanted
        from basiskit.persistence.sql import SqlRunStore

        return SqlRunStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
