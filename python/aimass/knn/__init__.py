"""aimass.knn: exact and approximate k-nearest-neighbour search on CPU and GPU.

    index = am.knn.FlatIndex(d=128, metric="cosine")
    index.add(embeddings)                      # ids 0 .. n-1, or ids=...
    dist, ids = index.search(queries, k=10)    # (nq, 10) each, best first
    index.save("emb.knn"); index = am.knn.load("emb.knn")
    ivf = am.knn.IVFFlatIndex(d=128, nlist=1024); ivf.train(x); ivf.add(x); ivf.nprobe = 16
    centroids, assignment, inertia, n_iter = am.knn.kmeans(x, k=256)
    search = am.knn.ImageSearch(trained_model); search.add(images); search.search(query_images, k=5)
"""
from ._image_search import ImageSearch
from ._index import FlatIndex, Index
from ._io import load
from ._ivf import IVFFlatIndex, KMeansResult, kmeans

__all__ = ["Index", "FlatIndex", "ImageSearch", "load", "IVFFlatIndex", "KMeansResult", "kmeans"]
