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
* OKX v5 (``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``, ``OK-ACCESS-TIMESTAMP`` an ISO time with ms,
  ``OK-ACCESS-SIGN`` = base64 HMAC-SHA256 of ``timestamp + METHOD + request path (with ?query for GET)
  + JSON body``): a missing or unknown key -> HTTP 401 ``{"code": "50111", "msg": "Invalid OK-ACCESS-KEY"}``,
  a wrong passphrase -> 401 ``50105``, a bad signature -> 401 ``50113 Invalid Sign``, a timestamp more
  than 30 s from the server's clock -> 401 ``50102 Timestamp request expired``.
  (https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature, error codes 50102-50113)

``Keys`` holds the emulator's key -> secret pairs (an OKX passphrase is checked against ``passphrase``); secrets never appear in a response or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime


class Keys:
    """API key -> secret. ``repr`` shows the keys' count only."""

    def __init__(self, pairs: dict[str, str], passphrase: str | None = None) -> None:
        self._pairs = dict(pairs)
        self._passphrase = passphrase

    def passphrase_ok(self, value: str | None) -> bool:
        """OKX: the passphrase given when the key was made (None: any passphrase is accepted)."""
        return self._passphrase is None or hmac.compare_digest(self._passphrase, value or "")

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


def okx_check(keys: Keys, headers, method: str, path_qs: str, body: str, now_ms: int | None = None
              ) -> tuple[str, str] | None:
    """Check a signed OKX v5 request (``path_qs``: the request path with ``?query`` for GET; ``body``:
    the raw JSON body, empty for GET). Returns None when valid, else ``(OKX code, message)``."""
    api_key = headers.get("OK-ACCESS-KEY")
    if not api_key:
        return "50103", "Request header OK-ACCESS-KEY cannot be empty."
    secret = keys.secret(api_key)
    if secret is None:
        return "50111", "Invalid OK-ACCESS-KEY."
    if not keys.passphrase_ok(headers.get("OK-ACCESS-PASSPHRASE")):
        return "50105", "Invalid OK-ACCESS-PASSPHRASE."
    ts, sign = headers.get("OK-ACCESS-TIMESTAMP", ""), headers.get("OK-ACCESS-SIGN", "")
    mac = hmac.new(secret.encode(), (ts + method.upper() + path_qs + body).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(mac).decode(), sign):
        return "50113", "Invalid Sign."
    try:
        t = int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return "50112", "Invalid OK-ACCESS-TIMESTAMP."
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - t) > 30_000:
        return "50102", "Timestamp request expired."
    return None
