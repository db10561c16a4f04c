"""The transfer manager's backend for live venues: every step is one call to an exchange client with
ccxt's unified methods, and the status of each stage is polled.

Clients (one per venue, injected: a ``ccxt`` exchange object, or a fake in tests -- this module opens
no connection and reads no credential):

* ``withdraw(code, amount, address, tag=None, params={})`` -> ``{"id": ...}``: sent with our transfer id
  in ``params[client_id_param]`` (Binance ``withdrawOrderId``, OKX ``clientId``: the venue keeps it on
  the withdrawal) so that :meth:`find_withdrawal` finds a withdrawal sent before a crash;
* ``fetch_withdrawals(code)`` / ``fetch_deposits(code)`` -> ccxt transactions (``id``, ``txid``,
  ``status`` in ``pending | ok | failed | canceled``, ``amount``, ``info``).

Stages: ``withdrawing`` is done when the source reports the withdrawal ``ok`` (``failed``/``canceled``:
failed, the venue returns the amount and fee); ``bridging`` when the destination lists a deposit with
the withdrawal's ``txid``; ``depositing`` when that deposit is ``ok``. Errors whose class is one of
ccxt's network errors become :class:`TransientError` (retried); ``InsufficientFunds``,
``InvalidAddress``, ``PermissionDenied`` and ``BadRequest`` become :class:`PermanentError`.
"""

from __future__ import annotations

from typing import Any

from basiskit.domain.transfer_ops import TransferOperation
from basiskit.venues.transfers.manager import PermanentError, TransientError

TRANSIENT = {"NetworkError", "RequestTimeout", "ExchangeNotAvailable", "RateLimitExceeded", "DDoSProtection",
             "OnMaintenance", "TimeoutError", "ConnectionError"}
PERMANENT = {"InsufficientFunds", "InvalidAddress", "PermissionDenied", "BadRequest", "AccountSuspended"}


def _classify(exc: Exception) -> Exception:
    names = {c.__name__ for c in type(exc).__mro__}
    if names & PERMANENT:
        return PermanentError(f"{type(exc).__name__}: {exc}")
    if names & TRANSIENT:
        return TransientError(f"{type(exc).__name__}: {exc}")
    return exc


class ClientTransferBackend:
    """Args:
        clients: venue -> exchange client (ccxt unified methods).
        addresses: destination account -> ``(deposit address, network)`` (e.g. ``("T...", "TRC20")``).
        client_id_param: venue -> the ``withdraw`` params key that carries our id (default ``clientId``).
    """

    def __init__(self, clients: dict[str, Any], addresses: dict[str, tuple[str, str]],
                 client_id_param: dict[str, str] | None = None) -> None:
        self.clients = clients
        self.addresses = addresses
        self.client_id_param = {"binance": "withdrawOrderId", "okx": "clientId", **(client_id_param or {})}

    def _client(self, account: str):
        return self.clients[account.partition(".")[0]]

    def _call(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except (TransientError, PermanentError):
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to what the manager does next, or re-raised
            raise _classify(exc) from exc

    def _withdrawal(self, op: TransferOperation) -> dict | None:
        key = self.client_id_param.get(op.source.partition(".")[0], "clientId")
        for tx in self._call(self._client(op.source).fetch_withdrawals, op.token):
            info = tx.get("info") or {}
            if tx.get("id") == op.withdrawal_id or info.get(key) == op.transfer_id:
                return tx
        return None

    def find_withdrawal(self, transfer_id: str) -> str | None:
        return None  # looked up per operation in send_withdrawal (it needs the source venue)

    def send_withdrawal(self, op: TransferOperation, now_ns: int) -> str:
        found = self._withdrawal(op)  # sent before a crash: never twice
        if found is not None:
            return str(found["id"])
        address, network = self.addresses[op.destination]
        key = self.client_id_param.get(op.source.partition(".")[0], "clientId")
        ans = self._call(self._client(op.source).withdraw, op.token, op.amount, address, None,
                         {key: op.transfer_id, "network": network})
        return str(ans["id"])

    def withdrawal_status(self, op: TransferOperation, now_ns: int):
        tx = self._withdrawal(op)
        if tx is None:
            raise TransientError(f"{op.source}: withdrawal {op.withdrawal_id} not listed yet")
        st = tx.get("status")
        return "done" if st == "ok" else "failed" if st in ("failed", "canceled") else "pending"

    def _deposit(self, op: TransferOperation) -> dict | None:
        w = self._withdrawal(op)
        txid = (w or {}).get("txid")
        if not txid:
            return None
        for tx in self._call(self._client(op.destination).fetch_deposits, op.token):
            if tx.get("txid") == txid:
                return tx
        return None

    def bridge_status(self, op: TransferOperation, now_ns: int):
        return "done" if self._deposit(op) is not None else "pending"

    def deposit_status(self, op: TransferOperation, now_ns: int):
        tx = self._deposit(op)
        if tx is None:
            return "pending"
        st = tx.get("status")
        return "done" if st == "ok" else "failed" if st in ("failed", "canceled") else "pending"

    def refund(self, op: TransferOperation, now_ns: int) -> float:
        """What the venue returns after a failure (it does so itself): amount and fee for a failed
        withdrawal, the amount otherwise (USDT)."""
        w = self._withdrawal(op)
        return op.amount + (op.fee if w is not None and w.get("status") in ("failed", "canceled") else 0.0)
