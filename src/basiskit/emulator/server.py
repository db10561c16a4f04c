"""The emulator's HTTP/websocket server, its clock and its control endpoints.

``Emulator(replay, keys, speed, passphrase=None)`` serves the Binance dialect under ``/binance``, the Bybit
dialect under ``/bybit`` and, when the replay's layout has ``okx``, the OKX v5 dialect under ``/okx``
(``binance_api``, ``bybit_api``, ``okx_api``; ``passphrase``: the OKX key's passphrase, None accepts any)
on one aiohttp application, plus:

    GET  /emulator/state           {"t": ms, "i": step, "steps": n, "end": ms, "speed": x|null}
    POST /emulator/advance         {"to": ms | "ISO time"} or {"steps": n}: manual mode's clock (also
                                   allowed in speed mode: a jump forward); pushes the streams;
                                   {"ticks_to": ms}: sends the recorded tick updates up to that time
    POST /emulator/deposit         {"account": "binance.spot", "token": "USDT", "amount": 1000, "network": "TRC20", "txid": "0x.."}  (txid optional)
    POST /emulator/fault           {"path": "/fapi/v1/order", "method": "POST", "kind": "drop_response" |
                                   "unavailable", "count": 1}: the next matching requests are executed with
                                   their answer lost (connection closed) or refused with HTTP 503 untouched

The clock: with ``speed=None`` (manual / step mode, for deterministic tests) the replay moves only on
``/emulator/advance``; with ``speed=x`` the replay time runs at ``x`` times the wall clock from the
replay's start (``speed=3600``: an hourly bar per second), checked on every request and every 20 ms by
a background task that pushes the websocket streams when the replay steps. Recorded tick streams
(``ticks``: an ``emulator.ticks.TickReplay``) have a clock of their own that starts at their first update:
in speed mode each update is sent when ``speed`` x the wall time since the start reaches it (the task
wakes for it: gaps are kept, scaled), in manual mode on ``{"ticks_to": ms}``.

``EmulatorServer`` runs it on a thread of its own, bound to 127.0.0.1 (port 0: the OS picks a free
one), for tests, benchmarks and ``basiskit emulator``::

    with EmulatorServer(replay, {"key": "secret"}) as srv:
        cfg = ccxt_config("binance", srv.url)     # what to give ccxt's constructor (urls, options)
        srv.advance(to_ns("2024-03-02"))

``ccxt_config(exchange_id, base_url)`` returns the ``urls``/``options`` overrides that point ccxt's own
``binance`` / ``bybit`` classes (REST and ccxt.pro streams) at the emulator; nothing else changes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from urllib.request import Request, urlopen

from aiohttp import web

from basiskit.emulator.wsio import json_requests, send_current
from basiskit.emulator.auth import Keys
from basiskit.emulator.binance_api import BinanceApi
from basiskit.emulator.binance_api import stream_message as binance_message
from basiskit.emulator.binance_api import tick_book_message
from basiskit.emulator.replay import Rejected, Replay

NS_MS = 1_000_000


class Streams:
    """Websocket subscribers and the messages they get at each replay step."""

    def __init__(self, emu: "Emulator") -> None:
        self.emu = emu
        self.subs: list[tuple] = []  # (ws, stream, message maker, account)
        self.sent = 0

    async def binance_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        acc = "binance.perp" if request.path.startswith("/binance/fstream") else "binance.spot"
        r = self.emu.replay
        try:
            async for req in json_requests(ws):
                method, rid = req.get("method"), req.get("id")
                params = req.get("params") or []
                if method == "SUBSCRIBE":
                    made = []
                    for stream in params:
                        maker = _binance_maker(acc, stream, r, self.emu.ticks)
                        if maker is not None:
                            self.subs.append((ws, stream, maker, acc))
                            made.append(maker)
                    await ws.send_str(json.dumps({"result": None, "id": rid}))
                    await send_current(ws, made)
                elif method == "UNSUBSCRIBE":
                    self.subs = [x for x in self.subs if not (x[0] is ws and x[1] in params)]
                    await ws.send_str(json.dumps({"result": None, "id": rid}))
                else:
                    await ws.send_str(json.dumps({"result": None, "id": rid}))
        finally:
            self.subs = [x for x in self.subs if x[0] is not ws]
        return ws

    def add(self, ws, stream: str, maker, account: str = "") -> None:
        self.subs.append((ws, stream, maker, account))

    def drop(self, ws) -> None:
        self.subs = [x for x in self.subs if x[0] is not ws]

    async def publish(self) -> None:
        """Send every subscriber its stream's message at the replay's current time (recorded tick
        streams are sent per update: ``publish_ticks``)."""
        for ws, _, maker, _ in list(self.subs):
            if ws.closed or getattr(maker, "tick", False):
                continue
            try:
                text = maker()
            except Rejected:
                continue
            if text:
                try:
                    await ws.send_str(text)
                    self.sent += 1
                except (ConnectionError, RuntimeError):
                    pass


    async def publish_ticks(self, ticks: list) -> None:
        """Send each recorded update, in order, to the subscribers of its instrument's book ticker."""
        for tick in ticks:
            name = f"{tick.token.lower()}usdt@bookTicker"
            text = None
            for ws, stream, maker, acc in list(self.subs):
                if acc != tick.account or stream != name or ws.closed:
                    continue
                text = text or maker()
                try:
                    await ws.send_str(text)
                    self.sent += 1
                except (ConnectionError, RuntimeError):
                    pass


def _binance_maker(acc: str, stream: str, r: Replay, ticks=None):
    sym, _, what = stream.partition("@")
    tok = sym.upper().removesuffix("USDT")
    if ticks is not None and tok in ticks.tokens(acc):
        if what != "bookTicker":
            return None

        def tick_message() -> str | None:
            return tick_book_message(acc, ticks.latest(acc, tok))
        tick_message.tick = True
        return tick_message
    if tok not in r.tokens(acc):
        return None
    if what == "bookTicker":
        return lambda: binance_message("bookTicker", acc, tok, r)
    if what.startswith("markPrice") and acc.endswith("perp"):
        return lambda: binance_message("markPrice", acc, tok, r)
    if what.startswith("kline_"):
        iv = what.split("_", 1)[1]
        return lambda: binance_message("kline", acc, tok, r, iv)
    return None


class Emulator:
    """The emulated venues' server (module docstring). ``keys``: API key -> secret accepted on the
    signed endpoints of both dialects; ``speed``: None (manual) or replay seconds per wall second."""

    def __init__(self, replay: Replay, keys: dict[str, str], speed: float | None = None, ticks=None,
                 passphrase: str | None = None) -> None:
        self.replay = replay
        self.ticks = ticks  # emulator.ticks.TickReplay or None
        self.keys = Keys(keys, passphrase)
        self.speed = speed
        self.streams = Streams(self)
        self.faults: list[dict] = []
        self._wall0 = time.monotonic()
        self._t0 = replay.t
        self._moved = False

    def tick(self) -> int:
        """Speed mode: move the replay to the wall clock's replay time. Returns the steps made."""
        if self.speed is None:
            return 0
        target = self._t0 + int((time.monotonic() - self._wall0) * self.speed * 1e9)
        n = self.replay.advance_to(target)
        if n:
            self._moved = True
        return n

    def app(self) -> web.Application:
        from basiskit.emulator.bybit_api import BybitApi

        app = web.Application(middlewares=[self._faults_mw])
        app.add_routes(BinanceApi(self).routes())
        app.add_routes(BybitApi(self).routes())
        if "okx" in self.replay.layout:
            from basiskit.emulator.okx_api import OkxApi
            app.add_routes(OkxApi(self).routes())
        app.add_routes([web.get("/emulator/state", self._state), web.post("/emulator/advance", self._advance),
                        web.post("/emulator/deposit", self._deposit), web.post("/emulator/fault", self._fault)])
        app.on_startup.append(self._start_clock)
        app.on_cleanup.append(self._stop_clock)
        return app

    async def _start_clock(self, app) -> None:
        self._wall0 = time.monotonic()
        self._t0 = self.replay.t
        self._tick_t0 = self.ticks.start if self.ticks is not None else 0
        if self.speed is not None:
            self._task = asyncio.get_running_loop().create_task(self._clock())

    async def _stop_clock(self, app) -> None:
        task = getattr(self, "_task", None)
        if task is not None:
            task.cancel()

    async def _clock(self) -> None:
        while True:
            wait = 0.02
            if self.ticks is not None:  # wake at the next recorded update (real gaps, scaled by the speed)
                nxt = self.ticks.next_ts()
                if nxt is not None:
                    due = self._wall0 + (nxt - self._tick_t0) / 1e9 / self.speed
                    wait = max(0.0, min(wait, due - time.monotonic()))
            await asyncio.sleep(wait)
            self.tick()
            if self._moved:
                self._moved = False
                await self.streams.publish()
            if self.ticks is not None:
                now = self._tick_t0 + int((time.monotonic() - self._wall0) * self.speed * 1e9)
                sent = self.ticks.advance_to(now)
                if sent:
                    await self.streams.publish_ticks(sent)

    def _state_json(self) -> dict:
        r = self.replay
        out = {"t": r.t // NS_MS, "i": r.i, "steps": len(r.grid), "end": r.grid[-1] // NS_MS, "speed": self.speed,
               "at_end": r.at_end}
        if self.ticks is not None:
            out.update(ticks_t=self.ticks.t // NS_MS, ticks_start=self.ticks.start // NS_MS,
                       ticks_end=self.ticks.end // NS_MS)
        return out

    async def _state(self, request: web.Request) -> web.Response:
        self.tick()
        return web.json_response(self._state_json())

    async def _advance(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            r = self.replay
            if "ticks_to" in body:  # the recorded tick streams only
                if self.ticks is None:
                    return web.json_response({"error": "the emulator replays no tick streams"}, status=400)
                sent = self.ticks.advance_to(int(body["ticks_to"]) * NS_MS)
                await self.streams.publish_ticks(sent)
                out = self._state_json()
                out["ticks_sent"] = len(sent)
                return web.json_response(out)
            if "steps" in body:
                target = r.grid[min(len(r.grid) - 1, r.i + int(body["steps"]))]
            else:
                to = body["to"]
                if isinstance(to, str):
                    from basiskit.domain.time import to_ns
                    target = to_ns(to)
                else:
                    target = int(to) * NS_MS
        except (ValueError, KeyError, TypeError) as e:
            return web.json_response({"error": f"advance needs {{'to': ms|ISO}} or {{'steps': n}}: {e}"}, status=400)
        n = self.replay.advance_to(target)
        if n:
            await self.streams.publish()
        out = self._state_json()
        out["moved"] = n
        return web.json_response(out)

    @web.middleware
    async def _faults_mw(self, request: web.Request, handler):
        """Injected faults (``/emulator/fault``) on the venue endpoints they name."""
        for f in list(self.faults):
            if f["method"] in (request.method, "*") and f["path"] in request.path:
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                if f["kind"] == "unavailable":
                    return web.json_response({"code": -1001, "msg": "Internal error; unable to process your request. "
                                              "Please try again."}, status=503)
                resp = await handler(request)  # drop_response: the venue acts, the answer is lost
                if request.transport is not None:
                    request.transport.close()
                return resp
        return await handler(request)

    async def _fault(self, request: web.Request) -> web.Response:
        """Inject a fault: ``{"path": "/fapi/v1/order", "method": "POST", "kind": "drop_response" |
        "unavailable", "count": 1}`` -- the next ``count`` matching requests are executed with their
        answer lost (the connection closes), or refused with HTTP 503 before anything happens."""
        try:
            b = await request.json()
            f = {"path": str(b["path"]), "method": str(b.get("method", "*")).upper(), "kind": str(b["kind"]),
                 "count": int(b.get("count", 1))}
            if f["kind"] not in ("drop_response", "unavailable") or f["count"] < 1:
                raise ValueError(f"kind {f['kind']!r} / count {f['count']}")
        except (ValueError, KeyError, TypeError) as e:
            return web.json_response({"error": f"fault needs path, kind (drop_response | unavailable), count >= 1: "
                                      f"{e}"}, status=400)
        self.faults.append(f)
        return web.json_response({"faults": len(self.faults)})

    async def _deposit(self, request: web.Request) -> web.Response:
        try:
            b = await request.json()
            m = self.replay.deposit(b["account"], b["token"], float(b["amount"]), b.get("network"),
                                    str(b["txid"]) if b.get("txid") else None)
        except Rejected as e:
            return web.json_response({"error": e.reason}, status=400)
        except (ValueError, KeyError, TypeError) as e:
            return web.json_response({"error": f"deposit needs account, token, amount: {e}"}, status=400)
        return web.json_response({"id": m.id, "status": m.status, "credit_at": m.done_ns // NS_MS})


class EmulatorServer:
    """Runs an ``Emulator`` on 127.0.0.1 in a background thread (module docstring). ``url`` is
    ``http://127.0.0.1:<port>`` once started."""

    def __init__(self, replay: Replay, keys: dict[str, str], speed: float | None = None, port: int = 0,
                 host: str = "127.0.0.1", ticks=None, passphrase: str | None = None) -> None:
        self.emulator = Emulator(replay, keys, speed, ticks, passphrase)
        self.host, self.port = host, port
        self.url = ""
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(target=self._run, name="basiskit-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self.emulator.app(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            self.url = f"http://{self.host}:{self.port}"
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _post(self, path: str, body: dict) -> dict:
        req = Request(self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
                      method="POST")
        with urlopen(req, timeout=30) as resp:  # noqa: S310 - our own loopback server
            return json.loads(resp.read())

    def advance(self, to_ns: int | None = None, steps: int | None = None) -> dict:
        """Manual mode: move the replay to ``to_ns`` (or by ``steps``) and push the streams."""
        return self._post("/emulator/advance", {"steps": steps} if steps is not None else {"to": to_ns // NS_MS})

    def fault(self, path: str, kind: str, method: str = "*", count: int = 1) -> dict:
        """Inject a fault on the venue endpoints whose path contains ``path`` (see ``/emulator/fault``)."""
        return self._post("/emulator/fault", {"path": path, "kind": kind, "method": method, "count": count})

    def advance_ticks(self, to_ns: int) -> dict:
        """Manual mode: send the recorded tick updates up to ``to_ns`` (ms resolution)."""
        return self._post("/emulator/advance", {"ticks_to": to_ns // NS_MS})

    def deposit(self, account: str, token: str, amount: float, network: str | None = None) -> dict:
        return self._post("/emulator/deposit", {"account": account, "token": token, "amount": amount,
                                                "network": network})


def ccxt_config(exchange_id: str, base_url: str) -> dict:
    """The constructor overrides that point ccxt's ``binance`` / ``bybit`` / ``okx`` (REST and ccxt.pro streams)
    at an emulator at ``base_url`` (``http://127.0.0.1:port``): ``{"urls": {"api": ...}, "options": ...,
    "ccxt": {...}}`` (``ccxt``: other constructor settings: the emulator has no rate limits, so ccxt's
    limiter, which spaces requests by the real venue's weights, is off). OKX's ``brokerId`` is blanked (ccxt
    would tag orders without a client id with its own broker prefix). Raises ValueError for another
    exchange id."""
    import ccxt.pro as ccxtpro

    ws_base = base_url.replace("http://", "ws://", 1)
    if exchange_id == "binance":
        api = dict(ccxtpro.binance().urls["api"])
        urls = {}
        for k, v in api.items():
            if isinstance(v, str) and v.startswith("https://"):
                host, _, path = v[len("https://"):].partition("/")
                urls[k] = f"{base_url}/binance/{path}"
        urls["ws"] = {"spot": f"{ws_base}/binance/stream/ws", "margin": f"{ws_base}/binance/stream/ws",
                      "linear": f"{ws_base}/binance/fstream/ws", "future": f"{ws_base}/binance/fstream/ws"}
        return {"urls": {"api": urls}, "options": {"fetchMarkets": {"types": ["spot", "linear"]},
                                                   "fetchCurrencies": False, "adjustForTimeDifference": False,
                                                   "warnOnFetchOpenOrdersWithoutSymbol": False,
                                                   "fetchMargins": False},
                "ccxt": {"enableRateLimit": False}}
    if exchange_id == "bybit":
        return {"urls": {"api": {"public": f"{base_url}/bybit", "private": f"{base_url}/bybit",
                                 "spot": f"{base_url}/bybit", "futures": f"{base_url}/bybit",
                                 "v2": f"{base_url}/bybit", "contract": f"{base_url}/bybit",
                                 "ws": {"public": {"spot": f"{ws_base}/bybit/v5/public/spot",
                                                   "inverse": f"{ws_base}/bybit/v5/public/inverse",
                                                   "option": f"{ws_base}/bybit/v5/public/option",
                                                   "linear": f"{ws_base}/bybit/v5/public/linear"},
                                        "private": {"spot": f"{ws_base}/bybit/v5/private",
                                                    "contract": f"{ws_base}/bybit/v5/private",
                                                    "usdc": f"{ws_base}/bybit/v5/private",
                                                    "unified": f"{ws_base}/bybit/v5/private"}}}},
                "options": {"fetchMarkets": {"types": ["spot", "linear"]}, "fetchCurrencies": False,
                            "adjustForTimeDifference": False, "loadAllOptions": False},
                "ccxt": {"enableRateLimit": False}}
    if exchange_id == "okx":
        return {"urls": {"api": {"rest": f"{base_url}/okx",
                                 "ws": f"{ws_base}/okx/ws/v5"}},
                "options": {"fetchMarkets": {"types": ["spot", "swap"]}, "fetchCurrencies": False,
                            "adjustForTimeDifference": False, "brokerId": ""},
                "ccxt": {"enableRateLimit": False}}
    raise ValueError(f"the emulator serves binance, bybit and okx, not {exchange_id!r}")
