"""Book-ticker datasets (data/ticks.py): bad rows named by file and line, stream defects reported with
their lines (never silently fixed), the real LUNC files as the data README describes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from basiskit.data.errors import DataError
from basiskit.data.ticks import TICK_SPECS, TickCatalog, load_book_tickers, read_book_ticker_csv

SOURCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
MEXC = "ticks.mexc.spot.LUNCUSDT"
GATE = "ticks.gateio.perp.LUNCUSDT"
needs_data = pytest.mark.skipif(not (SOURCE / "ticks").is_dir(), reason="shared data not present")


def _real_lines(n: int) -> list[str]:
    path = next((SOURCE / "ticks").glob("MEXC_SPOT_LUNC_USDT_*.csv"))
    return path.read_text().splitlines()[: n + 1]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "ticks.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


@needs_data
def test_real_files_match_the_data_readme():
    cat = TickCatalog(SOURCE)
    mexc, rm = cat.read(MEXC)
    gate, rg = cat.read(GATE)
    assert len(mexc) == len(gate) == 10_000
    assert rm.start.startswith("2025-10-11T04:18:33") and rm.end.startswith("2025-10-11T05:51:52")
    assert rg.start.startswith("2025-10-11T02:44:56") and rg.end.startswith("2025-10-11T05:51:53")
    assert rm.median_gap_s == pytest.approx(0.54, abs=0.01) and rg.median_gap_s == pytest.approx(0.82, abs=0.01)
    assert rg.max_gap_s == pytest.approx(19.4, abs=0.05)
    overlap = (gate.ts >= mexc.ts[0]) & (gate.ts <= mexc.ts[-1])
    # README: Gate.io 5,019 rows in the overlap -- the 5,018 updates inside it and the book in force at its start
    assert int(overlap.sum()) + 1 == 5019
    assert rm.clean and rg.clean
    # every event's prices are the file's: mid recomputed from the columns equals the file's mid
    ev = next(iter(mexc.events()))
    assert ev.key == MEXC and ev.bid == pytest.approx(3.539e-05) and ev.ask == pytest.approx(3.54e-05)


@needs_data
@pytest.mark.parametrize("line_no,field,value,key", [
    (3, 4, "abc", "bid_price"),
    (4, 6, "-1e-5", "ask_price"),
    (5, 0, "2025-10-11 04:18:34", "timestamp"),        # naive: no UTC offset
    (6, 1, "BINANCE", "exchange"),
    (7, 8, "3.6e-05", "mid_price"),                     # disagrees with bid/ask
    (8, 5, "nan", "bid_qty"),
])
def test_a_bad_row_is_named_by_file_and_line(tmp_path, line_no, field, value, key):
    lines = _real_lines(10)
    cells = lines[line_no - 1].split(",")
    cells[field] = value
    lines[line_no - 1] = ",".join(cells)
    p = _write(tmp_path, lines)
    with pytest.raises(DataError) as err:
        read_book_ticker_csv(p, TICK_SPECS[MEXC], "ticks.csv")
    assert err.value.row == line_no and err.value.file == "ticks.csv" and err.value.key == key
    assert f"line {line_no}" in str(err.value)


@needs_data
def test_wrong_field_count_and_header(tmp_path):
    lines = _real_lines(5)
    lines[3] = lines[3] + ",x"
    with pytest.raises(DataError, match="line 4"):
        read_book_ticker_csv(_write(tmp_path, lines), TICK_SPECS[MEXC])
    lines = _real_lines(5)
    lines[0] = lines[0].replace("bid_price", "bid")
    with pytest.raises(DataError, match="line 1"):
        read_book_ticker_csv(_write(tmp_path, lines), TICK_SPECS[MEXC])


def _row(t: str, bid: float, ask: float, bq: float = 1.0, aq: float = 2.0) -> str:
    mid = (bid + ask) / 2
    return f"2025-10-11 04:18:{t}+00:00,MEXC_SPOT,LUNC,USDT,{bid!r},{bq!r},{ask!r},{aq!r},{mid!r},{(ask - bid) / mid * 1e4!r}"


def test_stream_defects_are_reported_with_lines_not_fixed(tmp_path):
    header = ",".join(["timestamp", "exchange", "symbol_base", "symbol_quote", "bid_price", "bid_qty", "ask_price",
                       "ask_qty", "mid_price", "spread_bps"])
    lines = [header,
             _row("30.000000", 1.0, 1.1),          # line 2
             _row("31.000000", 1.0, 1.1),          # 3
             _row("31.000000", 1.0, 1.1),          # 4 exact duplicate of 3
             _row("31.000000", 1.0, 1.2),          # 5 conflicting duplicate
             _row("29.500000", 1.0, 1.1),          # 6 out of order
             _row("32.000000", 1.2, 1.1),          # 7 crossed
             _row("33.000000", 1.1, 1.1)]          # 8 locked
    p = _write(tmp_path, lines)
    series, rep = read_book_ticker_csv(p, TICK_SPECS[MEXC], "t.csv")
    assert len(series) == 7  # nothing dropped
    assert (rep.duplicates, rep.duplicate_lines) == (1, [4])
    assert (rep.conflicting_duplicates, rep.conflicting_lines) == (1, [5])
    assert (rep.out_of_order, rep.out_of_order_lines) == (1, [6])
    assert (rep.crossed, rep.crossed_lines) == (1, [7])
    assert (rep.locked, rep.locked_lines) == (1, [8])
    assert list(series.valid) == [True, True, True, True, True, False, True]
    ordered = series.in_time_order()
    assert list(ordered.line) == [6, 2, 3, 4, 5, 7, 8]  # the late row takes its place in time; duplicates stay
    with pytest.raises(DataError, match="strict") as err:
        read_book_ticker_csv(p, TICK_SPECS[MEXC], "t.csv", strict=True)
    assert err.value.row == 4


def test_unknown_dataset_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="known: ticks.mexc"):
        load_book_tickers(tmp_path, "ticks.nowhere.spot.XUSDT")
    with pytest.raises(DataError, match="exactly one file"):
        load_book_tickers(tmp_path, MEXC)


@needs_data
def test_load_cuts_to_the_period_in_time_order():
    s = load_book_tickers(SOURCE, GATE, start=int(np.datetime64("2025-10-11T04:00:00", "ns").astype(np.int64)),
                          end=int(np.datetime64("2025-10-11T04:10:00", "ns").astype(np.int64)))
    assert len(s) > 100 and bool(np.all(np.diff(s.ts) >= 0))
    assert s.ts[0] >= np.datetime64("2025-10-11T04:00:00", "ns").astype(np.int64)
