"""Transfers written to the run store as they move (``fund_transfers``), through the
``persistence.protocol.RunStore`` interface (no database library here).

Every state change adds one ``fund_transfers`` row (kind ``transfer_step``, status = the state, amount,
the two accounts, the time of the change; the run's end adds its usual ``transfer`` rows, one per order) -- the audit trail a person reads -- and the full operations
(ids, withdrawal ids, attempts, retry times) are kept as one JSON object in ``strategy_state`` under
``<strategy_id>/transfers``, which :meth:`latest` reads back after a restart.
"""

from __future__ import annotations

from typing import Any, Protocol

from basiskit.domain.transfer_ops import TransferOperation, from_dict, to_dict
from basiskit.persistence.records import TransferRecord


class _Store(Protocol):
    def add_transfers(self, transfers: list[TransferRecord]) -> None: ...
    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None: ...
    def load_state(self, strategy_id: str) -> dict[str, Any] | None: ...


op_to_dict, op_from_dict = to_dict, from_dict


class RunStoreTransferLog:
    def __init__(self, store: _Store, strategy_id: str, run_id: str | None = None, kind: str = "transfer_step") -> None:
        self.store = store
        self.kind = kind
        self.strategy_id = strategy_id
        self.run_id = run_id
        self.key = f"{strategy_id}/transfers"
        saved = store.load_state(self.key) or {}
        self._ops: dict[str, dict[str, Any]] = dict(saved.get("operations", {}))

    def record(self, op: TransferOperation) -> None:
        self.store.add_transfers([TransferRecord(self.strategy_id, op.updated_ns, self.kind, op.token, op.amount,
                                                 op.source, op.destination, op.state.value, self.run_id)])
        self._ops[op.transfer_id] = op_to_dict(op)
        self.store.save_state(self.key, {"operations": self._ops}, self.run_id)

    def latest(self) -> list[TransferOperation]:
        saved = self.store.load_state(self.key) or {}
        return [op_from_dict(d) for d in saved.get("operations", {}).values()]
