"""Tests of the data catalog: on small CSVs built in tmp_path, and on the real shared data.

Real-data tests skip when the source dir (env BASISKIT_DATA_SOURCE, or ../shared/data) is absent.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from basiskit.data.catalog import MANIFEST_VERSION, Catalog, resolve_source_dir
from basiskit.data.errors import DataError
from basiskit.data.sources import OKX_POLICY, SPECS

OHLCV_HEADER = "timestamp,open,high,low,close,volume,quote_volume,trades_count,source,asset_pair"
FUNDING_HEADER = "funding_timestamp,funding_rate,symbol,source"


# --------------------------------------------------------------------------- helpers
def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def hour(i: int) -> str:
    return (pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def candle(i: int, price: float | None = None, **override: str) -> str:
    c = 100.0 + i if price is None else price
    vals = {"ts": hour(i), "open": f"{c - 0.5}", "high": f"{c + 1}", "low": f"{c - 1}", "close": f"{c}",
            "volume": "10"}
    vals.update(override)
    return f"{vals['ts']},{vals['open']},{vals['high']},{vals['low']},{vals['close']},{vals['volume']},1000,5,x,BTC/USDT"


SPOT = "spot.binance.BTCUSDT"
SPOT_FILE = "cex/spot/binance_BTCUSDT_spot_1h_2024-01-01_2024-01-31.csv"  # the name states the range


def spot_catalog(tmp_path: Path, lines: list[str], **kw) -> Catalog:
    src = tmp_path / "src"
    write(src / SPOT_FILE, [OHLCV_HEADER, *lines])
    return Catalog(tmp_path / "store", source_dir=src, **kw)


def report_for(cat_report, dataset_id: str, file_part: str = ""):
    matches = [r for r in cat_report.files if r.dataset_id == dataset_id and file_part in r.file]
    assert len(matches) == 1, [r.file for r in cat_report.files]
    return matches[0]


# --------------------------------------------------------------------------- small files
def test_source_dir_missing_names_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as ei:
        Catalog(tmp_path / "store", source_dir=missing)
    assert str(missing) in str(ei.value)


def test_missing_source_file_names_glob(tmp_path):
    (tmp_path / "src").mkdir()
    cat = Catalog(tmp_path / "store", source_dir=tmp_path / "src")
    with pytest.raises(DataError) as ei:
        cat.import_all(only=["perp.okx.ETHUSDT"])
    assert SPECS["perp.okx.ETHUSDT"].pattern in str(ei.value)
    assert ei.value.file == SPECS["perp.okx.ETHUSDT"].pattern
    assert not (tmp_path / "store" / "catalog" / "manifest.json").exists()


def test_missing_column_names_file_and_column(tmp_path):
    header = OHLCV_HEADER.replace("close,", "")
    src = tmp_path / "src"
    write(src / SPOT_FILE, [header, "2024-01-01T00:00:00Z,1,2,0.5,3,4,5,x,y"])
    with pytest.raises(DataError) as ei:
        Catalog(tmp_path / "store", source_dir=src).import_all(only=[SPOT])
    assert ei.value.key == "close"
    assert SPOT_FILE in str(ei.value) and "close" in str(ei.value)


def test_unknown_dataset_lists_known_ids(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0)])
    with pytest.raises(DataError) as ei:
        cat.info("spot.nowhere.XYZ")
    assert "spot.nowhere.XYZ" in str(ei.value) and SPOT in str(ei.value)
    with pytest.raises(DataError):
        cat.import_all(only=["spot.nowhere.XYZ"])


def test_load_before_import_raises(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0)])
    with pytest.raises(DataError, match="not imported"):
        cat.load(SPOT)


def test_conflicting_duplicate_names_file_timestamp_and_lines(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(1), candle(1, price=555.0), candle(2)])
    with pytest.raises(DataError) as ei:
        cat.import_all(only=[SPOT])
    msg = str(ei.value)
    assert SPOT_FILE in msg
    assert pd.Timestamp(hour(1)).isoformat() in msg
    assert "3" in msg and "4" in msg  # physical lines of the two rows (header is line 1)
    assert ei.value.row == 3


def test_identical_duplicates_dropped_and_counted(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(1), candle(1), candle(1), candle(2)])
    rep = report_for(cat.import_all(only=[SPOT]), SPOT)
    assert (rep.rows_read, rep.duplicates_dropped, rep.rows_kept, rep.conflicting_duplicates) == (5, 2, 3, 0)
    assert len(cat.load(SPOT)) == 3


def test_nan_value_names_line_and_column(tmp_path):
    bad = candle(2, volume="")
    cat = spot_catalog(tmp_path, [candle(0), candle(1), bad, candle(3)])
    with pytest.raises(DataError) as ei:
        cat.import_all(only=[SPOT])
    assert (ei.value.row, ei.value.key, ei.value.file) == (4, "volume", SPOT_FILE)
    assert "line 4" in str(ei.value) and "volume" in str(ei.value)

    cat = spot_catalog(tmp_path, [candle(0), candle(1, close="NaN")])
    with pytest.raises(DataError) as ei:
        cat.import_all(only=[SPOT])
    assert (ei.value.row, ei.value.key) == (3, "close")


def test_unparseable_value_and_timestamp_name_line(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(1, high="12x")])
    with pytest.raises(DataError) as ei:
        cat.import_all(only=[SPOT])
    assert (ei.value.row, ei.value.key) == (3, "high")

    cat = spot_catalog(tmp_path, [candle(0), candle(1), candle(2, ts="2024-13-45T00:00:00Z")])
    with pytest.raises(DataError) as ei:
        cat.import_all(only=[SPOT])
    assert (ei.value.row, ei.value.key) == (4, "timestamp")


def test_oracle_comment_lines_count_in_line_numbers(tmp_path):
    src = tmp_path / "src"
    comments = ["# Source: test", "# Asset: WETH", "# note with, comma"]
    rows = [f"{pd.Timestamp(hour(i)).strftime('%Y-%m-%d %H:%M:%S+00:00')},{2000 + i},WETH,t,USD" for i in range(4)]
    rows[2] = rows[2].replace("2002", "abc")
    write(src / "aave_v3/oracle/WETH_USD_oracle_x.csv",
          [*comments, "timestamp,oracle_price_usd,asset,source,quote_currency", *rows])
    with pytest.raises(DataError) as ei:
        Catalog(tmp_path / "store", source_dir=src).import_all(only=["oracle.WETH.USD"])
    assert ei.value.row == len(comments) + 1 + 3  # comments, header, third data row


def test_oracle_unix_seconds_and_comments_parse(tmp_path):
    src = tmp_path / "src"
    t0 = int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())
    write(src / "aave_v3/oracle/USDT_USD_oracle_x.csv",
          ["# Asset: USDT", "timestamp,oracle_price_usd,asset,source,quote_currency",
           *[f"{t0 + d * 86400},{1 + d / 1000},USDT,t,USD" for d in range(3)]])
    cat = Catalog(tmp_path / "store", source_dir=src)
    cat.import_all(only=["oracle.USDT.USD"])
    df = cat.load("oracle.USDT.USD")
    assert list(df.index) == list(pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"))
    assert df["price"].iloc[1] == pytest.approx(1.001)


def test_unsorted_rows_sorted_and_counted(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(3), candle(1), candle(2), candle(4)])
    rep = report_for(cat.import_all(only=[SPOT]), SPOT)
    assert rep.unsorted_rows == 2
    df = cat.load(SPOT)
    assert df.index.is_monotonic_increasing and len(df) == 5
    assert list(df["close"]) == [100.0, 101.0, 102.0, 103.0, 104.0]


def test_short_gap_filled_long_gap_left_missing(tmp_path):
    # hours 0..2, gap of 2 (3,4), hours 5..6, gap of 5 (7..11), hours 12..13
    hours = [0, 1, 2, 5, 6, 12, 13]
    cat = spot_catalog(tmp_path, [candle(i) for i in hours], max_fill_hours=3)
    rep = report_for(cat.import_all(only=[SPOT]), SPOT)
    assert rep.missing_steps == 7
    assert [g[2] for g in rep.gaps] == [2, 5]
    assert rep.filled_rows == 2
    assert rep.unfilled_gaps == [(pd.Timestamp(hour(7)).isoformat(), pd.Timestamp(hour(11)).isoformat(), 5)]

    df = cat.load(SPOT)
    assert len(df) == len(hours) + 2
    filled = df[df["filled"]]
    assert list(filled.index) == [pd.Timestamp(hour(3)), pd.Timestamp(hour(4))]
    prev_close = df.loc[pd.Timestamp(hour(2)), "close"]
    for col in ("open", "high", "low", "close"):
        assert (filled[col] == prev_close).all()
    assert (filled["volume"] == 0).all()
    assert pd.Timestamp(hour(8)) not in df.index

    info = cat.info(SPOT)
    assert info.filled_rows == 2 and info.unfilled_gaps == rep.unfilled_gaps
    assert info.rows == len(df)


def test_default_fill_limit_is_24_hours(tmp_path):
    hours = [0, *range(25, 27), *range(52, 54)]  # gaps of 24 and 25 missing hours
    cat = spot_catalog(tmp_path, [candle(i) for i in hours])
    rep = report_for(cat.import_all(only=[SPOT]), SPOT)
    assert rep.filled_rows == 24
    assert [g[2] for g in rep.unfilled_gaps] == [25]


def test_funding_gaps_reported_not_filled(tmp_path):
    src = tmp_path / "src"
    ts = [pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=8 * k) for k in (0, 1, 3, 4)]
    write(src / "cex/funding/binance_BTCUSDT_funding_rates_x.csv",
          [FUNDING_HEADER, *[f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},0.0001,BTCUSDT,b" for t in ts]])
    cat = Catalog(tmp_path / "store", source_dir=src)
    rep = report_for(cat.import_all(only=["funding.binance.BTCUSDT"]), "funding.binance.BTCUSDT")
    assert rep.missing_steps == 1 and rep.filled_rows == 0 and len(rep.unfilled_gaps) == 1
    df = cat.load("funding.binance.BTCUSDT")
    assert list(df.columns) == ["funding_rate"] and len(df) == 4


def test_off_grid_timestamp_rejected(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(1, ts="2024-01-01T01:30:00Z")])
    with pytest.raises(DataError) as ei:
        cat.import_all(only=[SPOT])
    assert ei.value.row == 3


def _okx_small(src: Path) -> None:
    header = "instrument,contract_type,funding_rate,real_funding_rate,funding_time,date"
    for day, rows in {
        "2024-05-01": [("ETH-USDT-SWAP", "0.0001", "0.0009", "08:00"), ("BTC-USDT-SWAP", "0.0002", "0.0007", "08:00"),
                       ("BTC-USDT-SWAP", "0.0003", "0.0006", "00:00"), ("BTC-USDT-SWAP", "0.0004", "0.0005", "16:00")],
        "2024-05-02": [("BTC-USDT-SWAP", "0.0005", "0.0004", "00:00"), ("BTC-USDT-SWAP", "0.0009", "0.0004", "00:00")],
    }.items():
        write(src / f"cex/okx_funding_all_instruments/okx_funding_rates_{day}.csv",
              [header, *[f"{i},SWAP,{f},{r},{day} {t}:00+00:00,{day}" for i, f, r, t in rows]])
    write(src / "cex/funding/okx_BTCUSDT_funding_rates_x.csv",
          [FUNDING_HEADER, "2024-05-01T00:00:00Z,0.0003,BTCUSDT,okx", "2024-05-02T00:00:00Z,0.0005,BTCUSDT,okx",
           "2024-05-02T00:00:00Z,0.0009,BTCUSDT,okx"])


def test_okx_policy_uses_real_funding_rate_and_reports_conflicts(tmp_path):
    src = tmp_path / "src"
    _okx_small(src)
    cat = Catalog(tmp_path / "store", source_dir=src)
    report = cat.import_all(only=["funding.okx.BTCUSDT"])
    main = report_for(report, "funding.okx.BTCUSDT", "okx_funding_all_instruments")
    audit = report_for(report, "funding.okx.BTCUSDT", "cex/funding/")
    assert main.conflict_policy == audit.conflict_policy == OKX_POLICY
    assert (main.rows_read, main.duplicates_dropped, main.conflicting_duplicates) == (5, 1, 0)
    assert audit.conflicting_duplicates == 1 and any("superseded" in n for n in audit.notes)
    df = cat.load("funding.okx.BTCUSDT")
    assert list(df["funding_rate"]) == [0.0006, 0.0007, 0.0005, 0.0004]


def test_okx_conflict_in_real_rate_is_an_error(tmp_path):
    src = tmp_path / "src"
    _okx_small(src)
    f = src / "cex/okx_funding_all_instruments/okx_funding_rates_2024-05-02.csv"
    f.write_text(f.read_text().replace("0.0009,0.0004", "0.0009,0.0003"))
    with pytest.raises(DataError) as ei:
        Catalog(tmp_path / "store", source_dir=src).import_all(only=["funding.okx.BTCUSDT"])
    assert ei.value.file.endswith("okx_funding_rates_2024-05-02.csv") and ei.value.row == 2


def test_manifest_stale_detection_and_ensure_imported(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(1)])
    cat.import_all(only=[SPOT])
    manifest = tmp_path / "store" / "catalog" / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["datasets"][SPOT]["sources"][0]["path"] == SPOT_FILE
    assert not [p for p in manifest.parent.iterdir() if ".tmp" in p.name]
    assert cat.is_stale() == []
    write(tmp_path / "src" / SPOT_FILE, [OHLCV_HEADER, candle(0), candle(1), candle(2)])
    assert cat.is_stale() == [SPOT]
    fresh = Catalog(tmp_path / "store", source_dir=tmp_path / "src")
    with pytest.raises(DataError):  # other datasets have no source in this tiny source dir
        fresh.ensure_imported()
    fresh.import_all(only=[SPOT])
    assert len(fresh.load(SPOT)) == 3 and fresh.is_stale() == []


def test_load_returns_copy_and_utc_index(tmp_path):
    cat = spot_catalog(tmp_path, [candle(0), candle(1)])
    cat.import_all(only=[SPOT])
    df = cat.load(SPOT)
    df["close"] = -1.0
    again = cat.load(SPOT)
    assert (again["close"] > 0).all()
    assert str(again.index.tz) == "UTC" and again.index.name == "timestamp"
    assert again["close"].dtype == "float64" and again["filled"].dtype == bool


def test_data_error_str_names_file_row_key():
    err = DataError("bad", file="a/b.csv", row=7, key="close")
    assert all(part in str(err) for part in ("a/b.csv", "7", "close", "bad"))


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real(tmp_path_factory):
    try:
        source = resolve_source_dir()
    except DataError as exc:
        pytest.skip(f"real data not available ({exc}); set BASISKIT_DATA_SOURCE to run")
    cat = Catalog(tmp_path_factory.mktemp("store"), source_dir=source)
    seen: list[str] = []
    report = cat.import_all(progress=seen.append)
    assert seen == cat.dataset_ids()
    return cat, report, source


def test_real_bybit_spot_identical_duplicates(real):
    _, report, _ = real
    rep = report_for(report, "spot.bybit.BTCUSDT")
    assert rep.duplicates_dropped == 15 and rep.conflicting_duplicates == 0
    assert rep.rows_kept == rep.rows_read - 15


def test_real_binance_spot_gaps_filled(real):
    cat, report, _ = real
    rep = report_for(report, "spot.binance.BTCUSDT")
    assert rep.missing_steps == 345 and len(rep.gaps) == 15
    assert max(g[2] for g in rep.gaps) <= 24
    assert rep.filled_rows == 345 and rep.unfilled_gaps == []
    df = cat.load("spot.binance.BTCUSDT")
    assert int(df["filled"].sum()) == 345
    assert len(df) == len(pd.date_range(df.index[0], df.index[-1], freq="h"))


def test_real_okx_eth_perp_month_gaps_unfilled(real):
    cat, report, _ = real
    rep = report_for(report, "perp.okx.ETHUSDT")
    # README: "2 gaps, one of 30 days (1,440 missing hours)"; the file has two gaps of 720 h = 30 days each
    assert rep.missing_steps == 1440
    assert sorted(g[2] for g in rep.unfilled_gaps) == [720, 720]
    assert rep.filled_rows == 0
    df = cat.load("perp.okx.ETHUSDT")
    start, end, _ = cat.info("perp.okx.ETHUSDT").unfilled_gaps[0]
    assert df.loc[pd.Timestamp(start) : pd.Timestamp(end)].empty


def test_real_okx_per_symbol_funding_conflicts(real):
    _, report, _ = real
    for sym in ("BTCUSDT", "ETHUSDT"):
        audit = report_for(report, f"funding.okx.{sym}", "cex/funding/")
        assert audit.conflicting_duplicates == 210 and audit.conflict_policy == OKX_POLICY
        main = report_for(report, f"funding.okx.{sym}", "okx_funding_all_instruments")
        assert main.conflicting_duplicates == 0


def test_real_okx_funding_is_real_funding_rate(real):
    cat, _, source = real
    day = source / "cex/okx_funding_all_instruments/okx_funding_rates_2025-03-29.csv"
    with day.open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["instrument"] == "BTC-USDT-SWAP")
    df = cat.load("funding.okx.BTCUSDT")
    assert df.loc[pd.Timestamp(row["funding_time"]), "funding_rate"] == float(row["real_funding_rate"])


def test_real_funding_never_filled(real):
    cat, report, _ = real
    funding = [d for d in cat.dataset_ids() if d.startswith("funding.")]
    assert len(funding) == 6
    for rep in report.files:
        if rep.dataset_id in funding:
            assert rep.filled_rows == 0
    for d in funding:
        info = cat.info(d)
        assert info.filled_rows == 0 and info.step_seconds == 8 * 3600
        assert info.rows == len(cat.load(d))
        assert sum(g[2] for g in info.unfilled_gaps) == report_for(report, d, SPECS[d].pattern.split("*")[0]).missing_steps


def test_real_frames_unique_sorted_utc(real):
    cat, _, _ = real
    for d in cat.dataset_ids():
        df = cat.load(d)
        assert isinstance(df.index, pd.DatetimeIndex) and str(df.index.tz) == "UTC", d
        assert df.index.name == "timestamp"
        assert df.index.is_unique and df.index.is_monotonic_increasing, d
        assert list(df.columns) == SPECS[d].output_columns
        assert all(df[c].dtype == "float64" for c in SPECS[d].value_columns), d
        assert not df[SPECS[d].value_columns].isna().any().any(), d


def test_real_aave_usdt_liquidity_index_matches_csv(real):
    cat, _, source = real
    path = next((source / "aave_v3/rates").glob("aave_v3_aave-v3-ethereum_USDT_rates_*[0-9].csv"))
    with path.open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["targetDate"].startswith("2024-01-01"))
    df = cat.load("aave.USDT")
    assert df.loc[pd.Timestamp("2024-01-01", tz="UTC"), "liquidity_index"] == float(row["liquidityIndex"])


def test_real_manifest_fresh_and_ensure_is_noop(real):
    cat, _, _ = real
    assert cat.is_stale() == []
    before = os.stat(cat.manifest_path).st_mtime_ns
    cat.ensure_imported()
    assert os.stat(cat.manifest_path).st_mtime_ns == before


# --------------------------------------------------------------------------- data policy stores
def test_repair_policy_gets_its_own_store_and_the_default_store_stays_clean(tmp_path):
    from basiskit.data.errors import ImplausibleValue
    from basiskit.config.data_policy import DataPolicy

    rows = [candle(i) for i in range(30)]
    rows[12] = candle(12, price=1e9, high="1e9", low="1e9", open="1e9")
    cat = spot_catalog(tmp_path, rows)
    with pytest.raises(ImplausibleValue) as ei:
        cat.import_all(only=[SPOT])
    assert (ei.value.code, ei.value.row, ei.value.file) == ("DATA-008", 14, SPOT_FILE)
    assert not cat.manifest_path.exists()

    policy = DataPolicy(spike="drop_and_fill")
    repaired = cat.for_policy(policy)
    assert repaired is cat.for_policy(DataPolicy(spike="drop_and_fill")) and cat.for_policy(None) is cat
    assert repaired.catalog_dir != cat.catalog_dir and repaired.catalog_dir.parent.name == "catalog-policies"
    rep = report_for(repaired.import_all(only=[SPOT]), SPOT)
    assert rep.repairs == {"spike": 1} and rep.data_policy == {"spike": "drop_and_fill"}
    info = repaired.info(SPOT)
    assert info.repairs == {"spike": 1} and info.data_policy == {"spike": "drop_and_fill"}
    df = repaired.load(SPOT)
    assert df["close"].max() < 1000 and int(df["repaired"].sum()) == 1 and int(df["filled"].sum()) == 1
    manifest = json.loads(repaired.manifest_path.read_text())
    assert manifest["data_policy"] == {"spike": "drop_and_fill"}
    assert not cat.manifest_path.exists()  # the default catalog never saw the repaired data
    with pytest.raises(DataError, match="not imported"):
        cat.load(SPOT)


def test_manifest_of_another_version_or_policy_is_reimported(tmp_path):
    cat = spot_catalog(tmp_path, [candle(i) for i in range(3)])
    cat.import_all(only=[SPOT])
    data = json.loads(cat.manifest_path.read_text())
    data["version"] = MANIFEST_VERSION - 1
    cat.manifest_path.write_text(json.dumps(data))
    fresh = Catalog(tmp_path / "store", source_dir=tmp_path / "src")
    assert fresh._read_manifest() is None  # written by an older version: everything is imported again
    data["version"] = MANIFEST_VERSION
    data["data_policy"] = {"spike": "drop"}
    cat.manifest_path.write_text(json.dumps(data))
    assert Catalog(tmp_path / "store", source_dir=tmp_path / "src")._read_manifest() is None
