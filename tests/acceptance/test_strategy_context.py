"""What a strategy reads through its context, checked against the raw CSVs (csv module, not the
catalog): history windows of a series end at now and hold the raw bar opens, the next funding time
is the next row of the venue's funding file, the last funding rate is the last settled row, and the
portfolio view (balances, perp position) is what the fills left. A probe wraps the real btc_basis
strategy (it decides as usual) and records the readings at every step."""

from __future__ import annotations

from datetime import timezone

import pytest

from basiskit.domain.time import ns_to_iso
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import run_backtest_steps

from groundtruth import one, parse_ts, read_rows

REQ = BacktestRequest("btc_basis", "2024-03-01", "2024-03-15", 100_000.0)
KEY = "perp.binance.BTCUSDT"


class Probe:
    """Delegates to the wrapped strategy; records what the context says before each first decision
    of a step."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seen: list[dict] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def decide(self, ctx):
        if not self.seen or self.seen[-1]["step"] != ctx.step:
            self.seen.append({"step": ctx.step, "t": ctx.time_ns, "history": ctx.history(KEY, 5),
                              "next_funding": ctx.next_funding("binance.perp", "BTC"),
                              "last_rate": ctx.last_funding_rate("binance.perp", "BTC"),
                              "position": ctx.position("binance.perp", "BTC"),
                              "size": ctx.perp_size("binance.perp", "BTC"),
                              "balances": ctx.balances("binance.perp"),
                              "cash": ctx.cash("binance.perp")})
        return self.inner.decide(ctx)


def test_the_context_reads_history_funding_and_the_portfolio_like_the_raw_files(catalog, source_dir):
    probe = {}

    def driver(kernel, n, progress=None, every=0):
        probe["p"] = Probe(kernel.strategy)
        kernel.use_strategy(probe["p"])
        return run_backtest_steps(kernel, n, progress, every)

    out = run_backtest(REQ, catalog, driver=driver)
    seen = probe["p"].seen
    assert len(seen) == len(out.loop.times)

    opens = {parse_ts(r["timestamp"]): float(r["open"])
             for r in read_rows(one(source_dir, "cex/perp/binance_BTCUSDT_perp_1h_*.csv"))}
    funding = sorted((parse_ts(r["funding_timestamp"]), float(r["funding_rate"]))
                     for r in read_rows(one(source_dir, "cex/funding/binance_BTCUSDT_funding_rates_*.csv")))
    first_short = None
    for s in seen:
        now = parse_ts(ns_to_iso(s["t"]))
        hours = [now.timestamp() - 3600 * k for k in range(len(s["history"]) - 1, -1, -1)]
        expected = [opens[parse_ts(ns_to_iso(int(h * 1e9)))] for h in hours if h * 1e9 >= out.loop.times[0]]
        assert s["history"] == expected, now  # oldest first, ending at now's bar open
        end = parse_ts(ns_to_iso(out.loop.times[-1]))
        later = [t for t, _ in funding if now < t <= end]  # the run's period: none after its last step
        assert s["next_funding"] == (int(later[0].timestamp() * 1e9) if later else None), now
        size, entry = s["position"]
        assert size == pytest.approx(s["size"], abs=1e-12)
        assert s["balances"].get("USDT", 0.0) == s["cash"]
        if size < 0 and first_short is None:
            first_short = now
        if first_short is not None and now > first_short:
            settled = [(t, r) for t, r in funding if first_short < t <= now]
            assert s["last_rate"] == (settled[-1][1] if settled else None), now
    assert first_short is not None and first_short.tzinfo is timezone.utc
    assert len(seen[0]["history"]) == 1 and len(seen[-1]["history"]) == 5
