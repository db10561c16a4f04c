"""Errors raised by the data catalog."""

from __future__ import annotations

from basiskit.errors.exceptions import StopRun


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
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.key = key
        super().__init__(self.__str__())

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
