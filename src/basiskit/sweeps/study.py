"""The sweep's Optuna study in the run store's database (``optuna.storages.RDBStorage`` on the same
SQLAlchemy URL: SQLite file or PostgreSQL). Optuna creates its own tables there (``studies``,
``trials``, ``trial_params``, ... and its ``alembic_version``); basiskit's migrations keep their revision
in ``basiskit_alembic_version`` and ignore Optuna's tables (``basiskit.persistence.migrate``), so the
run store must be opened (migrated) before the storage: :func:`open_storage` takes the open store.

A study is one sweep (or one walk-forward window of one). Its user attributes hold the sweep:
``spec`` (``SweepSpec.as_dict``), ``owner`` (the process running it, ``basiskit.runs.owner``),
``status`` (running / finished / incomplete), ``created_at``/``updated_at`` (ISO UTC), ``executor``,
``workers``, ``parent`` (a walk-forward window: its sweep's id), ``walk_forward`` (the out-of-sample
results). A trial's user attributes: ``index`` (its number in the sweep), ``run_id``, ``metrics``,
``seconds``, ``pid``, ``peak_rss_mb``, ``error`` (the coded error body of a failed trial), ``note``.

Raises:
    StoreUnavailable (STORE-001): the database cannot be reached.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from basiskit.errors.exceptions import StoreUnavailable


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_storage(store):  # noqa: ANN001, ANN201 - a SqlRunStore (migrated) in, an RDBStorage out
    """Optuna's storage on ``store``'s database (SQLite with a 30 s busy timeout, like the store)."""
    import optuna
    from sqlalchemy.exc import OperationalError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = store.url
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc


def close_storage(storage) -> None:  # noqa: ANN001
    storage.scoped_session.remove()
    storage.engine.dispose()


def trial_index(t) -> int | None:  # noqa: ANN001
    return t.user_attrs.get("index")


def latest_by_index(trials) -> dict[int, Any]:  # noqa: ANN001
    """The last attempt (highest trial number) of each sweep index."""
    out: dict[int, Any] = {}
    for t in sorted(trials, key=lambda t: t.number):
        k = trial_index(t)
        if k is not None:
            out[k] = t
    return out


def study_names(storage) -> list[str]:  # noqa: ANN001
    return [s.study_name for s in storage.get_all_studies()]
