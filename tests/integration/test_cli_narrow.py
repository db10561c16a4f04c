"""The CLI in an 80-column terminal: ``basiskit backtest`` on a fresh data dir shows the first import
(dataset k of n) and a step bar whose total is known from its first frame; the summary fits; ``basiskit
runs`` shows whole run ids that ``basiskit report`` takes. The backtest runs in a pseudo-terminal (rich
draws its live progress only on a terminal); every drawn line is checked."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from basiskit import service
from basiskit.data.sources import SPECS
from basiskit.persistence.records import NewRun, RunStatus

WIDTH = 80
CLI = [str(Path(sys.executable).with_name("basiskit"))] if Path(sys.executable).with_name("basiskit").is_file() \
    else [sys.executable, "-m", "basiskit.cli.main"]
STEPS = 14 * 24 + 1  # 2024-03-01 .. 2024-03-15, hourly, both ends
LONG_IDS = ["20250101T000000Z-usdt_market_neutral_no_leverage-abcdef",
            "20250101T000001Z-eth_leveraged_restaking-012345"]


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASISKIT_")}
    env.update(COLUMNS=str(WIDTH), LINES="24", TERM="xterm", **extra)
    return env


def _frames(raw: bytes) -> list[str]:
    """The lines rich drew: colour codes dropped, cursor moves and carriage returns as line breaks."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw.decode("utf-8", errors="replace"))
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", text).replace("\r", "\n")
    return [line for line in text.split("\n") if line.strip()]


def _in_terminal(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run the CLI with stderr (the progress) on a pseudo-terminal of WIDTH columns; stdout captured."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, WIDTH, 0, 0))
    proc = subprocess.Popen([*CLI, *args], cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave)
    os.close(slave)
    raw = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child has closed the terminal
                break
            if not chunk:
                break
            raw.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        reader.join(10)
        os.close(master)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), ""), _frames(bytes(raw))


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def _fits(text: str) -> None:
    long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not long, f"lines wider than {WIDTH}: {long}"


@pytest.fixture(scope="module")
def first_run(source_dir, tmp_path_factory):
    """A backtest on a fresh data dir (so it imports the raw data first), drawn in an 80-column terminal."""
    tmp = tmp_path_factory.mktemp("cli80")
    home = tmp / "home"
    res, frames = _in_terminal(["backtest", "pure_lending", "--start", "2024-03-01", "--end", "2024-03-15",
                                "--source", str(source_dir), "--data-dir", str(home), "--out", str(tmp / "out")], tmp)
    assert res.returncode == 0, res.stdout + "\n".join(frames)
    return {"tmp": tmp, "home": home, "stdout": res.stdout, "frames": frames}


def test_backtest_progress_knows_its_total_and_shows_the_first_import(first_run):
    frames = first_run["frames"]
    assert frames, "no progress drawn on the terminal"
    _fits("\n".join(frames))
    steps = [f for f in frames if f.rstrip().endswith("steps") or " steps " in f]
    assert steps and all(f"/{STEPS} steps" in f for f in steps), steps  # the total from the first frame on
    assert re.search(rf"\bpure_lending\b.* 0/{STEPS} steps", frames[0]), frames[:3]
    n = len(SPECS)
    imports = [re.search(rf"import (\S+) .*\b(\d+)/{n} datasets", f) for f in frames]
    imports = [(m.group(1), int(m.group(2))) for m in imports if m]
    assert len({d for d, _ in imports}) >= 3, frames  # several datasets named while they are imported
    assert all(d in SPECS for d, _ in imports)
    done = [k for _, k in imports]
    assert done == sorted(done)  # k of n only grows


def test_backtest_summary_fits_80_columns(first_run):
    out = first_run["stdout"]
    _fits(out)
    for expected in ("pure_lending  2024-03-01T00:00:00Z → 2024-03-15T00:00:00Z", "final equity (USDT)",
                     "lending_interest", "= equity change", f"loop: {STEPS} steps", "report.html"):
        assert expected in out, out
    assert not re.search(r"-0\.0+\b(?!\d)", out), out


@pytest.fixture(scope="module")
def listed(first_run):
    """The first run's data dir with two more runs of the longest modes (as the API records them)."""
    store = service.open_store(first_run["home"])
    try:
        for rid in LONG_IDS:
            store.create_run(NewRun(rid, rid.split("-")[1], {"mode": rid.split("-")[1]}, origin="api",
                                    status=RunStatus.QUEUED))
    finally:
        store.close()
    return first_run


def test_runs_shows_whole_ids_that_report_takes(listed):
    home, tmp = listed["home"], listed["tmp"]
    res = _cli(["runs", "--data-dir", str(home)], tmp)
    assert res.returncode == 0, res.stderr
    _fits(res.stdout)
    lines = res.stdout.splitlines()
    for rid in LONG_IDS:
        assert any(line.split()[:1] == [rid] for line in lines if line.strip()), res.stdout
    finished = [line.split()[0] for line in lines if line.strip() and "finished" in line.split()]
    assert len(finished) == 1 and "-pure_lending-" in finished[0], res.stdout

    report = _cli(["report", finished[0], "--data-dir", str(home)], tmp)  # the id as copied from the table
    assert report.returncode == 0, report.stdout + report.stderr
    assert f"report: {tmp / 'out' / 'report.html'}" in report.stdout


@pytest.mark.parametrize("width", [40, 60, 120])
def test_runs_at_other_widths_keeps_ids_whole(listed, width):
    env = _env()
    env["COLUMNS"] = str(width)
    res = subprocess.run([*CLI, "runs", "--data-dir", str(listed["home"])], cwd=listed["tmp"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    ids = [line.split()[0] for line in res.stdout.splitlines() if re.match(r"\d{8}T\d{6}Z-", line)]
    assert len(ids) == 3 and all(re.fullmatch(r"\d{8}T\d{6}Z-[a-z_]+-[0-9a-f]{6}", i) for i in ids), res.stdout
    # only a line that starts with an id wider than the terminal may be wider (the terminal wraps it, whole)
    assert all(len(line) <= width for line in res.stdout.splitlines() if not re.match(r"\d{8}T\d{6}Z-", line))


def test_missing_source_is_a_clear_error(tmp_path):
    res = _cli(["backtest", "pure_lending", "--start", "2024-03-01", "--end", "2024-03-02",
                "--source", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "home")], tmp_path)
    assert res.returncode == 2
    err = " ".join(res.stderr.split())
    assert "DATA-001" in err and str(tmp_path / "nowhere") in err and "--source" in err, res.stderr
