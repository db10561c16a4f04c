"""Use cases of the signal strategies shared by the CLI (and any other interface): the book-ticker
datasets' validation reports."""

from __future__ import annotations

from pathlib import Path

from basiskit.data.catalog import resolve_source_dir
from basiskit.data.ticks import TickCatalog, TickReport


def tick_reports(source: Path | str | None = None) -> list[TickReport]:
    """Read and validate every book-ticker dataset of the source dir (``data.ticks``); one report each.

    Raises: DataSourceMissing (no source dir), DataError (a bad row: file and line named)."""
    return TickCatalog(resolve_source_dir(source)).report()
