"""Image search: embed images, index the embeddings, query by image.

    search = am.knn.ImageSearch(model)            # a trained am.nn.Sequential classifier
    search.add(train_images, ids=train_ids)       # embeddings = the penultimate layer's output
    distances, ids = search.search(query_images, k=5)

The embedder is an am.nn model or any callable mapping a batch of images to (n, d) vectors.
For an am.nn.Sequential the last `drop_last` layers (default 1: the classifier head) are left
out, so the embedding is the penultimate layer's activations; any other model or callable is
used as given. Embeddings are computed batch by batch in eval mode (no gradients).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import _core
from .._core import Tensor
from ._index import FlatIndex, Index


def _embedder(model, drop_last: int) -> Callable:
    nn = _core.nn
    if isinstance(model, nn.Sequential):
        if not 0 <= drop_last < len(model):
            raise ValueError(f"ImageSearch: drop_last={drop_last} must be in [0, {len(model)}) for a "
                             f"Sequential of {len(model)} layers")
        body = model if drop_last == 0 else nn.Sequential([model[i] for i in range(len(model) - drop_last)])
        return lambda images, batch_size: body.predict(images, batch_size=batch_size)
    if isinstance(model, nn.Module):
        return lambda images, batch_size: model.predict(images, batch_size=batch_size)
    if callable(model):
        def call(images, batch_size):
            parts = [np.asarray(_to_numpy(model(images[i:i + batch_size]))) for i in range(0, len(images), batch_size)]
            return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        return call
    raise TypeError(f"ImageSearch: the embedder must be an am.nn model or a callable, got {type(model).__name__}")


def _to_numpy(x):
    if isinstance(x, Tensor):
        return x.cpu().numpy()
    return x


class ImageSearch:
    """Nearest-neighbour search over images by their embeddings.

    ImageSearch(embedder, metric="cosine", index=None, device=None, drop_last=1, batch_size=256).
    index: an empty am.knn index to fill (default: a FlatIndex of the embedding width, built on
    the first add). Results of search: (distances, ids) as the index gives them, best first.
    """

    def __init__(self, embedder, metric: str = "cosine", index: Index | None = None, device=None,
                 drop_last: int = 1, batch_size: int = 256):
        self._embed = _embedder(embedder, drop_last)
        self.metric = metric
        self.device = device
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"ImageSearch: batch_size must be at least 1, got {batch_size}")
        self.index = index

    def embed(self, images) -> np.ndarray:
        """(n, ...) images -> (n, d) float32 embeddings."""
        images = _to_numpy(images)
        if len(images) == 0:
            raise ValueError("ImageSearch: no images given")
        emb = np.asarray(_to_numpy(self._embed(images, self.batch_size)), dtype=np.float32)
        if emb.ndim != 2 or len(emb) != len(images):
            raise ValueError(f"ImageSearch: the embedder returned shape {emb.shape} for {len(images)} images; "
                             "expected (n, d)")
        return emb

    def add(self, images, ids=None) -> None:
        """Embeds and indexes images; ids default to 0, 1, ... in the order added."""
        emb = self.embed(images)
        if self.index is None:
            self.index = FlatIndex(emb.shape[1], self.metric, device=self.device)
        self.index.add(emb, ids)

    def search(self, images, k: int = 5, filter=None):
        """The k most similar indexed images of each query image -> (distances, ids), (nq, k) each."""
        if self.index is None:
            raise ValueError("ImageSearch: nothing indexed yet; call add(images) first")
        return self.index.search(self.embed(images), k, filter=filter)

    def __len__(self) -> int:
        return 0 if self.index is None else self.index.ntotal

    def __repr__(self) -> str:
        return f"ImageSearch(metric={self.metric!r}, indexed={len(self)})"
