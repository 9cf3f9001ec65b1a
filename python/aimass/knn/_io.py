"""Index files: one safetensors file, readable by the safetensors package.

Format "aimass.knn" version 1. Metadata (strings): format = "aimass.knn", version = "1",
type ("FlatIndex" | "IVFFlatIndex"), d, metric ("l2" | "ip" | "cosine"), dtype ("float32" |
"float16"), settings (JSON object of the type's integer settings, e.g. {"nlist": 100,
"nprobe": 8}). Tensors: vectors (ntotal, d) of dtype (cosine: already unit length) and ids
(ntotal,) int64; IVFFlatIndex adds centroids (nlist, d) float32 (absent while untrained) and
list_offsets (nlist + 1,) int64, its vectors grouped by list (settings nlist, nprobe, niter,
seed). Saving writes a temporary file in the same folder and renames it over the target, so a
failed save leaves the old file whole (aimass/_files.py). The loader dispatches on "type" in
C++ among the index types it knows; nothing a file names is imported or called.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .. import _core
from .._files import atomic_save, read_safetensors

FORMAT = "aimass.knn"
VERSION = "1"


def save_index(index, path: str | os.PathLike) -> None:
    type_name, d, metric, dtype, ints, tensors = index._impl.state()
    arrays = {name: np.ascontiguousarray(t.numpy()) for name, t in tensors.items()}
    metadata = {"format": FORMAT, "version": VERSION, "type": type_name, "d": str(d), "metric": metric,
                "dtype": str(dtype), "settings": json.dumps(dict(ints))}
    atomic_save(arrays, metadata, os.fspath(path))


def load(path: str | os.PathLike, device=None):
    """Reads an index saved by index.save(path), onto `device` (default: the CPU)."""
    from ._index import _wrap
    path = os.fspath(path)
    tensors, meta = read_safetensors(path, "am.knn.load")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not an aimass.knn index file (format {meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise ValueError(f"{path}: index format version {meta.get('version')!r} is not supported (expected {VERSION})")
    try:
        d = int(meta["d"])
        settings = json.loads(meta.get("settings", "{}"))
        ints = {str(k): int(v) for k, v in settings.items()}
        type_name, metric, dtype = meta["type"], meta["metric"], meta["dtype"]
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as e:
        raise ValueError(f"{path}: index metadata is damaged ({e})") from None
    try:
        impl = _core.knn.index_from_state(type_name, d, metric, dtype, ints, tensors, device)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None
    return _wrap(impl)
