"""Database fixtures: SQLite files and a real PostgreSQL server (127.0.0.1:5432, trust auth).

Each test session creates its own database ``basiskit_test_<random>`` (dropped at the end); each
test gets a fresh schema in it (``search_path`` set through the URL), so tests never see each
other's rows. An unreachable server FAILS the PostgreSQL tests (CI has one); it never skips them.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import psycopg
import pytest

PG_HOST = os.environ.get("BASISKIT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BASISKIT_TEST_PG_PORT", "5432"))
PG_USERS = ("postgres", "root")
PG_ADMIN_DB = "test"


def _admin_connect() -> tuple[psycopg.Connection, str]:
    errors = []
    for user in PG_USERS:
        try:
            conn = psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname=PG_ADMIN_DB, autocommit=True,
                                   connect_timeout=5)
            return conn, user
        except psycopg.OperationalError as exc:
            errors.append(f"{user}: {exc}".strip())
    pytest.fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable (start it: pg_ctlcluster --skip-systemctl-redirect "
                f"$(ls /etc/postgresql) main start): {'; '.join(errors)}", pytrace=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[tuple[str, str]]:
    """(user, database) of a database created for this test session."""
    conn, user = _admin_connect()
    name = f"basiskit_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield user, name
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def pg_url_for(user: str, database: str, schema: str) -> str:
    return (f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{database}"
            f"?options=-csearch_path%3D{schema}")


@contextmanager
def fresh_schema(pg_database: tuple[str, str]) -> Iterator[str]:
    """URL of a new, empty schema in the session's database; the schema is dropped on exit."""
    user, database = pg_database
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname=database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_url_for(user, database, schema)
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname=database, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_database) -> Iterator[str]:
    """URL of a fresh, empty schema in the session's database (dropped after the test)."""
    with fresh_schema(pg_database) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh database URL: a SQLite file, then a PostgreSQL schema (the same tests run on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'basiskit.db'}"
    return request.getfixturevalue("pg_url")
