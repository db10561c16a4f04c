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


ROW_GROUP = 1 << 17  # rows converted and written at a time (a row group each): bounded memory


def write_table(path: Path, columns: Sequence[tuple[str, Sequence, str | None]]) -> None:
    """Write ``columns`` (``(name, values, format)`` as for ``csvwriter.write_columns``: format ``"iso"``
    marks int-ns times, None text, anything else floats) to ``path`` (Parquet, snappy), atomically, in
    row groups of ``ROW_GROUP`` rows."""
    names = [name for name, _, _ in columns]
    kinds = [fmt for _, _, fmt in columns]
    data = [np.asarray(values, dtype=np.int64) if fmt == "iso" else list(values) if fmt is None
            else np.asarray(values, dtype=np.float64) for _, values, fmt in columns]
    types = [pa.timestamp("ns", tz="UTC") if fmt == "iso" else pa.string() if fmt is None else pa.float64()
             for fmt in kinds]
    schema = pa.schema(list(zip(names, types)))
    n = len(data[0]) if data else 0
    tmp = path.with_name(path.name + ".tmp")
    # no dictionary pages: per-step floats rarely repeat exactly across the run; snappy takes the runs
    with pq.ParquetWriter(tmp, schema, use_dictionary=False) as writer:
        for a in range(0, max(n, 1), ROW_GROUP):
            b = min(n, a + ROW_GROUP)
            arrays = [pa.array(d[a:b], type=t, from_pandas=fmt not in (None, "iso"))  # NaN -> null
                      for d, t, fmt in zip(data, types, kinds)]
            writer.write_batch(pa.record_batch(arrays, schema=schema))
    tmp.replace(path)
