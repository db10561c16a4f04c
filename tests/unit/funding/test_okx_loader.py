"""The OKX all-instruments loader on files built here: defects are reported or refused, never filled."""

from __future__ import annotations

import pytest

from basiskit.data.errors import DataError
from basiskit.data.funding import okx_all

HEAD = "instrument,contract_type,funding_rate,real_funding_rate,funding_time,date\n"


def write(tmp_path, days: dict[str, str]):
    d = tmp_path / "cex/okx_funding_all_instruments"
    d.mkdir(parents=True, exist_ok=True)
    for day, body in days.items():
        (d / f"okx_funding_rates_{day}.csv").write_text(body)
    return tmp_path


def row(inst, t, real, pub="0.0001"):
    return f"{inst},SWAP,{pub},{real},{t}+00:00,{t[:10]}\n"


def test_duplicates_are_dropped_and_counted_off_grid_rows_reported_gaps_counted(tmp_path):
    src = write(tmp_path, {
        "2024-05-01": HEAD + row("A-USDT-SWAP", "2024-05-01 00:00:00", "0.0001") + row("A-USDT-SWAP", "2024-05-01 08:00:00", "0.0002")
        + row("A-USDT-SWAP", "2024-05-01 08:00:00", "0.0002", pub="0.9") + row("B-USDT-SWAP", "2024-05-01 12:02:00", "0.0003"),
        "2024-05-03": HEAD + row("A-USDT-SWAP", "2024-05-03 00:00:00", "0.0004") + row("B-USDT-SWAP", "2024-05-03 04:00:00", "0.0005")
        + row("B-USDT-SWAP", "2024-05-03 08:00:00", "0.0006"),
    })
    table, rep = okx_all.load(src, tmp_path / "cache")
    assert rep.files == 2 and rep.rows == 7 and rep.duplicates == 1
    assert rep.off_grid == [("B-USDT-SWAP", "2024-05-01 12:02:00+00:00", "cex/okx_funding_all_instruments/okx_funding_rates_2024-05-01.csv")]
    t, r, iv = table.settlements("okx", "A-USDT-SWAP")
    assert r.tolist() == [0.0001, 0.0002, 0.0004] and iv.tolist() == [8, 8, 8]
    assert rep.missing_settlements == {"A-USDT-SWAP": 4}  # 16:00, 00:00, 08:00, 16:00 of the missing day
    assert table.settlements("okx", "B-USDT-SWAP")[2].tolist() == [4, 4]
    again, rep2 = okx_all.load(src, tmp_path / "cache")  # from the cache: the same table and report
    assert again.keys == table.keys and again.times.tolist() == table.times.tolist() and rep2.to_dict() == rep.to_dict()


def test_conflicting_settled_rates_are_an_error_naming_file_and_line(tmp_path):
    src = write(tmp_path, {"2024-05-01": HEAD + row("A-USDT-SWAP", "2024-05-01 00:00:00", "0.0001")
                           + row("A-USDT-SWAP", "2024-05-01 00:00:00", "0.0009")})
    with pytest.raises(DataError, match=r"okx_funding_rates_2024-05-01.csv.*line 3.*two different real_funding_rate"):
        okx_all.parse(src)


def test_missing_column_empty_rate_and_no_files_are_errors(tmp_path):
    src = write(tmp_path, {"2024-05-01": "instrument,contract_type,funding_rate,funding_time,date\n"
                                         "A-USDT-SWAP,SWAP,0.1,2024-05-01 00:00:00+00:00,2024-05-01\n"})
    with pytest.raises(DataError, match="real_funding_rate"):
        okx_all.parse(src)
    src = write(tmp_path / "b", {"2024-05-01": HEAD + "A-USDT-SWAP,SWAP,0.1,,2024-05-01 00:00:00+00:00,2024-05-01\n"})
    with pytest.raises(DataError, match=r"line 2.*empty real_funding_rate"):
        okx_all.parse(src)
    with pytest.raises(DataError, match="no OKX all-instruments funding files"):
        okx_all.parse(tmp_path / "empty")
