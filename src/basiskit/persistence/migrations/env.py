"""Alembic environment: runs on the connection handed over in ``config.attributes["connection"]``
(see ``basiskit.persistence.migrate.upgrade``), or on ``sqlalchemy.url`` for the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from basiskit.persistence.migrate import VERSION_TABLE, include_object
from basiskit.persistence.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    # own version table and Optuna's tables ignored: the sweeps' studies share the database (migrate.py)
    context.configure(connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE,
                      include_object=include_object, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
