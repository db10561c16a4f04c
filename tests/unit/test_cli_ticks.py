"""``basiskit data ticks``: the book-ticker reports, and a bad row named by file and line (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basiskit.cli.main import app

SOURCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.mark.skipif(not (SOURCE / "ticks").is_dir(), reason="shared data not present")
def test_reports_of_the_real_tick_files():
    r = CliRunner().invoke(app, ["data", "ticks", "--source", str(SOURCE), "--json"])
    assert r.exit_code == 0, r.output
    reports = json.loads(r.output)
    assert [x["dataset_id"] for x in reports] == ["ticks.mexc.spot.LUNCUSDT", "ticks.gateio.perp.LUNCUSDT"]
    assert all(x["rows"] == 10_000 and x["crossed"] == 0 for x in reports)


@pytest.mark.skipif(not (SOURCE / "ticks").is_dir(), reason="shared data not present")
def test_a_bad_row_exits_2_naming_file_and_line(tmp_path):
    (tmp_path / "ticks").mkdir()
    src = next((SOURCE / "ticks").glob("MEXC_SPOT_*.csv"))
    lines = src.read_text().splitlines()[:20]
    lines[7] = lines[7].replace("MEXC_SPOT", "MEXC_FUTURES")
    (tmp_path / "ticks" / src.name).write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(app, ["data", "ticks", "--source", str(tmp_path)])
    assert r.exit_code == 2
    out = " ".join(r.output.split())
    assert f"ticks/{src.name}" in out and "line 8" in out and "exchange" in out
