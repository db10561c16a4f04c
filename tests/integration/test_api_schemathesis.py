"""Schemathesis against the live OpenAPI schema of a running server: no server error (5xx) and no
schema violation (status codes, content types, headers and bodies as documented; schema-invalid
requests rejected with 4xx).

Every operation gets positive (schema-valid) and negative (schema-invalid) cases through
schemathesis's Python API (``APIOperation.as_strategy`` + ``Case.validate_response``; its pytest
plugin does not run on pytest 9 yet). Operations with a ``{mode}`` or ``{run_id}`` in the path get
a further positive pass with a real mode and a real finished run, so real result pages are checked
against their schemas too.

Excluded check: ``positive_data_acceptance`` (schema-valid data must get 2xx). It cannot hold for a
backtest API: a request that matches the schema can still name an unknown mode or a period outside
the data, and must get 422 with the field named (see test_api_endpoints).
"""

from __future__ import annotations

from contextlib import ExitStack

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from basiskit.api.app import create_app
from basiskit.api.settings import ApiSettings

from dbfixtures import fresh_schema
from liveserver import serve_in_thread, wait_for

EXAMPLES = {"sqlite": 30, "postgresql": 15}
"""Examples per operation and generation mode. The same app over the two stores: PostgreSQL's own refusals
(text with NUL, integers out of range, ...) show within fewer examples; CI's time budget is shared."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(request, catalog, tmp_path_factory):
    home = tmp_path_factory.mktemp("schemathesis_home")
    with ExitStack() as stack:
        if request.param == "sqlite":
            db = f"sqlite:///{home / 'basiskit.db'}"
        else:
            db = stack.enter_context(fresh_schema(request.getfixturevalue("pg_database")))
        app = create_app(ApiSettings(data_dir=home, database_url=db), catalog=catalog)
        yield stack.enter_context(serve_in_thread(app))


def _passes(op, run_id: str):
    yield GenerationMode.POSITIVE, {}
    yield GenerationMode.NEGATIVE, {}
    fixed = {}
    if "{mode}" in op.path:
        fixed["mode"] = "btc_basis"
    if "{run_id}" in op.path and op.method.upper() != "DELETE":
        fixed["run_id"] = run_id
    if fixed:
        yield GenerationMode.POSITIVE, fixed


def test_api_conforms_to_its_live_schema(live_api, request, closing_note):
    with httpx.Client(base_url=live_api, timeout=60) as c:
        run_id = c.post("/api/v1/backtests", json={"mode": "btc_basis", "start": "2024-03-01", "end": "2024-03-08",
                                                    "deposits": [{"date": "2024-03-02", "amount": 500}]}).json()["id"]
        assert wait_for(c, run_id, {"finished", "failed"})["status"] == "finished"
    schema = schemathesis.openapi.from_url(f"{live_api}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 11
    stats = {"cases": 0, "statuses": {}, "failures": [], "no_negative": []}

    for op in operations:
        for mode, path_parameters in _passes(op, run_id):
            label = f"{op.method.upper()} {op.path} [{mode.value}{' ' + str(path_parameters) if path_parameters else ''}]"
            before = stats["cases"]

            @given(case=op.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
            @settings(max_examples=EXAMPLES[request.node.callspec.id], deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case):
                response = case.call(base_url=live_api, timeout=60)
                stats["cases"] += 1
                stats["statuses"][response.status_code] = stats["statuses"].get(response.status_code, 0) + 1
                case.validate_response(response, excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:
                if mode is GenerationMode.NEGATIVE and stats["cases"] == before:
                    stats["no_negative"].append(label)  # nothing in the request can be made invalid
                else:
                    stats["failures"].append(f"{label}: no case could be generated")
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
                stats["failures"].append(f"{label}: {exc}")

    closing_note(f"schemathesis [{request.node.callspec.id}]: {stats['cases']} cases over {len(operations)} "
                 f"operations (positive + negative; no invalid input possible for {len(stats['no_negative'])}), "
                 f"status codes {dict(sorted(stats['statuses'].items()))}")
    assert not stats["failures"], "\n\n".join(stats["failures"])
    assert not any(s >= 500 for s in stats["statuses"])
    assert all(op.path in ("/health", "/api/v1/strategies", "/api/v1/errors", "/api/v1/sweeps") for op in operations
               if any(op.path in label for label in stats["no_negative"]))
    assert stats["statuses"].get(200, 0) >= 100  # real results were served and validated, not only errors
