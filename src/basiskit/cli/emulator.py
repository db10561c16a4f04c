"""``basiskit emulator``: serve the emulated Binance and Bybit (and with ``--okx`` OKX) on 127.0.0.1
(``basiskit.emulator``).

    basiskit emulator --start 2024-03-01 --end 2024-04-01 --speed 3600 --port 8765 \\
        --capital binance.perp:USDT=100000 --overrides-out .basiskit/emulator.json
    basiskit emulator --start 2024-03-01 --end 2024-03-02 --speed 1 \\
        --ticks binance.perp:LUNC=ticks.gateio.perp.LUNCUSDT --ticks binance.spot:LUNC=ticks.mexc.spot.LUNCUSDT

Keys: the signed endpoints accept the pairs found in the environment -- ``BINANCE_API_KEY`` /
``BINANCE_API_SECRET``, ``BYBIT_API_KEY`` / ``BYBIT_API_SECRET``, ``OKX_API_KEY`` / ``OKX_API_SECRET`` (OKX's
passphrase: ``OKX_API_PASSPHRASE``, checked when set), ``BASISKIT_EMULATOR_KEY`` /
``BASISKIT_EMULATOR_SECRET`` -- so a runner started with the same environment signs as it would for the
real venue; without any pair the command stops and says so. Secrets are never printed.
``--overrides-out`` writes, per venue, the ccxt overrides (``urls``, ``options``, ``ccxt``) that point a
live adapter at this emulator (``venues.live.load_live_venue(venue, overrides)``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Optional

import typer

PAIRS = (("BINANCE_API_KEY", "BINANCE_API_SECRET"), ("BYBIT_API_KEY", "BYBIT_API_SECRET"),
         ("OKX_API_KEY", "OKX_API_SECRET"), ("BASISKIT_EMULATOR_KEY", "BASISKIT_EMULATOR_SECRET"))


def _capital(items: list[str]) -> dict:
    out = {}
    for item in items:
        try:
            acc_tok, amt = item.split("=")
            acc, tok = acc_tok.split(":")
            out[(acc, tok)] = float(amt)
        except ValueError:
            raise typer.BadParameter(f"--capital {item!r}: expected ACCOUNT:TOKEN=AMOUNT, e.g. binance.perp:USDT=100000")
    return out


def emulator(start: str = typer.Option(..., "--start", help="first replay time (YYYY-MM-DD or ISO, UTC)"),
             end: str = typer.Option(..., "--end", help="last replay time"),
             speed: Optional[float] = typer.Option(None, "--speed", help="replay seconds per wall second (none: "
                                                   "manual mode, POST /emulator/advance moves the clock)"),
             port: int = typer.Option(0, "--port", help="port on 127.0.0.1 (0: a free one)"),
             step_seconds: Optional[int] = typer.Option(None, "--step-seconds", help="replay grid step (default: "
                                                        "the bars' length)"),
             bars: str = typer.Option("1h", "--bars", help="1h: the catalog's hourly bars; 1m: the 1-minute ETH "
                                      "perp bars of Binance and Bybit (2025-09-27..28)"),
             capital: list[str] = typer.Option([], "--capital", help="ACCOUNT:TOKEN=AMOUNT (repeatable); default "
                                               "100000 USDT in each account"),
             overrides_out: Optional[Path] = typer.Option(None, "--overrides-out", help="write the ccxt overrides here"),
             ticks: list[str] = typer.Option([], "--ticks", help="ACCOUNT:TOKEN=TICK_DATASET (repeatable), e.g. "
                                             "binance.perp:LUNC=ticks.gateio.perp.LUNCUSDT: a recorded book-ticker "
                                             "stream replayed tick by tick (at --speed, from its first update)"),
             ticks_start: Optional[str] = typer.Option(None, "--ticks-start", help="start the tick streams there "
                                                       "(ISO time, UTC) instead of at their first update"),
             lot_step: Optional[str] = typer.Option(None, "--lot-step", help="the amount step every market "
                                                    "states (e.g. 0.000000000001 for a parity run against a "
                                                    "backtest); default: each venue's own"),
             okx: bool = typer.Option(False, "--okx", help="serve OKX too (spot and USDT swaps, BTC and ETH): "
                                      "prices are Bybit's recording under OKX's names, funding OKX's own "
                                      "(recorded 2024-05-01..2025-09-07)"),
             venue_lots: bool = typer.Option(False, "--venue-lots", help="the markets state and enforce the venue "
                                             "configs' lot sizes (configs/venues/*.yaml lot_sizes: amount step, "
                                             "minimum amount and notional)"),
             data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
             source: Optional[Path] = typer.Option(None, "--source")) -> None:
    """Serve the Binance and Bybit (and with --okx OKX) APIs on 127.0.0.1, replaying the catalog's bars (Ctrl-C stops)."""
    from basiskit import service
    from basiskit.emulator.replay import DEFAULT_LAYOUT, OKX_LAYOUT, Replay, accounts_of
    from basiskit.emulator.server import EmulatorServer, ccxt_config

    keys = {os.environ[k]: os.environ[s] for k, s in PAIRS if os.environ.get(k) and os.environ.get(s)}
    if not keys:
        typer.echo("emulator: no API key pair in the environment: set BINANCE_API_KEY and BINANCE_API_SECRET (or "
                   "BYBIT_..., BASISKIT_EMULATOR_KEY/_SECRET); the signed endpoints accept those pairs", err=True)
        raise typer.Exit(2)
    layout = {**DEFAULT_LAYOUT, **OKX_LAYOUT} if okx and bars == "1h" else None
    if okx and bars != "1h":
        typer.echo("emulator: --okx serves the hourly bars only (no OKX minute replay)", err=True)
        raise typer.Exit(2)
    cap = _capital(capital) or {(acc, "USDT"): 100_000.0 for acc in accounts_of(layout or DEFAULT_LAYOUT)}
    catalog = service.open_catalog(data_dir, source)
    catalog.ensure_imported()
    if bars == "1m" and not capital:
        from basiskit.emulator.minute_bars import MINUTE_LAYOUT
        cap = {(acc, "USDT"): 100_000.0 for acc in accounts_of(MINUTE_LAYOUT)}
    replay = Replay(catalog, start, end, step_seconds or (60 if bars == "1m" else 3600), cap, bars=bars,
                    lot_step=lot_step, layout=layout, venue_lots=venue_lots)
    tick_replay = None
    if ticks:
        from basiskit.domain.time import to_ns
        from basiskit.emulator.ticks import TickReplay, load_tick_streams

        mapping = {}
        for item in ticks:
            try:
                acc_tok, dsid = item.split("=")
                acc, tok = acc_tok.split(":")
            except ValueError:
                raise typer.BadParameter(f"--ticks {item!r}: expected ACCOUNT:TOKEN=DATASET, e.g. "
                                         "binance.perp:LUNC=ticks.gateio.perp.LUNCUSDT")
            mapping[(acc, tok)] = dsid
        tick_replay = TickReplay(load_tick_streams(catalog.source_dir, mapping),
                                 to_ns(ticks_start) if ticks_start else None)
    srv = EmulatorServer(replay, keys, speed, port, ticks=tick_replay,
                         passphrase=os.environ.get("OKX_API_PASSPHRASE") or None).start()
    typer.echo(f"emulator: {srv.url}  (binance: {srv.url}/binance, bybit: {srv.url}/bybit"
               f"{f', okx: {srv.url}/okx' if okx else ''}; "
               f"{len(keys)} key(s); {'manual clock' if speed is None else f'speed x{speed:g}'})")
    if overrides_out is not None:
        overrides_out.parent.mkdir(parents=True, exist_ok=True)
        cfgs = {v: ccxt_config(v, srv.url) for v in ("binance", "bybit", *(("okx",) if okx else ()))}
        overrides_out.write_text(json.dumps({v: {"urls": c["urls"]["api"], "options": c["options"], "ccxt": c["ccxt"]}
                                             for v, c in cfgs.items()}, indent=2))
        typer.echo(f"ccxt overrides: {overrides_out}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)
