"""A version's files under the artifact root, and the moves that keep the database and the files
in step.

Layout (the same as a Triton model repository, so the root can also be served as one):
    <root>/<name>/<version>/model.safetensors      kind "model": an am.save file
    <root>/<name>/<version>/index.knn              kind "knn": an am.knn index file ...
    <root>/<name>/<version>/model.safetensors      ... and, optionally, the embedding model that feeds it
    <root>/<name>/<version>/.registration          the registration id of the database row
    <root>/.staging/<id>/                          files being registered (not yet a version)
    <root>/.trash/<id>/                            files being removed

Registering copies the files into .staging first (hashing and fsyncing them, then loading them
with the safe loaders to prove they load), and only then, inside the database transaction that
inserts the row, renames the folder to <name>/<version>. A crash before the commit leaves a
folder without a row (harmless; the next registrant of that version number replaces it), never
a row without its folder. A folder is only ever removed by someone holding its registration id,
after the database confirms no row has that id.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass

from .._files import check_regular_file

MODEL_FILE = "model.safetensors"
INDEX_FILE = "index.knn"
TOKEN_FILE = ".registration"
STAGING = ".staging"
TRASH = ".trash"
_FORMAT_KIND = {"aimass.model": "model", "aimass.knn": "knn"}
_CHUNK = 1 << 20


@dataclass
class Staged:
    """Files copied into <root>/.staging/<registration_id>/, ready to become a version."""
    folder: str
    kind: str              # "model" | "knn"
    source: str            # what it was registered from (a path, or "<in-memory Sequential>")
    sha256: str            # of the main file (model.safetensors, or index.knn)
    registration_id: str


def file_kind(path: str, who: str = "am.registry") -> str:
    """"model" or "knn" from a file's safetensors metadata; ValueError naming the path when it is
    not an aimass model or index file."""
    from safetensors import safe_open

    check_regular_file(path, who)
    try:
        with safe_open(path, framework="np") as f:
            fmt = (f.metadata() or {}).get("format")
    except Exception as e:  # safetensors raises its own error types for files that are not safetensors
        raise ValueError(f"{who}: {path!r} is not a model file (not a readable safetensors file: {e})") from None
    if fmt not in _FORMAT_KIND:
        raise ValueError(f"{who}: {path!r} is not a model file: its format is {fmt!r}, expected an aimass model "
                         "(am.save / model.save) or an am.knn index (index.save)")
    return _FORMAT_KIND[fmt]


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(src: str, dst: str) -> str:
    """Copies src to dst, flushed to disk; returns the sha256 of the bytes written."""
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest()


def _is_module(obj) -> bool:
    from ..nn import Module
    return isinstance(obj, Module)


def _is_index(obj) -> bool:
    from ..knn import Index
    return isinstance(obj, Index)


def _put(obj, folder: str, role: str) -> tuple[str, str, str]:
    """Writes a model / index object, or copies a file, into folder. Returns (kind, file, source)."""
    if _is_module(obj):
        target = os.path.join(folder, MODEL_FILE)
        obj.save(target)
        return "model", target, f"<in-memory {type(obj).__name__}>"
    if _is_index(obj):
        target = os.path.join(folder, INDEX_FILE)
        obj.save(target)
        return "knn", target, f"<in-memory {type(obj).__name__}>"
    if not isinstance(obj, (str, os.PathLike)):
        raise TypeError(f"am.registry: {role} must be a model, a k-NN index or a path, got {type(obj).__name__}")
    path = os.path.abspath(os.fspath(obj))
    if os.path.isdir(path):  # a version folder (as in a model repository)
        index, model = os.path.join(path, INDEX_FILE), os.path.join(path, MODEL_FILE)
        main = index if os.path.exists(index) else model
        if not os.path.exists(main):
            raise ValueError(f"am.registry: {path!r} is a folder without {MODEL_FILE} or {INDEX_FILE}")
        kind = file_kind(main)
        expected = "knn" if main == index else "model"
        if kind != expected:
            raise ValueError(f"am.registry: {main!r} holds a {kind}, not what its name says")
        _copy(main, os.path.join(folder, os.path.basename(main)))
        if kind == "knn" and os.path.exists(model):
            if file_kind(model) != "model":
                raise ValueError(f"am.registry: {model!r} is not a model file")
            _copy(model, os.path.join(folder, MODEL_FILE))
        return kind, os.path.join(folder, os.path.basename(main)), path
    kind = file_kind(path)
    target = os.path.join(folder, MODEL_FILE if kind == "model" else INDEX_FILE)
    _copy(path, target)
    return kind, target, path


def _check_loads(folder: str, kind: str) -> None:
    """Loads what was staged with the safe loaders (nothing a file names is imported or called)."""
    from .. import knn
    from ..nn.serialization import load as load_model

    model = os.path.join(folder, MODEL_FILE)
    if kind == "knn":
        knn.load(os.path.join(folder, INDEX_FILE))
    if os.path.exists(model):
        load_model(model)


def stage(root: str, obj, embedding_model=None) -> Staged:
    """Copies a model / index (object, file or version folder) into a new staging folder."""
    registration_id = uuid.uuid4().hex
    folder = os.path.join(root, STAGING, registration_id)
    os.makedirs(folder)
    try:
        kind, main, source = _put(obj, folder, "path_or_model")
        if embedding_model is not None:
            if kind != "knn":
                raise ValueError("am.registry: embedding_model= goes with a k-NN index, not with a model")
            if os.path.exists(os.path.join(folder, MODEL_FILE)):
                raise ValueError("am.registry: the index folder already holds an embedding model")
            if _put(embedding_model, folder, "embedding_model")[0] != "model":
                raise ValueError("am.registry: embedding_model must be a model (am.save file), not an index")
        try:
            _check_loads(folder, kind)
        except ValueError as e:  # the loader names the staged copy: name what the caller gave
            raise ValueError(f"am.registry: {source!r} does not load, so it is not registered: {e}") from None
        sha = sha256_of(main)
        with open(os.path.join(folder, TOKEN_FILE), "x") as f:
            f.write(registration_id)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(folder)
        return Staged(folder, kind, source, sha, registration_id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def read_token(folder: str) -> str | None:
    try:
        with open(os.path.join(folder, TOKEN_FILE)) as f:
            return f.read().strip()
    except OSError:
        return None


def _move_to_trash(root: str, folder: str) -> str | None:
    """Renames folder into <root>/.trash (atomic); its new path, or None when it was gone."""
    trash = os.path.join(root, TRASH, uuid.uuid4().hex)
    os.makedirs(os.path.dirname(trash), exist_ok=True)
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return None
    return trash


def discard(root: str, folder: str) -> None:
    """Removes a folder: first renamed into .trash (atomic), so no one sees it half deleted."""
    trash = _move_to_trash(root, folder)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def install(root: str, staged: Staged, target: str) -> None:
    """Renames the staging folder to target (<root>/<name>/<version>). The caller holds the
    database row for that version uncommitted, so a folder already there has no row: the
    leftover of a crashed registration, which is discarded."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.lexists(target):
        discard(root, target)
    os.rename(staged.folder, target)
    _fsync_dir(os.path.dirname(target))


def remove_if_ours(root: str, folder: str, registration_id: str) -> None:
    """Removes a version folder only when it holds the given registration (a deleted row's)."""
    if read_token(folder) != registration_id:
        return
    trash = _move_to_trash(root, folder)
    if trash is None:
        return
    if read_token(trash) != registration_id:  # replaced between the check and the rename: put it back
        try:
            os.rename(trash, folder)
        except OSError:
            pass
        return
    shutil.rmtree(trash, ignore_errors=True)
