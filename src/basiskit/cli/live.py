"""``basiskit live``: paper and live sessions on the backtest's kernel.

    basiskit live MODE --paper|--live [--set KEY=VALUE ...] [--set live.KEY=VALUE ...]
                  [--replay START END --speed X | --emulator URL] [--exchange ADDRESS_FILE] [--strategy-id ID]
    basiskit live status [RUN]       one session's status (or every session's, newest first)
    basiskit live stop RUN           ask a running session to stop

``BASIS_EXECUTION_MODE`` (paper|live) is the default of ``--paper/--live``; ``BASIS_DATA_MODE``
(csv|db) says where a replay reads its market data. Exit codes: 0 finished, 2 bad request, 3 stopped
by the circuit breaker, 130/143 interrupted (Ctrl-C / SIGTERM; the session is recorded interrupted).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from basiskit import live_service, service
from basiskit.config.loader import parse_overrides
from basiskit.engine.live.errors import CircuitBreakerTripped
from basiskit.errors.exceptions import BasiskitError

console = Console()
err = Console(stderr=True)


def _fail(exc: Exception, code: int = 2) -> None:
    tag = f" [{exc.code}]" if isinstance(exc, BasiskitError) else ""
    err.print(f"[bold red]error{escape(tag)}:[/] {escape(str(exc))}")
    raise typer.Exit(code)


def _split_sets(items: list[str]) -> tuple[dict, dict]:
    mode, live = [], []
    for it in items:
        (live if it.startswith("live.") else mode).append(it[5:] if it.startswith("live.") else it)
    return parse_overrides(mode), parse_overrides(live)


def run_cmd(mode: str, paper: bool, live: bool, set_: list[str], capital: float, replay: Optional[list[str]],
            speed: float, exchange: Optional[Path], strategy_id: Optional[str], data_dir: Optional[Path],
            source: Optional[Path], emulator: Optional[str] = None) -> None:
    if paper and live:
        _fail(ValueError("say --paper or --live, not both"))
    execution = "paper" if paper else "live" if live else None
    data = service.data_dir(data_dir)
    store = None
    received: list[int] = []  # SIGINT/SIGTERM: the session stops between steps (never mid-order)
    previous = {s: signal.signal(s, lambda n, _f: received.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    if True:
        try:
            overrides, live_keys = _split_sets(set_)
            req = live_service.LiveRequest(mode, execution, capital, overrides, live_keys,
                                           tuple(replay) if replay else None, speed,
                                           str(exchange) if exchange else None, strategy_id, emulator=emulator)
            live_service.resolve(req)  # a bad request fails before any work
            catalog = service.open_catalog(data_dir, source)
            catalog.ensure_imported()
            store = live_service.open_live_store(data)
            result = live_service.start_session(req, catalog, store, data, should_stop=lambda: bool(received))
        except CircuitBreakerTripped as exc:
            _fail(exc, 3)
        except (BasiskitError, ValueError) as exc:
            _fail(exc, 2)
        finally:
            for s_, h in previous.items():
                signal.signal(s_, h)
            if store is not None:
                store.close()
    st = result.status
    if st.get("state") == "interrupted":
        err.print(f"session {result.run_id} interrupted; its book is stored (restart with --strategy-id "
                  f"{escape(st.get('strategy_id') or req.strategy_id or result.run_id)})")
        raise typer.Exit(128 + (received[0] if received else 2))
    s = st.get("summary", {})
    console.print(f"session {result.run_id} finished: {s.get('steps')} steps, {s.get('orders')} orders journaled, "
                  f"{s.get('trades')} trades, "
                  f"final equity {s.get('final_equity_usd') or float('nan'):,.2f} USD(T), "
                  f"{s.get('market_events_recorded')} market events recorded", soft_wrap=True, highlight=False)
    console.print(f"folder: {result.folder}", soft_wrap=True, highlight=False)


def status(run: Optional[str] = typer.Argument(None, help="session id (default: every session)"),
           data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
           as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """A session's status: state, equity, positions, open orders, last heartbeat, feed ages."""
    data = service.data_dir(data_dir)
    try:
        rows = [live_service.session_status(data, run)] if run else live_service.list_sessions(data)
    except BasiskitError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps(rows))
        return
    if not rows:
        console.print("no live sessions")
    for st in rows:
        eq = st.get("equity_usd")
        console.print(f"{st['run_id']}  {st.get('state')}  {st.get('execution_mode', '')}  step {st.get('step', '-')}  "
                      f"equity {eq:,.2f}" if isinstance(eq, (int, float)) else f"{st['run_id']}  {st.get('state')}",
                      soft_wrap=True, highlight=False)
        if run:
            for k in ("positions", "open_orders", "feed_age_s", "last_heartbeat_ns", "entries_paused"):
                console.print(f"  {k}: {json.dumps(st.get(k))}", soft_wrap=True, highlight=False)


def stop(run: str = typer.Argument(..., help="session id"),
         data_dir: Optional[Path] = typer.Option(None, "--data-dir")) -> None:
    """Ask a running session to stop (it is recorded interrupted; its book stays stored)."""
    try:
        live_service.stop_session(service.data_dir(data_dir), run)
    except BasiskitError as exc:
        _fail(exc)
    console.print(f"stop requested for {run}", highlight=False)


def register(app: typer.Typer) -> None:
    """``basiskit live ...``: ``status`` and ``stop`` are subcommands; any other first word is a mode."""

    @app.command("live", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def live_cmd(ctx: typer.Context,
                 mode: str = typer.Argument(..., help="strategy mode (see `basiskit modes`), or status / stop"),
                 arg: Optional[str] = typer.Argument(None, help="the session id for status / stop"),
                 paper: bool = typer.Option(False, "--paper", help="simulated fills, live market data, no keys"),
                 live: bool = typer.Option(False, "--live", help="real orders through the venue adapters"),
                 set_: list[str] = typer.Option([], "--set", help="KEY=VALUE, live.KEY=VALUE (repeatable)"),
                 capital: float = typer.Option(100_000.0, help="capital in share-class units (USDT)"),
                 replay: Optional[list[str]] = typer.Option(None, help="replay a recorded period: --replay START "
                                                                        "--replay END (YYYY-MM-DD)"),
                 speed: float = typer.Option(0.0, help="replay clock: virtual seconds per second (0: fastest)"),
                 exchange: Optional[Path] = typer.Option(None, help="address file of a simulated exchange (--live)"),
                 strategy_id: Optional[str] = typer.Option(None, "--strategy-id",
                                                           help="the persisted book's key: the same id resumes it"),
                 emulator: Optional[str] = typer.Option(None, help="URL of a running `basiskit emulator`: its "
                                                                   "streams and clock (instead of the venues')"),
                 data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
                 source: Optional[Path] = typer.Option(None, help="raw data folder for the first import"),
                 as_json: bool = typer.Option(False, "--json", help="status: print JSON")) -> None:
        """Run MODE as a paper or live session, or `live status [RUN]` / `live stop RUN`."""
        if mode == "status":
            status(arg, data_dir, as_json)
            return
        if mode == "stop":
            if arg is None:
                _fail(ValueError("live stop needs the session id"))
            stop(arg, data_dir)
            return
        if arg is not None:
            _fail(ValueError(f"unexpected argument {arg!r}"))
        if replay is not None and len(replay) != 2:
            _fail(ValueError("--replay takes the period as --replay START --replay END"))
        run_cmd(mode, paper, live, set_, capital, replay, speed, exchange, strategy_id, data_dir, source, emulator)
