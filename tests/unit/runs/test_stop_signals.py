"""SIGINT/SIGTERM handling of synchronous runs: raised where the process is, deferred in critical
sections, a second signal never waits."""

from __future__ import annotations

import os
import signal
import time

import pytest

from basiskit.runs import signals


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # the handler runs between bytecodes of the main thread


def test_a_signal_raises_stop_signal_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(signals.StopSignal) as exc:
        with signals.stop_on_signals() as received:
            _deliver(signal.SIGTERM)
    assert exc.value.signum == signal.SIGTERM and exc.value.name == "SIGTERM" and received == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_deferred_section_finishes_first_and_a_second_signal_does_not_wait():
    done = []
    with signals.stop_on_signals():
        with pytest.raises(signals.StopSignal):
            with signals.deferred():
                _deliver(signal.SIGINT)
                done.append("recorded")  # still runs: the first signal waits for the section's end
        assert done == ["recorded"]
        with pytest.raises(signals.StopSignal) as exc:
            with signals.deferred():
                _deliver(signal.SIGTERM)
                _deliver(signal.SIGTERM)  # insisting: raised at once
                done.append("never")
        assert done == ["recorded"] and exc.value.signum == signal.SIGTERM
