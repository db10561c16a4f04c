"""Retry with exponential backoff for the ``RetryWithBackoff`` branch of the exception tree."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from basiskit.errors.exceptions import RetryWithBackoff

T = TypeVar("T")


def with_backoff(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.05, max_delay: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, RetryWithBackoff, float], None] | None = None) -> T:
    """Call ``fn`` until it returns; on ``RetryWithBackoff`` wait ``base_delay * 2**k`` seconds (capped
    at ``max_delay``) and try again, at most ``attempts`` calls in all. ``on_retry(attempt, error,
    delay_s)`` is told of each retry before its wait (e.g. to log it).

    Raises:
        RetryWithBackoff: the last error, once the attempts are used up.
        ValueError: ``attempts < 1``.
        Any other exception from ``fn`` at once (not retried).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    for k in range(attempts):
        try:
            return fn()
        except RetryWithBackoff as exc:
            if k == attempts - 1:
                raise
            delay = min(max_delay, base_delay * 2 ** k)
            if on_retry is not None:
                on_retry(k + 1, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")
