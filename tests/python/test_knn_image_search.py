"""am.knn.ImageSearch: embeddings from a model's penultimate layer (checked against NumPy on the
layer weights) or any callable, indexed and queried by image."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am


@pytest.fixture
def images():
    return np.random.default_rng(5).random((60, 1, 4, 4), dtype=np.float32)


def small_model():
    model = am.nn.Sequential([am.nn.Flatten(), am.nn.Dense(8, activation="relu"), am.nn.Dense(3)])
    model.build((None, 1, 4, 4))
    return model


def test_penultimate_layer_embeddings_match_numpy(images):
    model = small_model()
    w1, b1 = model[1].weight.numpy(), model[1].bias.numpy()
    search = am.knn.ImageSearch(model, metric="l2", batch_size=7)
    expected = np.maximum(images.reshape(60, 16) @ w1.T + b1, 0)
    np.testing.assert_allclose(search.embed(images), expected, rtol=1e-5, atol=1e-6)
    logits = am.knn.ImageSearch(model, drop_last=0).embed(images)
    np.testing.assert_allclose(logits, model.predict(images), rtol=1e-5, atol=1e-6)


def test_indexed_images_find_themselves_first(images):
    search = am.knn.ImageSearch(lambda x: x.reshape(len(x), -1), metric="cosine")
    search.add(images, ids=np.arange(60) + 100)
    assert len(search) == 60
    D, I = search.search(images[[3, 40]], k=4)
    np.testing.assert_array_equal(I[:, 0], [103, 140])
    np.testing.assert_allclose(D[:, 0], 1.0, rtol=1e-5)
    assert (np.diff(D, axis=1) <= 1e-6).all()
    D, I = search.search(images[[3]], k=2, filter=np.arange(110, 160))
    assert (I >= 110).all()


def test_tensor_returning_callable_and_custom_index(images):
    index = am.knn.FlatIndex(16, "l2")
    search = am.knn.ImageSearch(lambda x: am.tensor(x.reshape(len(x), -1)), index=index)
    search.add(images)
    assert index.ntotal == 60
    D, I = search.search(images[:2], k=1)
    np.testing.assert_array_equal(I[:, 0], [0, 1])
    np.testing.assert_allclose(D[:, 0], 0, atol=1e-5)


def test_bad_use_raises(images):
    search = am.knn.ImageSearch(small_model())
    with pytest.raises(ValueError, match="nothing indexed"):
        search.search(images[:1])
    with pytest.raises(ValueError, match="no images"):
        search.add(images[:0])
    with pytest.raises(ValueError, match="drop_last=3"):
        am.knn.ImageSearch(small_model(), drop_last=3)
    with pytest.raises(TypeError, match="callable"):
        am.knn.ImageSearch(42)
    bad = am.knn.ImageSearch(lambda x: np.zeros((len(x) + 1, 4), np.float32))
    with pytest.raises(ValueError, match="expected \\(n, d\\)"):
        bad.add(images)
