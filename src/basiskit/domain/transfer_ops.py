"""Fund transfers between venues: the operation and its explicit state table.

::

    pending ──► withdrawing ──► bridging ──► depositing ──► completed
       │            │              │             │
       └────────────┴──────────────┴─────────────┴────────► failed

* ``pending``: asked for, nothing has left the source yet;
* ``withdrawing``: the withdrawal was sent (it has an id at the source venue: ``withdrawal_id``); the
  amount plus the fee has left the source balance -- from here on the money is *in transit*: counted in
  equity, not usable;
* ``bridging``: the withdrawal is final and the bridge carries the money (a network transfer or a bridge
  protocol between chains);
* ``depositing``: the bridge delivered; the destination venue credits it after its confirmations;
* ``completed``: credited at the destination (terminal);
* ``failed``: given up (terminal). A transfer that fails before its withdrawal was sent moved nothing;
  one that fails later is refunded to its source (``refunded`` amount: the amount, the fee being spent),
  so money is never lost in the books: source + destination + in transit + fees paid is constant.

Only :func:`advance` changes a state, and only along the arrows; anything else is a ``TransferStateError``.
Amounts are token units (USDT), times int ns (UTC).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any
from enum import Enum


class TransferState(str, Enum):
    PENDING = "pending"
    WITHDRAWING = "withdrawing"
    BRIDGING = "bridging"
    DEPOSITING = "depositing"
    COMPLETED = "completed"
    FAILED = "failed"


S = TransferState
TRANSITIONS: dict[TransferState, frozenset[TransferState]] = {
    S.PENDING: frozenset({S.WITHDRAWING, S.FAILED}),
    S.WITHDRAWING: frozenset({S.BRIDGING, S.FAILED}),
    S.BRIDGING: frozenset({S.DEPOSITING, S.FAILED}),
    S.DEPOSITING: frozenset({S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL = frozenset({S.COMPLETED, S.FAILED})
IN_TRANSIT = frozenset({S.WITHDRAWING, S.BRIDGING, S.DEPOSITING})


class TransferStateError(ValueError):
    """A state change that is not in the table (names the transfer, from and to)."""


@dataclass(frozen=True)
class TransferOperation:
    """One transfer of ``amount`` ``token`` from account ``source`` to ``destination`` through ``bridge``.

    Attributes:
        transfer_id: unique id, also the idempotency key of every venue call.
        fee: what the route costs, token units, paid by the source on top of ``amount``.
        state: see the module docstring; ``attempts``: failed tries of the current step so far;
        next_try_ns: when the current step may be tried again (backoff), 0 = now;
        withdrawal_id: the source venue's id of the withdrawal, once sent (never sent twice);
        refunded: amount returned to the source after a failure in transit;
        created_ns / updated_ns: times; error: the last failure's reason.
    """

    transfer_id: str
    source: str
    destination: str
    token: str
    amount: float
    bridge: str
    fee: float = 0.0
    state: TransferState = TransferState.PENDING
    attempts: int = 0
    next_try_ns: int = 0
    withdrawal_id: str | None = None
    refunded: float = 0.0
    created_ns: int = 0
    updated_ns: int = 0
    error: str = ""

    def __post_init__(self) -> None:
        if not self.amount > 0:
            raise ValueError(f"transfer {self.transfer_id}: amount must be > 0, got {self.amount}")
        if self.fee < 0:
            raise ValueError(f"transfer {self.transfer_id}: fee must be >= 0, got {self.fee}")
        if self.source == self.destination:
            raise ValueError(f"transfer {self.transfer_id}: source and destination are both {self.source}")

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def in_transit(self) -> float:
        """Token units on their way (counted in equity, not usable): the amount while withdrawing,
        bridging or depositing; else 0."""
        return self.amount if self.state in IN_TRANSIT else 0.0


def advance(op: TransferOperation, to: TransferState, now_ns: int, **changes) -> TransferOperation:
    """``op`` in state ``to`` at ``now_ns`` (attempts reset), with ``changes`` (other fields).

    Raises:
        TransferStateError: ``to`` is not reachable from ``op.state``.
    """
    if to not in TRANSITIONS[op.state]:
        raise TransferStateError(f"transfer {op.transfer_id}: {op.state.value} -> {to.value} is not allowed")
    return replace(op, state=to, updated_ns=now_ns, attempts=0, next_try_ns=0, **changes)


def to_dict(op: TransferOperation) -> dict[str, Any]:
    """JSON-able form of ``op`` (the state as its value)."""
    d = asdict(op)
    d["state"] = op.state.value
    return d


def from_dict(d: dict[str, Any]) -> TransferOperation:
    """Inverse of :func:`to_dict`. Raises KeyError / TypeError / ValueError on a malformed record."""
    return TransferOperation(**{**d, "state": TransferState(d["state"])})
