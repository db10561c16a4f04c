"""Request signatures of the emulated venues, checked as the venues check them.

* Binance (``X-MBX-APIKEY`` header; ``signature`` = hex HMAC-SHA256 of the query string or form body
  before ``&signature=``, keyed by the API secret; ``timestamp`` within ``recvWindow`` ms, default
  5000, of the server's clock): an unknown key -> HTTP 401 ``{"code": -2015, ...}``; a missing key ->
  401 ``-2014``; a bad signature -> 400 ``-1022``; a stale timestamp -> 400 ``-1021``.
  (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security)
* Bybit v5 (``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW``, ``X-BAPI-SIGN`` = hex
  HMAC-SHA256 of ``timestamp + api_key + recv_window + (query string | JSON body)``): an unknown key ->
  ``retCode`` 10003, a bad signature -> 10004 ``error sign!``, a stale timestamp -> 10002 (HTTP 200
  with the code in the body, as Bybit answers). (https://bybit-exchange.github.io/docs/v5/guide)

``Keys`` holds the emulator's key -> secret pairs; secrets never appear in a response or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import time


class Keys:
    """API key -> secret. ``repr`` shows the keys' count only."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = dict(pairs)

    def secret(self, key: str | None) -> str | None:
        return self._pairs.get(key or "")

    def __repr__(self) -> str:
        return f"Keys({len(self._pairs)} key(s))"


def _hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def binance_check(keys: Keys, api_key: str | None, payload: str, now_ms: int | None = None
                  ) -> tuple[int, int, str] | None:
    """Check a signed Binance request; ``payload`` is the raw query string (GET/DELETE) or body (POST).
    Returns None when valid, else ``(http status, binance code, message)``."""
    if not api_key:
        return 401, -2014, "API-key format invalid."
    secret = keys.secret(api_key)
    if secret is None:
        return 401, -2015, "Invalid API-key, IP, or permissions for action."
    signed, sep, sig = payload.rpartition("&signature=")
    if not sep:
        return 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    if not hmac.compare_digest(_hex(secret, signed), sig.split("&")[0]):
        return 400, -1022, "Signature for this request is not valid."
    params = dict(p.partition("=")[::2] for p in signed.split("&") if p)
    try:
        ts = int(params.get("timestamp", ""))
    except ValueError:
        return 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    window = int(params.get("recvWindow", "5000") or 5000)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if ts > now + 1000 or now - ts > window:
        return 400, -1021, "Timestamp for this request is outside of the recvWindow."
    return None


def bybit_check(keys: Keys, headers, payload: str, now_ms: int | None = None) -> tuple[int, str] | None:
    """Check a signed Bybit v5 request (``payload``: query string for GET, raw JSON body for POST).
    Returns None when valid, else ``(retCode, retMsg)``."""
    api_key = headers.get("X-BAPI-API-KEY")
    secret = keys.secret(api_key)
    if secret is None:
        return 10003, "API key is invalid."
    ts, window, sign = (headers.get("X-BAPI-TIMESTAMP", ""), headers.get("X-BAPI-RECV-WINDOW", "5000"),
                        headers.get("X-BAPI-SIGN", ""))
    if not hmac.compare_digest(_hex(secret, ts + api_key + window + payload), sign):
        return 10004, "error sign! origin_string[" + ts + api_key + window + payload + "]"
    now = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        t = int(ts)
        w = int(window)
    except ValueError:
        return 10002, "invalid request, please check your server timestamp or recv_window param"
    if t > now + 1000 or now - t > w:
        return 10002, (f"invalid request, please check your server timestamp or recv_window param. "
                       f"req_timestamp[{t}],server_timestamp[{now}],recv_window[{w}]")
    return None
