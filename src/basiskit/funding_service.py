"""Funding use cases shared by the CLI (``basiskit funding scan``) and the API
(``GET /api/v1/funding/opportunities``): the funding table of every venue and instrument, and the
ranked opportunities at a time.

Costs come from the venue configs (``basiskit/configs/venues/<venue>.yaml``, with their sources): the perp
and spot taker fee plus slippage, and the cheapest USDT transfer route between two venues
(``venues.sim.transfer.TransferCosts``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from basiskit.data.catalog import Catalog
from basiskit.data.funding import opportunities as opp
from basiskit.data.funding.okx_all import OkxLoadReport
from basiskit.data.funding.sources import load_all
from basiskit.data.funding.table import FundingTable
from basiskit.domain.time import ns_to_iso, to_ns
from basiskit.errors.exceptions import InvalidInput
from basiskit.engine.assembly import load_venue_config
from basiskit.venues.sim.transfer import TransferCosts

FUNDING_VENUES = ("binance", "bybit", "okx")


class ScanInputError(InvalidInput):
    """RUN-001: a scan parameter is invalid (``at`` unparseable or outside the data); names the field."""

    code = "RUN-001"


class UnknownSeries(ScanInputError):
    """No funding series of that venue and instrument (a missing resource: HTTP 404)."""

    http_status = 404


def funding_cache_dir(catalog: Catalog) -> Path:
    """Where the parsed OKX all-instruments table is cached: ``<data dir>/funding``."""
    return Path(catalog.data_dir) / "funding"


def funding_table(catalog: Catalog) -> tuple[FundingTable, OkxLoadReport]:
    """Every funding series (catalog + OKX all instruments). Raises DataError (names file/row)."""
    catalog.ensure_imported()
    return load_all(catalog, funding_cache_dir(catalog))


def funding_costs(notional_usd: float = 100_000.0, hold_days: float = 30.0, max_age_hours: float = 48.0,
                  venues: tuple[str, ...] = FUNDING_VENUES) -> opp.Costs:
    """Costs of the venues from their configs: taker fee + slippage (fractions), cheapest USDT route fee."""
    perp, spot, nets = {}, {}, {}
    for v in venues:
        cfg = load_venue_config(v)
        if cfg.perp is not None:
            perp[v] = (cfg.perp.taker_fee_bps + cfg.perp.slippage_bps) * 1e-4
        if cfg.spot is not None:
            spot[v] = (cfg.spot.taker_fee_bps + cfg.spot.slippage_bps) * 1e-4
        nets[v] = cfg.transfers
    routes = TransferCosts(nets)
    fees = {}
    for a in venues:
        for b in venues:
            r = routes.route(f"{a}.perp", f"{b}.perp", "USDT")
            fees[(a, b)] = float("inf") if r is None else r.fee
    return opp.Costs(perp, spot, fees, notional_usd, hold_days, max_age_hours)


def scan(catalog: Catalog, at: str | None = None, top: int | None = 20, kinds: tuple[str, ...] = (opp.CROSS, opp.PERP_SPOT),
         notional_usd: float = 100_000.0, hold_days: float = 30.0, max_age_hours: float = 48.0) -> dict[str, Any]:
    """Ranked opportunities at ``at`` (ISO time or date, UTC; default: the last time at which every venue has
    settled, i.e. the earliest of the venues' last settlements).

    Returns a JSON-able dict: ``at``, ``instruments`` (series known), ``ranked`` (with a current rate),
    ``apr_basis`` ("APR, simple, 365-day year"), ``costs`` (the model), ``opportunities`` (``top`` best),
    ``data`` (OKX files read, duplicates dropped, rows off every grid left out, off-schedule settlements: 0).

    Raises:
        ScanInputError: ``at`` outside the data or unparseable (field ``at``).
        DataError: a funding file is missing or invalid (names file and row).
    """
    table, report = funding_table(catalog)
    costs = funding_costs(notional_usd, hold_days, max_age_hours)
    lo, hi = table.span()
    if at is None:  # the last time every venue has settled: the latest moment all of them are current
        at_ns = min(int(table.series(k)[0][-1]) for v in {v for v, _ in table.keys}
                    for k in [max((k for k, (vv, _) in enumerate(table.keys) if vv == v),
                                  key=lambda k: table.series(k)[0][-1] if len(table.series(k)[0]) else 0)])
    else:
        try:
            at_ns = to_ns(at)
        except ValueError as exc:
            raise ScanInputError(f"at: {exc}", field="at") from None
        if not lo <= at_ns <= hi + int(max_age_hours * 3_600e9):
            raise ScanInputError(f"at {at} is outside the funding data ({ns_to_iso(lo)} .. {ns_to_iso(hi)})", field="at")
    ranked = opp.rank_at(table, costs, at_ns, None, kinds)
    okx_ranked = sum(1 for o in ranked if o.kind == opp.PERP_SPOT and o.long.startswith("okx:"))
    return {
        "at": ns_to_iso(at_ns), "instruments": len(table), "ranked": len(ranked), "okx_instruments_ranked": okx_ranked,
        "apr_basis": "APR: simple annual rate, 365-day year, fraction (0.1 = 10 %); net = gross - (4 taker legs + "
                     "transfers) x 365 / hold_days",
        "costs": {"perp_taker": costs.perp_taker, "spot_taker": costs.spot_taker,
                  "transfer_fee_usd": {f"{a}->{b}": f for (a, b), f in costs.transfer_fee_usd.items() if a != b},
                  "notional_usd": notional_usd, "hold_days": hold_days, "max_age_hours": max_age_hours},
        "opportunities": [o.to_dict() for o in (ranked if top is None else ranked[:top])],
        "data": {"okx_files": report.files, "okx_rows": report.rows, "okx_duplicates_dropped": report.duplicates,
                 "okx_rows_off_every_grid": [list(x) for x in report.off_grid],
                 "missing_settlements": int(sum(report.missing_settlements.values())),
                 "off_schedule_settlements": table.off_schedule_count()},
    }


def rates(catalog: Catalog, venue: str, instrument: str, start: str | None = None, end: str | None = None,
          limit: int = 10_000) -> dict[str, Any]:
    """The settled funding of one series: ``settlements`` ``[time, rate per period, interval h, APR]`` with
    ``start < time <= end`` (the last ``limit``), its ``schedule`` (runs of one interval) and ``current``
    (the last settlement at or before ``end``).

    Raises:
        UnknownSeries: an unknown series (field ``instrument``; HTTP 404). ScanInputError: bad dates.
    """
    table, _ = funding_table(catalog)
    try:
        k = table.index(venue, instrument)
    except KeyError:
        n = sum(1 for v, _ in table.keys if v == venue)
        raise UnknownSeries(f"no funding series {venue}:{instrument} ({n} series on {venue})", field="instrument") from None
    try:
        lo = to_ns(start) if start else None
        hi = to_ns(end) if end else None
    except ValueError as exc:
        raise ScanInputError(str(exc), field="start" if start else "end") from None
    t, r, iv = table.settlements(venue, instrument, lo, hi)
    t, r, iv = t[-limit:], r[-limit:], iv[-limit:]
    rows = [[ns_to_iso(int(a)), float(b), int(c), float(b) * 8760.0 / int(c)] for a, b, c in zip(t, r, iv)]
    return {"venue": venue, "instrument": instrument, "base": table.base[k], "quote": table.quote[k],
            "columns": ["time", "rate_per_period", "interval_h", "apr"], "settlements": rows,
            "current": rows[-1] if rows else None,
            "schedule": [{"from": ns_to_iso(a), "to": ns_to_iso(b), "interval_h": h}
                         for a, b, h in table.schedule(venue, instrument)]}


def instruments(catalog: Catalog) -> list[dict[str, Any]]:
    """Every funding series: venue, instrument, base, quote, settlements, first/last time, current interval."""
    table, _ = funding_table(catalog)
    out = []
    for k, (v, i) in enumerate(table.keys):
        t, _, iv = table.series(k)
        out.append({"venue": v, "instrument": i, "base": table.base[k], "quote": table.quote[k],
                    "settlements": int(t.size), "first": ns_to_iso(int(t[0])) if t.size else None,
                    "last": ns_to_iso(int(t[-1])) if t.size else None, "interval_h": int(iv[-1]) if t.size else None})
    return out


def scan_history(catalog: Catalog, step_hours: int = 1, **cost_kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank at every ``step_hours`` over the whole funding history: ``(times ns, order (T, M), net APR (T, M))``."""
    table, _ = funding_table(catalog)
    costs = funding_costs(**cost_kw)
    lo, hi = table.span()
    step = step_hours * 3_600_000_000_000
    at = np.arange(lo - lo % step, hi + 1, step, dtype=np.int64)
    order, net, _ = opp.rank_history(table, costs, at)
    return at, order, net


# -- funding arbitrage on the real data: windows, comparisons -------------------------------------------
DAY_NS = 86_400_000_000_000
HOUR_NS = 3_600_000_000_000


def price_windows(catalog: Catalog, dataset_id: str, max_gap_hours: int = 24) -> list[tuple[int, int]]:
    """``(first, last)`` bar times (ns) of the stretches of a price dataset without a hole longer than
    ``max_gap_hours`` (the catalog fills shorter ones; a longer one is a stretch without prices)."""
    idx = catalog.load(dataset_id).index.as_unit("ns").asi8
    cut = np.flatnonzero(np.diff(idx) > (max_gap_hours + 1) * HOUR_NS)
    starts = np.concatenate(([0], cut + 1))
    ends = np.concatenate((cut, [idx.size - 1]))
    return [(int(idx[a]), int(idx[b])) for a, b in zip(starts, ends)]


def _whole_days(lo: int, hi: int) -> tuple[int, int] | None:
    """The clock's first and last steps (00:00 UTC) inside ``[lo, hi]``; None if under a day."""
    a = -(-lo // DAY_NS) * DAY_NS
    b = hi // DAY_NS * DAY_NS
    return (a, b) if b - a >= DAY_NS else None


def arbitrage_runs(catalog: Catalog, asset: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The backtests that cover ``asset``'s venues with prices and funding: the venues present over the
    whole common period, and, for a venue whose prices have holes (OKX ETH), every stretch where it has
    prices with all the others. Returns ``(runs, unavailable)``: runs as ``{"venues", "start", "end"}``
    (dates), and sentences naming the pairs/venues without prices or funding and when."""
    sym = f"{asset}USDT"
    ids = set(catalog.dataset_ids())
    venues = [v for v in FUNDING_VENUES if f"perp.{v}.{sym}" in ids and f"funding.{v}.{sym}" in ids]
    missing = [v for v in FUNDING_VENUES if v not in venues]
    unavailable = [f"{asset}: every pair with {v} is unavailable (the data has no {v} {sym} "
                   f"{'perp prices' if f'perp.{v}.{sym}' not in ids else 'funding'})" for v in missing]
    table, _ = funding_table(catalog)
    for v in venues:  # funding holes longer than a day (e.g. OKX's missing days): those settlements pay nothing
        t, _, iv = table.settlements(v, sym if v != "okx" else f"{asset}-USDT-SWAP")
        gaps = np.flatnonzero(np.diff(t) > DAY_NS)
        for k in gaps:
            if t[k + 1] - t[k] > 2 * DAY_NS:
                unavailable.append(f"{asset}: pairs with {v} have no funding estimate {ns_to_iso(int(t[k]))} .. "
                                   f"{ns_to_iso(int(t[k + 1]))} (no {v} settlements in the data)")
        if gaps.size:
            unavailable.append(f"{asset}: {v} funding misses {int(sum((t[k + 1] - t[k]) // (int(iv[k + 1]) * HOUR_NS) - 1 for k in gaps))} "
                               f"settlements over {gaps.size} holes (missing days): they pay nothing in the runs")
    win = {v: price_windows(catalog, f"perp.{v}.{sym}") for v in venues}
    whole = [v for v in venues if len(win[v]) == 1]
    holed = [v for v in venues if len(win[v]) > 1]
    runs = []
    if len(whole) >= 2:
        lo = max(win[v][0][0] for v in whole)
        hi = min(win[v][0][1] for v in whole)
        days = _whole_days(lo, hi)
        if days:
            runs.append({"venues": whole, "start": ns_to_iso(days[0])[:10], "end": ns_to_iso(days[1])[:10]})
    for v in holed:
        others_lo = max(win[w][0][0] for w in whole) if whole else 0
        others_hi = min(win[w][0][1] for w in whole) if whole else 2**62
        prev_end = None
        for a, b in win[v]:
            if prev_end is not None:
                unavailable.append(f"{asset}: pairs with {v} unavailable {ns_to_iso(prev_end)} .. {ns_to_iso(a)} "
                                   f"(no {v} perp prices)")
            prev_end = b
            days = _whole_days(max(a, others_lo), min(b, others_hi))
            if days:
                runs.append({"venues": [*whole, v], "start": ns_to_iso(days[0])[:10], "end": ns_to_iso(days[1])[:10]})
        unavailable.append(f"{asset}: pairs with {v} unavailable before {ns_to_iso(win[v][0][0])} and after "
                           f"{ns_to_iso(win[v][-1][1])} (no {v} perp prices)")
    return runs, unavailable


def perfect_foresight(catalog: Catalog, asset: str, venues: list[str], start: str, end: str,
                      notional_usd: float) -> dict[str, Any]:
    """Upper bound of the funding a pair of ``venues`` could earn over ``(start, end]``: at every settlement
    time the best ordered pair's rate difference (short minus long, 0 if none is positive), x
    ``notional_usd`` per leg, with no costs and perfect knowledge of the rates (USDT)."""
    table, _ = funding_table(catalog)
    lo, hi = to_ns(start), to_ns(end)
    inst = {v: (v, f"{asset}USDT") if v != "okx" else ("okx", f"{asset}-USDT-SWAP") for v in venues}
    rates: dict[str, dict[int, float]] = {}
    for v, (venue, name) in inst.items():
        t, r, _ = table.settlements(venue, name, lo, hi)
        rates[v] = dict(zip(t.tolist(), r.tolist()))
    total, n = 0.0, 0
    for t in sorted(set().union(*[set(x) for x in rates.values()])):
        here = {v: rates[v][t] for v in venues if t in rates[v]}
        best = max((here[s] - here[l] for l in here for s in here if l != s), default=0.0)
        total += max(best, 0.0) * notional_usd
        n += 1
    return {"funding_usd": total, "settlement_times": n, "notional_usd": notional_usd}


def _run_summary(out) -> dict[str, Any]:
    s = out.summary
    rep = (s.get("strategy_state") or {}).get("state", {}).get("report", {})
    days = (to_ns(out.request.end) - to_ns(out.request.start)) / DAY_NS
    changes = rep.get("switches", 0) + rep.get("closes", 0)
    att = s["attribution"]
    return {"final_equity": s["final_equity"], "pnl": s["final_equity"] - s["initial_equity"] - s["net_deposits"],
            "apr": s.get("apr"), "funding": att["funding"], "fees": att["fees"], "slippage": att["slippage"],
            "price_basis": att["price_basis"], "liquidation": att["liquidation"],
            "funding_by_leg": {k: v.get("funding", 0.0) for k, v in s["attribution_by_venue"].items()},
            "reconciliation": s["reconciliation"],
            "opens": rep.get("opens", 0), "switches": rep.get("switches", 0), "closes": rep.get("closes", 0),
            "recenters": rep.get("recenters", 0), "pair_changes_per_month": changes / (days / 30.4375) if days else None,
            "transfer_fees_usd": rep.get("transfer_fees_usd", 0.0), "transfers": rep.get("transfers", {}),
            "rules_fired": rep.get("rules_fired", {}), "hours_by_pair": rep.get("hours_by_pair", {}),
            "steps_without_price": rep.get("steps_without_price", {}),
            "steps_without_funding_estimate": rep.get("steps_without_funding_estimate", {}),
            "liquidations": s.get("liquidations")}


def arbitrage_study(catalog: Catalog, asset: str, capital: float = 100_000.0, overrides: dict | None = None,
                    runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``funding_arbitrage`` on ``asset`` over every run of :func:`arbitrage_runs` (or ``runs``), each
    compared with the static best pair (every ordered pair held throughout, the best in hindsight) and the
    perfect-foresight upper bound of the funding. Returns a JSON-able report (``runs``, ``unavailable``)."""
    from basiskit.engine.backtest import BacktestRequest, run_backtest
    from basiskit.strategies.registry import load_mode_config

    planned, unavailable = arbitrage_runs(catalog, asset)
    out_runs = []
    for r in runs if runs is not None else planned:
        base = {**(overrides or {}), "asset": asset, "perp_venues": list(r["venues"])}
        dyn = run_backtest(BacktestRequest("funding_arbitrage", r["start"], r["end"], capital, overrides=base), catalog)
        statics = {}
        for lo in r["venues"]:
            for sh in r["venues"]:
                if lo != sh:
                    o = run_backtest(BacktestRequest("funding_arbitrage", r["start"], r["end"], capital,
                                                     overrides={**base, "static_pair": [lo, sh]}), catalog)
                    statics[f"{lo}/{sh}"] = _run_summary(o)
        best = max(statics, key=lambda k: statics[k]["final_equity"])
        cfg = load_mode_config("funding_arbitrage", base)
        notional = capital * cfg.deploy_fraction / 2 / cfg.margin_fraction
        out_runs.append({**r, "dynamic": _run_summary(dyn), "static_best_pair": best, "static": statics,
                         "perfect_foresight": perfect_foresight(catalog, asset, r["venues"], r["start"], r["end"],
                                                                notional)})
    return {"asset": asset, "capital": capital, "runs": out_runs, "unavailable": unavailable}
