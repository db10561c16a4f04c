"""Same numbers before and after a change of the core: every mode's summary figures and trades.

``python bench/same_numbers.py record FILE`` runs the cases below and writes every numeric summary
figure (flattened: ``attribution.funding``, ``excess_return.aave_v3_usdt_supply.excess_return``, ...)
and every trade (time, venue, operation, instrument, side, status, amount, price, fee, gas) to FILE.
``python bench/same_numbers.py compare FILE`` runs them again and reports every figure that differs
by more than 1e-9 relative (with an absolute floor of 1e-9 x the run's capital, for figures that
are ~0) and every trade that differs; exit code 1 if anything does.

Timing figures (loop_seconds, steps_per_second) are left out. The cases: every mode over its whole
period, the basis modes with deposits and withdrawals, and the README's examples.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

from basiskit.data.catalog import Catalog
from basiskit.engine.backtest import BacktestRequest, run_backtest

R = BacktestRequest
CASES: dict[str, BacktestRequest] = {
    "pure_lending": R("pure_lending", "2024-01-01", "2025-09-18", 100_000.0),
    "btc_basis": R("btc_basis", "2024-01-01", "2025-09-29", 100_000.0),
    "eth_basis": R("eth_basis", "2024-01-01", "2025-09-25", 100_000.0),
    "btc_basis_flows": R("btc_basis", "2024-02-01", "2024-12-31", 100_000.0, deposits=(("2024-05-01", 40_000.0),),
                         withdrawals=(("2024-09-10", 25_000.0),)),
    "eth_basis_flows": R("eth_basis", "2024-06-01", "2025-03-01", 100_000.0, deposits=(("2024-07-01", 10_000.0),),
                         withdrawals=(("2025-01-05", 60_000.0),)),
    "btc_basis_no_rebalance": R("btc_basis", "2024-03-01", "2024-07-01", 100_000.0, overrides={"rebalance": False}),
    "eth_basis_readme": R("eth_basis", "2024-01-01", "2025-09-25", 250_000.0,
                          overrides={"hedge_allocation": {"binance": 0.7, "bybit": 0.3, "okx": 0.0}},
                          deposits=(("2024-06-01", 50_000.0),), withdrawals=(("2025-01-15", 20_000.0),)),
    "eth_staking_only": R("eth_staking_only", "2024-05-13", "2025-09-25", 50.0),
    "eth_leveraged": R("eth_leveraged", "2024-05-13", "2025-09-25", 50.0),
    "eth_leveraged_usdt_hedged": R("eth_leveraged", "2024-05-13", "2025-09-25", 100_000.0, share_class="USDT",
                                   overrides={"hedge": True}),
    "eth_leveraged_restaking": R("eth_leveraged_restaking", "2024-05-13", "2025-09-25", 50.0),
    "usdt_market_neutral_no_leverage": R("usdt_market_neutral_no_leverage", "2024-05-13", "2025-09-25", 100_000.0),
    "usdt_market_neutral": R("usdt_market_neutral", "2024-05-13", "2025-09-25", 100_000.0),
    "eth_leveraged_shock": R("eth_leveraged", "2024-06-01", "2024-07-01", 100.0,
                             overrides={"target_ltv": 0.92, "rebalance": False,
                                        "shock": {"kind": "borrow_rate", "multiplier": 20, "at": "2024-06-10T00:00",
                                                  "hours": 168}}),
}
SKIP = {"loop_seconds", "steps_per_second"}


def flatten(obj, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in SKIP or k == "config":
                continue
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, bool):
        out[prefix[:-1]] = float(obj)
    elif isinstance(obj, (int, float)):
        out[prefix[:-1]] = float(obj)
    return out


def trades(outcome) -> list[list]:
    rows = []
    for tr in outcome.loop.trades:
        o = tr.order
        rows.append([tr.timestamp, o.venue, o.operation.value, o.token, o.side.value if o.side else "", tr.status.value,
                     tr.executed_amount if tr.ok else o.amount, tr.price, tr.fee, tr.gas_usd])
    return rows


def run_all(cat: Catalog) -> dict:
    out = {}
    for name, req in CASES.items():
        o = run_backtest(req, cat)
        out[name] = {"capital": req.capital, "summary": flatten(o.summary), "trades": trades(o)}
        print(f"{name}: {len(out[name]['trades'])} trades, final equity {o.summary['final_equity']:.6f}", flush=True)
    return out


def close(a: float, b: float, floor: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= max(1e-9 * max(abs(a), abs(b)), floor)


def compare(before: dict, after: dict) -> list[str]:
    problems = []
    for name, b in before.items():
        a = after.get(name)
        if a is None:
            problems.append(f"{name}: not run")
            continue
        floor = 1e-9 * b["capital"]
        for k, v in b["summary"].items():
            if k not in a["summary"]:
                problems.append(f"{name}: {k} missing")
            elif not close(v, a["summary"][k], floor):
                problems.append(f"{name}: {k} {v!r} -> {a['summary'][k]!r}")
        if len(b["trades"]) != len(a["trades"]):
            problems.append(f"{name}: {len(b['trades'])} trades -> {len(a['trades'])}")
            continue
        for k, (tb, ta) in enumerate(zip(b["trades"], a["trades"])):
            same = tb[:6] == ta[:6] and all(close(x, y, floor) for x, y in zip(tb[6:], ta[6:]))
            if not same:
                problems.append(f"{name}: trade {k} {tb} -> {ta}")
                break
    return problems


def main() -> int:
    what, path = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as home:
        cat = Catalog(Path(home))
        cat.ensure_imported()
        got = run_all(cat)
    if what == "record":
        path.write_text(json.dumps(got, separators=(",", ":")))
        print(f"recorded {len(got)} cases in {path}")
        return 0
    problems = compare(json.loads(path.read_text()), got)
    for p in problems:
        print(p)
    print(f"{len(CASES)} cases: " + ("same numbers" if not problems else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
