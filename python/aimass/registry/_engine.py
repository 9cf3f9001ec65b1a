"""The SQLAlchemy engine for a registry URL, with the per-database settings that make concurrent
writers safe.

SQLite: every write transaction starts with BEGIN IMMEDIATE, so two processes never both read
the next version number and then race to write (SQLite's deferred BEGIN would answer the second
"database is locked" at once instead of waiting); WAL journal, so readers do not wait on a
writer; foreign keys on; a 30 s busy timeout. PostgreSQL: READ COMMITTED, where
`UPDATE ... SET last_version = last_version + 1` takes the row lock and a concurrent registrant
waits for it and then sees the new value; the primary key (name, version) is the guard behind
it. Creating the tables takes an advisory lock, so many processes can open a new registry at once.
"""
from __future__ import annotations

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from . import _schema
from ._errors import RegistryError

WRITE = "aimass_write"  # execution option: this connection's transaction writes
_SCHEMA_LOCK = 0x61696D617373  # pg_advisory_xact_lock key ("aimass")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if in_memory:  # one connection for everyone: each new connection would be a new, empty database
            engine = create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def create_tables(engine: Engine) -> None:
    """Creates missing tables and records the schema version (idempotent, safe to race)."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            _schema.metadata.create_all(conn)
            meta = _schema.registry_meta
            row = conn.execute(meta.select().where(meta.c.key == "schema_version")).first()
            if row is None:
                conn.execute(meta.insert().values(key="schema_version", value=_schema.SCHEMA_VERSION))
            elif row.value != _schema.SCHEMA_VERSION:
                raise RegistryError(f"am.registry: the database has registry schema version {row.value!r}; this "
                                   f"aimass reads version {_schema.SCHEMA_VERSION!r}")
