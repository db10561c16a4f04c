"""Errors raised by the data catalog.

::

    DataError            DATA-003  missing or invalid data (file, line, key named)
    ├── MalformedHeader  DATA-005  the CSV header line cannot be trusted (stray CR, duplicated name, ...)
    └── ImplausibleValue DATA-006..DATA-012  a row failed a value check (one code per check class)
"""

from __future__ import annotations

from basiskit.errors.exceptions import StopRun

CHECK_CODES = {
    "non_positive_price": "DATA-006",
    "ohlc_inconsistent": "DATA-007",
    "spike": "DATA-008",
    "funding_cap": "DATA-009",
    "index_decreasing": "DATA-010",
    "timestamp_out_of_range": "DATA-011",
    "timestamp_outlier": "DATA-012",
}
"""Registry code of each value-check class (see ``basiskit.errors.codes``)."""


class DataError(StopRun):
    code = "DATA-003"
    """A data problem that must not be silently ignored.

    Attributes:
        file: source or store path the problem is in (relative to the source dir when possible), or None.
        row: 1-based physical line number in ``file`` (header and comment lines count), or None.
        key: what the problem is about, e.g. a column name, a timestamp or a dataset id, or None.

    ``str(err)`` always names the file, line and key that are set, followed by the message.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        key: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.key = key
        super().__init__(self.__str__(), code=code)

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.key is not None:
            where.append(f"key {self.key}")
        return f"[{', '.join(where)}] {self.message}" if where else self.message


class DataSourceMissing(DataError):
    code = "DATA-001"
    """The raw data folder was not found (the message says where it was looked for and how to set it)."""


class MalformedHeader(DataError):
    """The header line of a CSV is malformed (empty, not UTF-8, a carriage return or control character
    inside it, a duplicated column name). ``row`` is the header's physical line, ``key`` the cell."""

    code = "DATA-005"


class ImplausibleValue(DataError):
    """A row failed a value check whose policy is ``error``.

    Attributes (besides file/row/key; ``key`` is the column):
        check: the check class, e.g. ``"spike"`` (its code is ``CHECK_CODES[check]``).
        column: the offending column (source column name).
        value: the offending cell as text.
        count: how many rows of the dataset's file(s) fail this check.
    """

    def __init__(self, check: str, message: str, *, file: str, row: int, column: str, value: str,
                 count: int) -> None:
        self.check, self.column, self.value, self.count = check, column, value, count
        super().__init__(message, file=file, row=row, key=column, code=CHECK_CODES[check])
