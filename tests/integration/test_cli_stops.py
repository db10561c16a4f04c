"""A CLI backtest that is stopped never stays ``running``, and its folder is never marked complete.

Real ``basiskit backtest`` subprocesses on the real data, recorded in SQLite and in PostgreSQL:
SIGKILL mid-run (the next ``basiskit runs`` marks it ``interrupted``), SIGKILL while it writes its
files (the earlier results in ``--out`` stay intact), SIGTERM and SIGINT (``interrupted`` at once,
exit code 128 + signal, a message and no traceback), and a cancel request through the store.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from basiskit.persistence import RunStatus, SqlRunStore
from basiskit.runs.folder import MARKER, is_complete

CLI = str(Path(sys.executable).with_name("basiskit"))
SHORT = ["btc_basis", "--start", "2024-03-01", "--end", "2024-03-15"]
# ~1,440,000 30-second steps of the mode whose steps are the least often quiet (its dust trigger): seconds
# of loop, so it is still running when it is stopped (a 1-minute btc_basis year loops in under a second)
LONG = ["eth_leveraged_restaking", "--start", "2024-05-13", "--end", "2025-09-25", "--capital", "50",
        "--set", "step_seconds=30"]
# ~1,830,000 30-second steps of btc_basis: thousands of events (funding settlements), written as the run
# goes, over seconds of loop (for a kill after some were flushed)
EVENTFUL = ["btc_basis", "--start", "2024-01-01", "--end", "2025-09-29", "--set", "step_seconds=30"]
# ~130,000 steps: the loop ends quickly, writing its files takes a moment (for a kill while writing)
MEDIUM = ["btc_basis", "--start", "2024-01-01", "--end", "2024-04-01", "--set", "step_seconds=60"]


class Cli:
    """``basiskit`` subprocesses on one data dir (a copy of the session catalog) and one database."""

    def __init__(self, home: Path, source: Path, db_url: str) -> None:
        self.home = home
        self.sqlite = db_url.startswith("sqlite")
        self.url = f"sqlite:///{(home / 'basiskit.db').resolve()}" if self.sqlite else db_url
        self.env = {**os.environ, "BASISKIT_DATA_SOURCE": str(source), "COLUMNS": "250", "NO_COLOR": "1",
                    "BASISKIT_DATABASE_URL": "" if self.sqlite else db_url}

    def start(self, args: list[str], out: Path, *extra: str) -> subprocess.Popen:
        return subprocess.Popen([CLI, "backtest", *args, "--out", str(out), "--data-dir", str(self.home), *extra],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([CLI, *args, "--data-dir", str(self.home)], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def store(self) -> SqlRunStore:
        return SqlRunStore(self.url)

    def wait_running(self, proc: subprocess.Popen, timeout: float = 90) -> str:
        """The run id once the loop has made progress (polls the store directly)."""
        deadline = time.monotonic() + timeout
        store = None
        try:
            while time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                if store is None and (not self.sqlite or (self.home / "basiskit.db").exists()):
                    store = self.store()
                if store is not None:
                    runs = store.list_runs(status=RunStatus.RUNNING).items
                    if runs and runs[0].progress_done > 0:
                        assert runs[0].progress_done < (runs[0].progress_total or 0)
                        return runs[0].id
                time.sleep(0.05)
        finally:
            if store is not None:
                store.close()
        raise TimeoutError("the run did not start")

    def row(self, run_id: str):
        store = self.store()
        try:
            return store.get_run(run_id)  # the store itself: no liveness check on the way
        finally:
            store.close()


def _cli(catalog, tmp_path, db_url: str) -> Cli:
    home = tmp_path / "home"
    shutil.copytree(catalog.catalog_dir, home / "catalog")  # no import; same source files
    return Cli(home, catalog.source_dir, db_url)


@pytest.fixture
def cli(db_url, catalog, tmp_path) -> Cli:
    return _cli(catalog, tmp_path, db_url)


@pytest.fixture
def sqlite_cli(catalog, tmp_path) -> Cli:
    """SQLite only: for what does not depend on the database (the results folder)."""
    return _cli(catalog, tmp_path, "sqlite://")


def _marker(out: Path) -> dict:
    return json.loads((out / MARKER).read_text())


def test_sigkill_mid_run_is_interrupted_at_the_next_listing_and_earlier_results_stay(cli, tmp_path):
    out = tmp_path / "out"
    first = cli.start(SHORT, out)
    assert first.wait(120) == 0, first.communicate()
    first_id = _marker(out)["run_id"]
    assert is_complete(out)

    proc = cli.start(LONG, out)  # the same --out: the earlier run's folder must survive the kill
    run_id = cli.wait_running(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert cli.row(run_id).status is RunStatus.RUNNING  # what the kill left: nobody recorded its end

    listed = cli.run("runs")
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if run_id in ln)
    assert "interrupted" in line
    row = cli.row(run_id)
    assert row.status is RunStatus.INTERRUPTED and row.error["code"] == "RUN-003" and row.finished_at is not None
    assert _marker(out)["run_id"] == first_id and is_complete(out)  # untouched, still the first run's
    # killed in the loop: its partial folder holds only the event log written so far (never marked complete)
    (partial,) = tmp_path.glob(".out.partial-*")
    assert not (partial / MARKER).exists() and {p.name for p in partial.iterdir()} <= {"events"}
    report = cli.run("report", run_id)
    assert report.returncode == 2 and "RUN-005" in report.stderr and "interrupted" in report.stderr
    assert "Traceback" not in report.stderr


def test_sigkill_while_writing_files_leaves_no_complete_folder(sqlite_cli, tmp_path):
    cli = sqlite_cli
    out = tmp_path / "out"
    proc = cli.start(MEDIUM, out)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.partial-*")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert not out.exists() and not is_complete(out)  # the run's files never reached --out
    partial = list(tmp_path.glob(".out.partial-*"))
    assert partial and not (partial[0] / MARKER).exists()
    listed = cli.run("runs", "--status", "interrupted")
    assert listed.returncode == 0 and "1 run(s)" in listed.stdout, listed.stdout


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_record_interrupted_at_once(cli, tmp_path, signum, code):
    out = tmp_path / "out"
    proc = cli.start(LONG, out)
    run_id = cli.wait_running(proc)
    t0 = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 10, "the run must stop promptly"
    assert proc.returncode == code, stderr
    name = signal.Signals(signum).name
    assert "RUN-003" in stderr and f"stopped by {name}" in stderr and "Traceback" not in stderr + stdout
    row = cli.row(run_id)  # recorded by the process itself, before any listing
    assert row.status is RunStatus.INTERRUPTED and row.error["code"] == "RUN-003" and name in row.error["message"]
    assert row.progress_done > 0
    assert out.is_dir() and not (out / MARKER).exists() and not is_complete(out)  # only its error event
    err = [json.loads(ln) for ln in (out / "events" / "engine_events.jsonl").read_text().splitlines()]
    assert err[-1]["code"] == "RUN-003" and err[-1]["run_id"] == run_id
    assert not list(tmp_path.glob(".out.partial-*"))
    report = cli.run("report", str(out))
    assert report.returncode == 2 and "RUN-011" in report.stderr and "Traceback" not in report.stderr


def test_a_cancel_request_stops_a_cli_run(cli, tmp_path):
    """DELETE in the API flags the run in the store; the CLI process running it stops at its next
    progress tick and records it ``cancelled``."""
    proc = cli.start(LONG, tmp_path / "out")
    run_id = cli.wait_running(proc)
    store = cli.store()
    try:
        assert store.request_cancel(run_id).status is RunStatus.RUNNING
    finally:
        store.close()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "RUN-010" in stderr and "Traceback" not in stderr
    row = cli.row(run_id)
    assert row.status is RunStatus.CANCELLED and row.error["code"] == "RUN-010"
    assert not is_complete(tmp_path / "out")


def test_sigterm_before_the_run_starts_records_nothing(catalog, tmp_path):
    """Stopped while the data is imported (an empty data dir): exit 143, a message, no row, no folder."""
    cli = Cli(tmp_path / "home", catalog.source_dir, "sqlite://")
    proc = cli.start(SHORT, tmp_path / "out")
    deadline = time.monotonic() + 60
    while not (cli.home / "catalog").exists():  # the import has begun (the handlers are installed by then)
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "stopped by SIGTERM" in stderr and "nothing was recorded" in stderr and "Traceback" not in stderr + stdout
    store = cli.store()
    try:
        assert store.list_runs().total == 0
    finally:
        store.close()
    assert not (tmp_path / "out").exists()


def _lines(events_dir: Path) -> dict[str, list[dict]]:
    """Per component file: its whole lines, without the run id (two runs of one request differ only there)."""
    out = {}
    for path in sorted(events_dir.glob("*_events.jsonl")):
        text = path.read_text()
        whole = text[:text.rfind("\n") + 1] if "\n" in text else ""
        out[path.name] = [{k: v for k, v in json.loads(ln).items() if k != "run_id"} for ln in whole.splitlines()]
    return out


def test_sigkill_mid_run_leaves_a_valid_prefix_of_the_event_log(sqlite_cli, tmp_path):
    """The event log is written while the run goes: a run killed (SIGKILL, no handler runs) after some
    lines were flushed leaves files whose lines are exactly the first lines of the same files of the
    same request run to the end."""
    cli = sqlite_cli
    proc = cli.start(EVENTFUL, tmp_path / "killed")
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        partial = list(tmp_path.glob(".killed.partial-*/events/*_events.jsonl"))
        if sum(p.stat().st_size for p in partial) > 50_000:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    (folder,) = tmp_path.glob(".killed.partial-*")
    killed = _lines(folder / "events")

    full_out = tmp_path / "full"
    done = cli.start(EVENTFUL, full_out)
    assert done.wait(300) == 0, done.communicate()
    full = _lines(full_out / "events")
    assert sum(map(len, killed.values())) >= 100
    assert sum(map(len, killed.values())) < sum(map(len, full.values())), "killed before the end"
    for name, lines in killed.items():
        assert lines == full[name][:len(lines)], name
