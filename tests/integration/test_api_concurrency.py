"""50 concurrent clients listing runs and polling their status get no errors (timing is measured
in bench/bench_api.py, not here)."""

from __future__ import annotations

import asyncio

import httpx

from liveserver import wait_for

CLIENTS = 50
ROUNDS = 6


def test_fifty_concurrent_clients_list_and_poll_without_errors(api):
    ids = [api.client.post("/api/v1/backtests", json={"mode": mode, "start": "2024-03-01", "end": "2024-03-08"}).json()["id"]
           for mode in ("btc_basis", "pure_lending", "eth_basis")]
    wait_for(api.client, ids[0], {"finished"})  # the others are queued or running while the clients poll
    base = str(api.client.base_url)
    failures: list[str] = []
    seen: dict[str, set[str]] = {}

    async def client(n: int) -> int:
        done = 0
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            for r in range(ROUNDS):
                listing = await c.get("/api/v1/backtests", params={"limit": 20})
                run_id = ids[(n + r) % len(ids)]
                status = await c.get(f"/api/v1/backtests/{run_id}")
                for resp in (listing, status):
                    if resp.status_code != 200:
                        failures.append(f"client {n}: {resp.request.url} -> {resp.status_code} {resp.text[:200]}")
                if status.status_code == 200:
                    seen.setdefault(run_id, set()).add(status.json()["status"])
                if listing.status_code == 200 and {x["id"] for x in listing.json()["items"]} != set(ids):
                    failures.append(f"client {n}: listing {listing.json()['items']}")
                done += 2
        return done

    async def main() -> list[int]:
        return await asyncio.gather(*(client(n) for n in range(CLIENTS)))

    counts = asyncio.run(main())
    assert not failures, "\n".join(failures[:10])
    assert sum(counts) == CLIENTS * ROUNDS * 2
    for run_id in ids:
        assert wait_for(api.client, run_id, {"finished", "failed"})["status"] == "finished"
    assert set(seen) == set(ids)
