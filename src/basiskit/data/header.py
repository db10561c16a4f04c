"""The header line of a source CSV, checked before any row is read.

A malformed header is a :class:`~basiskit.data.errors.MalformedHeader` (DATA-005) naming the file, the
header's physical line and the cell, never a traceback or a silently misread column:

* no header line (empty file, only ``#`` comment lines, or an empty first line);
* a header that is not UTF-8 text (e.g. UTF-16);
* a carriage return or other control character inside the header (a stray ``\\r`` in a cell, or bare-CR
  line endings, which would make the CSV reader see a different table than the line numbers say);
  a single ``\\r`` ending the line (CRLF files) is fine;
* a duplicated column name (which of the two would be read is arbitrary).

A required column that is missing is a plain DataError (DATA-003) naming it, with a hint when a cell
differs from it only by whitespace or case.

A UTF-8 byte-order mark is accepted and skipped; leading lines starting with ``#`` are comments.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from dataclasses import dataclass

from basiskit.data.errors import DataError, MalformedHeader

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Header:
    """``start``: byte offset of the header line in the file's data (BOM removed); ``comments``: number
    of comment lines before it (the header is physical line ``comments + 1``); ``cells``: column names."""

    start: int
    comments: int
    cells: list[str]

    @property
    def line(self) -> int:
        return self.comments + 1


def _shown(cell: str) -> str:
    return repr(cell)


def parse_header(data: bytes, rel: str, required: list[str]) -> Header:
    """Locate and check the header of a CSV's bytes (BOM already removed by the caller or not).

    Raises:
        MalformedHeader: see the module docstring (``file=rel``, ``row`` = header line, ``key`` = cell).
        DataError: a required column is missing (``key`` = the column).
    """
    if data.startswith(BOM):
        data = data[len(BOM):]
    start, comments = 0, 0
    while data.startswith(b"#", start):
        nl = data.find(b"\n", start)
        if nl < 0:
            raise MalformedHeader("no header line after the comment lines", file=rel, row=comments + 1)
        start, comments = nl + 1, comments + 1
    end = data.find(b"\n", start)
    raw = data[start: end if end >= 0 else len(data)]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    line = comments + 1
    if not raw.strip():
        raise MalformedHeader("the header line is empty (expected column names: "
                              f"{', '.join(required)})", file=rel, row=line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedHeader(f"the header line is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                              "save the file as UTF-8", file=rel, row=line) from None
    bad = [i for i, ch in enumerate(text) if unicodedata.category(ch) == "Cc" and ch != "\t"]
    if bad:
        pos = bad[0]
        cell_no = text.count(",", 0, pos) + 1
        what = "a carriage return (\\r)" if text[pos] == "\r" else f"control character {text[pos]!r}"
        hint = " (bare-CR line endings? use \\n or \\r\\n)" if text[pos] == "\r" else ""
        near = text[max(0, pos - 20): pos + 20]
        raise MalformedHeader(f"the header line contains {what} inside it, in column {cell_no} "
                              f"(near {near!r}){hint}", file=rel, row=line, key=str(cell_no))
    cells = next(csv.reader([text]), [])
    dups = [c for c, n in Counter(cells).items() if n > 1]
    if dups:
        where = [i + 1 for i, c in enumerate(cells) if c == dups[0]]
        raise MalformedHeader(f"duplicated column name {_shown(dups[0])} (columns {', '.join(map(str, where))}): "
                              "which one is meant is ambiguous", file=rel, row=line, key=dups[0])
    for col in required:
        if col not in cells:
            near = [c for c in cells if c.strip().lower() == col.lower()]
            hint = f"; column {_shown(near[0])} differs only by whitespace or case" if near else ""
            raise DataError(f"required column {col!r} is missing (columns: "
                            f"{', '.join(_shown(c) for c in cells)}){hint}", file=rel, row=line, key=col)
    return Header(start, comments, cells)
