"""Run outputs: ``summary.json``, ``equity.csv``, ``trades.csv``, ``attribution.csv``, ``venues.csv``,
``events.jsonl``.

The CSV files are written by :func:`basiskit.results.csvwriter.write_columns`: the same text as
``DataFrame.to_csv`` (``float_format`` applied to every float, NaN as an empty field) at a fraction
of its cost, in blocks of rows (bounded memory at any run length).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from basiskit.domain.events import Event
from basiskit.domain.trades import TRADE_COLUMNS, Trade, trade_row
from basiskit.results.csvwriter import iso_seconds, write_columns  # noqa: F401  (re-exported)

_JSON_KEYS = {True: "true", False: "false", None: "null"}  # how json writes these keys


def json_safe(obj):
    """``obj`` with NaN/inf floats as None and dict keys as strings (strict JSON; keys as ``json`` writes
    them: ``1`` -> ``"1"``, ``True`` -> ``"true"``, anything else not a string -> ``str(key)``)."""
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {(k if isinstance(k, str) else _JSON_KEYS[k] if k is None or isinstance(k, bool) else str(k)):
                json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def dumps_clean(obj, separators: tuple[str, str] | None = None) -> tuple[str, Any]:
    """``(json.dumps(json_safe(obj), separators=separators), what was serialised)``, without copying
    ``obj`` when it holds no NaN/inf and no key json cannot write (nearly always: json refuses those
    itself, then it is cleaned; the second item is then ``json_safe(obj)``, else ``obj``)."""
    strict, lenient = _encoders(separators)
    try:
        return strict.encode(obj), obj
    except (ValueError, TypeError):
        clean = json_safe(obj)
        return lenient.encode(clean), clean


_ENCODERS: dict = {}


def _encoders(separators: tuple[str, str] | None) -> tuple[json.JSONEncoder, json.JSONEncoder]:
    """The encoders ``json.dumps(..., allow_nan=False / True, separators=separators)`` makes on each
    call, made once (an event log serialises thousands of events a run)."""
    enc = _ENCODERS.get(separators)
    if enc is None:
        enc = _ENCODERS[separators] = (json.JSONEncoder(allow_nan=False, separators=separators),
                                       json.JSONEncoder(separators=separators))
    return enc


def dumps(obj, separators: tuple[str, str] | None = None) -> str:
    """``json.dumps(json_safe(obj), separators=separators)`` (see :func:`dumps_clean`)."""
    return dumps_clean(obj, separators)[0]


def write_summary(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(json_safe(summary), indent=2, sort_keys=False))


def _finite_or_nan(values) -> np.ndarray:
    """Floats with None and non-finite values as NaN (an empty field)."""
    a = np.array(values, dtype=float)  # a copy; None -> NaN
    a[~np.isfinite(a)] = np.nan
    return a


def equity_columns(times: Sequence[int], equity: Sequence[float], net_deposits: Sequence[float],
                   net_delta: Sequence[float], margin_ratios: dict[str, Sequence[float]], perp_names: list[str],
                   extra: dict[str, Sequence[float]] | None = None) -> list[tuple[str, Sequence, str | None]]:
    """The columns of ``equity.csv`` as ``(name, values, format)`` (see :func:`write_equity`)."""
    fmt = "%.10g"
    columns: list[tuple[str, Sequence, str | None]] = [
        ("timestamp", times, "iso"), ("equity", equity, fmt), ("net_deposits", net_deposits, fmt),
        ("net_delta", net_delta, fmt)]
    for name in perp_names:
        columns.append((f"margin_ratio_{name.split('.')[0]}",
                        np.asarray(margin_ratios[name], dtype=float), fmt))  # None/NaN: empty
    for col, values in (extra or {}).items():
        if len(values) == len(times):
            columns.append((col, _finite_or_nan(values), fmt))
    return columns


def write_equity(path: Path, times: Sequence[int], equity: Sequence[float], net_deposits: Sequence[float],
                 net_delta: Sequence[float], margin_ratios: dict[str, Sequence[float]], perp_names: list[str],
                 extra: dict[str, Sequence[float]] | None = None) -> None:
    """One row per step. ``equity``, ``net_deposits`` and ``net_delta`` are in share-class units;
    ``extra`` adds columns (``ltv``, ``health_factor`` (empty without debt), ``equity_usd``, ...)."""
    write_columns(path, equity_columns(times, equity, net_deposits, net_delta, margin_ratios, perp_names, extra))


def write_trades(path: Path, trades: list[Trade]) -> None:
    """``trades.csv``: one row per order outcome under ``TRADE_COLUMNS`` (``domain.trades.trade_row``;
    floats with repr precision, empty where missing)."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRADE_COLUMNS)
        for tr in trades:
            r = trade_row(tr)
            w.writerow(["" if r[c] is None else (repr(r[c]) if isinstance(r[c], float) else r[c]) for c in TRADE_COLUMNS])


def write_events(path: Path, events: list[Event], run_id: str) -> None:
    """``events.jsonl``: one JSON object per loop event (``run_id``, ``timestamp``, ``component``, ``kind``
    and the event's fields; NaN/inf as null)."""
    iso = iso_seconds([e.timestamp for e in events])
    with path.open("w") as fh:
        fh.writelines(dumps({"run_id": run_id, "timestamp": ts, "component": e.component, "kind": e.kind, **e.data})
                      + "\n" for e, ts in zip(events, iso))


@dataclass
class WrittenTable:
    """A per-step table as its CSV file reads back: ``times`` (int ns, the clock steps) and the float
    columns as parsed from the written text (see ``csvwriter.write_columns(read_back=True)``)."""

    times: np.ndarray
    columns: dict[str, np.ndarray]  # views of one (rows, columns) float64 array, in the file's order


def write_outcome_equity(path: Path, outcome, parquet: Path | None = None) -> WrittenTable:
    """``equity.csv`` of a ``BacktestOutcome`` in share-class units, with ``ltv``, ``health_factor``,
    ``net_eth`` and (ETH share class) ``equity_usd``/``eth_usd`` columns when the run has them; with
    ``parquet``, the same table there too (:func:`basiskit.results.parquet.write_table`: full float64
    precision where the CSV keeps 10 significant digits). Returns the table as the CSV reads back
    (what the report draws)."""
    loop, view = outcome.loop, outcome.view
    extra: dict[str, Sequence[float]] = {"ltv": loop.ltv, "health_factor": loop.health_factor, "net_eth": loop.net_eth}
    if view.unit != "USDT":
        extra["equity_usd"] = loop.equity
        extra["eth_usd"] = view.eth_usd
    columns = equity_columns(loop.times, view.equity, view.net_deposits, view.net_delta, loop.margin_ratios,
                             outcome.perp_names, extra)
    back = write_columns(path, columns, read_back=True)
    if parquet is not None:
        from basiskit.results.parquet import write_table  # pyarrow loads when a run's files are written

        write_table(parquet, columns)
    return WrittenTable(np.asarray(loop.times, dtype=np.int64), back)


def write_outcome_attribution(path: Path, outcome, sources: tuple[str, ...]) -> None:
    """``attribution.csv``: cumulative attribution by source in share-class units at each venue
    snapshot step (daily and the last step); the last row equals ``summary.json``'s attribution."""
    view, snaps = outcome.view, outcome.loop.snapshots
    if not snaps.steps:
        return
    rows = view.attribution_steps[snaps.steps] if view.attribution_steps is not None else np.asarray(snaps.attribution_usd)
    rows = np.asarray(rows, dtype=float).reshape(len(snaps.steps), len(sources))
    write_columns(path, [("timestamp", iso_seconds([outcome.loop.times[i] for i in snaps.steps]), None)]
                  + [(src, rows[:, k], "%.15g") for k, src in enumerate(sources)])


def write_outcome_venues(path: Path, outcome) -> None:
    """``venues.csv`` (long format): per venue snapshot step and venue account, ``value`` (share-class
    units), ``value_usd``, cumulative ``funding_usd``, signed ``perp_notional_usd`` (perps),
    ``collateral_usd`` and ``debt_usd`` (AAVE); empty where the account has no such reading."""
    loop, view, snaps = outcome.loop, outcome.view, outcome.loop.snapshots
    if not snaps.steps:
        return
    steps = np.asarray(snaps.steps)
    ts = iso_seconds([loop.times[i] for i in snaps.steps])
    unit = np.ones(len(steps)) if view.eth_usd is None or view.unit == "USDT" else np.asarray(view.eth_usd)[steps]
    nan = np.full(len(steps), np.nan)
    names = list(snaps.value_usd)
    value_usd = [np.asarray(snaps.value_usd[n], dtype=float) for n in names]
    stack = lambda parts: np.concatenate(parts) if parts else np.empty(0)  # noqa: E731 - rows venue by venue
    write_columns(path, [
        ("timestamp", ts * len(names), None), ("venue", [n for n in names for _ in ts], None),
        ("value", stack([v / unit for v in value_usd]), "%.15g"), ("value_usd", stack(value_usd), "%.15g"),
        ("funding_usd", stack([np.asarray(snaps.funding_usd[n], dtype=float) for n in names]), "%.15g"),
        ("perp_notional_usd", stack([np.asarray(snaps.perp_notional_usd.get(n, nan), dtype=float) for n in names]),
         "%.15g"),
        ("collateral_usd", stack([np.asarray(snaps.collateral_usd.get(n, nan), dtype=float) for n in names]), "%.15g"),
        ("debt_usd", stack([np.asarray(snaps.debt_usd.get(n, nan), dtype=float) for n in names]), "%.15g")])
