"""Fixtures shared by the am.hpo storage tests: a PostgreSQL server for the session, and a fresh
database (SQLite file, or a schema of its own on the server) or journal file per test."""
from __future__ import annotations

import os
import uuid

import pytest
from postgres_server import Unavailable, postgres_server
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@pytest.fixture(scope="session")
def postgres_url():
    try:
        with postgres_server() as url:
            yield url
    except Unavailable as e:
        if os.environ.get("CI") == "true":  # tests/run.sh installs PostgreSQL: CI must run these tests
            pytest.fail(f"PostgreSQL: {e}")
        pytest.skip(f"PostgreSQL: {e}")


def fresh_postgres(server: str):
    """(url of a new empty schema, drop()): the schema is the connection's search_path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def rdb_url(request, tmp_path):
    """A fresh, empty SQL database URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.db'}"
        return
    url, drop = fresh_postgres(request.getfixturevalue("postgres_url"))
    yield url
    drop()
