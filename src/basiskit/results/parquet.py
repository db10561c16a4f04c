"""Parquet copies of the run's per-step tables (``equity.parquet`` beside ``equity.csv``).

The same rows and columns as the CSV, typed: ``timestamp`` as ``timestamp[ns, tz=UTC]`` (the clock
step's time), every other column float64 at full precision (the CSV keeps 10 significant digits),
and a field the CSV leaves empty (NaN, no position, no debt) as null. Read with
``pandas.read_parquet`` / ``pyarrow.parquet.read_table`` / DuckDB / polars: one column at a time,
~10x faster than parsing the CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_table(path: Path, columns: Sequence[tuple[str, Sequence, str | None]]) -> None:
    """Write ``columns`` (``(name, values, format)`` as for ``csvwriter.write_columns``: format ``"iso"``
    marks int-ns times, None text, anything else floats) to ``path`` (Parquet, snappy), atomically."""
    arrays, names = [], []
    for name, values, fmt in columns:
        if fmt == "iso":
            arrays.append(pa.array(np.asarray(values, dtype=np.int64), type=pa.timestamp("ns", tz="UTC")))
        elif fmt is None:
            arrays.append(pa.array(list(values), type=pa.string()))
        else:
            arrays.append(pa.array(np.asarray(values, dtype=np.float64), from_pandas=True))  # NaN -> null
        names.append(name)
    tmp = path.with_name(path.name + ".tmp")
    # no dictionary pages: per-step floats rarely repeat exactly across the run; snappy takes the runs
    pq.write_table(pa.table(arrays, names=names), tmp, use_dictionary=False)
    tmp.replace(path)
