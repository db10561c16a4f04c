"""One ccxt async client on an event loop of its own, called synchronously, with ccxt's errors mapped.

The kernel calls venues synchronously (``venues.protocol.Venue``); ccxt's clients are async. A
``CcxtSession`` owns a daemon thread running an asyncio loop and the ccxt client created on it;
``call(name, *args)`` runs ``client.<name>(*args)`` there and waits for it. Several accounts of one
venue share a session (one client, one rate limiter: ccxt's ``enableRateLimit`` spaces the requests by
the venue's published weights).

Errors, through ccxt's exception tree onto basiskit's (``errors/exceptions.py``), every message
passed through ``Credentials.redact``:

* ``ccxt.OperationFailed`` -- ccxt's "may succeed on retry" branch: ``NetworkError`` (``RequestTimeout``,
  ``ExchangeNotAvailable``, ``DDoSProtection``, ``RateLimitExceeded``, ``InvalidNonce``), ``BadResponse``,
  ``CancelPending``, and a venue's "internal error, try again" (Binance -1001) -> retried by ``call`` with
  exponential backoff
  (``errors.retry.with_backoff``: ``attempts``, from 0.2 s doubling up to 5 s) when the call is
  idempotent (reads, cancels); then ``VenueUnavailable`` (VENUE-001, a ``RetryWithBackoff``).
  ``submit`` paths call with ``retry=False`` and check by client order id before sending again.
* ``ccxt.AuthenticationError`` / ``PermissionDenied`` / ``AccountSuspended`` -> ``ConfigError``
  (CONFIG-001, a ``StopRun``: a person must fix the keys).
* anything else from ccxt (``InsufficientFunds``, ``InvalidOrder``, ``BadSymbol``, ``OrderNotFound``,
  ``BadRequest``, ``ExchangeError``) -> ``VenueRejected`` (an ``OrderRejected``, VENUE-002): the adapter
  turns it into a rejected trade.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout

import ccxt
import ccxt.pro as ccxtpro

from basiskit.config.loader import ConfigError
from basiskit.errors.exceptions import OrderRejected, VenueUnavailable
from basiskit.errors.retry import with_backoff
from basiskit.venues.live.config import Credentials, LiveVenueConfig


class VenueRejected(OrderRejected):
    """The venue refused the request (ccxt's non-network errors). ``kind`` is ccxt's class name
    (``InsufficientFunds``, ``OrderNotFound``, ...)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message, code="VENUE-002")
        self.kind = kind


class CcxtSession:
    """A ccxt (pro) client of ``cfg.ccxt_id`` with ``credentials``, on its own loop thread.

    Args:
        cfg: the venue's quirks (``urls``/``options``/``ccxt`` are merged into ccxt's constructor config).
        credentials: from ``Credentials.from_env``.
        timeout_s: how long ``call`` waits for one attempt.
        attempts: calls in all for a retried network error.
    """

    def __init__(self, cfg: LiveVenueConfig, credentials: Credentials, timeout_s: float = 30.0,
                 attempts: int = 4) -> None:
        self.cfg = cfg
        self.credentials = credentials
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"ccxt-{cfg.ccxt_id}", daemon=True)
        self._thread.start()
        self.client = self._on_loop(self._make())
        self._closed = False

    async def _make(self):
        settings = {"enableRateLimit": True, **self.cfg.ccxt, **self.credentials.ccxt()}
        if self.cfg.urls:
            settings["urls"] = {"api": dict(self.cfg.urls)}
        if self.cfg.options:
            settings["options"] = dict(self.cfg.options)
        return getattr(ccxtpro, self.cfg.ccxt_id)(settings)

    def _on_loop(self, coro):
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(self.timeout_s)
        except FutureTimeout:
            fut.cancel()
            raise ccxt.RequestTimeout(f"no answer within {self.timeout_s} s") from None

    def call(self, method: str, *args, retry: bool = True, **kwargs):
        """``client.<method>(*args, **kwargs)`` on the session's loop (module docstring for errors)."""
        def once():
            try:
                return self._on_loop(getattr(self.client, method)(*args, **kwargs))
            except ccxt.OperationFailed as e:  # NetworkError, BadResponse, CancelPending: a retry may succeed
                raise VenueUnavailable(self.credentials.redact(f"{self.cfg.ccxt_id} {method}: {type(e).__name__}: {e}"))
            except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as e:
                raise ConfigError(self.credentials.redact(
                    f"{self.cfg.ccxt_id} refused the credentials ({type(e).__name__}): {e}"), field="credentials"
                ) from None
            except ccxt.BaseError as e:
                raise VenueRejected(self.credentials.redact(f"{type(e).__name__}: {e}"), type(e).__name__) from None
        if not retry:
            return once()
        return with_backoff(once, attempts=self.attempts, base_delay=0.2, max_delay=5.0)

    def run(self, coro):
        """Run any coroutine on the session's loop (e.g. a feed's stream reader)."""
        return self._on_loop(coro)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._on_loop(self.client.close())
        except Exception:  # noqa: BLE001 - closing a client that lost its connection
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __repr__(self) -> str:
        return f"CcxtSession({self.cfg.ccxt_id}, {self.credentials!r})"
