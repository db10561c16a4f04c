"""A stop signal at each phase of a run's end (real SIGTERM to this process, on SQLite and
PostgreSQL): while the files are written the run is interrupted and nothing reaches --out; while the
finished run is recorded and moved in place it completes first (the signal waits)."""

from __future__ import annotations

import os
import signal

import pytest

from basiskit.engine.backtest import BacktestRequest
from basiskit.errors.exceptions import RunInterrupted
from basiskit.persistence import RunStatus, SqlRunStore
from basiskit.runs import execute, signals
from basiskit.runs.folder import check_complete, is_complete

REQ = BacktestRequest("btc_basis", "2024-03-01", "2024-03-08", 10_000.0)


class _SignalOnFinish(SqlRunStore):
    def finish_run(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives in the deferred section
        return super().finish_run(*args, **kwargs)


def test_a_signal_while_the_files_are_written_interrupts_the_run(db_url, catalog, tmp_path, monkeypatch):
    original = execute.write_outputs

    def write_then_signal(out, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return original(out, *args, **kwargs)

    monkeypatch.setattr(execute, "write_outputs", write_then_signal)
    store = SqlRunStore(db_url)
    try:
        with signals.stop_on_signals(), pytest.raises(RunInterrupted) as exc:
            execute.execute_backtest(REQ, catalog, run_id="w1", out_dir=tmp_path / "out", store=store)
        assert "stopped by SIGTERM while writing its results" in str(exc.value)
        run = store.get_run("w1")
        assert run.status is RunStatus.INTERRUPTED and "SIGTERM" in run.error["message"]
    finally:
        store.close()
    assert not is_complete(tmp_path / "out") and not list(tmp_path.glob(".out.partial-*"))


def test_a_signal_while_the_finished_run_is_recorded_waits_for_it(db_url, catalog, tmp_path):
    store = _SignalOnFinish(db_url)
    try:
        with signals.stop_on_signals() as received:
            res = execute.execute_backtest(REQ, catalog, run_id="f1", out_dir=tmp_path / "out", store=store)
            assert received == [signal.SIGTERM]
        assert store.get_run("f1").status is RunStatus.FINISHED
    finally:
        store.close()
    assert check_complete(res.out_dir)["run_id"] == "f1"


class _CannotFinish(SqlRunStore):
    def finish_run(self, *args, **kwargs):
        from basiskit.errors.exceptions import StoreUnavailable
        raise StoreUnavailable("database is locked")


def test_a_finished_run_the_store_cannot_record_leaves_no_complete_folder(db_url, catalog, tmp_path):
    """The folder is moved in place and marked before the run is recorded finished (so a run shown
    finished always has it); when the recording fails the marker is taken back: the files stay, the
    folder is not a finished run's, the run is recorded failed with the store's error."""
    from basiskit.errors.exceptions import StoreUnavailable

    store = _CannotFinish(db_url)
    try:
        with pytest.raises(StoreUnavailable):
            execute.execute_backtest(REQ, catalog, run_id="s1", out_dir=tmp_path / "out", store=store)
        run = store.get_run("s1")
        assert run.status is RunStatus.FAILED and run.error["code"] == "STORE-001"
    finally:
        store.close()
    out = tmp_path / "out"
    assert (out / "summary.json").is_file() and not is_complete(out)
