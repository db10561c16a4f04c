"""Stopping a synchronous (CLI) run on SIGINT/SIGTERM.

:func:`stop_on_signals` installs handlers that raise :class:`StopSignal` in the main thread wherever
it is (data import, the loop, writing files), as Python does for SIGINT with KeyboardInterrupt.
``basiskit.runs.execute`` turns it into ``RunInterrupted`` (RUN-003): the run's row becomes
``interrupted`` at once and its partial folder is removed. Inside :func:`deferred` sections (recording
the outcome, moving the folder in place) a first signal waits until the section ends; a second one
raises at once (a hung database must not make the process unkillable).

A process killed outright (SIGKILL) runs none of this: its row stays ``running`` until the next
start or listing finds its owner gone (``basiskit.runs.owner``).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)


class StopSignal(BaseException):
    """A stop signal arrived (a BaseException, like KeyboardInterrupt: ``except Exception`` lets it pass)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")


_hold = 0
_pending: int | None = None
received: list[int] = []  # signals received while the handlers were installed (in order)


def _main() -> bool:
    return threading.current_thread() is threading.main_thread()


def _handler(signum: int, _frame) -> None:  # noqa: ANN001
    global _pending
    received.append(signum)
    if _hold and _pending is None:
        _pending = signum
        return
    raise StopSignal(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A section a first stop signal does not interrupt (it is raised when the section ends). Only
    the main thread defers (handlers run there); elsewhere this does nothing."""
    global _hold, _pending
    if not _main():
        yield
        return
    _hold += 1
    try:
        yield
    finally:
        _hold -= 1
        if not _hold and _pending is not None:
            signum, _pending = _pending, None
            raise StopSignal(signum)


@contextmanager
def stop_on_signals() -> Iterator[list[int]]:
    """Raise StopSignal on SIGINT/SIGTERM while inside (main thread only); the previous handlers
    are restored on exit. Yields the list of signals received."""
    global _pending
    if not _main():
        yield received
        return
    previous = {s: signal.signal(s, _handler) for s in HANDLED}
    received.clear()
    _pending = None
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
