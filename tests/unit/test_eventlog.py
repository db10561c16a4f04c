"""Per-component JSON-lines event logs, buffered and unbuffered, and the CSV export."""

from __future__ import annotations

import csv
import json

from basiskit.eventlog import EventLog, export_csv, read_events

T0 = 1_709_251_200_000_000_000  # 2024-03-01T00:00:00Z


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_unbuffered_writes_each_event_at_once(tmp_path):
    log = EventLog(tmp_path, "run-1", buffered=False)
    log.emit(T0, "strategy", "decision", {"action": "entry_full", "reason": "initial entry"})
    got = _lines(tmp_path / "events" / "strategy_events.jsonl")  # before close
    assert got == [{"run_id": "run-1", "seq": 0, "timestamp": "2024-03-01T00:00:00Z", "clock_ns": T0,
                    "component": "strategy", "kind": "decision", "action": "entry_full", "reason": "initial entry"}]
    log.close()


def test_buffered_writes_on_close_one_file_per_component(tmp_path):
    with EventLog(tmp_path, "run-2", buffered=True) as log:
        log.emit(T0 + 3_600_000_000_000, "binance.perp", "funding", {"rate": 0.0001, "mark": float("nan")})
        log.emit(T0, "risk", "assessment", {"timestamp": "shadowed", "net_delta_usd": 1.5})
        assert not (tmp_path / "events" / "risk_events.jsonl").exists()
    files = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert files == ["binance.perp_events.jsonl", "risk_events.jsonl"]
    funding = _lines(tmp_path / "events" / "binance.perp_events.jsonl")[0]
    assert funding["mark"] is None and funding["timestamp"] == "2024-03-01T01:00:00Z"
    risk = _lines(tmp_path / "events" / "risk_events.jsonl")[0]
    assert risk["timestamp_"] == "shadowed" and risk["timestamp"] == "2024-03-01T00:00:00Z"


def test_csv_export_is_in_clock_order_across_components(tmp_path):
    with EventLog(tmp_path, "run-3") as log:
        log.emit(T0 + 2, "strategy", "decision", {"action": "hold"})
        log.emit(T0 + 1, "execution", "order", {"venue": "wallet"})
        log.emit(T0 + 1, "wallet", "trade", {"status": "filled"})
    n = export_csv(tmp_path / "events", tmp_path / "events.csv")
    with (tmp_path / "events.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert n == 3 and [r["component"] for r in rows] == ["execution", "wallet", "strategy"]
    assert all(r["run_id"] == "run-3" for r in rows) and json.loads(rows[1]["data"]) == {"status": "filled"}
    assert [e["seq"] for e in read_events(tmp_path / "events")] == [1, 2, 0]


def test_a_new_log_replaces_files_of_an_earlier_run_unless_resuming(tmp_path):
    with EventLog(tmp_path, "old") as log:
        log.emit(T0, "engine", "deposit", {"amount_usd": 1.0})
    with EventLog(tmp_path, "new") as log:
        log.emit(T0, "strategy", "decision", {})
    assert [p.name for p in (tmp_path / "events").iterdir()] == ["strategy_events.jsonl"]
    with EventLog(tmp_path, "new", buffered=False, fresh=False) as log:
        log.emit(T0 + 1, "strategy", "decision", {})
    assert len(_lines(tmp_path / "events" / "strategy_events.jsonl")) == 2


def test_lines_and_csv_are_one_serialisation_of_each_event(tmp_path):
    """Each line is json.dumps of its record; events.csv written from memory equals the export of the files."""
    events = [(T0 + 5, "strategy", "decision", {"action": "hold", "nested": {"a": [1, 2.5, None], 3: "int key"}}),
              (T0, "binance.perp", "funding", {"rate": float("inf"), "mark": float("nan"), "note": "é, \"quoted\"\n"}),
              (T0, "engine", "deposit", {}),
              (T0 + 5, "risk", "assessment", {"seq": 99, "kind": "shadowed", "x": (1, 2)})]
    with EventLog(tmp_path, "run-4") as log:
        recs = [log.emit(*e) for e in events]
        assert log.write_csv(tmp_path / "memory.csv") == 4
    n = export_csv(tmp_path / "events", tmp_path / "files.csv")
    assert n == 4 and (tmp_path / "memory.csv").read_bytes() == (tmp_path / "files.csv").read_bytes()
    lines = {p.name: p.read_text() for p in (tmp_path / "events").iterdir()}
    assert lines["strategy_events.jsonl"] == json.dumps(recs[0], separators=(",", ":")) + "\n"
    funding = json.loads(lines["binance.perp_events.jsonl"])
    assert funding["rate"] is None and funding["mark"] is None and recs[1]["mark"] is None  # NaN/inf written null
    assert lines["engine_events.jsonl"] == json.dumps(recs[2], separators=(",", ":")) + "\n"
    risk = json.loads(lines["risk_events.jsonl"])
    assert risk["seq"] == 3 and risk["seq_"] == 99 and risk["kind_"] == "shadowed" and risk["x"] == [1, 2]


def test_write_csv_of_a_resumed_or_unbuffered_log_exports_the_files(tmp_path):
    with EventLog(tmp_path, "run-5") as log:
        log.emit(T0, "strategy", "decision", {"action": "entry_full"})
    with EventLog(tmp_path, "run-5", buffered=False, fresh=False) as log:
        log.emit(T0 + 1, "strategy", "decision", {"action": "hold"})
        assert log.write_csv(tmp_path / "events.csv") == 2  # the earlier event is in the file, not in memory
