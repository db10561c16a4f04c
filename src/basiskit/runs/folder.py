"""A run's results folder: written aside, moved in place, marked complete last.

Life of ``OUT`` (``--out`` or ``results/<run-id>``)::

    .OUT.partial-<run-id>/      the run writes every file here (a sibling: same filesystem)
    OUT/                        os.rename of the partial folder once the run's files are written;
                                an earlier run's folder at OUT is moved aside first, then removed
    OUT/run.json                the completion marker, written last (temporary name + os.replace);
                                then the run is recorded finished (if that fails the marker's status
                                becomes "unrecorded"), so a run recorded finished always has its folder

``run.json``::

    {"format": "basiskit-results/1", "run_id": "...", "mode": "btc_basis", "status": "finished",
     "finished_at": "2026-12-01T10:00:00Z",
     "files": {"summary.json": 1534, "equity.csv": 402117, "events/strategy_events.jsonl": 80211, ...},
     "derived": ["report.html"]}

``files`` maps every file the run wrote (relative path) to its size in bytes; :func:`check_complete`
checks that each is there with that size (a truncated or deleted file makes the folder incomplete).
``derived`` files (``report.html``, ``png/``) are rewritten by ``basiskit report`` and not checked.

A folder without ``run.json`` is incomplete (a killed or failed run; a failed run leaves only its
``events/engine_events.jsonl`` error record), except one written before markers existed: such a folder
counts as complete when it holds ``report.html``, which the old writer wrote last.

Raises:
    PathUnusable (RUN-012): ``OUT`` (or its parent) is a file, lies inside a file, is not writable,
        or is a folder holding files that are not a run's (never overwritten).
    ResultsIncomplete (RUN-011): :func:`check_complete` of a folder that is not marked complete.
    RunFilesMissing (RUN-008): :func:`check_complete` of a folder that does not exist.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from basiskit.errors.exceptions import PathUnusable, ResultsIncomplete, RunFilesMissing

MARKER = "run.json"
FORMAT = "basiskit-results/1"
DERIVED = ("report.html", "png")
# names a results folder may hold; a folder with anything else is never replaced
RUN_NAMES = frozenset({"summary.json", "equity.csv", "equity.parquet", "equity.parquet.tmp", "trades.csv",
                       "attribution.csv", "venues.csv", "events.jsonl", "events.csv", "events", "report.html",
                       "report.html.tmp", "png", MARKER, MARKER + ".tmp",
                       ".DS_Store", "Thumbs.db", "desktop.ini"})  # the last three: file managers' own files


def staging_dir(out: Path, run_id: str) -> Path:
    """The sibling folder the run writes to before it is moved to ``out`` (beside the folder a
    symbolic link ``out`` points to)."""
    real = Path(out).resolve()
    return real.parent / f".{real.name}.partial-{run_id}"


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    return p


def _probe_writable(folder: Path, field: str, what: str) -> None:
    """Create and remove a temporary folder in ``folder`` (the only test that is honest for root, for
    read-only mounts and for ACLs)."""
    try:
        probe = tempfile.mkdtemp(prefix=".basiskit-probe-", dir=folder)
    except OSError as exc:
        reason = "read-only file system" if exc.errno == errno.EROFS else (exc.strerror or type(exc).__name__).lower()
        raise PathUnusable(f"{what} {folder} is not writable ({reason})", field=field) from None
    os.rmdir(probe)


def check_writable_dir(path: str | Path, field: str, what: str = "folder") -> Path:
    """Pre-flight for a folder a run will create or write in: it is a folder (or can be created as
    one: its nearest existing ancestor is a writable folder). Creates nothing. Returns ``path``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PathUnusable(f"{what} {path} is a file, not a folder", field=field)
    base = _nearest_existing(path)
    if not base.is_dir():
        raise PathUnusable(f"{what} {path} lies inside {base}, which is a file, not a folder", field=field)
    _probe_writable(base, field, what)
    return path


def foreign_entries(out: Path) -> list[str]:
    """Names in the existing folder ``out`` that a run does not write (sorted)."""
    return sorted(p.name for p in out.iterdir() if p.name not in RUN_NAMES and not p.name.startswith(".basiskit-probe-"))


def check_out_dir(out: str | Path, field: str = "out") -> Path:
    """Pre-flight for a results folder: ``out`` can be created, or is an empty folder or an earlier
    run's results folder (replaced when the run finishes); its parent is writable (the run writes
    beside it first). Raises PathUnusable (RUN-012). Creates nothing."""
    out = Path(out)
    real, cwd = out.resolve(), Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise PathUnusable(f"output folder {out} is the working directory or holds it; name a folder inside it",
                           field=field)
    check_writable_dir(out, field, "output folder")
    if out.is_dir() and os.path.ismount(real):
        raise PathUnusable(f"output folder {out} is a mount point, which cannot be replaced; name a folder inside it",
                           field=field)
    if out.is_dir():
        foreign = foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise PathUnusable(f"output folder {out} holds files that are not a run's results ({shown}); "
                               "choose a new or empty folder (it is never overwritten)", field=field)
        parent = out.resolve().parent
        _probe_writable(parent, field, "the folder above the output folder")  # the run writes beside it first
    return out


def _files(folder: Path) -> dict[str, int]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel.split("/")[0] not in DERIVED and rel != MARKER:
            out[rel] = p.stat().st_size
    return out


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def publish(staging: Path, out: Path, run_id: str, mode: str | None = None) -> dict[str, Any]:
    """Move the finished run's ``staging`` folder to ``out`` and write the marker; returns it.
    An earlier run's folder at ``out`` is moved aside and removed (a folder with other files is
    refused: PathUnusable)."""
    marker = {"format": FORMAT, "run_id": run_id, "mode": mode, "status": "finished",
              "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "files": _files(staging),
              "derived": [d for d in DERIVED if (staging / d).exists()]}
    old = None
    out = Path(out).resolve()  # a symbolic link keeps pointing at the new folder
    if out.is_dir():
        foreign = foreign_entries(out)
        if foreign:
            raise PathUnusable(f"output folder {out} holds files that are not a run's results ({', '.join(foreign[:5])})",
                               field="out")
        old = out.parent / f".{out.name}.old-{run_id}-{time.monotonic_ns()}"
        os.rename(out, old)
    elif out.exists() or out.is_symlink():
        raise PathUnusable(f"output folder {out} is a file, not a folder", field="out")
    try:
        os.rename(staging, out)
    except OSError:
        if old is not None:
            os.rename(old, out)  # put the earlier results back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _write_json(out / MARKER, marker)
    return marker


def unmark(out: Path) -> None:
    """Take the completion back: the folder is not a finished run's after all (the run could not be
    recorded finished). Its marker says ``"status": "unrecorded"``, which :func:`check_complete` refuses
    (a folder without any marker but with a report would pass as an old run's)."""
    marker = read_marker(Path(out)) or {"format": FORMAT, "files": {}}
    _write_json(Path(out) / MARKER, {**marker, "status": "unrecorded"})


def read_marker(out: Path) -> dict[str, Any] | None:
    """The folder's marker, or None when it has none (or it cannot be parsed)."""
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(out: str | Path) -> bool:
    try:
        check_complete(out)
    except (ResultsIncomplete, RunFilesMissing):
        return False
    return True


def check_complete(out: str | Path) -> dict[str, Any]:
    """The marker of the complete results folder ``out`` (for a folder written before markers, a
    stand-in ``{"format": "legacy", ...}``). Raises ResultsIncomplete (RUN-011), RunFilesMissing
    (RUN-008) when ``out`` is not a folder."""
    out = Path(out)
    if not out.is_dir():
        raise RunFilesMissing(f"results folder {out} does not exist")
    marker_path = out / MARKER
    if not marker_path.exists():
        if (out / "report.html").is_file() and (out / "summary.json").is_file():
            return {"format": "legacy", "run_id": None, "status": "finished", "files": {}}
        raise ResultsIncomplete(f"results folder {out} is incomplete: it has no {MARKER} (the run did not finish "
                                "writing it: it was killed, failed or is still running)")
    marker = read_marker(out)
    if marker is None or marker.get("format") != FORMAT or not isinstance(marker.get("files"), dict):
        raise ResultsIncomplete(f"results folder {out}: {MARKER} is not a basiskit completion marker")
    if marker.get("status") != "finished":
        raise ResultsIncomplete(f"results folder {out}: the run is {marker.get('status')}, not finished")
    for rel, size in marker["files"].items():
        p = out / rel
        try:
            actual = p.stat().st_size
        except OSError:
            raise ResultsIncomplete(f"results folder {out} is incomplete: {rel} is missing") from None
        if actual != size:
            raise ResultsIncomplete(f"results folder {out} is incomplete: {rel} has {actual} bytes, "
                                    f"{MARKER} says {size}")
    return marker
