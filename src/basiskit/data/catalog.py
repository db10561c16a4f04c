"""Local Parquet store of validated datasets, built from the raw CSVs of the source dir.

Layout: ``<data_dir>/catalog/<dataset_id>.parquet`` and ``<data_dir>/catalog/manifest.json`` for the
default data policy (every value check is an error); a repair policy (:mod:`basiskit.config.data_policy`) gets
its own store, ``<data_dir>/catalog-policies/<policy key>/``, so repaired data never reaches a run that
did not ask for it. Each parquet holds one dataset: ``DatetimeIndex`` named ``timestamp``
(``datetime64[us, UTC]``, strictly increasing, unique) and float64 value columns (plus bool ``filled``
and ``repaired`` for price candles). The manifest records the data policy and, per dataset, a
:class:`DatasetInfo` (range, rows, step, fills, unfilled gaps, rows repaired per check class, columns,
source files with size and mtime) and the :class:`FileReport` of every file read.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pydantic import BaseModel, ConfigDict, ValidationError

from basiskit.data.errors import DataError, DataSourceMissing
from basiskit.data.header import BOM, parse_header
from basiskit.config.data_policy import DEFAULT_POLICY, DataPolicy
from basiskit.data.sources import SPECS, DatasetSpec, peers_of
from basiskit.data.ticks import load_book_tickers
from basiskit.data.validate import FILE, LINE, Checked, FileReport, Gap, check, finish

ENV_SOURCE = "BASISKIT_DATA_SOURCE"
MANIFEST_VERSION = 2  # 2: value checks, repairs and the data policy recorded


class SourceStat(BaseModel):
    """A source file as seen at import time (path relative to the source dir, bytes, mtime in ns)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    path: str
    size: int
    mtime_ns: int


class DatasetInfo(BaseModel):
    """Manifest entry of one imported dataset. Times are ISO-8601 UTC strings."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dataset_id: str
    kind: str
    source_file: str  # path relative to the source dir (the glob for multi-file datasets)
    sources: list[SourceStat]
    parquet: str  # file name inside <data_dir>/catalog
    start: str
    end: str
    rows: int  # stored rows, filled ones included
    step_seconds: int
    filled_rows: int
    unfilled_gaps: list[Gap]
    columns: list[str]
    conflict_policy: str | None = None
    repairs: dict[str, int] = {}  # rows repaired per check class (data_policy below)
    data_policy: dict[str, str] = {}  # the import's non-default policy entries ({} = every check is an error)


class ImportReport(BaseModel):
    """Result of :meth:`Catalog.import_all`: one :class:`FileReport` per file (set) read."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    files: list[FileReport]
    seconds: float = 0.0

    def to_table_rows(self) -> list[dict[str, object]]:
        """Flat dicts (one per file report) for printing as a table."""
        return [
            {
                "dataset": r.dataset_id,
                "file": r.file,
                "rows_read": r.rows_read,
                "rows_kept": r.rows_kept,
                "start": r.start,
                "end": r.end,
                "dups_dropped": r.duplicates_dropped,
                "conflicts": r.conflicting_duplicates,
                "policy": r.conflict_policy or "",
                "missing_steps": r.missing_steps,
                "gaps": len(r.gaps),
                "filled": r.filled_rows,
                "unfilled_gaps": len(r.unfilled_gaps),
                "unsorted": r.unsorted_rows,
                "repairs": sum(r.repairs.values()),
                "notes": "; ".join(r.notes),
            }
            for r in self.files
        ]


class Manifest(BaseModel):
    """Content of ``manifest.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: int = MANIFEST_VERSION
    created_utc: str
    source_dir: str
    max_fill_hours: int
    data_policy: dict[str, str] = {}
    datasets: dict[str, DatasetInfo]
    reports: list[FileReport]


def _checkout_root() -> Path | None:
    """The source checkout this package runs from (``<root>/src/basiskit`` beside ``<root>/pyproject.toml``),
    or None for an installed package (a wheel in site-packages never looks at a checkout)."""
    pkg = Path(__file__).resolve().parents[1]
    root = pkg.parent.parent
    if pkg.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


def resolve_source_dir(source_dir: Path | str | None = None) -> Path:
    """Source dir: the argument (``--source``), else env ``BASISKIT_DATA_SOURCE``, else
    ``<cwd>/../shared/data`` if it exists, else ``shared/data`` beside the source checkout when the
    package runs from one (an installed wheel has no such fallback).

    Raises DataSourceMissing (DATA-001) naming the path(s) tried and how to point at the data.
    """
    if source_dir is not None or os.environ.get(ENV_SOURCE):
        path, origin = (Path(source_dir), "--source") if source_dir is not None else (Path(os.environ[ENV_SOURCE]), ENV_SOURCE)
        if not path.is_dir():
            raise DataSourceMissing(f"source data directory does not exist: {path} (from {origin})", file=str(path))
        return path
    tried = [Path.cwd().parent / "shared" / "data"]
    root = _checkout_root()
    if root is not None:
        tried.append(root.parent / "shared" / "data")
    for path in tried:
        if path.is_dir():
            return path
    raise DataSourceMissing(
        f"no raw data found (looked for {' and '.join(str(p) for p in dict.fromkeys(tried))}): "
        f"set {ENV_SOURCE}=/path/to/data or pass --source /path/to/data"
    )


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _bad_field_count_line(data: bytes, text_start: int, n_comment: int) -> int | None:
    """1-based line of the first row whose field count differs from the header's, or that the csv
    module cannot read (e.g. a stray carriage return); error path only."""
    lines = data[text_start:].decode("utf-8", errors="replace").split("\n")
    header = next(csv.reader([lines[0].rstrip("\r")]), [])
    for i, text in enumerate(lines[1:]):
        text = text[:-1] if text.endswith("\r") else text
        if "\r" in text:
            return n_comment + 2 + i
        try:
            row = next(csv.reader([text]), [])
        except csv.Error:
            return n_comment + 2 + i
        if row and len(row) != len(header):
            return n_comment + 2 + i
    return None


def read_table(path: Path, rel: str, columns: list[str]) -> pa.Table:
    """Read ``columns`` of one CSV as strings, plus ``_line`` (1-based physical line) and ``_file``.

    Only *leading* lines starting with ``#`` are skipped as comments; blank lines become empty rows
    (so line numbers stay exact; validation drops them with a note). The header is checked first
    (:func:`basiskit.data.header.parse_header`).

    Raises:
        MalformedHeader: empty, non-UTF-8 or control characters in the header, duplicated names.
        DataError: missing required column (file, header line, column named), or a CSV syntax error
            (file and, when found, the offending line).
    """
    data = path.read_bytes()
    if data.startswith(BOM):
        data = data[len(BOM):]
    head = parse_header(data, rel, columns)
    text_start, n_comment = head.start, head.comments
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data[text_start:]),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                include_columns=columns, column_types={c: pa.string() for c in columns}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        line = _bad_field_count_line(data, text_start, n_comment)
        raise DataError(f"CSV parse error: {exc}", file=rel, row=line) from exc
    n = table.num_rows
    table = table.append_column(LINE, pa.array(np.arange(n, dtype=np.int64) + n_comment + 2))
    return table.append_column(FILE, pa.array([rel] * n, pa.string()))


class Catalog:
    """Validated local store of the raw datasets in ``sources.SPECS``.

    Args:
        data_dir: store root; files go to ``data_dir/catalog`` (default policy) or
            ``data_dir/catalog-policies/<policy key>`` (a repair policy: its own store, so the default
            catalog is never served data repaired under another policy).
        source_dir: raw data root (see :func:`resolve_source_dir` for the default).
        max_fill_hours: price series (spot, perp, dex) gaps of at most this many hours are
            forward-filled (flagged ``filled=True``, volume 0); longer gaps stay missing and are
            recorded as ``unfilled_gaps``. Funding, AAVE, oracle and gas series are never filled.
        policy: what the value checks do with implausible rows (default: every class is an error);
            see :mod:`basiskit.config.data_policy`. :meth:`for_policy` gives the catalog of another policy.

    Raises:
        DataError: the source dir does not exist (named in the message).
    """

    def __init__(self, data_dir: Path, source_dir: Path | None = None, max_fill_hours: int = 24,
                 policy: DataPolicy | None = None) -> None:
        if max_fill_hours < 0:
            raise DataError(f"max_fill_hours must be >= 0, got {max_fill_hours}")
        self.data_dir = Path(data_dir)
        self.source_dir = resolve_source_dir(source_dir)
        self.max_fill_hours = int(max_fill_hours)
        self.policy = policy or DEFAULT_POLICY
        self._cache: dict[str, pd.DataFrame] = {}
        self._tables: dict[tuple[Path, tuple[str, ...]], pa.Table] | None = None  # set during import_all
        self._manifest: Manifest | None = None
        self._variants: dict[str, Catalog] = {}
        self._variants_lock = threading.Lock()
        self._last_frame: tuple | None = None  # (key, MarketFrame) of the last frame built with keep=True

    def frame(self, grid: np.ndarray, specs: list, keep: bool = False):
        """``data.market.build_frame(self, grid, specs)``. A request is validated (its coverage: the
        frame must build) and then run, and both need this frame: the validation builds it with
        ``keep=True`` and the run takes it (``keep=False`` returns a kept frame of the same grid and
        specs and forgets it), so it is built once. At most one frame is kept. The frame is read-only
        to its users (a shock works on a copy). Raises DataError as ``build_frame``."""
        from basiskit.data.market import build_frame

        key = (int(grid[0]), int(grid[-1]), len(grid), tuple(specs))
        kept = self._last_frame
        if kept is not None and kept[0] == key:
            if not keep:
                self._last_frame = None
            return kept[1]
        frame = build_frame(self, grid, specs)
        self._last_frame = (key, frame) if keep else None
        return frame

    def __getstate__(self) -> dict:
        """Pickled as its location and policy (for a process pool or a Ray worker): the worker reads
        the imported store itself; loaded frames and locks stay in this process."""
        return {"data_dir": self.data_dir, "source_dir": self.source_dir, "max_fill_hours": self.max_fill_hours,
                "policy": self.policy}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["data_dir"], state["source_dir"], state["max_fill_hours"], state["policy"])

    def for_policy(self, policy: DataPolicy | None) -> Catalog:
        """The catalog serving data validated under ``policy``: ``self`` when it is this catalog's
        policy, else a catalog over the same sources with its own store (one instance per policy, so
        its load cache is shared). Nothing is imported here: call :meth:`ensure_imported` on it."""
        policy = policy or DEFAULT_POLICY
        if policy == self.policy:
            return self
        with self._variants_lock:
            key = policy.key()
            if key not in self._variants:
                self._variants[key] = Catalog(self.data_dir, self.source_dir, self.max_fill_hours, policy)
            return self._variants[key]

    # ---------------------------------------------------------------- paths / manifest
    @property
    def catalog_dir(self) -> Path:
        if self.policy.is_default:
            return self.data_dir / "catalog"
        return self.data_dir / "catalog-policies" / self.policy.key()

    @property
    def manifest_path(self) -> Path:
        return self.catalog_dir / "manifest.json"

    def _read_manifest(self) -> Manifest | None:
        """The manifest, or None if missing or written by an incompatible version."""
        if self._manifest is None and self.manifest_path.exists():
            try:
                self._manifest = Manifest.model_validate_json(self.manifest_path.read_text())
            except (ValidationError, ValueError):
                return None
            if self._manifest.version != MANIFEST_VERSION or self._manifest.data_policy != self.policy.changes():
                self._manifest = None
        return self._manifest

    # ---------------------------------------------------------------- import
    def _sources(self, spec: DatasetSpec) -> list[Path]:
        files = sorted(p for p in self.source_dir.glob(spec.pattern) if p.is_file())
        if not files:
            raise DataError(
                f"no source file for dataset {spec.dataset_id} matching {spec.pattern!r} in {self.source_dir}",
                file=spec.pattern, key=spec.dataset_id,
            )
        if len(files) > 1 and not spec.multi_file:
            names = ", ".join(self._rel(p) for p in files)
            raise DataError(f"ambiguous source for {spec.dataset_id}: {names}", file=spec.pattern, key=spec.dataset_id)
        return files

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.source_dir).as_posix()

    def _stat(self, path: Path) -> SourceStat:
        st = path.stat()
        return SourceStat(path=self._rel(path), size=st.st_size, mtime_ns=st.st_mtime_ns)

    def _read_raw(self, files: list[Path], spec: DatasetSpec) -> pd.DataFrame:
        """Concatenated string table of ``files`` (row filter applied) as a DataFrame."""
        cols = spec.required_columns
        tables = []
        for path in files:
            key = (path, tuple(cols))
            table = self._tables.get(key) if self._tables is not None else None
            if table is None:
                table = read_table(path, self._rel(path), cols)
                if self._tables is not None:
                    self._tables[key] = table
            if spec.row_filter:
                col, val = spec.row_filter
                table = table.filter(pc.equal(pc.utf8_trim_whitespace(table[col]), val))
            tables.append(table)
        return pa.concat_tables(tables).to_pandas()

    def _check_one(self, spec: DatasetSpec) -> tuple[Checked, list[SourceStat], str]:
        """Stage 1 of one dataset: read its files and run :func:`basiskit.data.validate.check`."""
        files = self._sources(spec)
        stats = [self._stat(p) for p in files]
        label = spec.pattern if spec.multi_file else stats[0].path
        st = check(self._read_raw(files, spec), spec, file=label, policy=self.policy)
        return st, stats, label

    def _import_one(self, spec: DatasetSpec, stage: Callable[[str], tuple[Checked, list[SourceStat], str]],
                    ) -> tuple[pd.DataFrame, DatasetInfo, list[FileReport]]:
        st, stats, label = stage(spec.dataset_id)
        peers = {p: stage(p)[0].peer_frame() for p in peers_of(spec.dataset_id)
                 if self._has_sources(SPECS[p])}
        max_steps = self.max_fill_hours * 3600 // spec.step_seconds
        frame, report = finish(st, peers=peers, max_fill_steps=max_steps)
        notes = []
        if spec.multi_file:
            note = f"built from {len(stats)} files matching the glob"
            if spec.row_filter:
                note += f", rows with {spec.row_filter[0]} == {spec.row_filter[1]!r}"
            notes.append(note)
        if peers:
            notes.append(f"spikes also judged against {', '.join(peers)} at the same timestamps")
        if notes:
            report = report.model_copy(update={"notes": [*notes, *report.notes]})
        reports = [report]
        if spec.audit is not None:
            reports.append(self._audit(spec))
        info = DatasetInfo(
            dataset_id=spec.dataset_id,
            kind=spec.kind,
            source_file=label,
            sources=stats,
            parquet=f"{spec.dataset_id}.parquet",
            start=report.start or "",
            end=report.end or "",
            rows=len(frame),
            step_seconds=spec.step_seconds,
            filled_rows=report.filled_rows,
            unfilled_gaps=report.unfilled_gaps,
            columns=list(frame.columns),
            conflict_policy=spec.policy,
            repairs=report.repairs,
            data_policy=self.policy.changes(),
        )
        return frame, info, reports

    def _has_sources(self, spec: DatasetSpec) -> bool:
        return any(p.is_file() for p in self.source_dir.glob(spec.pattern))

    def _audit(self, spec: DatasetSpec) -> FileReport:
        """Validate a superseded file for the report only (its data is not stored)."""
        audit = spec.audit
        assert audit is not None
        superseded = f"superseded by policy {spec.policy!r}: data taken from {spec.pattern}"
        try:
            path = self._sources(audit)[0]
        except DataError as exc:
            return FileReport(
                dataset_id=spec.dataset_id, file=audit.pattern, rows_read=0, rows_kept=0, start=None, end=None,
                step_seconds=audit.step_seconds, conflict_policy=spec.policy, notes=[superseded, str(exc)],
            )
        st = check(self._read_raw([path], audit), audit, file=self._rel(path), policy=self.policy,
                   dataset_id=spec.dataset_id)
        _, rep = finish(st)
        return rep.model_copy(update={"notes": [superseded, *rep.notes]})

    def import_all(
        self,
        progress: Callable[[str], None] | None = None,
        only: Iterable[str] | None = None,
    ) -> ImportReport:
        """Validate and import every dataset (or just ``only``), then write parquet files and the
        manifest atomically (tmp file + rename). Datasets not in ``only`` keep their existing
        manifest entries. Nothing is written if any dataset fails validation. A price series with
        peers (the same instrument on other venues) is judged against them too; their files are read
        for that even when they are not in ``only``.

        Raises:
            DataError: unknown dataset id, missing/ambiguous source, or any validation failure
                (ImplausibleValue, MalformedHeader: coded, naming file, line and column).
        """
        t0 = time.perf_counter()
        self._last_frame = None  # built from the data before this import
        ids = list(SPECS) if only is None else list(dict.fromkeys(only))
        for dsid in ids:
            self._check_known(dsid)
        results = []
        staged: dict[str, tuple[Checked, list[SourceStat], str]] = {}

        def stage(dsid: str) -> tuple[Checked, list[SourceStat], str]:
            if dsid not in staged:
                staged[dsid] = self._check_one(SPECS[dsid])
            return staged[dsid]

        self._tables = {}  # raw tables shared between datasets of this import (OKX daily files)
        try:
            for dsid in ids:
                if progress is not None:
                    progress(dsid)
                results.append(self._import_one(SPECS[dsid], stage))
        finally:
            self._tables = None

        self.catalog_dir.mkdir(parents=True, exist_ok=True)
        old = self._read_manifest() if only is not None else None
        datasets = dict(old.datasets) if old else {}
        reports = [r for r in old.reports if r.dataset_id not in ids] if old else []
        for frame, info, reps in results:
            _atomic_write(self.catalog_dir / info.parquet, lambda p, f=frame: f.to_parquet(p, engine="pyarrow"))
            datasets[info.dataset_id] = info
            reports.extend(reps)
            self._cache.pop(info.dataset_id, None)
        order = {d: i for i, d in enumerate(SPECS)}
        manifest = Manifest(
            created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            source_dir=str(self.source_dir),
            max_fill_hours=self.max_fill_hours,
            data_policy=self.policy.changes(),
            datasets={d: datasets[d] for d in sorted(datasets, key=lambda d: order.get(d, len(order)))},
            reports=sorted(reports, key=lambda r: order.get(r.dataset_id, len(order))),
        )
        _atomic_write(self.manifest_path, lambda p: p.write_text(manifest.model_dump_json(indent=1)))
        self._manifest = manifest
        new_reports = [r for _, _, reps in results for r in reps]
        return ImportReport(files=new_reports, seconds=round(time.perf_counter() - t0, 3))

    def ensure_imported(self, progress: Callable[[str, int, int], None] | None = None) -> None:
        """Import what is needed: everything if the manifest is missing, unreadable or was built
        with another ``max_fill_hours``, data policy or manifest version; else only datasets that are
        missing from it, whose parquet file is gone, or whose source files changed (see :meth:`is_stale`).

        ``progress(dataset_id, k, n)`` is called before the k-th of the n datasets imported (1-based);
        never when nothing needs importing."""
        manifest = self._read_manifest()
        if manifest is None or manifest.max_fill_hours != self.max_fill_hours:
            need = None
        else:
            need = [
                d for d in SPECS
                if d not in manifest.datasets or not (self.catalog_dir / manifest.datasets[d].parquet).exists()
            ]
            need += [d for d in self.is_stale() if d not in need]
            if not need:
                return
        step = None
        if progress is not None:
            n, done = len(SPECS if need is None else need), itertools.count(1)
            step = lambda dsid: progress(dsid, min(next(done), n), n)  # noqa: E731
        self.import_all(progress=step, only=need)

    def is_stale(self) -> list[str]:
        """Ids of imported datasets whose source files changed (set of files, size or mtime)."""
        manifest = self._read_manifest()
        if manifest is None:
            return []
        stale = []
        root = len(str(self.source_dir)) + 1  # glob yields source_dir / relative path
        for dsid, info in manifest.datasets.items():
            spec = SPECS.get(dsid)
            if spec is None:
                continue
            # one stat per file, compared as plain tuples: every backtest checks this (~0.3 ms a dataset)
            current = []
            for p in self.source_dir.glob(spec.pattern):
                try:
                    st = p.stat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    current.append((p.parts, str(p)[root:], st.st_size, st.st_mtime_ns))
            current.sort()  # Path order, as the manifest lists them
            if [c[1:] for c in current] != [(s.path, s.size, s.mtime_ns) for s in info.sources]:
                stale.append(dsid)
        return stale

    # ---------------------------------------------------------------- read access
    def _check_known(self, dataset_id: str) -> None:
        if dataset_id not in SPECS:
            raise DataError(
                f"unknown dataset id {dataset_id!r}; known ids: {', '.join(SPECS)}", key=dataset_id
            )

    def dataset_ids(self) -> list[str]:
        """All registered dataset ids (imported or not), in registry order."""
        return list(SPECS)

    def report(self) -> list[FileReport]:
        """File reports stored in the manifest (empty if nothing is imported)."""
        manifest = self._read_manifest()
        return list(manifest.reports) if manifest else []

    def info(self, dataset_id: str) -> DatasetInfo:
        """Manifest entry of an imported dataset.

        Raises:
            DataError: unknown id (message lists the known ids) or dataset not imported yet.
        """
        self._check_known(dataset_id)
        manifest = self._read_manifest()
        if manifest is None or dataset_id not in manifest.datasets:
            raise DataError(
                f"dataset {dataset_id} is not imported into {self.catalog_dir}; call ensure_imported()",
                file=str(self.manifest_path), key=dataset_id,
            )
        return manifest.datasets[dataset_id]

    def load(self, dataset_id: str) -> pd.DataFrame:
        """The dataset as a DataFrame (see module docstring for the shape); cached per instance,
        a copy is returned so callers cannot alter the cache.

        Raises:
            DataError: unknown / not imported dataset, missing or corrupt parquet file.
        """
        if dataset_id not in self._cache:
            info = self.info(dataset_id)
            path = self.catalog_dir / info.parquet
            if not path.exists():
                raise DataError(f"parquet file missing; re-import", file=str(path), key=dataset_id)
            df = pd.read_parquet(path, engine="pyarrow")
            idx = df.index
            if not (
                isinstance(idx, pd.DatetimeIndex)
                and str(idx.tz) == "UTC"
                and idx.is_monotonic_increasing
                and idx.is_unique
                and list(df.columns) == info.columns
                and len(df) == info.rows
            ):
                raise DataError("stored frame does not match the manifest; re-import", file=str(path), key=dataset_id)
            self._cache[dataset_id] = df
        return self._cache[dataset_id].copy()

    # -- book-ticker datasets (data.ticks: events at their own times, not on the hourly grid) --------------
    def book_tickers(self, dataset_id: str, start_ns: int | None = None, end_ns: int | None = None):
        """The book tickers of ``dataset_id`` (``data.ticks.TICK_SPECS``) read from this catalog's source
        dir, validated, in time order, cut to ``[start_ns, end_ns]``: a ``BookTickerSeries``
        (``.events()`` gives ``BookTicker`` events). Raises DataError (unknown id, missing file, bad row)."""
        return load_book_tickers(self.source_dir, dataset_id, start_ns, end_ns)

