"""aimass.knn: exact and approximate k-nearest-neighbour search on CPU and GPU.

    index = am.knn.FlatIndex(d=128, metric="cosine")
    index.add(embeddings)                      # ids 0 .. n-1, or ids=...
    dist, ids = index.search(queries, k=10)    # (nq, 10) each, best first
    index.save("emb.knn"); index = am.knn.load("emb.knn")
"""
from ._index import FlatIndex, Index
from ._io import load
from ._ivf import IVFFlatIndex, KMeansResult, kmeans

__all__ = ["Index", "FlatIndex", "load", "IVFFlatIndex", "KMeansResult", "kmeans"]
