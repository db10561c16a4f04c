"""The event recorder keeps each event for the run store with the JSON text the log wrote for it:
the store's text is the log line's fields, not a second serialisation that could differ."""

from __future__ import annotations

import json

from basiskit.domain.events import AccountChange, Event
from basiskit.eventlog import EventLog
from basiskit.persistence.records import RunResults, result_rows
from basiskit.runs.event_stream import EventRecorder


def test_stored_event_text_is_the_log_line_s_fields(tmp_path):
    log = EventLog(tmp_path, "r1")
    rec = EventRecorder(log)
    rec(Event(3_600_000_000_000, "strategy", "decision", {"action": "hold", "timestamp": "shadowed", "x": float("nan")}))
    rec(AccountChange(7_200_000_000_000, "binance.perp", "liquidation", deltas=(("binance.perp", "USDT", -5.0),),
                      data={"closed_sizes": {"BTC": -0.1}}))
    log.close()
    lines = [json.loads(ln) for p in sorted((tmp_path / "events").glob("*.jsonl")) for ln in p.read_text().splitlines()]
    by_seq = {ln["seq"]: ln for ln in lines}
    (_, _, rows), = [t for t in result_rows("r1", RunResults(events=rec.records)) if t[0] == "events"]
    assert len(rows) == 2
    for r, seq in zip(rows, (0, 1)):
        stored = json.loads(r[-1])
        line = {k: v for k, v in by_seq[seq].items() if k not in ("run_id", "seq", "timestamp", "clock_ns", "component", "kind")}
        assert stored == line == rec.records[seq].data
    assert json.loads(rows[0][-1]) == {"action": "hold", "timestamp_": "shadowed", "x": None}
    assert json.loads(rows[1][-1])["deltas"] == [["binance.perp", "USDT", -5.0]]
