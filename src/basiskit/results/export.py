"""Run outputs: ``summary.json``, ``equity.csv``, ``trades.csv``, ``events.jsonl``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from basiskit.domain.events import Event
from basiskit.domain.trades import TRADE_COLUMNS, Trade, trade_row
from basiskit.domain.time import ns_to_iso



def json_safe(obj):
    """``obj`` with NaN/inf floats as None and dict keys as strings (strict JSON)."""
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_summary(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(json_safe(summary), indent=2, sort_keys=False))


def write_equity(path: Path, times: list[int], equity: list[float], net_deposits: list[float], net_delta: list[float],
                 margin_ratios: dict[str, list], perp_names: list[str], extra: dict[str, list] | None = None) -> None:
    """One row per step. ``equity``, ``net_deposits`` and ``net_delta`` are in share-class units;
    ``extra`` adds columns (``ltv``, ``health_factor`` (empty without debt), ``equity_usd``, ...)."""
    df = pd.DataFrame({
        "timestamp": pd.to_datetime(np.asarray(times, dtype=np.int64), utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "equity": equity,
        "net_deposits": net_deposits,
        "net_delta": net_delta,
    })
    if perp_names:
        for name in perp_names:
            df[f"margin_ratio_{name.split('.')[0]}"] = np.array(
                [np.nan if x is None else x for x in margin_ratios[name]], dtype=float)
    for col, values in (extra or {}).items():
        if len(values) == len(times):
            df[col] = np.array([np.nan if x is None or not np.isfinite(x) else x for x in values], dtype=float)
    df.to_csv(path, index=False, float_format="%.10g")


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
    with path.open("w") as fh:
        for e in events:
            fh.write(json.dumps(json_safe({"run_id": run_id, "timestamp": ns_to_iso(e.timestamp), "component": e.component,
                                        "kind": e.kind, **e.data})) + "\n")


def write_outcome_equity(path: Path, outcome) -> None:
    """``equity.csv`` of a ``BacktestOutcome`` in share-class units, with ``ltv``, ``health_factor``,
    ``net_eth`` and (ETH share class) ``equity_usd``/``eth_usd`` columns when the run has them."""
    loop, view = outcome.loop, outcome.view
    extra: dict[str, list] = {"ltv": loop.ltv, "health_factor": loop.health_factor, "net_eth": loop.net_eth}
    if view.unit != "USDT":
        extra["equity_usd"] = loop.equity
        extra["eth_usd"] = list(view.eth_usd)
    write_equity(path, loop.times, list(view.equity), list(view.net_deposits), list(view.net_delta), loop.margin_ratios,
                 outcome.perp_names, extra)


def _iso(times) -> list[str]:
    return pd.to_datetime(np.asarray(times, dtype=np.int64), utc=True).strftime("%Y-%m-%dT%H:%M:%SZ").tolist()


def write_outcome_attribution(path: Path, outcome, sources: tuple[str, ...]) -> None:
    """``attribution.csv``: cumulative attribution by source in share-class units at each venue
    snapshot step (daily and the last step); the last row equals ``summary.json``'s attribution."""
    view, snaps = outcome.view, outcome.loop.snapshots
    if not snaps.steps:
        return
    rows = view.attribution_steps[snaps.steps] if view.attribution_steps is not None else np.asarray(snaps.attribution_usd)
    df = pd.DataFrame(rows, columns=list(sources))
    df.insert(0, "timestamp", _iso([outcome.loop.times[i] for i in snaps.steps]))
    df.to_csv(path, index=False, float_format="%.15g")


def write_outcome_venues(path: Path, outcome) -> None:
    """``venues.csv`` (long format): per venue snapshot step and venue account, ``value`` (share-class
    units), ``value_usd``, cumulative ``funding_usd``, signed ``perp_notional_usd`` (perps),
    ``collateral_usd`` and ``debt_usd`` (AAVE); empty where the account has no such reading."""
    loop, view, snaps = outcome.loop, outcome.view, outcome.loop.snapshots
    if not snaps.steps:
        return
    steps = np.asarray(snaps.steps)
    ts = _iso([loop.times[i] for i in snaps.steps])
    unit = np.ones(len(steps)) if view.eth_usd is None or view.unit == "USDT" else np.asarray(view.eth_usd)[steps]
    nan = np.full(len(steps), np.nan)
    frames = []
    for name, values in snaps.value_usd.items():
        v = np.asarray(values)
        frames.append(pd.DataFrame({
            "timestamp": ts, "venue": name, "value": v / unit, "value_usd": v,
            "funding_usd": snaps.funding_usd[name],
            "perp_notional_usd": snaps.perp_notional_usd.get(name, nan),
            "collateral_usd": snaps.collateral_usd.get(name, nan), "debt_usd": snaps.debt_usd.get(name, nan)}))
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.15g")
