"""The transfer manager: drives every :class:`~basiskit.domain.transfer_ops.TransferOperation` through
its state table, with retries, backoff and idempotent steps.

Each call of :meth:`TransferManager.step` (the run's clock time ``now_ns``) looks at every open transfer
whose retry time has come and asks the :class:`TransferBackend` (the venues: simulated in a backtest,
real clients live -- each step a venue call whose status is polled):

* ``pending``: the withdrawal is looked up first (``find_withdrawal(transfer_id)``: a withdrawal sent
  before a crash is found, not sent again) and sent only if none exists -> ``withdrawing``. A send
  error (``TransientError``: nothing sent) is retried after ``backoff_s x 2^(attempts-1)`` (capped at
  ``max_backoff_s``); after ``max_attempts`` errors the transfer is ``failed`` (nothing moved); a
  refusal (``PermanentError``) fails it at once;
* ``withdrawing`` / ``bridging`` / ``depositing``: the stage's status is polled: ``done`` moves on,
  ``failed`` refunds the source (``refund``, idempotent) and ends ``failed``; a polling error is retried
  with the same backoff, without limit: money in flight is never given up on by the manager;
* each state change is written to the injected :class:`TransferStore` (``fund_transfers``) at once.

A restart builds a new manager from the store's last records (:meth:`TransferManager.resume`) over the
same backend; since every venue call is keyed by the transfer id, a retried step never withdraws twice.
Money in transit (:meth:`in_transit`) counts in equity and cannot be used.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Literal, Protocol

from basiskit.domain.transfer_ops import TransferOperation, TransferState, advance
from basiskit.venues.transfers.bridges import BridgeManager

Status = Literal["pending", "done", "failed"]
S = TransferState
NS = 1_000_000_000


class TransientError(Exception):
    """A venue call failed without effect (timeout, rate limit): retry later."""


class PermanentError(Exception):
    """A venue refused a withdrawal for good (bad address, not enough balance, withdrawals suspended):
    the pending transfer fails at once, nothing having moved."""


class TransferBackend(Protocol):
    def find_withdrawal(self, transfer_id: str) -> str | None: ...
    def send_withdrawal(self, op: TransferOperation, now_ns: int) -> str: ...
    def withdrawal_status(self, op: TransferOperation, now_ns: int) -> Status: ...
    def bridge_status(self, op: TransferOperation, now_ns: int) -> Status: ...
    def deposit_status(self, op: TransferOperation, now_ns: int) -> Status: ...
    def refund(self, op: TransferOperation, now_ns: int) -> float: ...


class TransferStore(Protocol):
    def record(self, op: TransferOperation) -> None: ...
    def latest(self) -> list[TransferOperation]: ...


class MemoryTransferStore:
    """Every record in order (the ``fund_transfers`` rows); ``latest`` = the last record of each transfer."""

    def __init__(self) -> None:
        self.rows: list[TransferOperation] = []

    def record(self, op: TransferOperation) -> None:
        self.rows.append(op)

    def latest(self) -> list[TransferOperation]:
        last: dict[str, TransferOperation] = {}
        for op in self.rows:
            last[op.transfer_id] = op
        return list(last.values())


class TransferManager:
    """Args:
        backend: the venues' side of every step.
        bridges: the configured bridge protocols (fees; the route's bridge is chosen at :meth:`request`).
        store: where every state change is written.
        max_attempts: send errors before a pending transfer fails.
        backoff_s / max_backoff_s: retry delay after the k-th error: ``min(backoff_s x 2^(k-1), max_backoff_s)``.
        id_prefix: prefix of the transfer ids (``<prefix>-1``, ...).
    """

    def __init__(self, backend: TransferBackend, bridges: BridgeManager, store: TransferStore, max_attempts: int = 5,
                 backoff_s: float = 30.0, max_backoff_s: float = 3600.0, id_prefix: str = "t") -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.backend = backend
        self.bridges = bridges
        self.store = store
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.id_prefix = id_prefix
        self.ops: dict[str, TransferOperation] = {}
        self._ids = itertools.count(1)

    @classmethod
    def resume(cls, backend: TransferBackend, bridges: BridgeManager, store: TransferStore, **kw) -> "TransferManager":
        """A manager that continues the transfers the store knows (after a restart)."""
        m = cls(backend, bridges, store, **kw)
        for op in store.latest():
            m.ops[op.transfer_id] = op
        m._ids = itertools.count(len(m.ops) + 1)
        return m

    # -- requests and readings --------------------------------------------------------------------
    def request(self, source: str, destination: str, token: str, amount: float, now_ns: int,
                bridge: str | None = None) -> TransferOperation:
        """A new ``pending`` transfer (recorded). The bridge is the cheapest serving the route unless named.

        Raises:
            LookupError: no bridge serves the route; ValueError: a bad amount or route.
        """
        sv, dv = source.partition(".")[0], destination.partition(".")[0]
        b = self.bridges[bridge] if bridge else self.bridges.choose(sv, dv, token, amount)
        tid = f"{self.id_prefix}-{next(self._ids)}"
        while tid in self.ops:
            tid = f"{self.id_prefix}-{next(self._ids)}"
        op = TransferOperation(tid, source, destination, token, amount, b.name, b.fee(amount),
                               created_ns=now_ns, updated_ns=now_ns)
        self.ops[tid] = op
        self.store.record(op)
        return op

    def open(self) -> list[TransferOperation]:
        return [op for op in self.ops.values() if not op.terminal]

    def in_transit(self, account: str | None = None, token: str = "USDT") -> float:
        """Token units on their way (to ``account``, or all): counted in equity, not usable."""
        return sum(op.in_transit for op in self.ops.values()
                   if op.token == token and (account is None or op.destination == account))

    def reserved(self, account: str, token: str = "USDT") -> float:
        """Amount + fee of ``pending`` transfers out of ``account`` (promised, not yet withdrawn)."""
        return sum(op.amount + op.fee for op in self.ops.values()
                   if op.state is S.PENDING and op.source == account and op.token == token)

    # -- the loop ---------------------------------------------------------------------------------
    def step(self, now_ns: int) -> list[TransferOperation]:
        """Advance every open transfer whose time has come, through as many stages as are done by
        ``now_ns`` (each stage is one venue call); returns the transfers that changed state."""
        changed: dict[str, TransferOperation] = {}
        for _ in range(len(S)):  # at most one pass per stage
            moved = False
            for tid in list(self.ops):
                op = self.ops[tid]
                if op.terminal or op.next_try_ns > now_ns:
                    continue
                new = self._step_one(op, now_ns)
                if new is not op:
                    self.ops[tid] = new
                    self.store.record(new)
                    if new.state is not op.state:
                        changed[tid] = new
                        moved = True
            if not moved:
                break
        return list(changed.values())

    def step_one(self, transfer_id: str, now_ns: int) -> TransferOperation:
        """Advance one transfer now (its retry time permitting); returns it as it is after."""
        op = self.ops[transfer_id]
        if not op.terminal and op.next_try_ns <= now_ns:
            new = self._step_one(op, now_ns)
            if new is not op:
                self.ops[transfer_id] = new
                self.store.record(new)
        return self.ops[transfer_id]

    def _retry(self, op: TransferOperation, now_ns: int, why: str, limited: bool) -> TransferOperation:
        attempts = op.attempts + 1
        if limited and attempts >= self.max_attempts:
            return advance(op, S.FAILED, now_ns, error=f"gave up after {attempts} errors: {why}")
        wait = min(self.backoff_s * 2 ** (attempts - 1), self.max_backoff_s)
        return replace(op, attempts=attempts, next_try_ns=now_ns + int(wait * NS), error=why, updated_ns=now_ns)

    def _fail_in_transit(self, op: TransferOperation, now_ns: int, why: str) -> TransferOperation:
        back = self.backend.refund(op, now_ns)
        return advance(op, S.FAILED, now_ns, refunded=back, error=why)

    def _step_one(self, op: TransferOperation, now_ns: int) -> TransferOperation:
        b = self.backend
        pending = op.state is S.PENDING
        try:
            if pending:
                wid = b.find_withdrawal(op.transfer_id)
                if wid is None:
                    wid = b.send_withdrawal(op, now_ns)
                return advance(op, S.WITHDRAWING, now_ns, withdrawal_id=wid, error="")
            poll = {S.WITHDRAWING: b.withdrawal_status, S.BRIDGING: b.bridge_status, S.DEPOSITING: b.deposit_status}
            status = poll[op.state](op, now_ns)
        except TransientError as exc:
            return self._retry(op, now_ns, str(exc), limited=pending)
        except PermanentError as exc:
            if pending:  # refused before anything left the source
                return advance(op, S.FAILED, now_ns, error=f"refused: {exc}")
            return self._retry(op, now_ns, str(exc), limited=False)  # money in flight: keep polling
        if status == "pending":
            return op
        if status == "failed":
            return self._fail_in_transit(op, now_ns, f"{op.state.value} failed")
        nxt = {S.WITHDRAWING: S.BRIDGING, S.BRIDGING: S.DEPOSITING, S.DEPOSITING: S.COMPLETED}[op.state]
        return advance(op, nxt, now_ns, error="")
