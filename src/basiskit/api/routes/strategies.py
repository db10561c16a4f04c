"""``/api/v1/strategies``: modes, default configs with JSON schema, validation, data requirements."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query

from basiskit import service
from basiskit.api.context import AppContext, ctx
from basiskit.api.errors import responses
from basiskit.api.routes.common import MODE_PATH, iso_date, mode_in_path, to_request
from basiskit.api.schemas import ModeConfigOut, ModeList, RequirementsOut, ValidateIn, ValidateOut
from basiskit.engine.backtest import BacktestInputError

router = APIRouter(prefix="/api/v1", tags=["strategies"])


@router.get("/strategies", response_model=ModeList, summary="List strategy modes with their descriptions")
def list_strategies() -> dict:
    return {"items": service.list_modes()}


@router.get("/strategies/{mode}/config", response_model=ModeConfigOut, responses=responses(404, 422),
            summary="Default config of a mode and its JSON schema")
def strategy_config(mode: str = MODE_PATH) -> dict:
    with mode_in_path():
        return service.mode_config(mode)


@router.post("/strategies/{mode}/validate", response_model=ValidateOut, responses=responses(400, 404, 422),
             summary="Validate config overrides (and, with start/end, a whole run request); writes nothing")
def validate(body: ValidateIn, mode: str = MODE_PATH, c: AppContext = Depends(ctx)) -> ValidateOut:
    with mode_in_path():
        if body.start is None and body.end is None:
            if body.deposits or body.withdrawals:
                raise BacktestInputError("deposits and withdrawals need a period: give start and end", field="start")
            cfg = service.validate_mode_config(mode, body.config, body.share_class)
            return ValidateOut(valid=True, mode=mode, config=cfg.model_dump(mode="json"))
        if body.start is None or body.end is None:
            missing = "start" if body.start is None else "end"
            raise BacktestInputError(f"give both start and end ({missing} is missing)", field=missing)
        valid = service.validate_backtest(to_request(mode, body), c.catalog, c.settings.max_steps, refresh=False)
    return ValidateOut(valid=True, mode=mode, config=valid.config.model_dump(mode="json"), steps=valid.steps,
                       covered=True)


@router.get("/strategies/{mode}/requirements", response_model=RequirementsOut, responses=responses(404, 422),
            summary="Venue accounts and datasets of a mode; with start and end, whether the data covers them")
def requirements(mode: str = MODE_PATH, start: date | None = Query(None, description="first step (00:00 UTC)"),
                 end: date | None = Query(None, description="last step (00:00 UTC)"),
                 c: AppContext = Depends(ctx)) -> dict:
    with mode_in_path():
        return service.mode_requirements(mode, c.catalog, iso_date(start), iso_date(end), c.settings.max_steps,
                                         refresh=False)
