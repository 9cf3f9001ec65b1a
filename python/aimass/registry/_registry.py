"""am.registry.Registry: named models with numbered, immutable versions, tags, descriptions and
aliases, in a SQL database (SQLite file by default, PostgreSQL for a registry shared by many
machines), with the files under an artifact root (_artifacts.py).

    reg = am.registry.Registry()                         # ~/.aimass/registry/registry.db
    mv = reg.register_model("digits.safetensors", "digits", tags={"data": "v2"})
    reg.set_registered_model_alias("digits", "champion", mv.version)
    model = reg.load("models:/digits@champion")
    reg.set_registered_model_alias("digits", "champion", mv.version - 1)   # rollback

Version numbers come from registered_models.last_version, incremented in the transaction that
inserts the version (so concurrent registrants get distinct, gap-free numbers, and a deleted
version's number is never given again); the (name, version) primary key guards it, and a
registrant that loses a race retries. Loading goes through am.load / am.knn.load only: nothing
the database or a file names is imported or executed.
"""
from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from typing import Iterator, Mapping

from sqlalchemy import and_, delete, exists, func, select, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from . import _artifacts, _uri
from ._engine import WRITE, create_tables, make_engine
from ._errors import NotFoundError, RegistryError
from ._schema import aliases, model_version_tags, model_versions, registered_model_tags, registered_models
from ._types import ModelVersion, RegisteredModel

READY = "READY"
_REGISTER_ATTEMPTS = 50


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def default_artifact_root() -> str:
    """$AIMASS_REGISTRY, else ~/.aimass/registry."""
    return os.environ.get("AIMASS_REGISTRY") or os.path.join(os.path.expanduser("~"), ".aimass", "registry")


def _check_tags(tags, what: str = "tags") -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise TypeError(f"am.registry: {what} must be a dict of str -> str, got {type(tags).__name__}")
    for k, v in tags.items():
        _check_tag(k, v)
    return dict(tags)


def _check_tag(key, value) -> None:
    if not isinstance(key, str) or not key or len(key) > 256:
        raise ValueError(f"am.registry: tag key {key!r} must be a non-empty string of at most 256 characters")
    if not isinstance(value, str):
        raise TypeError(f"am.registry: tag {key!r} has value {value!r}; tag values are strings")


class _LostRace(Exception):
    """A concurrent writer changed what this transaction read; the caller retries."""


def _is_transient(e: DBAPIError) -> bool:
    """Lost races worth retrying: SQLite busy, PostgreSQL serialization failure / deadlock."""
    if isinstance(e, IntegrityError):
        return True
    code = getattr(e.orig, "pgcode", None)
    return code in ("40001", "40P01") or (isinstance(e, OperationalError) and "locked" in str(e.orig))


class Registry:
    """A model registry. ``url``: a SQLAlchemy URL (default $AIMASS_REGISTRY_URL, else
    ``sqlite:///<artifact_root>/registry.db``; ``postgresql+psycopg2://user@host/db`` for a registry
    shared by many machines, which then share the artifact root too, e.g. on a network file
    system). ``artifact_root``: where versions' files are kept (default $AIMASS_REGISTRY, else
    ~/.aimass/registry; ``sqlite://`` keeps the database in memory, for one thread's tests). Close it
    (or use ``with``) to release the database connections. One Registry may be shared by threads."""

    def __init__(self, url: str | None = None, artifact_root: str | os.PathLike | None = None):
        self.artifact_root = os.path.abspath(os.fspath(artifact_root) if artifact_root is not None
                                             else default_artifact_root())
        os.makedirs(self.artifact_root, exist_ok=True)
        if url is None:
            url = os.environ.get("AIMASS_REGISTRY_URL") or f"sqlite:///{os.path.join(self.artifact_root, 'registry.db')}"
        self._engine = make_engine(url)
        try:
            create_tables(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Registry(url={self.url!r}, artifact_root={self.artifact_root!r})"

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # transactions

    @contextmanager
    def _read(self) -> Iterator:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator:
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    # -----------------------------------------------------------------------------------------
    # registered models

    def create_registered_model(self, name: str, description: str | None = None,
                                tags: Mapping[str, str] | None = None) -> RegisteredModel:
        """A new, empty registered model (register_model creates one as needed);
        ValueError when the name is taken."""
        _uri.check_name(name)
        tags = _check_tags(tags)
        now = _now_ms()
        try:
            with self._write() as conn:
                conn.execute(registered_models.insert().values(name=name, description=description or "",
                                                               last_version=0, created=now, updated=now))
                for k, v in tags.items():
                    conn.execute(registered_model_tags.insert().values(name=name, key=k, value=v))
        except IntegrityError:
            raise ValueError(f"am.registry: a registered model named {name!r} already exists") from None
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        _uri.check_name(name)
        with self._read() as conn:
            found = self._registered_models(conn, registered_models.c.name == name)
        if not found:
            raise NotFoundError(f"am.registry: no registered model named {name!r}")
        return found[0]

    def search_registered_models(self, name_like: str | None = None,
                                 tags: Mapping[str, str] | None = None) -> list[RegisteredModel]:
        """Registered models whose name matches the SQL LIKE pattern ``name_like`` ("digits%",
        "%cnn%"; case-sensitive on PostgreSQL, not for ASCII on SQLite) and that carry every tag in
        ``tags``, by name."""
        tags = _check_tags(tags)
        where = []
        if name_like is not None:
            where.append(registered_models.c.name.like(name_like))
        for k, v in tags.items():
            t = registered_model_tags
            where.append(exists().where(t.c.name == registered_models.c.name, t.c.key == k, t.c.value == v))
        with self._read() as conn:
            return self._registered_models(conn, and_(true(), *where))

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        self._update_model(name, description=str(description))
        return self.get_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        _check_tag(key, value)
        with self._write() as conn:
            self._require_model(conn, name)
            t = registered_model_tags
            conn.execute(delete(t).where(t.c.name == name, t.c.key == key))
            conn.execute(t.insert().values(name=name, key=key, value=value))
            self._touch(conn, name)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self._write() as conn:
            self._require_model(conn, name)
            t = registered_model_tags
            if conn.execute(delete(t).where(t.c.name == name, t.c.key == key)).rowcount == 0:
                raise NotFoundError(f"am.registry: registered model {name!r} has no tag {key!r}")
            self._touch(conn, name)

    def delete_registered_model(self, name: str) -> None:
        """Deletes the model, all its versions, tags and aliases, and their files."""
        with self._write() as conn:
            self._require_model(conn, name)
            gone = conn.execute(select(model_versions.c.artifact, model_versions.c.registration_id)
                                .where(model_versions.c.name == name)).all()
            for table in (aliases, model_version_tags, model_versions, registered_model_tags, registered_models):
                conn.execute(delete(table).where(table.c.name == name))
        for artifact, registration_id in gone:  # after the commit: no row points at them any more
            _artifacts.remove_if_ours(self.artifact_root, self._local(artifact), registration_id)
        try:
            os.rmdir(os.path.join(self.artifact_root, name))
        except OSError:
            pass  # not empty (registered again meanwhile) or already gone

    # -----------------------------------------------------------------------------------------
    # versions

    def register_model(self, path_or_model, name: str, tags: Mapping[str, str] | None = None,
                       description: str | None = None, embedding_model=None) -> ModelVersion:
        """Registers a model as the next version of ``name`` (created when new). ``path_or_model``:
        an am.save file, an am.knn index file, a version folder holding model.safetensors or
        index.knn (+ model.safetensors), or a model / index object. ``embedding_model`` (a model
        or its file) goes with an index. The files are copied under the artifact root, so the
        version stays as registered. ValueError for a path that is not a model or index file."""
        _uri.check_name(name)
        tags = _check_tags(tags)
        staged = _artifacts.stage(self.artifact_root, path_or_model, embedding_model)
        try:
            for attempt in range(_REGISTER_ATTEMPTS):
                try:
                    version = self._insert_version(staged, name, tags, description or "")
                    break
                except (DBAPIError, _LostRace) as e:
                    if isinstance(e, DBAPIError) and not _is_transient(e):
                        raise
                    if attempt == _REGISTER_ATTEMPTS - 1:
                        raise RegistryError(f"am.registry: could not register a version of {name!r}: "
                                            f"{_REGISTER_ATTEMPTS} attempts lost races with other writers") from e
                    time.sleep(random.uniform(0.001, 0.02) * (1 + attempt))
        finally:
            if os.path.exists(staged.folder):
                _artifacts.discard(self.artifact_root, staged.folder)
        return self.get_model_version(name, version)

    def _insert_version(self, staged: _artifacts.Staged, name: str, tags: dict, description: str) -> int:
        target = None
        try:
            with self._write() as conn:
                now = _now_ms()
                if conn.execute(select(registered_models.c.name).where(registered_models.c.name == name)).first() is None:
                    conn.execute(registered_models.insert().values(name=name, description="", last_version=0,
                                                                   created=now, updated=now))
                bumped = conn.execute(update(registered_models).where(registered_models.c.name == name)
                                      .values(last_version=registered_models.c.last_version + 1, updated=now))
                if bumped.rowcount != 1:  # deleted by another process since our SELECT: start again
                    raise _LostRace(name)
                version = conn.execute(select(registered_models.c.last_version)
                                       .where(registered_models.c.name == name)).scalar_one()
                artifact = f"{name}/{version}"
                conn.execute(model_versions.insert().values(
                    name=name, version=version, kind=staged.kind, source=staged.source, artifact=artifact,
                    sha256=staged.sha256, registration_id=staged.registration_id, description=description,
                    status=READY, created=now))
                for k, v in tags.items():
                    conn.execute(model_version_tags.insert().values(name=name, version=version, key=k, value=v))
                target = self._local(artifact)
                _artifacts.install(self.artifact_root, staged, target)
            return version
        except BaseException:
            # remove_if_ours leaves a folder that is not this registration's (the rename never happened)
            if target is not None and not self._registered(staged.registration_id):
                _artifacts.remove_if_ours(self.artifact_root, target, staged.registration_id)
            raise

    def _registered(self, registration_id: str) -> bool:
        """Whether a row holds this registration (after a failed commit, whose outcome is unknown:
        when the database cannot say, the files are kept: an orphan folder is harmless)."""
        try:
            with self._read() as conn:
                return conn.execute(select(model_versions.c.version)
                                    .where(model_versions.c.registration_id == registration_id)).first() is not None
        except Exception:
            return True

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        _uri.check_name(name)
        version = _uri.check_version(version)
        with self._read() as conn:
            found = self._versions(conn, and_(model_versions.c.name == name, model_versions.c.version == version))
            if not found:
                self._require_model(conn, name)
                raise NotFoundError(f"am.registry: registered model {name!r} has no version {version}")
        return found[0]

    def get_latest_versions(self, name: str) -> list[ModelVersion]:
        """[the highest version] ([] when the model has none); as MLflow's, a list."""
        _uri.check_name(name)
        with self._read() as conn:
            self._require_model(conn, name)
            top = select(func.max(model_versions.c.version)).where(model_versions.c.name == name).scalar_subquery()
            return self._versions(conn, and_(model_versions.c.name == name, model_versions.c.version == top))

    def search_model_versions(self, name: str | None = None, tags: Mapping[str, str] | None = None) -> list[ModelVersion]:
        """Versions (of ``name``, or of every model) that carry every tag in ``tags``, by name and version."""
        tags = _check_tags(tags)
        where = []
        if name is not None:
            where.append(model_versions.c.name == _uri.check_name(name))
        for k, v in tags.items():
            t = model_version_tags
            where.append(exists().where(t.c.name == model_versions.c.name, t.c.version == model_versions.c.version,
                                        t.c.key == k, t.c.value == v))
        with self._read() as conn:
            return self._versions(conn, and_(true(), *where))

    def update_model_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        version = _uri.check_version(version)
        with self._write() as conn:
            self._require_version(conn, name, version)
            conn.execute(update(model_versions).where(model_versions.c.name == name,
                                                      model_versions.c.version == version)
                         .values(description=str(description)))
            self._touch(conn, name)
        return self.get_model_version(name, version)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        version = _uri.check_version(version)
        _check_tag(key, value)
        with self._write() as conn:
            self._require_version(conn, name, version)
            t = model_version_tags
            conn.execute(delete(t).where(t.c.name == name, t.c.version == version, t.c.key == key))
            conn.execute(t.insert().values(name=name, version=version, key=key, value=value))
            self._touch(conn, name)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        version = _uri.check_version(version)
        with self._write() as conn:
            self._require_version(conn, name, version)
            t = model_version_tags
            if conn.execute(delete(t).where(t.c.name == name, t.c.version == version, t.c.key == key)).rowcount == 0:
                raise NotFoundError(f"am.registry: {name!r} version {version} has no tag {key!r}")
            self._touch(conn, name)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Deletes one version, its tags, the aliases that point at it, and its files. Its
        number is not given again."""
        version = _uri.check_version(version)
        with self._write() as conn:
            row = self._require_version(conn, name, version)
            for table in (aliases, model_version_tags, model_versions):
                conn.execute(delete(table).where(table.c.name == name, table.c.version == version))
            self._touch(conn, name)
        _artifacts.remove_if_ours(self.artifact_root, self._local(row.artifact), row.registration_id)

    # -----------------------------------------------------------------------------------------
    # aliases

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Points ``alias`` at ``version`` (moving it if it pointed elsewhere: a rollback is
        moving it back)."""
        _uri.check_alias(alias)
        version = _uri.check_version(version)
        with self._write() as conn:
            self._require_version(conn, name, version)
            conn.execute(delete(aliases).where(aliases.c.name == name, aliases.c.alias == alias))
            conn.execute(aliases.insert().values(name=name, alias=alias, version=version))
            self._touch(conn, name)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        _uri.check_alias(alias)
        with self._write() as conn:
            self._require_model(conn, name)
            if conn.execute(delete(aliases).where(aliases.c.name == name, aliases.c.alias == alias)).rowcount == 0:
                raise NotFoundError(f"am.registry: registered model {name!r} has no alias {alias!r}")
            self._touch(conn, name)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        _uri.check_name(name)
        _uri.check_alias(alias)
        with self._read() as conn:
            version = conn.execute(select(aliases.c.version).where(aliases.c.name == name,
                                                                   aliases.c.alias == alias)).scalar()
            if version is None:
                self._require_model(conn, name)
                raise NotFoundError(f"am.registry: registered model {name!r} has no alias {alias!r}")
            return self._versions(conn, and_(model_versions.c.name == name, model_versions.c.version == version))[0]

    # -----------------------------------------------------------------------------------------
    # URIs

    def resolve(self, uri: str) -> ModelVersion:
        """The version a models:/ URI names (models:/name/3, models:/name/latest,
        models:/name@champion), with its files checked to be on this machine."""
        parsed = _uri.parse(uri)
        if parsed.alias is not None:
            mv = self.get_model_version_by_alias(parsed.name, parsed.alias)
        elif parsed.latest:
            latest = self.get_latest_versions(parsed.name)
            if not latest:
                raise NotFoundError(f"am.registry: {uri!r}: registered model {parsed.name!r} has no versions")
            mv = latest[0]
        else:
            mv = self.get_model_version(parsed.name, parsed.version)
        if not os.path.isfile(mv.file):
            raise RegistryError(f"am.registry: {uri!r} is {mv.uri}, whose file {mv.file!r} is missing (is "
                                f"artifact_root {self.artifact_root!r} the one this registry's files are in?)")
        return mv

    def load(self, uri: str, verify: bool = True):
        """The model (am.load) or k-NN index (am.knn.load) a models:/ URI names. ``verify``
        checks the file's sha256 against the one recorded at registration first."""
        from .. import knn
        from ..nn.serialization import load as load_model

        mv = self.resolve(uri)
        if verify and _artifacts.sha256_of(mv.file) != mv.sha256:
            raise RegistryError(f"am.registry: {mv.file!r} ({mv.uri}) has changed since it was registered "
                                "(its sha256 differs)")
        return knn.load(mv.file) if mv.kind == "knn" else load_model(mv.file)

    # -----------------------------------------------------------------------------------------
    # helpers

    def _local(self, artifact: str) -> str:
        return os.path.join(self.artifact_root, *artifact.split("/"))

    def _touch(self, conn, name: str) -> None:
        conn.execute(update(registered_models).where(registered_models.c.name == name).values(updated=_now_ms()))

    def _update_model(self, name: str, **values) -> None:
        with self._write() as conn:
            self._require_model(conn, name)
            conn.execute(update(registered_models).where(registered_models.c.name == name)
                         .values(updated=_now_ms(), **values))

    @staticmethod
    def _require_model(conn, name: str) -> None:
        _uri.check_name(name)
        if conn.execute(select(registered_models.c.name).where(registered_models.c.name == name)).first() is None:
            raise NotFoundError(f"am.registry: no registered model named {name!r}")

    def _require_version(self, conn, name: str, version: int):
        row = conn.execute(select(model_versions).where(model_versions.c.name == _uri.check_name(name),
                                                        model_versions.c.version == version)).first()
        if row is None:
            self._require_model(conn, name)
            raise NotFoundError(f"am.registry: registered model {name!r} has no version {version}")
        return row

    def _versions(self, conn, where) -> list[ModelVersion]:
        rows = conn.execute(select(model_versions).where(where)
                            .order_by(model_versions.c.name, model_versions.c.version)).all()
        if not rows:
            return []
        names = {r.name for r in rows}
        tags: dict[tuple[str, int], dict[str, str]] = {}
        for t in conn.execute(select(model_version_tags).where(model_version_tags.c.name.in_(names))):
            tags.setdefault((t.name, t.version), {})[t.key] = t.value
        names_aliases: dict[tuple[str, int], list[str]] = {}
        for a in conn.execute(select(aliases).where(aliases.c.name.in_(names)).order_by(aliases.c.alias)):
            names_aliases.setdefault((a.name, a.version), []).append(a.alias)
        return [ModelVersion(name=r.name, version=r.version, kind=r.kind, source=r.source,
                             artifact_path=self._local(r.artifact), sha256=r.sha256, description=r.description,
                             status=r.status, creation_timestamp=r.created, tags=tags.get((r.name, r.version), {}),
                             aliases=tuple(names_aliases.get((r.name, r.version), ())))
                for r in rows]

    @staticmethod
    def _registered_models(conn, where) -> list[RegisteredModel]:
        rows = conn.execute(select(registered_models).where(where).order_by(registered_models.c.name)).all()
        if not rows:
            return []
        names = {r.name for r in rows}
        tags: dict[str, dict[str, str]] = {}
        for t in conn.execute(select(registered_model_tags).where(registered_model_tags.c.name.in_(names))):
            tags.setdefault(t.name, {})[t.key] = t.value
        model_aliases: dict[str, dict[str, int]] = {}
        for a in conn.execute(select(aliases).where(aliases.c.name.in_(names)).order_by(aliases.c.alias)):
            model_aliases.setdefault(a.name, {})[a.alias] = a.version
        latest = dict(conn.execute(select(model_versions.c.name, func.max(model_versions.c.version))
                                   .where(model_versions.c.name.in_(names)).group_by(model_versions.c.name)).all())
        return [RegisteredModel(name=r.name, description=r.description, creation_timestamp=r.created,
                                last_updated_timestamp=r.updated, latest_version=latest.get(r.name),
                                tags=tags.get(r.name, {}), aliases=model_aliases.get(r.name, {}))
                for r in rows]
