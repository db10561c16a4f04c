"""``/api/v1/sweeps``: parameter sweeps recorded in the run store (started with ``basiskit sweep``): the
list with status and progress, and one sweep with its trials (parameters, objective, key metrics,
run id of each trial's results under ``/api/v1/backtests/{run_id}``), best trial, parameter importance,
progress and the dashboard's charts (plotly figure dicts: ``heatmap`` for two or more parameters,
``parcoords``). Errors: 404 SWEEP-003 (unknown sweep)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from basiskit import service
from basiskit.api.context import AppContext, ctx
from basiskit.api.errors import responses
from basiskit.api.routes.common import NAME

router = APIRouter(prefix="/api/v1", tags=["sweeps"])
SWEEP_ID_PATH = Path(description="sweep id (as printed by `basiskit sweep`)", pattern=NAME)


def _links(sweep_id: str) -> dict[str, str]:
    return {"self": f"/api/v1/sweeps/{sweep_id}"}


@router.get("/sweeps", response_model=dict[str, Any], responses=responses(422),
            summary="Parameter sweeps, newest first: status (running, finished, incomplete, interrupted), progress")
def list_sweeps(c: AppContext = Depends(ctx)) -> dict:
    items = [{**i, "links": _links(i["id"])} for i in service.list_sweeps(c.store)]
    return {"items": items, "total": len(items)}


@router.get("/sweeps/{sweep_id}", response_model=dict[str, Any], responses=responses(404, 422),
            summary="One sweep: trials (parameters, objective, key metrics, run id), best trial, importance, progress, "
                    "charts")
def get_sweep(sweep_id: str = SWEEP_ID_PATH, c: AppContext = Depends(ctx)) -> dict:
    from basiskit.sweeps.outputs import heatmap_figure, parcoords_figure

    info = service.get_sweep(c.store, sweep_id)
    keys, objective = info["params"], info["spec"].get("objective", "")
    info["charts"] = {"heatmap": heatmap_figure(info["trials"], keys, objective),
                      "parcoords": parcoords_figure(info["trials"], keys, objective)}
    info["links"] = {**_links(sweep_id), "trials": [f"/api/v1/backtests/{r['run_id']}" for r in info["trials"]]}
    return info
