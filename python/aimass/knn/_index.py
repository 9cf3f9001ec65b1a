"""Python face of the native indexes: arguments in any array form, results as NumPy (or as
Tensors on the index's device when the queries were aimass Tensors), filters, save / load."""
from __future__ import annotations

import os

import numpy as np

from .. import _core
from .._core import Tensor

_native = _core.knn


def _split_filter(filter):
    """filter= as (allowed_ids, id_mask): a bool array is a mask over ids, integers are ids."""
    if filter is None:
        return None, None
    if isinstance(filter, Tensor):
        arr = filter
        is_mask = filter.dtype == _core.DType.bool
    else:
        arr = np.asarray(filter)
        if arr.dtype == object:
            raise TypeError("filter must be an array of ids or a boolean mask over ids")
        if arr.ndim != 1:
            raise ValueError(f"filter must be 1-D (ids, or a boolean mask over ids), got shape {arr.shape}")
        is_mask = arr.dtype == np.bool_
        if not is_mask and arr.size == 0:
            arr = arr.astype(np.int64)
        elif not is_mask and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"filter must hold integer ids or booleans, got dtype {arr.dtype}")
    return (None, arr) if is_mask else (arr, None)


def _as_output(x: Tensor, like_tensor: bool):
    return x if like_tensor else x.numpy() if x.device.type == "cpu" else x.cpu().numpy()


class Index:
    """What every index shares: add, search, range_search, remove, reset, reconstruct, save.

    Safe to share between threads: searches from many threads run in parallel (the GIL is
    released), a writer (add, remove, reset, train, to, nprobe = ...) waits for them and
    excludes them, and a waiting writer goes before new searches (csrc/knn/index.h)."""

    _impl: _core.knn.Index

    # ---- properties
    @property
    def d(self) -> int:
        return self._impl.d

    @property
    def metric(self) -> str:
        return self._impl.metric

    @property
    def device(self):
        return self._impl.device

    @property
    def dtype(self):
        return self._impl.dtype

    @property
    def ntotal(self) -> int:
        return self._impl.ntotal

    @property
    def is_trained(self) -> bool:
        return self._impl.is_trained

    def __len__(self) -> int:
        return self.ntotal

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(d={self.d}, metric={self.metric!r}, ntotal={self.ntotal}, "
                f"device={str(self.device)!r}, dtype={self.dtype.name if hasattr(self.dtype, 'name') else self.dtype})")

    # ---- building
    def train(self, x) -> None:
        """Trains the index on representative vectors (a no-op for FlatIndex)."""
        self._impl.train(x)

    def add(self, x, ids=None) -> None:
        """Adds vectors x (n, d); ids (n,) int64, default ntotal .. ntotal + n - 1. Ids must be
        unique: a repeated id raises ValueError and leaves the index unchanged."""
        self._impl.add(x, ids)

    def remove(self, ids) -> int:
        """Removes the vectors with these ids (absent ids are ignored); returns how many went."""
        return self._impl.remove(np.atleast_1d(np.asarray(ids)) if not isinstance(ids, Tensor) else ids)

    def reset(self) -> None:
        """Removes every vector (a trained index stays trained)."""
        self._impl.reset()

    def reconstruct(self, id: int) -> np.ndarray:
        """The stored vector of `id` (d,) float32 (unit length for cosine)."""
        return self._impl.reconstruct(int(id)).numpy()

    # ---- searching
    def search(self, q, k: int, filter=None):
        """The k nearest stored vectors of each query q (nq, d) -> (distances, ids), each (nq, k),
        best first, ties by the smaller id. l2: squared distances; ip / cosine: similarities.
        filter: allowed ids, or a boolean mask over ids (mask[id]); slots a filtered query cannot
        fill hold id -1. NumPy arrays, or Tensors on the index's device when q is a Tensor."""
        like_tensor = isinstance(q, Tensor)
        q = self._queries(q)
        allowed, mask = _split_filter(filter)
        dist, ids = self._impl.search(q, int(k), allowed, mask)
        return _as_output(dist, like_tensor), _as_output(ids, like_tensor)

    def range_search(self, q, radius: float, filter=None):
        """Every stored vector within radius of each query (squared L2 < radius; similarity >
        radius for ip / cosine) -> (lims, distances, ids) as FAISS: query i's hits are
        distances[lims[i]:lims[i + 1]], best first."""
        q = self._queries(q)
        allowed, mask = _split_filter(filter)
        lims, dist, ids = self._impl.range_search(q, float(radius), allowed, mask)
        return lims.numpy(), dist.numpy(), ids.numpy()

    @staticmethod
    def _queries(q):
        if isinstance(q, Tensor):
            return q
        arr = np.asarray(q)
        return arr[None, :] if arr.ndim == 1 else arr

    # ---- devices and files
    def to(self, device):
        """Moves the index to `device` ("cpu", "cuda", "cuda:1") in place; returns self."""
        self._impl.to(device)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index: int = 0):
        return self.to(f"cuda:{index}")

    def save(self, path: str | os.PathLike) -> None:
        """Writes the index to one safetensors file (format in aimass.knn._io), atomically."""
        from . import _io
        _io.save_index(self, path)


class FlatIndex(Index):
    """Exact k-nearest-neighbour search (FAISS's IndexFlatL2 / IndexFlatIP, plus cosine).

    FlatIndex(d, metric="l2" | "ip" | "cosine", device="cpu", dtype="float32" | "float16").
    Distances: squared L2 (as FAISS), inner product, or cosine similarity.
    """

    def __init__(self, d: int, metric: str = "l2", device=None, dtype="float32"):
        self._impl = _native.FlatIndex(int(d), metric, device, dtype)


# Native type name -> Python class, for load(); each index module registers its class.
_CLASSES: dict[str, type] = {"FlatIndex": FlatIndex}


def _wrap(impl) -> Index:
    """An index object of the right class around a native index."""
    cls = _CLASSES.get(impl.type_name)
    if cls is None:
        raise ValueError(f"unknown index type {impl.type_name!r}")
    obj = cls.__new__(cls)
    obj._impl = impl
    return obj
