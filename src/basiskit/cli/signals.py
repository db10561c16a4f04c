"""``basiskit data ticks``: the book-ticker datasets and what their validation found."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from basiskit import signals_service
from basiskit.data.errors import DataError

console = Console()


def register(data_app: typer.Typer, fail) -> None:
    """Add ``ticks`` to the ``data`` command group (``fail(exc)``: the CLI's error exit)."""

    @data_app.command("ticks")
    def ticks(source: Optional[Path] = typer.Option(None, help="raw data folder (default $BASISKIT_DATA_SOURCE or "
                                                                "../shared/data)"),
              as_json: bool = typer.Option(False, "--json", help="print the reports as JSON")) -> None:
        """Validate the book-ticker files (ticks/*.csv) and print each one's rows, range, update gaps and
        stream defects (duplicates, rows out of order, crossed and locked books, with their first lines)."""
        try:
            reports = signals_service.tick_reports(source)
        except DataError as exc:
            fail(exc)
        if as_json:
            import json
            print(json.dumps([r.model_dump() for r in reports], indent=2))
            return
        for r in reports:
            console.print(f"{r.dataset_id}  {r.file}", highlight=False)
            console.print(f"  {r.rows:,} rows, {r.start} .. {r.end}; update gap median {r.median_gap_s:.3f} s, "
                          f"max {r.max_gap_s:.3f} s", highlight=False)
            for name, n, lines in (("duplicates", r.duplicates, r.duplicate_lines),
                                   ("conflicting duplicates", r.conflicting_duplicates, r.conflicting_lines),
                                   ("rows out of order", r.out_of_order, r.out_of_order_lines),
                                   ("crossed books", r.crossed, r.crossed_lines), ("locked books", r.locked, r.locked_lines)):
                console.print(f"  {name}: {n}" + (f" (lines {', '.join(map(str, lines))})" if n else ""), highlight=False)
