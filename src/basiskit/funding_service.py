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


def scan_history(catalog: Catalog, step_hours: int = 1, **cost_kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank at every ``step_hours`` over the whole funding history: ``(times ns, order (T, M), net APR (T, M))``."""
    table, _ = funding_table(catalog)
    costs = funding_costs(**cost_kw)
    lo, hi = table.span()
    step = step_hours * 3_600_000_000_000
    at = np.arange(lo - lo % step, hi + 1, step, dtype=np.int64)
    order, net, _ = opp.rank_history(table, costs, at)
    return at, order, net
