"""Who runs a run, and whether that process still exists.

A run row records its owner as ``<host>:<pid>:<start>``: the host name, the process id and the
process's start token, ``<boot id, 8 hex>-<start time in clock ticks since boot>`` from
``/proc/sys/kernel/random/boot_id`` and field 22 of ``/proc/<pid>/stat``. The start token makes the
identity survive pid reuse: a later process that happens to get the same pid has another start time
(or, after a reboot, another boot id). Where ``/proc`` is unavailable the owner is ``<host>:<pid>``.

Liveness rule (:func:`owner_alive`), applied by ``basiskit.service.recover_interrupted``:

* no owner, or one that cannot be parsed: dead;
* another host: presumed alive (its runs are that host's to recover; hosts sharing a database must
  have distinct host names);
* this very process (same pid and start token): alive;
* the pid does not exist, or is a zombie (killed, not yet reaped): dead;
* the pid exists but its start token differs from the recorded one: dead (the pid was reused);
* an old-format owner ``<host>:<pid>`` (no start token): alive if the pid exists, except this
  process's own pid (such a row was left by an earlier process that had the same pid).
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

_PROC = Path("/proc")


@functools.lru_cache(maxsize=1)
def _boot_id() -> str | None:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8] or None
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start ticks) of ``pid`` from ``/proc/<pid>/stat``, or None when unreadable."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2:].split()  # the command name (field 2) may hold spaces and parentheses
    if len(rest) < 20:
        return None
    return rest[0], rest[19]  # field 3 (state) and field 22 (starttime)


def start_token(pid: int) -> str | None:
    """``<boot id 8 hex>-<start ticks>`` of ``pid``, or None without ``/proc``."""
    boot, stat = _boot_id(), _stat(pid)
    if boot is None or stat is None:
        return None
    return f"{boot}-{stat[1]}"


@functools.lru_cache(maxsize=1)
def _own(pid: int) -> str:
    token = start_token(pid)
    host = socket.gethostname()
    return f"{host}:{pid}" if token is None else f"{host}:{pid}:{token}"


def owner_id() -> str:
    """This process as a run owner: ``<host>:<pid>:<start>`` (see module docstring)."""
    return _own(os.getpid())  # keyed by pid: a forked child gets its own identity


def parse_owner(owner: str | None) -> tuple[str, int, str | None] | None:
    """``(host, pid, start token or None)`` of ``owner``, or None when it cannot be parsed."""
    if not owner:
        return None
    parts = owner.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        host, pid, token = parts
    else:
        host, _, pid = owner.rpartition(":")
        token = None
    if not host or not pid.isdigit():
        return None
    return host, int(pid), token or None


def owner_alive(owner: str | None) -> bool:
    """Whether the process ``owner`` still runs (the rule in the module docstring)."""
    parsed = parse_owner(owner)
    if parsed is None:
        return False
    host, pid, token = parsed
    if host != socket.gethostname():
        return True
    if owner == owner_id():
        return True
    if pid == os.getpid() and token is None:
        return False  # an old-format row of an earlier process with this pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    stat = _stat(pid)
    if stat is not None and stat[0] in ("Z", "X"):
        return False
    if token is not None:
        now = start_token(pid)
        if now is not None and now != token:
            return False
    return True
