"""What a mode needs (venue accounts, datasets) and whether the catalog covers a period.

Coverage is decided by the engine's own alignment (``build_frame``) on the run's clock grid, one
dataset at a time, so the answer is the one the run would get.

Raises:
    DataCoverageError (DATA-002, HTTP 422): :func:`check_coverage` on a period the data does not
        cover; ``field`` is ``start`` or ``end`` when the period runs past a dataset's range.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from basiskit.config.modes import ModeConfig
from basiskit.data.errors import DataError
from basiskit.data.market import build_frame
from basiskit.engine.assembly import series_specs
from basiskit.engine.clock import Clock
from basiskit.domain.time import ns_to_iso, to_ns
from basiskit.errors.exceptions import InvalidInput
from basiskit.strategies.registry import build_strategy


class DataCoverageError(DataError, InvalidInput):
    """The data does not cover the requested period (DATA-002); ``key`` is the dataset."""

    code = "DATA-002"

    def __init__(self, message: str, *, key: str | None = None, field: str | None = None) -> None:
        super().__init__(message, key=key)
        if field is not None:
            self.field = field


@dataclass(frozen=True)
class DatasetCoverage:
    dataset_id: str
    role: str            # the series kind: bar_open, funding, aave_index, asof
    optional: bool       # missing values do not stop the run (e.g. gas, read only when paid)
    start: str | None    # the dataset's first / last timestamp (ISO, UTC), None if not imported
    end: str | None
    covered: bool | None  # None when no period was asked
    problem: str | None = None


def venues(config: ModeConfig) -> dict:
    """The mode's ``Requirements`` as JSON: ``{"spot": {account: [tokens]}, "perp": {...},
    "lending": {...}, ..., "gas": bool}`` (every field of ``basiskit.strategies.base.Requirements``)."""
    r = build_strategy(config).requirements()
    return json.loads(json.dumps(dataclasses.asdict(r), default=list))


def dataset_coverage(catalog, config: ModeConfig, clock: Clock | None = None) -> list[DatasetCoverage]:
    """One entry per dataset the mode reads. With ``clock``, ``covered`` says whether the run on that
    grid would find the values it needs. Raises DataError when the mode names a dataset that does not
    exist (e.g. a venue without data)."""
    specs = series_specs(build_strategy(config).requirements(), set(catalog.dataset_ids()))
    grid = clock.grid() if clock is not None else None
    whole = None
    if grid is not None:
        try:  # the run's frame, kept for the run (Catalog.frame); a dataset at a time only when it fails
            catalog.frame(grid, specs, keep=True)
            whole = True
        except DataError:
            whole = False
    out = []
    for spec in specs:
        try:
            info = catalog.info(spec.dataset_id)
            start, end = info.start, info.end
        except DataError:
            start = end = None
        covered, problem = None, None
        if whole:
            covered = True
        elif grid is not None:
            try:
                build_frame(catalog, grid, [spec])
                covered = True
            except DataError as exc:
                covered, problem = False, getattr(exc, "message", str(exc))
        out.append(DatasetCoverage(spec.dataset_id, spec.kind, spec.optional, start, end, covered, problem))
    return out


def check_coverage(catalog, config: ModeConfig, clock: Clock) -> list[DatasetCoverage]:
    """:func:`dataset_coverage` that raises DataCoverageError on the first dataset not covered."""
    try:
        rows = dataset_coverage(catalog, config, clock)
    except DataError as exc:
        raise DataCoverageError(str(exc), key=exc.key, field="config") from exc
    for row in rows:
        if row.covered is False:
            field = None
            if row.start is not None and clock.start_ns < to_ns(row.start):
                field = "start"
            elif row.end is not None and clock.end_ns > to_ns(row.end):
                field = "end"
            raise DataCoverageError(f"{row.problem} (period {ns_to_iso(clock.start_ns)} .. {ns_to_iso(clock.end_ns)})",
                                    key=row.dataset_id, field=field)
    return rows
