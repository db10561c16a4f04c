"""Background execution of queued backtests in a thread pool (the API's runner).

The API creates the run row (``queued``) and hands the request over; a worker thread executes it
through :func:`basiskit.runs.execute.execute_backtest`, so the row moves to ``running`` and then
``finished``/``failed``/``cancelled``. At most ``max_queued`` runs wait for a busy worker: one more
is refused with ``QueueFull`` (API-006, HTTP 429 with Retry-After). :meth:`BackgroundRunner.cancel`
drops a queued run from the queue (its row is already ``cancelled``, see ``RunStore.request_cancel``);
a running one sees the cancel request at its next progress tick. On :meth:`BackgroundRunner.shutdown`
running backtests stop at their next progress tick and are recorded ``interrupted``, queued ones too.
A process killed outright leaves rows ``queued``/``running``; the next start-up or listing marks them
``interrupted`` (``basiskit.service.recover_interrupted``).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from basiskit.engine.backtest import BacktestRequest
from basiskit.errors.exceptions import BasiskitError, InvalidInput, RetryWithBackoff, RunCancelled, RunNotFound
from basiskit.health import HealthCheck
from basiskit.persistence.protocol import RunStore
from basiskit.runs.execute import execute_backtest, owner_alive, owner_id

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 16


class QueueFull(RetryWithBackoff):
    """The run queue holds ``max_queued`` runs; ``retry_after`` seconds is a fair wait."""

    code = "API-006"

    def __init__(self, *args: object, retry_after: int = 10, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class BackgroundRunner:
    """Args: store, catalog, results_dir (each run writes to ``results_dir/<run-id>/``), workers
    (threads; backtests are CPU-bound, 1 keeps runs from slowing each other), health (optional check
    recording each run's outcome and duration), max_queued (runs that may wait for a worker)."""

    def __init__(self, store: RunStore, catalog, results_dir: Path, workers: int = 1,
                 health: HealthCheck | None = None, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        self.store = store
        self.catalog = catalog
        self.results_dir = Path(results_dir)
        self.health = health
        self.max_queued = max(0, int(max_queued))
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="backtest")
        self._stop = threading.Event()
        self._futures: dict[str, Future] = {}
        self._waiting: set[str] = set()  # submitted, not started yet
        self._reserved = 0
        self._lock = threading.Lock()

    def out_dir(self, run_id: str) -> Path:
        return self.results_dir / run_id

    def reserve(self) -> None:
        """Take a slot for a run about to be submitted (give it back with :meth:`release` if it is
        not). Raises QueueFull (API-006) when every worker is busy and ``max_queued`` runs already wait."""
        with self._lock:
            if len(self._futures) + self._reserved >= self.workers + self.max_queued:
                raise QueueFull(f"{self.max_queued} runs are already queued behind {self.workers} running; "
                                "retry later or cancel one")
            self._reserved += 1

    def release(self) -> None:
        with self._lock:
            self._reserved = max(0, self._reserved - 1)

    def submit(self, run_id: str, req: BacktestRequest, reserved: bool = False) -> None:
        """Queue run ``run_id`` (its row must exist, status ``queued``); ``reserved``: a slot was
        taken with :meth:`reserve` (otherwise QueueFull when the queue is full)."""
        if not reserved:
            self.reserve()
        with self._lock:
            self._reserved = max(0, self._reserved - 1)
            self._waiting.add(run_id)
            fut = self._pool.submit(self._run, run_id, req)
            self._futures[run_id] = fut
        fut.add_done_callback(lambda _f, rid=run_id: self._forget(rid))

    def _forget(self, run_id: str) -> None:
        with self._lock:
            self._futures.pop(run_id, None)
            self._waiting.discard(run_id)

    @property
    def pending(self) -> int:
        """Runs submitted and not ended (waiting or running)."""
        with self._lock:
            return len(self._futures)

    @property
    def queued(self) -> int:
        """Runs waiting for a worker."""
        with self._lock:
            return len(self._waiting)

    def cancel(self, run_id: str) -> bool:
        """Drop run ``run_id`` from the queue if it has not started (True); a started run is stopped
        through the store's cancel request instead."""
        with self._lock:
            fut = self._futures.get(run_id)
        if fut is not None and fut.cancel():
            self._forget(run_id)
            return True
        return False

    def _run(self, run_id: str, req: BacktestRequest) -> None:
        with self._lock:
            self._waiting.discard(run_id)
        if self._stop.is_set():
            return
        t0 = time.perf_counter()
        try:
            execute_backtest(req, self.catalog, run_id=run_id, out_dir=self.out_dir(run_id), store=self.store,
                             origin="api", should_stop=self._stop.is_set, create_row=False)
            ok, err = True, None
        except RunNotFound:
            return  # deleted while queued
        except RunCancelled as exc:
            ok, err = True, None  # on request: recorded on the run, not a service error
            log.info("run %s cancelled: %s", run_id, exc)
        except InvalidInput as exc:
            ok, err = True, None  # the request's fault, recorded on the run; not a service error
            log.info("run %s rejected: %s", run_id, exc)
        except BasiskitError as exc:
            ok, err = False, f"{exc.code}: {exc}"
        except Exception as exc:  # noqa: BLE001 - execute_backtest already recorded it
            ok, err = False, f"{type(exc).__name__}: {exc}"
        if self.health is not None:
            self.health.record(ok, time.perf_counter() - t0, err)

    def shutdown(self, wait: bool = True) -> None:
        """Stop: running backtests end at their next progress tick (recorded ``interrupted``), queued
        ones never start and are recorded ``interrupted`` too."""
        self._stop.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)
        me = owner_id()
        try:
            self.store.mark_interrupted(lambda owner: owner != me and owner_alive(owner))
        except BasiskitError as exc:
            log.warning("could not mark runs interrupted at shutdown: %s", exc)
