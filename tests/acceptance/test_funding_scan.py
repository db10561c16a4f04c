"""The funding service on the real data, checked against the raw CSVs read here independently."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from basiskit import funding_service
from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings
from basiskit.cli.main import app as cli
from basiskit.persistence import MemoryRunStore

from groundtruth import parse_ts

ALLOWED = {1, 2, 4, 8}


@pytest.fixture(scope="module")
def raw_okx(source_dir):
    """instrument -> {time: real_funding_rate} from every daily file (rows on a whole hour), and the rows
    that are not on a whole hour."""
    rows: dict[str, dict[datetime, float]] = defaultdict(dict)
    off_hour = []
    files = sorted((source_dir / "cex/okx_funding_all_instruments").glob("okx_funding_rates_*.csv"))
    for f in files:
        with f.open() as fh:
            for r in csv.DictReader(fh):
                t = datetime.fromisoformat(r["funding_time"])
                rate = float(r["real_funding_rate"])
                if t.minute or t.second:
                    off_hour.append((r["instrument"], t))
                    continue
                prev = rows[r["instrument"]].setdefault(t, rate)
                assert prev == rate, f"{f.name}: {r['instrument']} {t} conflicting real_funding_rate"
    return rows, off_hour, len(files)


@pytest.fixture(scope="module")
def table(catalog):
    return funding_service.funding_table(catalog)


def _ns(t: datetime) -> int:
    return int(t.timestamp()) * 10**9


def test_every_okx_instrument_every_settlement_on_its_own_schedule(table, raw_okx):
    tab, report = table
    raw, off_hour, nfiles = raw_okx
    okx = [k for k in tab.keys if k[0] == "okx"]
    assert len(okx) == len(raw) == 344 and report.files == nfiles == 451
    assert sorted((i, t) for i, t in off_hour) == sorted((i, datetime.fromisoformat(t)) for i, t, _ in report.off_grid)
    off, days = 0, set()
    for venue, inst in okx:
        t, r, iv = tab.settlements(venue, inst)
        want = sorted(raw[inst])
        assert t.tolist() == [_ns(x) for x in want], inst              # every raw settlement, nothing added
        assert r.tolist() == [raw[inst][x] for x in want], inst        # real_funding_rate, as settled
        for k, x in enumerate(want):
            days.add((inst, x.date()))
            gap_h = (x - want[k - 1]).total_seconds() / 3600 if k else None
            if gap_h in ALLOWED:
                assert iv[k] == gap_h, (inst, x)                        # the interval is the time since the last one
            h = int(iv[k])
            if h not in ALLOWED or (x.hour % h) != 0:
                off += 1
    assert off == 0
    assert tab.off_schedule_count() == 0
    assert len(days) > 100_000  # instrument-days checked
    # the schedule changes over time: instruments on 1 h, 2 h, 4 h and 8 h, some switching
    assert {int(h) for h in set(tab.intervals.tolist())} == ALLOWED
    assert any(len({s[2] for s in tab.schedule("okx", i)}) > 1 for _, i in okx)


@pytest.mark.parametrize("at", ["2024-05-20T09:00:00", "2025-03-01T00:00:00", "2025-09-07T12:00:00"])
def test_scan_ranks_every_okx_instrument_with_a_current_rate(catalog, raw_okx, at):
    raw, _, _ = raw_okx
    when = datetime.fromisoformat(at).replace(tzinfo=timezone.utc)
    current = {i for i, rows in raw.items() if any(when - timedelta(hours=48) <= t <= when for t in rows)}
    res = funding_service.scan(catalog, at, top=None)
    okx = {o["short"] if o["long"].endswith(":spot") else o["long"] for o in res["opportunities"]
           if o["kind"] == "perp_spot" and o["long"].startswith("okx:")}
    assert okx == {f"okx:{i}" for i in current} and res["okx_instruments_ranked"] == len(current) > 200
    nets = [o["net_apr"] for o in res["opportunities"]]
    assert nets == sorted(nets, reverse=True)


def test_cross_venue_btc_spread_by_hand_from_the_raw_files(catalog, source_dir):
    at = datetime(2024, 6, 3, 10, tzinfo=timezone.utc)
    last = {}
    for venue in ("binance", "bybit"):
        with next((source_dir / "cex/funding").glob(f"{venue}_BTCUSDT_funding_rates_*.csv")).open() as fh:
            rows = [(parse_ts(r["funding_timestamp"]), float(r["funding_rate"])) for r in csv.DictReader(fh)]
        last[venue] = max((t, r) for t, r in rows if t <= at)[1]
    res = funding_service.scan(catalog, at.isoformat(), top=None, kinds=("cross_venue",), hold_days=30)
    o = next(o for o in res["opportunities"] if {o["long"], o["short"]} == {"binance:BTCUSDT", "bybit:BTCUSDT"}
             and o["net_apr"] == max(x["net_apr"] for x in res["opportunities"]
                                     if {x["long"], x["short"]} == {"binance:BTCUSDT", "bybit:BTCUSDT"}))
    lo, hi = sorted(last.values())
    assert o["gross_apr"] == pytest.approx((hi - lo) * 3 * 365, rel=1e-12)
    # four taker legs (binance 5+1 bps, bybit 5.5+1 bps from the venue configs) + 2 x 1 USDT TRC20 on 100,000
    assert o["cost_apr"] == pytest.approx((2 * (6e-4 + 6.5e-4) + 2 * 1.0 / 100_000) * 365 / 30, rel=1e-9)


def test_cli_and_api_show_the_same_ranking(catalog, tmp_path):
    res = CliRunner().invoke(cli, ["funding", "scan", "--at", "2025-03-01", "--top", "3", "--data-dir",
                                   str(catalog.data_dir), "--source", str(catalog.source_dir)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    want = funding_service.scan(catalog, "2025-03-01", top=3)
    for o in want["opportunities"]:
        assert o["long"] in res.output and o["short"] in res.output
    assert "off-schedule settlements 0" in res.output
    client = TestClient(create_app(ApiSettings(data_dir=tmp_path), store=MemoryRunStore(), catalog=catalog))
    got = client.get("/api/v1/funding/opportunities", params={"at": "2025-03-01", "top": 3})
    assert got.status_code == 200 and got.json()["opportunities"] == want["opportunities"]
    bad = client.get("/api/v1/funding/opportunities", params={"at": "2019-01-01"})
    assert bad.status_code in (400, 422) and "outside the funding data" in bad.text
    bad = CliRunner().invoke(cli, ["funding", "scan", "--at", "not-a-date", "--data-dir", str(catalog.data_dir),
                                   "--source", str(catalog.source_dir)])
    assert bad.exit_code == 2 and "not-a-date" in bad.output


def test_rates_of_one_instrument_match_the_raw_files_and_show_its_schedule(catalog, raw_okx, tmp_path):
    raw, _, _ = raw_okx
    res = funding_service.rates(catalog, "okx", "LPT-USDT-SWAP", limit=100_000)
    want = sorted(raw["LPT-USDT-SWAP"].items())
    assert [(datetime.fromisoformat(t.replace("Z", "+00:00")), r) for t, r, _, _ in res["settlements"]] == want
    assert [s["interval_h"] for s in res["schedule"]] == [8, 4, 2, 1, 4]  # LPT moved 8 h -> 4 h -> 2 h -> 1 h -> 4 h
    for t, r, h, apr in res["settlements"]:
        assert apr == pytest.approx(r * 8760 / h)
    client = TestClient(create_app(ApiSettings(data_dir=tmp_path), store=MemoryRunStore(), catalog=catalog))
    got = client.get("/api/v1/funding/rates/okx/LPT-USDT-SWAP", params={"start": "2025-05-30T12:00:00", "end": "2025-05-31"})
    assert got.status_code == 200
    assert [x[2] for x in got.json()["settlements"]][:4] == [4, 2, 2, 1]  # 16:00 (4 h), 18:00, 20:00 (2 h), 21:00 (1 h)
    assert client.get("/api/v1/funding/rates/okx/NOPE").status_code == 404
    items = client.get("/api/v1/funding/instruments").json()["items"]
    assert len(items) == 348 and sum(1 for i in items if i["venue"] == "okx") == 344
    res = CliRunner().invoke(cli, ["funding", "rates", "okx", "LPT-USDT-SWAP", "--data-dir", str(catalog.data_dir),
                                   "--source", str(catalog.source_dir)], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "every 1 h from 2025-05-30T21:00:00Z" in res.output
