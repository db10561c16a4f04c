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

Each event is serialised once: its fields become one JSON text, which is both the tail of its
JSON-lines record and the ``data`` column of ``events.csv``. :meth:`EventLog.write_csv` writes the CSV
from those texts (a buffered log that started fresh holds every event of its folder); :func:`export_csv`
rebuilds it from the files of any folder.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import IO, Any

from basiskit.domain.time import ns_to_iso
from basiskit.results.export import dumps_clean

CSV_COLUMNS = ["run_id", "seq", "timestamp", "clock_ns", "component", "kind", "data"]
_HEAD = ("run_id", "seq", "timestamp", "clock_ns", "component", "kind")
_HEAD_SET = frozenset(_HEAD)


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
        self.fresh = fresh
        self._seq = 0
        self.last_data_json: str | None = None  # the fields of the last emitted event, as JSON text
        self._run_json = json.dumps(run_id)
        self._quoted: dict[str, str] = {}  # component and kind names as JSON strings
        self._iso: tuple[int, str] = (0, ns_to_iso(0))  # the last clock time and its text (events come in bursts)
        self._pending: dict[str, list[str]] = {}
        self._n_pending = 0
        self._flush_every = flush_every  # buffered: write out every that many lines (0: at flush/close only)
        self._files: dict[str, IO[str]] = {}
        # (clock_ns, seq, timestamp, component, kind, data JSON) of every event emitted, for write_csv
        self._rows: list[tuple[int, int, str, str, str, str]] | None = [] if buffered else None

    def emit(self, clock_ns: int, component: str, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record one event; returns the record as written (NaN/inf as None). A ``data`` key that would
        shadow a head field (``run_id``, ``seq``, ``timestamp``, ``clock_ns``, ``component``, ``kind``)
        is written with a trailing ``_`` (``timestamp_``).

        Raises:
            ValueError: the log is closed.
        """
        if self._files is None:
            raise ValueError("event log is closed")
        data = data or {}
        if not _HEAD_SET.isdisjoint(data):
            data = {(f"{k}_" if k in _HEAD_SET else k): v for k, v in data.items()}
        data_json, data = dumps_clean(data, separators=(",", ":"))  # the one serialisation of its fields
        self.last_data_json = data_json  # for a caller that stores the event too (no second serialisation)
        seq, clock_ns = self._seq, int(clock_ns)
        if self._iso[0] != clock_ns:
            self._iso = (clock_ns, ns_to_iso(clock_ns))
        ts = self._iso[1]
        rec = {"run_id": self.run_id, "seq": seq, "timestamp": ts, "clock_ns": clock_ns, "component": component,
               "kind": kind, **data}
        self._seq += 1
        q = self._quoted
        comp_json = q.get(component) or q.setdefault(component, json.dumps(component))
        kind_json = q.get(kind) or q.setdefault(kind, json.dumps(kind))
        # = json.dumps(rec, separators=(",", ":")): the head fields, then the fields' own JSON text
        line = (f'{{"run_id":{self._run_json},"seq":{seq},"timestamp":"{ts}","clock_ns":{clock_ns},'
                f'"component":{comp_json},"kind":{kind_json}' + ("}" if data_json == "{}" else "," + data_json[1:])
                + "\n")
        if self._rows is not None:
            self._rows.append((clock_ns, seq, ts, component, kind, data_json))
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

    def write_csv(self, out_path: str | Path) -> int:
        """Write ``events.csv`` (see :func:`export_csv`) of this run; returns the number of events. A
        buffered log that started fresh writes it from the events it emitted (nothing is read back or
        serialised again); any other log exports its folder's files."""
        if self._rows is None or not self.fresh:
            self.flush()
            return export_csv(self.dir, out_path)
        rows = sorted(self._rows)  # clock order, then emission order (seq is unique)
        with Path(out_path).open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_COLUMNS)
            w.writerows((self.run_id, seq, ts, clock_ns, component, kind, data)
                        for clock_ns, seq, ts, component, kind, data in rows)
        return len(rows)

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
