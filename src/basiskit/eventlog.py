"""Event log of one run: one JSON-lines file per component, and a CSV export of all of them.

Files (under the run's output folder)::

    events/<component>_events.jsonl    one JSON object per line
    events.csv                          every event of every component, in clock order

Every line carries ``run_id``, ``seq`` (emission order within the run), ``timestamp`` (the clock time,
ISO-8601 UTC; the simulated time in a backtest), ``clock_ns`` (the same in int ns), ``component``
(who wrote it: ``strategy``, ``execution``, ``risk``, ``engine``, a venue account such as
``binance.perp``) and ``kind`` (``decision``, ``order``, ``trade``, ``assessment``, ``rebalance``,
``funding``, ``error`` ...), followed by the event's own fields.

Modes: ``buffered=True`` (backtests) keeps lines in memory and writes them on :meth:`EventLog.flush`
/ :meth:`EventLog.close`; ``buffered=False`` (live) writes and flushes each line when it is emitted,
so a crash loses nothing already emitted.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import IO, Any

from basiskit.domain.time import ns_to_iso
from basiskit.results.export import json_safe

CSV_COLUMNS = ["run_id", "seq", "timestamp", "clock_ns", "component", "kind", "data"]
_HEAD = ("run_id", "seq", "timestamp", "clock_ns", "component", "kind")


def component_file(component: str) -> str:
    """File name of ``component``'s log: unsafe characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", component) + "_events.jsonl"


class EventLog:
    """Writer for one run. Args: out_dir (the run's folder; files go to ``out_dir/events``), run_id,
    buffered (see module docstring), fresh (remove component files left in ``out_dir/events`` by an
    earlier run; False to append, e.g. a live run resuming). Use as a context manager or call
    :meth:`close`."""

    def __init__(self, out_dir: str | Path, run_id: str, buffered: bool = True, fresh: bool = True,
                 flush_every: int = 0) -> None:
        self.dir = Path(out_dir) / "events"
        self.dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            for old in self.dir.glob("*_events.jsonl"):
                old.unlink()
        self.run_id = run_id
        self.buffered = buffered
        self._seq = 0
        self._pending: dict[str, list[str]] = {}
        self._n_pending = 0
        self._flush_every = flush_every  # buffered: write out every that many lines (0: at flush/close only)
        self._files: dict[str, IO[str]] = {}

    def emit(self, clock_ns: int, component: str, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record one event; returns the record as written. A ``data`` key that would shadow a head
        field (``run_id``, ``seq``, ``timestamp``, ``clock_ns``, ``component``, ``kind``) is written
        with a trailing ``_`` (``timestamp_``).

        Raises:
            ValueError: the log is closed.
        """
        if self._files is None:
            raise ValueError("event log is closed")
        data = {(f"{k}_" if k in _HEAD else k): v for k, v in (data or {}).items()}
        rec = {"run_id": self.run_id, "seq": self._seq, "timestamp": ns_to_iso(clock_ns), "clock_ns": int(clock_ns),
               "component": component, "kind": kind, **json_safe(data)}
        self._seq += 1
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        if self.buffered:
            self._pending.setdefault(component, []).append(line)
            self._n_pending += 1
            if self._flush_every and self._n_pending >= self._flush_every:
                self.flush()
        else:
            fh = self._files.get(component)
            if fh is None:
                fh = self._files[component] = (self.dir / component_file(component)).open("a")
            fh.write(line)
            fh.flush()
        return rec

    @property
    def count(self) -> int:
        return self._seq

    def flush(self) -> None:
        """Write the buffered lines (buffered mode); no-op in unbuffered mode."""
        for component, lines in self._pending.items():
            with (self.dir / component_file(component)).open("a") as fh:
                fh.write("".join(lines))  # whole lines only: a killed run leaves a valid prefix
        self._pending.clear()
        self._n_pending = 0

    def close(self) -> None:
        if self._files is None:
            return
        self.flush()
        for fh in self._files.values():
            fh.close()
        self._files = None  # type: ignore[assignment]

    def paths(self) -> list[Path]:
        """The component files written so far (sorted by name)."""
        return sorted(self.dir.glob("*_events.jsonl"))

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(events_dir: str | Path) -> list[dict[str, Any]]:
    """All events of every ``*_events.jsonl`` in ``events_dir``, in clock order (then ``seq``). A last
    line without its newline (a run killed while the line was being written) is not an event and is
    skipped: the log of a killed run is a valid prefix of whole lines."""
    out: list[dict[str, Any]] = []
    for path in sorted(Path(events_dir).glob("*_events.jsonl")):
        with path.open() as fh:
            out.extend(json.loads(line) for line in fh if line.endswith("\n") and line.strip())
    out.sort(key=lambda e: (e["clock_ns"], e["seq"]))
    return out


def export_csv(events_dir: str | Path, out_path: str | Path) -> int:
    """Write every event of ``events_dir`` to ``out_path`` (columns ``CSV_COLUMNS``; the event's own
    fields as one JSON object in ``data``). Returns the number of events written."""
    events = read_events(events_dir)
    with Path(out_path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for e in events:
            data = {k: v for k, v in e.items() if k not in _HEAD}
            w.writerow([e["run_id"], e["seq"], e["timestamp"], e["clock_ns"], e["component"], e["kind"],
                        json.dumps(data, separators=(",", ":"))])
    return len(events)
