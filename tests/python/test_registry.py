"""am.registry on SQLite and PostgreSQL: every API function, aliases and rollback, models:/ URIs,
search by tag, delete, errors, crash safety of the artifact store, concurrent registrants in
separate processes, and that a model loaded through the registry predicts as the original."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
from postgres_server import Unavailable, postgres_server
from safetensors.numpy import save_file
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import aimass as am
from aimass import nn
from aimass.registry import NotFoundError, Registry, RegistryError, _artifacts, parse_uri

# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server for the whole session (AIMASS_TEST_POSTGRES_URL, or a throwaway one)."""
    try:
        with postgres_server() as url:
            yield url
    except Unavailable as e:
        if os.environ.get("CI") == "true":  # tests/run.sh installs PostgreSQL: CI must run these tests
            pytest.fail(f"PostgreSQL: {e}")
        pytest.skip(f"PostgreSQL: {e}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty registry database: a SQLite file, or a schema of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


@pytest.fixture
def registry(db_url, tmp_path):
    with Registry(db_url, artifact_root=tmp_path / "artifacts") as reg:
        yield reg


def make_model(seed: int):
    am.manual_seed(seed)
    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    model.build((None, 4))
    return model


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)


@pytest.fixture
def model_files(tmp_path):
    """Three different model files: (path, model) each."""
    out = []
    for seed in range(3):
        model = make_model(seed)
        path = tmp_path / f"model{seed}.safetensors"
        model.save(path)
        out.append((str(path), model))
    return out


def staging_is_empty(reg: Registry) -> bool:
    folder = os.path.join(reg.artifact_root, _artifacts.STAGING)
    return not os.path.exists(folder) or os.listdir(folder) == []


# ---------------------------------------------------------------------------------------------
# versions


def test_register_and_get_model_version(registry, model_files, x):
    path, model = model_files[0]
    mv = registry.register_model(path, "digits", tags={"data": "v2"}, description="MLP")
    assert (mv.name, mv.version, mv.kind, mv.status) == ("digits", 1, "model", "READY")
    assert mv.source == path and mv.tags == {"data": "v2"} and mv.description == "MLP" and mv.aliases == ()
    assert mv.uri == "models:/digits/1"
    assert mv.artifact_path == os.path.join(registry.artifact_root, "digits", "1")
    assert os.path.isfile(mv.file) and mv.file.endswith("model.safetensors") and mv.creation_timestamp > 0
    assert registry.get_model_version("digits", 1) == mv == registry.get_model_version("digits", "1")
    # the version is a copy: changing or removing the source does not change it
    make_model(9).save(path)
    np.testing.assert_array_equal(registry.load("models:/digits/1").predict(x), model.predict(x))
    assert staging_is_empty(registry)


def test_loaded_model_predicts_as_the_original(registry, model_files, x):
    for path, _ in model_files:
        registry.register_model(path, "digits")
    for version, (_, model) in enumerate(model_files, start=1):
        np.testing.assert_array_equal(registry.load(f"models:/digits/{version}").predict(x), model.predict(x))
    np.testing.assert_array_equal(registry.load("models:/digits/latest").predict(x), model_files[2][1].predict(x))


def test_versions_count_up_and_are_never_reused(registry, model_files):
    for path, _ in model_files:
        registry.register_model(path, "digits")
    assert [mv.version for mv in registry.get_latest_versions("digits")] == [3]
    registry.delete_model_version("digits", 3)
    assert [mv.version for mv in registry.get_latest_versions("digits")] == [2]
    assert registry.register_model(model_files[0][0], "digits").version == 4
    assert [mv.version for mv in registry.search_model_versions("digits")] == [1, 2, 4]
    assert registry.get_registered_model("digits").latest_version == 4


def test_register_objects_folders_and_knn_indexes(registry, model_files, tmp_path, x):
    model = model_files[1][1]
    assert registry.register_model(model, "obj").source == "<in-memory Sequential>"
    np.testing.assert_array_equal(registry.load("models:/obj/1").predict(x), model.predict(x))
    folder = tmp_path / "repo" / "m" / "1"
    folder.mkdir(parents=True)
    model.save(folder / "model.safetensors")
    assert registry.register_model(folder, "from-folder").kind == "model"

    vectors = np.random.default_rng(1).standard_normal((50, 4)).astype(np.float32)
    index = am.knn.FlatIndex(d=4)
    index.add(vectors)
    mv = registry.register_model(index, "search", embedding_model=model_files[1][0], tags={"kind": "image"})
    assert mv.kind == "knn" and mv.file.endswith("index.knn") and os.path.isfile(mv.embedding_model_file)
    got = registry.load("models:/search/latest")
    assert isinstance(got, am.knn.FlatIndex)
    for a, b in zip(got.search(x, k=5), index.search(x, k=5)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(am.load(mv.embedding_model_file).predict(x), model.predict(x))
    index.save(tmp_path / "plain.knn")
    mv2 = registry.register_model(tmp_path / "plain.knn", "search")
    assert (mv2.version, mv2.kind, mv2.embedding_model_file) == (2, "knn", None)


def test_registry_persists_across_instances(registry, db_url, model_files):
    registry.register_model(model_files[0][0], "digits", tags={"a": "1"})
    registry.set_registered_model_alias("digits", "champion", 1)
    with Registry(db_url, artifact_root=registry.artifact_root) as again:
        assert again.resolve("models:/digits@champion") == registry.get_model_version("digits", 1)


# ---------------------------------------------------------------------------------------------
# aliases and rollback


def test_aliases_and_rollback(registry, model_files, x):
    for path, _ in model_files[:2]:
        registry.register_model(path, "digits")
    registry.set_registered_model_alias("digits", "champion", 1)
    registry.set_registered_model_alias("digits", "canary", "2")
    assert registry.get_model_version_by_alias("digits", "champion").version == 1
    assert registry.resolve("models:/digits@canary").version == 2
    assert registry.get_registered_model("digits").aliases == {"canary": 2, "champion": 1}
    assert registry.get_model_version("digits", 2).aliases == ("canary",)

    registry.set_registered_model_alias("digits", "champion", 2)   # promote the canary
    np.testing.assert_array_equal(registry.load("models:/digits@champion").predict(x), model_files[1][1].predict(x))
    assert registry.get_model_version("digits", 2).aliases == ("canary", "champion")
    registry.set_registered_model_alias("digits", "champion", 1)   # rollback: move the alias back
    assert registry.resolve("models:/digits@champion").version == 1
    np.testing.assert_array_equal(registry.load("models:/digits@champion").predict(x), model_files[0][1].predict(x))

    registry.delete_registered_model_alias("digits", "canary")
    with pytest.raises(NotFoundError, match="'canary'"):
        registry.get_model_version_by_alias("digits", "canary")
    with pytest.raises(NotFoundError, match="'canary'"):
        registry.delete_registered_model_alias("digits", "canary")
    registry.delete_model_version("digits", 1)                     # its aliases go with it
    assert registry.get_registered_model("digits").aliases == {}


# ---------------------------------------------------------------------------------------------
# tags, descriptions and search


def test_tags_and_search(registry, model_files):
    a, b, c = (p for p, _ in model_files)
    registry.register_model(a, "digits", tags={"data": "v1", "arch": "mlp"})
    registry.register_model(b, "digits", tags={"data": "v2", "arch": "mlp"})
    registry.register_model(c, "digits-cnn", tags={"data": "v2", "arch": "cnn"})

    def versions(**kw):
        return [(mv.name, mv.version) for mv in registry.search_model_versions(**kw)]

    assert versions() == [("digits", 1), ("digits", 2), ("digits-cnn", 1)]
    assert versions(name="digits") == [("digits", 1), ("digits", 2)]
    assert versions(tags={"data": "v2"}) == [("digits", 2), ("digits-cnn", 1)]
    assert versions(name="digits", tags={"data": "v2", "arch": "mlp"}) == [("digits", 2)]
    assert versions(tags={"data": "v3"}) == [] and versions(name="nothing") == []

    registry.set_model_version_tag("digits", 1, "data", "v2")      # overwrite
    registry.set_model_version_tag("digits", 1, "stage", "prod")
    assert registry.get_model_version("digits", 1).tags == {"data": "v2", "arch": "mlp", "stage": "prod"}
    registry.delete_model_version_tag("digits", 1, "stage")
    assert versions(tags={"data": "v2"}) == [("digits", 1), ("digits", 2), ("digits-cnn", 1)]
    with pytest.raises(NotFoundError, match="'stage'"):
        registry.delete_model_version_tag("digits", 1, "stage")

    registry.set_registered_model_tag("digits", "team", "vision")
    registry.set_registered_model_tag("digits-cnn", "team", "vision")
    registry.set_registered_model_tag("digits-cnn", "team", "search")
    assert [m.name for m in registry.search_registered_models()] == ["digits", "digits-cnn"]
    assert [m.name for m in registry.search_registered_models(name_like="digits-%")] == ["digits-cnn"]
    assert [m.name for m in registry.search_registered_models(tags={"team": "vision"})] == ["digits"]
    assert registry.search_registered_models(name_like="%cnn", tags={"team": "vision"}) == []
    registry.delete_registered_model_tag("digits", "team")
    assert registry.get_registered_model("digits").tags == {}
    with pytest.raises(NotFoundError, match="'team'"):
        registry.delete_registered_model_tag("digits", "team")


def test_descriptions_and_create_registered_model(registry, model_files):
    created = registry.create_registered_model("empty", description="nothing yet", tags={"owner": "me"})
    assert (created.description, created.tags, created.latest_version, created.aliases) == \
        ("nothing yet", {"owner": "me"}, None, {})
    assert registry.get_latest_versions("empty") == []
    with pytest.raises(ValueError, match="'empty' already exists"):
        registry.create_registered_model("empty")
    assert registry.update_registered_model("empty", "a model").description == "a model"
    mv = registry.register_model(model_files[0][0], "empty", description="first")
    assert registry.update_model_version("empty", mv.version, "first, retrained").description == "first, retrained"
    model = registry.get_registered_model("empty")
    assert model.latest_version == 1 and model.last_updated_timestamp >= model.creation_timestamp


# ---------------------------------------------------------------------------------------------
# delete


def test_delete_model_version_and_registered_model(registry, model_files):
    for path, _ in model_files:
        registry.register_model(path, "digits", tags={"t": "x"})
    registry.set_registered_model_alias("digits", "champion", 2)
    folder2 = registry.get_model_version("digits", 2).artifact_path
    registry.delete_model_version("digits", 2)
    assert not os.path.exists(folder2)
    with pytest.raises(NotFoundError, match="no version 2"):
        registry.get_model_version("digits", 2)
    with pytest.raises(NotFoundError):
        registry.resolve("models:/digits@champion")

    registry.delete_registered_model("digits")
    assert not os.path.exists(os.path.join(registry.artifact_root, "digits"))
    with pytest.raises(NotFoundError, match="'digits'"):
        registry.get_registered_model("digits")
    assert registry.search_model_versions() == [] and registry.search_registered_models() == []
    assert registry.register_model(model_files[0][0], "digits").version == 1   # a new model of that name


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("call, names", [
    (lambda r: r.get_registered_model("nope"), ["'nope'"]),
    (lambda r: r.get_model_version("nope", 1), ["'nope'"]),
    (lambda r: r.get_model_version("digits", 7), ["'digits'", "version 7"]),
    (lambda r: r.get_latest_versions("nope"), ["'nope'"]),
    (lambda r: r.get_model_version_by_alias("digits", "gold"), ["'digits'", "'gold'"]),
    (lambda r: r.resolve("models:/digits@gold"), ["'gold'"]),
    (lambda r: r.resolve("models:/digits/9"), ["version 9"]),
    (lambda r: r.resolve("models:/nope/latest"), ["'nope'"]),
    (lambda r: r.load("models:/nope/1"), ["'nope'"]),
    (lambda r: r.set_registered_model_alias("digits", "champion", 5), ["version 5"]),
    (lambda r: r.set_model_version_tag("digits", 5, "k", "v"), ["version 5"]),
    (lambda r: r.delete_model_version("digits", 5), ["version 5"]),
    (lambda r: r.delete_registered_model("nope"), ["'nope'"]),
    (lambda r: r.set_registered_model_tag("nope", "k", "v"), ["'nope'"]),
    (lambda r: r.update_registered_model("nope", "d"), ["'nope'"]),
], ids=lambda v: "" if callable(v) else None)
def test_unknown_names_are_not_found_errors(registry, model_files, call, names):
    registry.register_model(model_files[0][0], "digits")
    with pytest.raises(NotFoundError) as info:
        call(registry)
    assert isinstance(info.value, KeyError) and isinstance(info.value, RegistryError)
    assert all(n in str(info.value) for n in names), str(info.value)


@pytest.mark.parametrize("uri", ["digits/1", "models:/digits", "models:/digits/", "models:/digits/0",
                                 "models:/digits/-1", "models:/digits/one", "models:/digits@", "models:/@champion",
                                 "models:/digits@latest", "models:/../etc/1", "models:/digits/1/extra",
                                 "models:/dig its/1", "models:/digits@champ@ion", 3])
def test_malformed_uris_are_value_errors(registry, uri):
    with pytest.raises(ValueError, match="URI") as info:
        registry.resolve(uri)
    assert repr(uri) in str(info.value)


def test_parse_uri():
    assert parse_uri("models:/digits/3") == am.registry.ModelURI("digits", version=3)
    assert parse_uri("models:/digits/latest") == am.registry.ModelURI("digits", latest=True)
    assert parse_uri("models:/my.model-2@champion") == am.registry.ModelURI("my.model-2", alias="champion")


def test_files_that_are_not_models_are_refused(registry, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "weights.safetensors"), metadata={"format": "pt"})
    (tmp_path / "empty").mkdir()
    evil = tmp_path / "evil.safetensors"    # a model file whose architecture names a callable
    save_file({"w": np.zeros(1, np.float32)}, str(evil), metadata={
        "format": "aimass.model", "version": "1", "architecture": json.dumps({"class": "os:system", "config": {}})})
    cases = [(tmp_path / "notes.txt", "not a model file"), (tmp_path / "weights.safetensors", "'pt'"),
             (tmp_path / "empty", "without model.safetensors"), (evil, "os:system")]
    for path, why in cases:
        with pytest.raises(ValueError, match=why) as info:
            registry.register_model(path, "digits")
        assert os.path.basename(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        registry.register_model(tmp_path / "missing.safetensors", "digits")
    with pytest.raises(TypeError, match="path_or_model"):
        registry.register_model(42, "digits")
    assert registry.search_registered_models() == [] and staging_is_empty(registry)


@pytest.mark.parametrize("name", ["", "../up", "a/b", "a\\b", "-dash", "a..b", "x" * 300, None, "sp ace"])
def test_invalid_names_are_value_errors(registry, model_files, name):
    with pytest.raises(ValueError, match="invalid model name"):
        registry.register_model(model_files[0][0], name)


def test_invalid_aliases_tags_and_versions(registry, model_files):
    registry.register_model(model_files[0][0], "digits")
    for alias in ["latest", "1", "a/b", ""]:
        with pytest.raises(ValueError, match="invalid alias"):
            registry.set_registered_model_alias("digits", alias, 1)
    for version in [0, -1, "x", True, 1.5]:
        with pytest.raises(ValueError, match="invalid version"):
            registry.get_model_version("digits", version)
    with pytest.raises(TypeError, match="tag values are strings"):
        registry.set_model_version_tag("digits", 1, "k", 3)
    with pytest.raises(TypeError, match="dict"):
        registry.register_model(model_files[0][0], "digits", tags=["a"])


def test_changed_or_missing_artifacts_are_reported(registry, model_files):
    mv = registry.register_model(model_files[0][0], "digits")
    with open(mv.file, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    with pytest.raises(RegistryError, match="sha256"):
        registry.load("models:/digits/1")
    os.remove(mv.file)
    with pytest.raises(RegistryError, match="missing"):
        registry.resolve("models:/digits/1")


# ---------------------------------------------------------------------------------------------
# crash safety of the artifact store


def test_a_failed_registration_leaves_no_row_and_no_files(registry, model_files, monkeypatch):
    registry.register_model(model_files[0][0], "digits")
    real_install = _artifacts.install

    def install_then_fail(root, staged, target):
        real_install(root, staged, target)
        raise OSError("disk on fire")

    monkeypatch.setattr(_artifacts, "install", install_then_fail)
    with pytest.raises(OSError, match="disk on fire"):
        registry.register_model(model_files[1][0], "digits")
    monkeypatch.undo()
    assert [mv.version for mv in registry.search_model_versions("digits")] == [1]
    assert sorted(os.listdir(os.path.join(registry.artifact_root, "digits"))) == ["1"] and staging_is_empty(registry)
    assert registry.register_model(model_files[1][0], "digits").version == 2   # the rolled-back number is free


def test_a_crashed_registrations_leftover_folder_is_replaced(registry, model_files, x):
    registry.register_model(model_files[0][0], "digits")
    leftover = os.path.join(registry.artifact_root, "digits", "2")     # a folder without a row
    os.makedirs(leftover)
    make_model(7).save(os.path.join(leftover, "model.safetensors"))
    mv = registry.register_model(model_files[1][0], "digits")
    assert mv.version == 2
    np.testing.assert_array_equal(registry.load(mv.uri).predict(x), model_files[1][1].predict(x))


# ---------------------------------------------------------------------------------------------
# concurrency and defaults

_WORKER = """
import json, os, sys, time
url, root, model, count, go = sys.argv[1:]
import aimass as am
with am.registry.Registry(url, root) as reg:
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.002)
    print(json.dumps([reg.register_model(model, "shared").version for _ in range(int(count))]), flush=True)
"""


def test_concurrent_registrants_get_distinct_gap_free_versions(registry, db_url, model_files, tmp_path):
    processes, per_process = 4, 3
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, db_url, registry.artifact_root, model_files[0][0],
                               str(per_process), str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(processes)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        go.touch()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    got = sorted(v for out, _ in outs for v in json.loads(out.strip().splitlines()[-1]))
    assert got == list(range(1, processes * per_process + 1))
    versions = registry.search_model_versions("shared")
    assert [mv.version for mv in versions] == got
    for mv in versions:
        assert _artifacts.read_token(mv.artifact_path) is not None and os.path.isfile(mv.file)
    assert staging_is_empty(registry)


def test_default_locations(tmp_path, monkeypatch, model_files):
    monkeypatch.setenv("AIMASS_REGISTRY", str(tmp_path / "reg"))
    monkeypatch.delenv("AIMASS_REGISTRY_URL", raising=False)
    with Registry() as reg:
        assert reg.artifact_root == str(tmp_path / "reg")
        assert reg.url == f"sqlite:///{tmp_path / 'reg' / 'registry.db'}"
        reg.register_model(model_files[0][0], "digits")
        assert "digits" in repr(reg.search_registered_models())
    assert os.path.isfile(tmp_path / "reg" / "registry.db")
    assert os.path.isfile(tmp_path / "reg" / "digits" / "1" / "model.safetensors")


def test_threads_share_one_registry(registry, model_files):
    import threading

    versions, errors = [], []

    def register():
        try:
            for _ in range(3):
                versions.append(registry.register_model(model_files[0][0], "threads").version)
        except Exception as e:  # noqa: BLE001  (reported by the assert below)
            errors.append(e)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(versions) == list(range(1, 13))


def test_in_memory_database(tmp_path, model_files):
    with Registry("sqlite://", artifact_root=tmp_path) as reg:
        assert [reg.register_model(model_files[0][0], "m").version for _ in range(2)] == [1, 2]
        assert reg.resolve("models:/m/latest").version == 2
