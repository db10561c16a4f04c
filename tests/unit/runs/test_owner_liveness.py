"""The liveness rule of run owners, on real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from basiskit.runs.owner import owner_alive, owner_id, parse_owner, start_token

HOST = socket.gethostname()
needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="start tokens need /proc")


@pytest.fixture
def child():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _wait_zombie(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return
        time.sleep(0.01)
    raise AssertionError("no zombie")


@needs_proc
def test_owner_is_host_pid_and_start_token_and_this_process_is_alive():
    me = owner_id()
    host, pid, token = parse_owner(me)
    assert (host, pid) == (HOST, os.getpid()) and token == start_token(os.getpid())
    boot, ticks = token.split("-")
    assert len(boot) == 8 and ticks.isdigit()
    assert owner_alive(me)


@needs_proc
def test_a_running_process_is_alive_until_killed_even_before_it_is_reaped(child):
    owner = f"{HOST}:{child.pid}:{start_token(child.pid)}"
    assert owner_alive(owner) and owner_alive(f"{HOST}:{child.pid}")  # old format: the pid exists
    child.send_signal(signal.SIGKILL)
    _wait_zombie(child.pid)  # killed, not reaped yet: the pid still exists
    assert not owner_alive(owner) and not owner_alive(f"{HOST}:{child.pid}")
    child.wait()
    assert not owner_alive(owner)


@needs_proc
def test_a_reused_pid_is_not_the_owner(child):
    boot = start_token(child.pid).split("-")[0]
    assert not owner_alive(f"{HOST}:{child.pid}:{boot}-1")  # same pid, another start time
    assert not owner_alive(f"{HOST}:{child.pid}:00000000-{start_token(child.pid).split('-')[1]}")  # another boot
    assert not owner_alive(f"{HOST}:{os.getpid()}:{boot}-1")  # an earlier process that had this pid


def test_other_hosts_are_presumed_alive_and_garbage_is_dead():
    assert owner_alive("some-other-host:1:abc-1") and owner_alive("some-other-host:1")
    assert not owner_alive(f"{HOST}:{os.getpid()}")  # old-format row of an earlier process with this pid
    for bad in (None, "", "nocolon", f"{HOST}:notapid", ":12"):
        assert not owner_alive(bad), bad
