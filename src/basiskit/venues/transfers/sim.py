"""A simulated transfer network (the backend of :class:`~.manager.TransferManager` in backtests and
tests): account balances, the bridges' delays, and failures drawn from a seeded generator.

Per transfer (keyed by its id, so every call is idempotent):

* ``send_withdrawal``: errors with probability ``send_error_rate`` (nothing moves; the manager retries);
  otherwise takes ``amount + fee`` from the source balance once and schedules the stages:
  withdrawal done after ``withdrawal_delay_s``, bridge after ``bridge_delay_s`` more, deposit after
  ``deposit_delay_s`` more; whether the withdrawal or the bridge fails is drawn once here
  (``withdrawal_failure_rate``, ``bridge_failure_rate``);
* the status polls answer from those times; ``deposit_status`` credits the destination once, when done;
* ``refund`` returns ``amount + fee`` (failed withdrawal) or ``amount`` (failed bridge) once.

``sent`` counts the withdrawals per transfer id (a test checks it is never above 1); ``fees_paid`` sums
the fees kept by the network. Money is conserved: balances + in flight + fees paid = constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from basiskit.domain.transfer_ops import TransferOperation
from basiskit.venues.transfers.bridges import BridgeManager
from basiskit.venues.transfers.manager import TransientError

NS = 1_000_000_000


@dataclass
class _Flight:
    withdrawal_id: str
    withdrawn_at: int
    bridged_at: int
    deposited_at: int
    withdrawal_fails: bool
    bridge_fails: bool
    amount: float
    fee: float
    credited: bool = False
    refunded: float = 0.0


class SimTransferNetwork:
    def __init__(self, balances: dict[tuple[str, str], float], bridges: BridgeManager, seed: int = 0) -> None:
        self.balances = dict(balances)
        self.bridges = bridges
        self.rng = np.random.default_rng(seed)
        self.flights: dict[str, _Flight] = {}
        self.sent: dict[str, int] = {}
        self.fees_paid = 0.0

    # -- balance moves (overridden by the engine's backend, which reports them as events) -----------
    def _take(self, op: TransferOperation) -> None:
        """Take ``amount + fee`` from the source; TransientError (nothing taken) if it cannot pay."""
        key = (op.source, op.token)
        if self.balances.get(key, 0.0) + 1e-9 < op.amount + op.fee:
            raise TransientError(f"{op.source}: balance {self.balances.get(key, 0.0)} below {op.amount + op.fee}")
        self.balances[key] = self.balances.get(key, 0.0) - (op.amount + op.fee)

    def _give(self, op: TransferOperation, account: str, amount: float, why: str, fee_back: float = 0.0) -> None:
        key = (account, op.token)
        self.balances[key] = self.balances.get(key, 0.0) + amount

    def balance(self, account: str, token: str = "USDT") -> float:
        return self.balances.get((account, token), 0.0)

    def in_flight(self, token: str = "USDT") -> float:
        """Amounts withdrawn and neither credited nor refunded (fees excluded: already paid)."""
        return sum(f.amount for f in self.flights.values() if not f.credited and not f.refunded)

    def find_withdrawal(self, transfer_id: str) -> str | None:
        f = self.flights.get(transfer_id)
        return None if f is None else f.withdrawal_id

    def send_withdrawal(self, op: TransferOperation, now_ns: int) -> str:
        if op.transfer_id in self.flights:  # idempotent: the same id is never withdrawn twice
            return self.flights[op.transfer_id].withdrawal_id
        cfg = self.bridges[op.bridge].config
        if self.rng.random() < cfg.send_error_rate:
            raise TransientError(f"{op.source}: withdrawal request timed out")
        self._take(op)
        self.fees_paid += op.fee
        w = now_ns + cfg.withdrawal_delay_s * NS
        b = w + cfg.bridge_delay_s * NS
        d = b + cfg.deposit_delay_s * NS
        wid = f"w-{op.transfer_id}"
        self.flights[op.transfer_id] = _Flight(wid, w, b, d, bool(self.rng.random() < cfg.withdrawal_failure_rate),
                                               bool(self.rng.random() < cfg.bridge_failure_rate), op.amount, op.fee)
        self.sent[op.transfer_id] = self.sent.get(op.transfer_id, 0) + 1
        return wid

    def _flight(self, op: TransferOperation) -> _Flight:
        f = self.flights.get(op.transfer_id)
        if f is None:
            raise TransientError(f"no withdrawal known for {op.transfer_id}")
        return f

    def withdrawal_status(self, op: TransferOperation, now_ns: int):
        f = self._flight(op)
        if now_ns < f.withdrawn_at:
            return "pending"
        return "failed" if f.withdrawal_fails else "done"

    def bridge_status(self, op: TransferOperation, now_ns: int):
        f = self._flight(op)
        if now_ns < f.bridged_at:
            return "pending"
        return "failed" if f.bridge_fails else "done"

    def deposit_status(self, op: TransferOperation, now_ns: int):
        f = self._flight(op)
        if now_ns < f.deposited_at:
            return "pending"
        if not f.credited:
            self._give(op, op.destination, f.amount, "arrived")
            f.credited = True
        return "done"

    def refund(self, op: TransferOperation, now_ns: int) -> float:
        f = self._flight(op)
        if f.credited:
            raise ValueError(f"{op.transfer_id} was credited: nothing to refund")
        if not f.refunded:
            back = f.amount + (f.fee if f.withdrawal_fails else 0.0)
            if f.withdrawal_fails:
                self.fees_paid -= f.fee
            self._give(op, op.source, back, "refunded", fee_back=f.fee if f.withdrawal_fails else 0.0)
            f.refunded = back
        return f.refunded
