"""The columnar CSV writer and the JSON helpers give the same text as pandas / json on their own."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd

from basiskit.domain.time import ns_to_iso
from basiskit.results.export import dumps, iso_seconds, json_safe, write_columns


def test_write_columns_is_pandas_to_csv(tmp_path):
    rng = np.random.default_rng(7)
    n = 500
    a = rng.normal(0, 1e5, n)
    a[::7] = np.nan
    a[3], a[5], a[8], a[9] = np.inf, -np.inf, -0.0, 1e-300
    b = rng.random(n) * 1e-9
    text = [f"venue {i % 3}" for i in range(n)]
    text[4], text[6] = 'with, comma', 'with "quote"'
    for fmt in ("%.10g", "%.15g"):
        df = pd.DataFrame({"timestamp": [f"t{i}" for i in range(n)], "venue": text, "a": a, "b": b})
        want = io.StringIO()
        df.to_csv(want, index=False, float_format=fmt)
        write_columns(tmp_path / "x.csv", [("timestamp", df["timestamp"].tolist(), None), ("venue", text, None),
                                           ("a", a, fmt), ("b", b, fmt)])
        assert (tmp_path / "x.csv").read_text() == want.getvalue()
    write_columns(tmp_path / "empty.csv", [("timestamp", [], None), ("a", [], "%.10g")])
    assert (tmp_path / "empty.csv").read_text() == "timestamp,a\n"


def test_times_and_json_helpers_match_the_slow_forms():
    times = [0, -1, -1_000_000_001, 1_704_067_200_999_999_999, 4_102_444_800_000_000_000]
    want = [pd.Timestamp(t, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
    assert [ns_to_iso(t) for t in times] == want and iso_seconds(times) == want
    for obj in ({"a": 1.5, "b": [1, None, "x"], "c": {"d": (1, 2)}}, {"nan": math.nan, "k": {1: -math.inf}},
                {1: "int", 2.5: "float", True: "bool", None: "none"}, {"é": "ü\n"}):
        for sep in (None, (",", ":")):
            assert dumps(obj, sep) == json.dumps(json_safe(obj), separators=sep, allow_nan=False)
    assert json_safe({True: 1, None: 2, 3: 4}) == {"true": 1, "null": 2, "3": 4}  # keys as json writes them


def test_write_columns_on_repeated_rows_in_several_blocks_is_pandas_to_csv(tmp_path, monkeypatch):
    """Rows repeating the row before (a one-minute clock on hourly data) share their formatted text;
    blocks of rows are written one after the other: still pandas' text, row for row."""
    from basiskit.results import csvwriter

    monkeypatch.setattr(csvwriter, "BLOCK_ROWS", 64)
    rng = np.random.default_rng(11)
    n = 1000
    base = rng.normal(0, 1e5, n // 10)
    a = np.repeat(base, 10)
    b = np.repeat(np.where(rng.random(n // 25) < 0.3, np.nan, rng.random(n // 25)), 25)
    c = a.copy()
    c[::3] = -0.0
    c[500:700] = np.nan  # runs of NaN fields next to each other
    b[550:650] = np.nan
    times = np.arange(n, dtype=np.int64) * 60_000_000_000 + 1_704_067_200_000_000_000
    ts = [pd.Timestamp(t, tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
    assert iso_seconds(times) == ts
    df = pd.DataFrame({"timestamp": ts, "a": a, "b": b, "c": c})
    want = io.StringIO()
    df.to_csv(want, index=False, float_format="%.10g")
    write_columns(tmp_path / "x.csv", [("timestamp", ts, None), ("a", a, "%.10g"), ("b", b, "%.10g"),
                                       ("c", c, "%.10g")])
    assert (tmp_path / "x.csv").read_text() == want.getvalue()
    write_columns(tmp_path / "t.csv", [("timestamp", times, "iso"), ("a", a, "%.10g"), ("b", b, "%.10g"),
                                       ("c", c, "%.10g")])
    assert (tmp_path / "t.csv").read_text() == want.getvalue()  # int-ns times written as ISO text
    write_columns(tmp_path / "u.csv", [("a", a, "%.10g"), ("timestamp", times, "iso")])  # the row-by-row way
    assert (tmp_path / "u.csv").read_text() == df[["a", "timestamp"]].to_csv(index=False, float_format="%.10g")
    only_floats = io.StringIO()
    df[["a", "b"]].to_csv(only_floats, index=False, float_format="%.15g")
    write_columns(tmp_path / "y.csv", [("a", a, "%.15g"), ("b", b, "%.15g")])
    assert (tmp_path / "y.csv").read_text() == only_floats.getvalue()
