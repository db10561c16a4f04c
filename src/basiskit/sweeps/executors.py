"""Where trials run: ``SerialExecutor`` (in the driver, one at a time), ``PoolExecutor`` (a local process
pool, spawned workers) and ``RayExecutor`` (a Ray cluster: ``address`` of a running one, or ``"local"``
to start one in this process). All run the same function, :func:`basiskit.sweeps.worker.run_trial`, on
the same task objects; ``run(tasks)`` yields each result as it finishes (any order -- the driver
records by trial index, so the order never matters).

Raises:
    ExecutorUnavailable (SWEEP-002): the pool lost a worker (killed, out of memory), Ray is not installed,
        cannot reach or start the cluster, or a Ray task died.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator

from basiskit.errors.exceptions import ExecutorUnavailable
from basiskit.sweeps.worker import TrialResult, TrialTask, run_trial


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    name = "serial"

    def __init__(self) -> None:
        self.workers = 1
        self.start_seconds = 0.0

    def run(self, tasks: Iterable[TrialTask]) -> Iterator[TrialResult]:
        for t in tasks:
            yield run_trial(t)

    def close(self) -> None:
        pass


class PoolExecutor:
    """``workers`` spawned processes (``spawn``: no state of the driver is inherited; each worker opens
    the catalog itself on its first trial and keeps its dataset cache for the next ones)."""

    name = "pool"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        t0 = time.perf_counter()
        self._pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
        self.start_seconds = time.perf_counter() - t0

    def run(self, tasks: Iterable[TrialTask]) -> Iterator[TrialResult]:
        try:
            futures = [self._pool.submit(run_trial, t) for t in tasks]
            for f in as_completed(futures):
                yield f.result()
        except BrokenProcessPool as exc:
            raise ExecutorUnavailable(f"a worker of the process pool died ({exc}); finished trials are kept: "
                                      "rerun the same command") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Trials as Ray tasks (one CPU each). ``address``: a cluster address (``ray://host:10001`` or
    ``host:6379``; its nodes need basiskit installed and the catalog's folder at the same path) or
    ``"local"``: a local cluster with ``workers`` CPUs, started here and shut down by :meth:`close`. A Ray
    session this process already has is used as it is (and left running)."""

    name = "ray"

    def __init__(self, address: str, workers: int) -> None:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is a dependency
            raise ExecutorUnavailable("Ray is not installed: pip install ray (or run without --ray)") from exc
        self._ray = ray
        self.workers = workers
        self._owned = False
        t0 = time.perf_counter()
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                             configure_logging=False)
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
            except Exception as exc:  # noqa: BLE001 - ray raises ConnectionError, RuntimeError, ...
                raise ExecutorUnavailable(f"cannot {'start a local' if address == 'local' else 'reach the'} Ray "
                                          f"cluster {'' if address == 'local' else address}: "
                                          f"{type(exc).__name__}: {exc}") from exc
            self._owned = True
        self.start_seconds = time.perf_counter() - t0
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        if address != "local" or not self._owned:
            self.workers = int(ray.cluster_resources().get("CPU", workers))

    def run(self, tasks: Iterable[TrialTask]) -> Iterator[TrialResult]:
        ray = self._ray
        pending = [self._remote.remote(t) for t in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayError as exc:
                raise ExecutorUnavailable(f"a Ray trial task failed: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()


def make_executor(workers: int | None = None, ray_address: str | None = None):  # noqa: ANN201
    """``RayExecutor`` with ``ray_address``; else ``SerialExecutor`` for 1 worker, ``PoolExecutor`` for more
    (default: one per core). Raises SweepInputError for workers < 1, ExecutorUnavailable."""
    from basiskit.errors.exceptions import SweepInputError

    n = default_workers() if workers is None else workers
    if n < 1 or n > 1024:
        raise SweepInputError(f"--workers must be between 1 and 1024, got {n}", field="workers")
    if ray_address:
        return RayExecutor(ray_address, n)
    return SerialExecutor() if n == 1 else PoolExecutor(n)
