"""CSV text from columns, fast at a million rows: what ``results.export`` writes its files with.

The text is what ``pandas.DataFrame(columns).to_csv(path, index=False, float_format=fmt)`` writes:
text columns quoted as the csv module does (QUOTE_MINIMAL), each float formatted with its column's
``%`` format, NaN as an empty field, ``\\n`` line ends.

How it is fast: a row's float fields are formatted only where some float of the row differs (bit for
bit) from the row before -- on a one-minute clock over hourly market data ~98 % of the rows repeat
the previous row's values -- by one ``%`` operation over all those rows' values, and each row is its
text fields plus the (shared) formatted tail. Rows are written in blocks of ``BLOCK_ROWS``, so the
memory the writer needs is bounded whatever the run's length. Times become ISO text by integer
arithmetic on whole arrays (:func:`iso_seconds`), not one conversion per value.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from operator import add
from pathlib import Path

import numpy as np

BLOCK_ROWS = 1 << 16  # rows formatted and written at a time
_SPECIAL = ',"\r\n'


def csv_text(values) -> list[str]:
    """Text fields quoted as the csv module does (QUOTE_MINIMAL)."""
    out = [v if isinstance(v, str) else str(v) for v in values]
    if any(c in "".join(out) for c in _SPECIAL):
        out = ['"' + v.replace('"', '""') + '"' if any(c in v for c in _SPECIAL) else v for v in out]
    return out


_DIGITS = np.frombuffer("".join(f"{k:02d}" for k in range(100)).encode("ascii"), dtype=np.uint8).reshape(100, 2)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (proleptic Gregorian; H. Hinnant's ``civil_from_days``)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


@functools.lru_cache(maxsize=1)
def _time_of_day() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day, shape (86400, 8), ASCII bytes."""
    sod = np.arange(86_400)
    out = np.empty((86_400, 8), dtype=np.uint8)
    out[:, 2] = out[:, 5] = ord(":")
    for col, value in ((0, sod // 3600), (3, sod // 60 % 60), (6, sod % 60)):
        out[:, col:col + 2] = _DIGITS[value]
    return out


def iso_seconds(times) -> list[str]:
    """``2024-01-01T00:00:00Z`` for every int-ns time in ``times`` (UTC, whole seconds: the fraction is
    dropped, towards the past), on whole arrays: the date of each distinct day (:func:`_civil`), the
    time of day from a table. Years outside 0001..9999 take numpy's ``datetime_as_string``."""
    ns = np.asarray(times, dtype=np.int64)
    if not ns.size:
        return []
    sec = ns // 1_000_000_000
    days, sod = np.divmod(sec, 86_400)
    first, last = int(days.min()), int(days.max())
    year, month, day = _civil(np.arange(first, last + 1))
    if year.min() < 1 or year.max() > 9999 or last - first > 4_000_000:
        iso = np.datetime_as_string(sec.astype("datetime64[s]"), unit="s")
        return [s + "Z" for s in iso.tolist()]
    dates = np.empty((len(year), 10), dtype=np.uint8)
    dates[:, 4] = dates[:, 7] = ord("-")
    for col, value in ((0, year // 100), (2, year % 100), (5, month), (8, day)):
        dates[:, col:col + 2] = _DIGITS[value]
    out = np.empty((ns.size, 21), dtype=np.uint8)
    out[:, :10] = dates[days - first]
    out[:, 10] = ord("T")
    out[:, 11:19] = _time_of_day()[sod]
    out[:, 19] = ord("Z")
    out[:, 20] = ord("\n")
    text = out.tobytes().decode("ascii").split("\n")
    text.pop()
    return text


def _tails(block: np.ndarray, row_format: str) -> tuple[list[str], np.ndarray]:
    """The formatted float fields of each run of equal consecutive rows of ``block`` (shape (rows,
    columns), float64; equal bit for bit) and the first row of each run. A tail is ``,v1,v2,...``
    (NaN empty), without the line end."""
    rows, _ = block.shape
    bits = block.view(np.int64)
    new = np.ones(rows, dtype=bool)
    if rows > 1:
        np.any(bits[1:] != bits[:-1], axis=1, out=new[1:])
    first = np.flatnonzero(new)
    text = (row_format * len(first)) % tuple(block[first].ravel().tolist())
    if "nan" in text:  # a NaN field ends at ',' or at the line end; two passes for runs of NaN fields
        text = text.replace(",nan,", ",,").replace(",nan,", ",,").replace(",nan\n", ",\n")
    tails = text.split("\n")
    tails.pop()
    return tails, first


def _read_back(tails: list[str], first: np.ndarray, rows: int, width: int) -> np.ndarray:
    """The floats a reader of the file gets for the block's rows, shape (rows, width): each tail's
    fields parsed as ``float`` (correctly rounded, as pandas' parser on these short fields), empty
    as NaN."""
    nan = float("nan")
    fields = "".join(tails).split(",")[1:]
    parsed = np.array([float(f) if f else nan for f in fields], dtype=np.float64).reshape(len(tails), width)
    counts = np.diff(np.append(first, rows))
    return np.repeat(parsed, counts, axis=0)


def write_columns(path: Path, columns: Sequence[tuple[str, Sequence, str | None]], read_back: bool = False
                  ) -> dict[str, np.ndarray] | None:
    """A CSV file from columns ``(name, values, float format)``; a format of None writes the values as
    text (see :func:`csv_text`), ``"iso"`` int-ns times as :func:`iso_seconds` text (formatted block by
    block). Same text as ``pandas.DataFrame(...).to_csv(path, index=False, float_format=fmt)`` for the
    formats used here (``%.10g``, ``%.15g``). With ``read_back``, returns each float column as a reader
    of the file gets it (float64, NaN where empty) without reading the file: the writer parses only the
    text of rows that changed."""
    header = ",".join(csv_text([name for name, _, _ in columns]))
    texts = [(k, _Text(values, fmt)) for k, (_, values, fmt) in enumerate(columns) if fmt is None or fmt == "iso"]
    floats = [(k, np.asarray(values, dtype=np.float64), fmt) for k, (_, values, fmt) in enumerate(columns)
              if fmt is not None and fmt != "iso"]
    n = len(texts[0][1]) if texts else (len(floats[0][1]) if floats else 0)
    order = [k for k, _ in texts] + [k for k, _, _ in floats]
    if order != sorted(order):  # a float column before a text column: the plain row-by-row way
        _write_rows(path, header, columns)
        return {name: _parsed(_float_texts(values, fmt)) for name, values, fmt in columns
                if fmt not in (None, "iso")} if read_back else None
    row_format = "".join("," + fmt for _, _, fmt in floats) + "\n"
    back = np.empty((n, len(floats))) if read_back else None
    with open(path, "w", newline="") as fh:
        fh.write(header + "\n")
        for a in range(0, n, BLOCK_ROWS):
            b = min(n, a + BLOCK_ROWS)
            if texts:
                parts = [t.block(a, b) for _, t in texts]
                prefix = parts[0] if len(parts) == 1 else list(map(",".join, zip(*parts)))
            else:
                prefix = [""] * (b - a)
            if not floats:
                fh.write("\n".join(prefix) + "\n")
                continue
            block = np.empty((b - a, len(floats)))
            for j, (_, values, _) in enumerate(floats):
                block[:, j] = values[a:b]
            tails, first = _tails(block, row_format)
            if back is not None:
                back[a:b] = _read_back(tails, first, b - a, len(floats))
            if not texts:
                tails = [t[1:] for t in tails]
            fh.write("".join(_rows(prefix, tails, first)))
    if back is None:
        return None
    return {columns[k][0]: back[:, j] for j, (k, _, _) in enumerate(floats)}  # views of one (rows, columns) array


def _parsed(texts: list[str]) -> np.ndarray:
    return np.array([float(t) if t else float("nan") for t in texts], dtype=np.float64)


class _Text:
    """A text column: strings (quoted as the csv module does) or int-ns times written as ISO text."""

    def __init__(self, values, fmt: str | None) -> None:
        self.times = np.asarray(values, dtype=np.int64) if fmt == "iso" else None
        self.text = None if fmt == "iso" else csv_text(values)

    def __len__(self) -> int:
        return len(self.times) if self.times is not None else len(self.text)

    def block(self, a: int, b: int) -> list[str]:
        return iso_seconds(self.times[a:b]) if self.times is not None else self.text[a:b]


def _rows(prefix: list[str], tails: list[str], first: np.ndarray):
    """Row texts ``prefix[i] + tail + "\\n"``, a run of rows sharing a tail joined at once."""
    bounds = first.tolist() + [len(prefix)]
    for k, tail in enumerate(tails):
        a, b = bounds[k], bounds[k + 1]
        sep = tail + "\n"
        yield sep.join(prefix[a:b]) + sep if b - a > 1 else prefix[a] + sep


def _write_rows(path: Path, header: str, columns) -> None:
    fields = [csv_text(values) if fmt is None else iso_seconds(values) if fmt == "iso" else _float_texts(values, fmt)
              for _, values, fmt in columns]
    with open(path, "w", newline="") as fh:
        fh.write(header + "\n")
        if fields and fields[0]:
            fh.write("\n".join(map(",".join, zip(*fields))) + "\n")


def _float_texts(values, fmt: str) -> list[str]:
    """``fmt % v`` for every value (one ``%`` over the whole column); NaN as an empty field."""
    a = np.asarray(values, dtype=float)
    text = ((fmt + "\n") * len(a) % tuple(a.tolist())).split("\n")
    text.pop()
    if np.isnan(a).any():
        text = ["" if s == "nan" else s for s in text]
    return text
