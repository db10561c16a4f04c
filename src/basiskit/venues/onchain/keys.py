"""The on-chain account's key: from the environment or an eth-account keystore, never shown.

``load_signer()`` reads, in order: ``BASISKIT_CHAIN_KEY`` (hex private key), or
``BASISKIT_CHAIN_KEYSTORE`` (path of a JSON keystore, Web3 Secret Storage) with
``BASISKIT_CHAIN_KEYSTORE_PASSWORD``. ``Signer`` holds the eth-account ``LocalAccount``; its ``repr``
and ``str`` show the address only. Errors: ``KeyError`` naming the variable that is missing,
``ValueError`` when the keystore cannot be decrypted (the message does not contain the password).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

KEY_ENV = "BASISKIT_CHAIN_KEY"
KEYSTORE_ENV = "BASISKIT_CHAIN_KEYSTORE"
PASSWORD_ENV = "BASISKIT_CHAIN_KEYSTORE_PASSWORD"


class Signer:
    """Signs transactions of one account; ``address`` is its checksummed address."""

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        self.address = account.address

    def sign(self, tx: dict) -> bytes:
        return self._account.sign_transaction(tx).raw_transaction

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    __str__ = __repr__


def load_signer(env: dict | None = None) -> Signer:
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        return Signer(Account.from_key(env[KEY_ENV]))
    path = env.get(KEYSTORE_ENV)
    if not path:
        raise KeyError(f"no on-chain key: set {KEY_ENV} (hex private key) or {KEYSTORE_ENV} and {PASSWORD_ENV}")
    if PASSWORD_ENV not in env:
        raise KeyError(f"{KEYSTORE_ENV} is set but {PASSWORD_ENV} is not")
    try:
        key = Account.decrypt(json.loads(Path(path).read_text()), env[PASSWORD_ENV])
    except (ValueError, OSError) as exc:
        raise ValueError(f"cannot open the keystore {path}: {type(exc).__name__}") from None
    return Signer(Account.from_key(key))


class NonceManager:
    """Nonces of one account for concurrent submissions: ``next()`` hands out consecutive nonces under a
    lock, starting from the node's pending count; ``reset()`` re-reads it (after a transaction was
    dropped before reaching the node)."""

    def __init__(self, w3, address: str) -> None:
        self._w3 = w3
        self._address = address
        self._lock = threading.Lock()
        self._next: int | None = None

    def next(self) -> int:
        with self._lock:
            if self._next is None:
                self._next = self._w3.eth.get_transaction_count(self._address, "pending")
            n = self._next
            self._next += 1
            return n

    def reset(self) -> None:
        with self._lock:
            self._next = None
