"""Malformed CSV headers are coded errors naming the file and the header line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from basiskit.data.catalog import Catalog, read_table
from basiskit.data.errors import DataError, MalformedHeader

COLS = ["timestamp", "open", "high", "low", "close", "volume"]
ROW = b"2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"
SPOT_FILE = "cex/spot/binance_BTCUSDT_spot_1h_2024-01-01_2024-01-31.csv"


def read(tmp_path: Path, data: bytes) -> object:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return read_table(path, "cex/f.csv", COLS)


@pytest.mark.parametrize("data,line,what", [
    (b"timestamp,open\r,high,low,close,volume\n" + ROW, 1, "carriage return"),         # stray CR in a cell
    (b'timestamp,"open\r",high,low,close,volume\n' + ROW, 1, "carriage return"),       # quoted, still invisible
    (b"timestamp,open,high,low,close,volume\r" + ROW.replace(b"\n", b"\r"), 1, "carriage return"),  # bare CR endings
    (b"# a comment\n# another\ntimestamp,open,high\x00,low,close,volume\n" + ROW, 3, "control character"),
    (b"timestamp,open,open,low,close,volume,high\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10,3\n", 1, "duplicated column"),
    (b"\n" + ROW, 1, "empty"),
    (b"", 1, "empty"),
    (b"# only comments\n# no header", 2, "no header line"),  # the last comment line
    ("timestamp,open,high,low,close,volume\n".encode("utf-16"), 1, "not UTF-8"),
])
def test_malformed_header_is_coded_and_names_file_and_line(tmp_path, data, line, what):
    with pytest.raises(MalformedHeader) as ei:
        read(tmp_path, data)
    err = ei.value
    assert err.code == "DATA-005" and err.file == "cex/f.csv" and err.row == line
    assert what in str(err) and "cex/f.csv" in str(err)


def test_bom_and_crlf_headers_are_fine(tmp_path):
    table = read(tmp_path, b"\xef\xbb\xbftimestamp,open,high,low,close,volume\r\n" + ROW.replace(b"\n", b"\r\n"))
    assert table.num_rows == 1 and table.column("close").to_pylist() == ["1.5"]


def test_missing_column_hints_at_whitespace(tmp_path):
    with pytest.raises(DataError) as ei:
        read(tmp_path, b"timestamp, open,high,low,close,volume\n" + ROW)
    assert ei.value.key == "open" and ei.value.row == 1 and "' open'" in str(ei.value)
    assert not isinstance(ei.value, MalformedHeader)


def test_stray_carriage_return_in_a_data_row_names_its_line(tmp_path):
    data = b"timestamp,open,high,low,close,volume\n" + ROW + b"2024-01-01T01:00:00Z,1,2\r,0.5,1.5,10\n" + ROW
    with pytest.raises(DataError) as ei:
        read(tmp_path, data)
    assert ei.value.row == 3 and ei.value.file == "cex/f.csv"


def test_catalog_import_of_a_malformed_header_is_a_data_error_not_a_traceback(tmp_path):
    src = tmp_path / "src"
    path = src / SPOT_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"timestamp,open,high\r,low,close,volume,quote_volume\n" + ROW)
    with pytest.raises(MalformedHeader) as ei:
        Catalog(tmp_path / "store", source_dir=src).import_all(only=["spot.binance.BTCUSDT"])
    assert ei.value.file == SPOT_FILE and ei.value.row == 1 and ei.value.code == "DATA-005"
