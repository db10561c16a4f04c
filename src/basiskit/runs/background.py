"""Background execution of queued backtests in a thread pool (the API's runner).

The API creates the run row (``queued``) and hands the request over; a worker thread executes it
through :func:`basiskit.runs.execute.execute_backtest`, so the row moves to ``running`` and then
``finished``/``failed``. On :meth:`BackgroundRunner.shutdown` running backtests stop at their next
progress tick and are recorded ``interrupted``, queued ones too. A process killed outright leaves
rows ``queued``/``running``; the next start-up marks them ``interrupted`` (``mark_interrupted``).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from basiskit.engine.backtest import BacktestRequest
from basiskit.errors.exceptions import BasiskitError, InvalidInput, RunNotFound
from basiskit.health import HealthCheck
from basiskit.persistence.protocol import RunStore
from basiskit.runs.execute import execute_backtest, owner_alive, owner_id

log = logging.getLogger(__name__)


class BackgroundRunner:
    """Args: store, catalog, results_dir (each run writes to ``results_dir/<run-id>/``), workers
    (threads; backtests are CPU-bound, 1 keeps runs from slowing each other), health (optional check
    recording each run's outcome and duration)."""

    def __init__(self, store: RunStore, catalog, results_dir: Path, workers: int = 1,
                 health: HealthCheck | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.results_dir = Path(results_dir)
        self.health = health
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="backtest")
        self._stop = threading.Event()
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()

    def out_dir(self, run_id: str) -> Path:
        return self.results_dir / run_id

    def submit(self, run_id: str, req: BacktestRequest) -> None:
        """Queue run ``run_id`` (its row must exist, status ``queued``)."""
        fut = self._pool.submit(self._run, run_id, req)
        with self._lock:
            self._futures[run_id] = fut
        fut.add_done_callback(lambda _f, rid=run_id: self._forget(rid))

    def _forget(self, run_id: str) -> None:
        with self._lock:
            self._futures.pop(run_id, None)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._futures)

    def _run(self, run_id: str, req: BacktestRequest) -> None:
        if self._stop.is_set():
            return
        t0 = time.perf_counter()
        try:
            execute_backtest(req, self.catalog, run_id=run_id, out_dir=self.out_dir(run_id), store=self.store,
                             origin="api", should_stop=self._stop.is_set, create_row=False)
            ok, err = True, None
        except RunNotFound:
            return  # deleted while queued
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
