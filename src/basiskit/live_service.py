"""Use cases of live and paper sessions, shared by the CLI (``basiskit live``) and the API
(``/api/v1/live``).

A session has an id (``live-<mode>-<time>-<hex>``) and a folder ``<data dir>/live/<id>/`` holding
``request.json`` (what was asked: no credentials), ``status.json`` (rewritten at every step and
heartbeat: equity, positions, open orders, last heartbeat, feed ages), ``pid``, ``events/`` (the
event log, written line by line) and, to stop it, a ``stop`` file (``stop_session``). It is recorded
in the run store as a run of kind ``live`` (running -> finished / interrupted / failed), its orders in
``live_orders`` and every market event it received in ``market_events``.

Market data: ``replay`` = (start, end) plays a recorded period back (``BASIS_DATA_MODE=csv``: the
catalog; ``db``: the market events a session recorded in the store) on a clock ``speed`` times as
fast as wall time (0: as fast as possible); without a replay the session takes the venues' live
streams (``data.live.ccxt_feed`` through ``data.live.stream_source``) on the wall clock, or an exchange
emulator's streams on the emulator's clock (``emulator``: its URL, e.g. a running ``basiskit emulator``). Venues: ``paper`` -- the simulators; ``live`` -- an exchange: ``exchange``
names the address file of a simulated exchange process (``engine.live.sim_exchange``), else the
venues' ccxt adapters with credentials from the environment (``<VENUE>_API_KEY``,
``<VENUE>_API_SECRET``: read here, handed to the adapters only, never written anywhere).

A book-ticker (signal) mode runs on its two book-ticker streams, each book ticker a step
(``live_ticks``); paper only (its venues, MEXC and Gate.io, have no live adapter).

Errors: ``LiveInputError`` (LIVE-004) for a bad request, ``LiveSessionNotFound`` (LIVE-005).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from pydantic import ValidationError

from basiskit.config.live import DATA_MODES, EXECUTION_MODES, LiveSettings, env_choice
from basiskit.config.loader import format_validation_error
from basiskit.data.live_feed import LiveFeed, live_grid
from basiskit.data.replay_source import EventListSource, FrameReplaySource
from basiskit.domain import events as dev
from basiskit.domain.time import to_ns
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import BacktestRequest, prepare
from basiskit.engine.live.driver import FastClock, ScaledClock
from basiskit.engine.live.errors import LiveInputError, LiveSessionNotFound
from basiskit.engine.live.journal import CrashPoints
from basiskit.engine.live.runner import LiveOptions, run_live
from basiskit.engine.live.session import feed_keys, funding_intervals
from basiskit.errors.exceptions import RunInterrupted, StopRun
from basiskit.eventlog import EventLog
from basiskit.persistence.records import NewRun, RunResults, RunStatus
from basiskit.runs.event_stream import EventRecorder
from basiskit.strategies.registry import build_strategy

CREDENTIAL_VENUES = ("binance", "bybit", "okx")
TICK_STALE_S = 30.0  # a book-ticker mode's default stale limit, seconds (Gate.io's longest LUNC silence: 19.4 s)


@dataclass
class LiveRequest:
    """A session to start. ``overrides``: the mode's ``--set`` keys; ``live``: ``live.*`` keys
    (``config.live.LiveSettings``); capital in share-class units (USDT)."""

    mode: str
    execution_mode: str | None = None       # paper | live; None: $BASIS_EXECUTION_MODE
    capital: float = 100_000.0
    overrides: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict)
    replay: tuple[str, str] | None = None   # (start, end) of a recorded period
    speed: float = 0.0                      # replay clock: virtual seconds per wall second (0: fastest)
    exchange: str | None = None             # address file of a simulated exchange (live mode)
    strategy_id: str | None = None          # the persisted book's key (same across restarts)
    data_mode: str | None = None            # csv | db; None: $BASIS_DATA_MODE or csv
    emulator: str | None = None             # URL of an exchange emulator: its streams and clock (no replay)


@dataclass
class LiveResult:
    run_id: str
    folder: Path
    status: dict
    outcome: Any = None


def sessions_dir(data: Path) -> Path:
    return Path(data) / "live"


def new_session_id(mode: str) -> str:
    return f"live-{mode}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def resolve(req: LiveRequest) -> tuple[str, str, LiveSettings]:
    """(execution mode, data mode, settings); raises LiveInputError naming the bad option."""
    try:
        mode = req.execution_mode or env_choice("BASIS_EXECUTION_MODE", EXECUTION_MODES, None)
        data_mode = req.data_mode or env_choice("BASIS_DATA_MODE", DATA_MODES, "csv")
    except ValueError as exc:
        raise LiveInputError(str(exc)) from None
    if mode is None:
        raise LiveInputError("say --paper or --live (or set BASIS_EXECUTION_MODE=paper|live)")
    if mode not in ("paper", "live"):
        raise LiveInputError(f"execution mode {mode!r}: `basiskit live` runs paper or live sessions "
                             "(use `basiskit backtest` for a backtest)")
    if data_mode not in DATA_MODES:
        raise LiveInputError(f"data mode {data_mode!r} is not one of {', '.join(DATA_MODES)}")
    try:
        settings = LiveSettings(**req.live)
    except ValidationError as exc:
        raise LiveInputError(format_validation_error(exc, "live.* settings")) from None
    if not (req.capital > 0):
        raise LiveInputError(f"capital must be positive, got {req.capital}")
    if req.speed < 0:
        raise LiveInputError(f"speed must be >= 0 (0: as fast as possible), got {req.speed}")
    if mode == "live" and req.exchange is None and req.emulator is None and req.replay is not None:
        raise LiveInputError("--live --replay sends orders at a recorded period's prices: name the venue that "
                             "replays it, an exchange emulator (--emulator URL) or a simulated exchange (--exchange)")
    if mode == "live" and req.exchange is not None and req.emulator is not None:
        raise LiveInputError("--exchange (a simulated exchange process) and --emulator (an exchange emulator the "
                             "ccxt adapters talk to) are two different venues: name one")
    return mode, data_mode, settings


def _ccxt_exchange(reqs, emulator: str | None):
    """The ``remote`` of a ``--live`` session through the ccxt adapters (``engine.live.ccxt_exchange``):
    the exchange accounts the strategy trades, credentials from the environment (``<VENUE>_API_KEY`` /
    ``_SECRET``), pointed at ``emulator`` (its URL: ccxt by URL, the emulator's clock stepped by the
    session) or at the real venues. Raises LiveInputError naming a missing credential."""
    from basiskit.engine.live.ccxt_exchange import connect

    accounts = {a: list(t) for a, t in {**reqs.spot, **reqs.perp}.items()}
    for a, toks in reqs.perp.items():
        accounts[a] = sorted(set(accounts.get(a, [])) | set(toks))
    venues = sorted({a.split(".")[0] for a in accounts})
    missing = [f"{v.upper()}_API_{w}" for v in venues for w in ("KEY", "SECRET") if not os.environ.get(f"{v.upper()}_API_{w}")]
    if missing:
        raise LiveInputError("a live session sends real orders: set the venues' credentials in the environment ("
                             + ", ".join(missing) + "), or name a simulated exchange (--exchange)")
    unknown = [v for v in venues if v not in CREDENTIAL_VENUES]
    if unknown:
        raise LiveInputError(f"accounts of {', '.join(unknown)}: no ccxt adapter (adapters: {', '.join(CREDENTIAL_VENUES)})")
    overrides = {}
    if emulator is not None:
        from basiskit.emulator.server import ccxt_config

        from basiskit.emulator.replay import ADDRESS_PREFIX

        addresses = {a: {"USDT": ADDRESS_PREFIX + a} for a in accounts}  # the emulated accounts' deposit addresses
        for v in venues:
            c = ccxt_config(v, emulator)
            overrides[v] = {"urls": c["urls"]["api"], "options": c["options"], "ccxt": c["ccxt"], "addresses": addresses}
    return connect(accounts, emulator, overrides=overrides)


def ccxt_client(venue: str, emulator: str | None):
    """A factory of the ccxt.pro client of ``venue``: the real venue (rate limited), or pointed at an
    exchange emulator at ``emulator`` (its URL); keys from the environment go to the client only."""
    import ccxt.pro as ccxtpro

    if not hasattr(ccxtpro, venue):
        raise LiveInputError(f"venue {venue!r}: ccxt.pro has no such exchange")
    cfg: dict = {"enableRateLimit": True}
    if emulator is not None:
        from basiskit.emulator.server import ccxt_config

        try:
            c = ccxt_config(venue, emulator)
        except ValueError as exc:
            raise LiveInputError(str(exc)) from None
        cfg = {**c["ccxt"], "urls": c["urls"], "options": c["options"]}
    k, sec = os.environ.get(f"{venue.upper()}_API_KEY"), os.environ.get(f"{venue.upper()}_API_SECRET")
    if k and sec:
        cfg.update(apiKey=k, secret=sec)
    return lambda: getattr(ccxtpro, venue)(cfg)


def _stream_source(specs, emulator: str | None):
    """(source, now_ns, sleep) for market data from the venues' ccxt streams: the real venues on the
    wall clock, or an exchange emulator at ``emulator`` (its URL) on the emulator's clock. Public
    streams need no keys; the keys in the environment are handed to the ccxt clients only."""
    from basiskit.data.live.stream_source import StreamSource, streams_for
    from basiskit.engine.live.driver import EmulatorClock

    keys = feed_keys(specs)
    try:
        streams = streams_for(keys, [s.key for s in specs if s.kind == "funding"])
    except ValueError as exc:
        raise LiveInputError(f"{exc}: this mode cannot run on exchange streams") from None
    source = StreamSource({v: ccxt_client(v, emulator) for v in streams}, streams)
    if emulator is not None:
        clock = EmulatorClock(emulator)
        return source, clock.now_ns, clock.sleep
    return source, time.time_ns, time.sleep


def validate_request(req: LiveRequest) -> None:
    """The request's checks that need no data (mode and its ``--set`` keys, ``live.*`` keys, the market
    data choice); raises LiveInputError, ConfigError, UnknownModeError."""
    resolve(req)
    prepare(BacktestRequest(req.mode, req.replay[0] if req.replay else "2000-01-01",
                            req.replay[1] if req.replay else "2000-01-02", req.capital, overrides=req.overrides))


def recorded_events(store, start_ns: int, end_ns: int) -> list:
    """Recorded market events (``market_events``) back as domain events; an event several sessions
    recorded (same kind, key, time and fields) comes once."""
    cls = {"bar": dev.Bar, "book_ticker": dev.BookTicker, "funding_rate": dev.FundingRate,
           "oracle_price": dev.OraclePrice, "index_update": dev.IndexUpdate, "mark_price": dev.MarkPrice}
    out = []
    seen: set = set()
    for r in store.market_events(start_ns=start_ns, end_ns=end_ns):
        ident = (r.kind, r.key, r.timestamp, json.dumps(r.data, sort_keys=True))
        if ident in seen:  # the same event recorded by several sessions of the period: replayed once
            continue
        seen.add(ident)
        if r.kind == "gas_price":
            out.append(dev.GasPrice(r.timestamp, r.data["gwei"]))
        elif r.kind in cls:
            d = {k: (float("nan") if v is None else v) for k, v in r.data.items()}
            out.append(cls[r.kind](r.timestamp, r.key, **d))
    return out


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, default=str, allow_nan=False, indent=1) if obj is not None else "null")
    os.replace(tmp, path)


def _clean(obj: Any) -> Any:
    from basiskit.persistence.records import clean_json

    return clean_json(obj)


def start_session(req: LiveRequest, catalog, store, data: Path, run_id: str | None = None,
                  should_stop: Callable[[], bool] | None = None, on_status: Callable[[dict], None] | None = None,
                  origin: str = "cli") -> LiveResult:
    """Run a session to its end in this process (the CLI; the API runs it in a thread). ``store``: a
    ``LiveStore`` (``open_live_store``). Raises LiveInputError, ConfigError, DataError; a session the
    circuit breaker stops raises ``CircuitBreakerTripped`` after recording it failed."""
    execution, data_mode, settings = resolve(req)
    config, _ = prepare(BacktestRequest(req.mode, req.replay[0] if req.replay else "2000-01-01",
                                        req.replay[1] if req.replay else "2000-01-02", req.capital,
                                        overrides=req.overrides))
    strategy = build_strategy(config)
    reqs = strategy.requirements()
    specs = series_specs(reqs, set(catalog.dataset_ids()))
    run_id = run_id or new_session_id(req.mode)
    strategy_id = req.strategy_id or run_id
    folder = sessions_dir(data) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    ticks = bool(getattr(strategy, "book_tickers", False))  # a signal mode: each book ticker is a step
    if ticks and execution == "live":
        raise LiveInputError(f"{req.mode} trades on {config.spot_venue} / {config.perp_venue}, which have no live "
                             "adapter: run it --paper (simulated fills on the live or replayed book tickers)")
    remote = None
    if execution == "live" and req.exchange is not None:
        from basiskit.engine.live.sim_exchange import ExchangeClient

        remote = ExchangeClient(req.exchange)
    elif execution == "live":
        remote = _ccxt_exchange(reqs, req.emulator)
    saved = store.load_state(strategy_id)
    resume_after = max([t for t in (saved.get("t") if saved else None, remote.now() if remote else None)
                        if t is not None], default=None)
    step_s = config.step_seconds
    if ticks:
        from basiskit.live_ticks import tick_feed

        span = None
        if req.replay:
            span = (to_ns(req.replay[0]), to_ns(req.replay[1]))
            if span[1] <= span[0]:
                raise LiveInputError(f"replay end {req.replay[1]} must be after its start {req.replay[0]}")
        feed, now_ns, sleep = tick_feed(config, settings, catalog, store, data_mode, span, req.speed, req.emulator,
                                        resume_after)
    elif req.replay:
        start_ns, end_ns = to_ns(req.replay[0]), to_ns(req.replay[1])
        if end_ns <= start_ns:
            raise LiveInputError(f"replay end {req.replay[1]} must be after its start {req.replay[0]}")
        full = [start_ns + k * step_s * 1_000_000_000 for k in range((end_ns - start_ns) // (step_s * 1_000_000_000) + 1)]
        if data_mode == "csv":
            frame = catalog.for_policy(config.data_policy).frame(np.asarray(full, dtype=np.int64), specs)
            source = FrameReplaySource(frame, step_s)
        else:
            events = recorded_events(store, start_ns - step_s * 1_000_000_000, end_ns)
            if not events:
                raise LiveInputError(f"BASIS_DATA_MODE=db: the store has no recorded market events between "
                                     f"{req.replay[0]} and {req.replay[1]}")
            source = EventListSource(events)
        grid = [t for t in full if resume_after is None or t > resume_after]
        if not grid:
            raise LiveInputError(f"nothing left to replay: the session {strategy_id} is already at the end "
                                 f"of {req.replay[0]} .. {req.replay[1]}")
        clock = FastClock(grid[0] - step_s * 1_000_000_000) if req.speed == 0 else ScaledClock(
            grid[0] - int(settings.settle_s * 1e9) - 1, req.speed)
        now_ns, sleep = clock.now_ns, clock.sleep
        if resume_after is not None:  # the replay's events before the resumed step were seen by the first attempt
            source.poll(resume_after)
    else:  # the venues' own streams (or the emulator's), on their clock
        if remote is not None and req.exchange is None and req.emulator is not None:
            raise LiveInputError("--live on the exchange emulator replays a recorded period: give --replay START "
                                 "--replay END (the session steps the emulator's clock to its own)")
        source, now_ns, sleep = _stream_source(specs, req.emulator)
        start = now_ns()
        if resume_after is not None:
            start = max(start, resume_after + 1)
        grid = live_grid(start, step_s, settings.steps)
    if not ticks:
        feed = LiveFeed(grid, source, feed_keys(specs), funding_intervals(specs, config.venues), now_ns=now_ns)
    stale = settings.stale_limit_s or (TICK_STALE_S if ticks else 1.5 * step_s)
    fastest = req.speed == 0 and req.replay is not None and not ticks  # an accelerated replay: watch and beat in clock-step terms, not wall seconds
    options = LiveOptions(execution, stale, settings.emergency_stop_loss_pct,
                          float(step_s) if fastest else settings.heartbeat_s,
                          step_s / 4.0 if fastest else settings.poll_s, settings.settle_s,
                          settings.settle_wall_s if settings.settle_wall_s is not None else
                          (0.3 if req.emulator and not req.replay else 0.0))
    request_json = {"mode": req.mode, "execution_mode": execution, "data_mode": data_mode, "capital": req.capital,
                    "overrides": req.overrides, "live": req.live, "replay": list(req.replay) if req.replay else None,
                    "speed": req.speed, "strategy_id": strategy_id, "exchange": bool(req.exchange)}
    _write_json(folder / "request.json", request_json)
    (folder / "pid").write_text(str(os.getpid()))
    store.create_run(NewRun(run_id, req.mode, request_json, origin=origin, kind="live", status=RunStatus.RUNNING,
                            out_dir=str(folder)))
    log = EventLog(folder, run_id, buffered=False)
    recorder = EventRecorder(log, keep=False)
    stop_file = folder / "stop"

    def stop() -> bool:
        return stop_file.exists() or (should_stop is not None and should_stop())

    def status(st: dict) -> None:
        st = dict(st, run_id=run_id, mode=req.mode, state="running", updated_ns=time.time_ns())
        _write_json(folder / "status.json", _clean(st))
        if on_status is not None:
            on_status(st)

    t0 = time.perf_counter()
    outcome = None
    try:
        outcome = run_live(config, strategy, feed, req.capital, store, strategy_id, run_id, options, remote=remote,
                           now_ns=now_ns, sleep=sleep, should_stop=stop, subscribers=[recorder],
                           crash=CrashPoints.from_env(), on_status=status)
    except RunInterrupted as exc:
        _end(store, folder, run_id, "interrupted", exc)
        log.close()
        return LiveResult(run_id, folder, _read_status(folder), outcome)
    except StopRun as exc:
        _end(store, folder, run_id, "failed", exc)
        log.close()
        raise
    finally:
        if remote is not None:
            remote.close()
    log.close()
    sim = outcome.sim
    summary = {"run_id": run_id, "mode": req.mode, "execution_mode": execution, "steps": outcome.driver.steps_done,
               "final_equity_usd": sim.loop.equity[-1] if len(sim.loop.equity) else None,
               "orders": outcome.journal.seq, "trades": len(sim.loop.trades),
               "market_events_recorded": outcome.events_recorded,
               "recovery": outcome.recovery.findings, "attempt": outcome.recovery.attempt,
               "final_balances": {f"{a}|{t}": v for (a, t), v in sim.loop.final_balances.items()},
               "final_positions": {f"{a}|{t}": list(v) for (a, t), v in sim.loop.final_positions.items()}}
    store.finish_run(run_id, _clean(summary), config.model_dump(mode="json"), RunResults(),
                     duration_seconds=time.perf_counter() - t0)
    st = _read_status(folder)
    st.update(state="finished", summary=_clean(summary))
    _write_json(folder / "status.json", st)
    return LiveResult(run_id, folder, st, outcome)


def _read_status(folder: Path) -> dict:
    p = folder / "status.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _end(store, folder: Path, run_id: str, state: str, exc: Exception) -> None:
    body = exc.to_dict() if hasattr(exc, "to_dict") else {"error": str(exc)}
    store.fail_run(run_id, body, RunStatus.INTERRUPTED if state == "interrupted" else RunStatus.FAILED)
    st = _read_status(folder)
    st.update(state=state, error=body)
    _write_json(folder / "status.json", st)


def open_live_store(data: Path, url: str | None = None):
    """The run store with the live tables (``SqlLiveStore``), same URL rules as ``service.open_store``."""
    from basiskit.persistence.live_sql import SqlLiveStore
    from basiskit.persistence.url import database_url

    d = Path(data)
    if url is None and not os.environ.get("BASISKIT_DATABASE_URL"):
        d.mkdir(parents=True, exist_ok=True)
    return SqlLiveStore(database_url(d, url))


def session_status(data: Path, run_id: str) -> dict:
    folder = sessions_dir(data) / run_id
    if not folder.is_dir():
        raise LiveSessionNotFound(f"no live session {run_id!r} in {sessions_dir(data)}")
    st = _read_status(folder)
    st.setdefault("run_id", run_id)
    st.setdefault("state", "starting")
    if st["state"] == "running" and not _alive(folder):
        st["state"] = "interrupted"  # its process is gone
    return st


def list_sessions(data: Path) -> list[dict]:
    d = sessions_dir(data)
    if not d.is_dir():
        return []
    return [session_status(data, p.name) for p in sorted(d.iterdir(), reverse=True) if p.is_dir()]


def _alive(folder: Path) -> bool:
    try:
        pid = int((folder / "pid").read_text())
        os.kill(pid, 0)
        return True
    except (OSError, ValueError):
        return False


def stop_session(data: Path, run_id: str) -> dict:
    """Ask a running session to stop (it ends at its next watchdog round, recorded interrupted)."""
    st = session_status(data, run_id)
    if st["state"] not in ("running", "starting"):
        raise LiveSessionNotFound(f"live session {run_id!r} is not running (it is {st['state']})")
    (sessions_dir(data) / run_id / "stop").write_text("stop requested\n")
    return st


def session_events(data: Path, run_id: str, kind: str | None = None, limit: int = 200) -> list[dict]:
    """The session's event log lines (newest last), optionally of one ``kind``."""
    folder = sessions_dir(data) / run_id
    if not folder.is_dir():
        raise LiveSessionNotFound(f"no live session {run_id!r}")
    rows = []
    for f in sorted((folder / "events").glob("*_events.jsonl")):
        for line in f.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                if kind is None or rec.get("kind") == kind:
                    rows.append(rec)
    rows.sort(key=lambda r: r.get("seq", 0))
    return rows[-limit:]


__all__ = ["LiveRequest", "LiveResult", "list_sessions", "open_live_store", "session_events", "session_status",
           "start_session", "stop_session"]
