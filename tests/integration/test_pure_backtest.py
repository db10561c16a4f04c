"""``run_backtest`` is a pure function of (request, catalog): on a process pool (spawned workers, the
catalog pickled as its location) it gives the numbers of an in-process run, writes nothing to the
catalog, and a shocked run changes only its own copy of the data (the runs after it are unchanged)."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest

PLAIN = BacktestRequest("eth_leveraged", "2024-06-01", "2024-07-01", 100.0, overrides={"target_ltv": 0.92})
SHOCKED = BacktestRequest("eth_leveraged", "2024-06-01", "2024-07-01", 100.0, overrides={
    "target_ltv": 0.92, "rebalance": False,
    "shock": {"kind": "borrow_rate", "multiplier": 20, "at": "2024-06-10T00:00", "hours": 168}})
BASIS = BacktestRequest("btc_basis", "2024-03-01", "2024-04-01", 100_000.0)
TIMING = {"loop_seconds", "steps_per_second", "run_seconds"}


def _numbers(outcome) -> dict:
    return {k: v for k, v in outcome.summary.items() if k not in TIMING}


def _fingerprint(catalog) -> str:
    h = hashlib.sha256()
    for p in sorted(catalog.catalog_dir.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(catalog.catalog_dir)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def test_a_process_pool_gives_the_in_process_numbers_and_the_catalog_is_untouched(catalog):
    before = _fingerprint(catalog)
    reqs = [PLAIN, SHOCKED, PLAIN, BASIS]
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        pooled = list(pool.map(run_backtest, reqs, [catalog] * len(reqs)))
    local = [run_backtest(r, catalog) for r in reqs]
    for p, loc in zip(pooled, local):
        assert _numbers(p) == _numbers(loc)
    assert _fingerprint(catalog) == before, "a backtest wrote to the catalog"
    # the shock hit only its own run: the plain run after it (same worker pool) is the plain run before it
    assert _numbers(pooled[0]) == _numbers(pooled[2])
    assert _numbers(pooled[1])["final_equity"] != pytest.approx(_numbers(pooled[0])["final_equity"], rel=1e-6)
    assert _numbers(pooled[1])["attribution"]["borrow_cost"] < _numbers(pooled[0])["attribution"]["borrow_cost"]


def test_a_validated_request_s_frame_is_built_once_and_not_kept_after_the_run(catalog):
    """The coverage check keeps the frame it built; the run takes it (the same object) and the catalog
    forgets it, so a second run builds its own; a shocked run changes only the frame it took."""
    from basiskit.engine.assembly import series_specs
    from basiskit.engine.backtest import prepare
    from basiskit.runs.coverage import check_coverage
    from basiskit.strategies.registry import build_strategy

    config, clock = prepare(SHOCKED)
    specs = series_specs(build_strategy(config).requirements(), set(catalog.dataset_ids()))
    check_coverage(catalog, config, clock)
    kept = catalog.frame(clock.grid(), specs)
    again = catalog.frame(clock.grid(), specs)
    assert again is not kept and again.series == kept.series
    check_coverage(catalog, config, clock)
    shocked = run_backtest(SHOCKED, catalog)  # takes the kept frame and shocks it
    plain = catalog.frame(clock.grid(), specs)
    assert plain.series == again.series  # a fresh build: the shock stayed in the run's frame
    assert _numbers(shocked) == _numbers(run_backtest(SHOCKED, catalog))
