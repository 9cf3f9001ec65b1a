"""The registry's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

registered_models      name (PK), description, last_version (the highest version ever given:
                       numbers are never reused, even after a delete), created/updated (ms)
registered_model_tags  (name, key) PK -> value
model_versions         (name, version) PK, kind "model" | "knn", source (the path it was
                       registered from), artifact (its folder relative to the artifact root:
                       "<name>/<version>"), sha256 of the main file, registration_id (also
                       written into the folder, so cleanup only ever removes its own files),
                       description, status, created (ms)
model_version_tags     (name, version, key) PK -> value
aliases                (name, alias) PK -> version (a foreign key to model_versions)
registry_meta          key/value, "schema_version"

Times are integer milliseconds since the epoch (as MLflow's creation_timestamp).
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, ForeignKey, ForeignKeyConstraint, Integer, MetaData, String, Table,
                        Text)

SCHEMA_VERSION = "1"
NAME_LEN = 256

metadata = MetaData()

registered_models = Table(
    "registered_models", metadata,
    Column("name", String(NAME_LEN), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("last_version", Integer, nullable=False, default=0),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

registered_model_tags = Table(
    "registered_model_tags", metadata,
    Column("name", String(NAME_LEN), ForeignKey("registered_models.name", ondelete="CASCADE"), primary_key=True),
    Column("key", String(NAME_LEN), primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions", metadata,
    Column("name", String(NAME_LEN), ForeignKey("registered_models.name", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("artifact", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("registration_id", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(32), nullable=False),
    Column("created", BigInteger, nullable=False),
)

model_version_tags = Table(
    "model_version_tags", metadata,
    Column("name", String(NAME_LEN), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", String(NAME_LEN), primary_key=True),
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE"),
)

aliases = Table(
    "aliases", metadata,
    Column("name", String(NAME_LEN), primary_key=True),
    Column("alias", String(NAME_LEN), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE"),
)

registry_meta = Table(
    "registry_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
