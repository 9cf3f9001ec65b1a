"""train_test_split and train_val_test_split with scikit-learn's rules for the sizes.

A float size is a fraction of the samples (the test part rounded up, the train part down),
an int a count. The permutation comes from the native Philox generator: keyed by ``seed``
alone, or drawn from the global generator (``am.manual_seed``) when seed is None.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._core import Tensor


def _num_samples(a) -> int:
    shape = a.shape if isinstance(a, Tensor) else np.shape(a)
    if len(shape) == 0:
        raise ValueError("train_test_split: arrays need a sample axis, got a 0-d value")
    return int(shape[0])


def _take(a, idx: np.ndarray):
    if isinstance(a, Tensor):
        return a[_core.from_numpy(idx)] if len(idx) else a[0:0]
    return np.asarray(a)[idx]


def _count(size, n: int, name: str, rounding) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"train_test_split: {name} must be an int or a float, got {size!r}")
    if isinstance(size, (float, np.floating)):
        if not 0 < size < 1:
            raise ValueError(f"train_test_split: {name} = {size} must be in (0, 1) as a fraction")
        return int(rounding(size * n))
    if not 0 < size < n:
        raise ValueError(f"train_test_split: {name} = {size} must be in [1, {n - 1}] for {n} samples")
    return int(size)


def _permutation(n: int, seed) -> np.ndarray:
    return np.asarray(_core.data.random_permutation(n, None if seed is None else int(seed)), np.int64)


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integers near counts * total / sum(counts) summing to total (largest remainders round up)."""
    exact = counts * total / counts.sum()
    out = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: total - out.sum()]] += 1
    return out


def _split_indices(n: int, sizes, shuffle: bool, stratify, seed):
    """Index arrays, one per part of `sizes` (summing to at most n)."""
    if not shuffle:
        if stratify is not None:
            raise ValueError("train_test_split: stratified splits need shuffle=True")
        bounds = np.cumsum([0, *sizes])
        return [np.arange(bounds[i], bounds[i + 1], dtype=np.int64) for i in range(len(sizes))]
    perm = _permutation(n, seed)
    if stratify is None:
        bounds = np.cumsum([0, *sizes])
        return [perm[bounds[i]:bounds[i + 1]] for i in range(len(sizes))]
    labels = np.asarray(stratify.numpy() if isinstance(stratify, Tensor) else stratify)
    if labels.shape[:1] != (n,):
        raise ValueError(f"train_test_split: stratify has shape {labels.shape}, expected ({n}, ...)")
    classes, y = np.unique(labels.reshape(n, -1), axis=0, return_inverse=True)
    y = y.reshape(-1)
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < 2:
        raise ValueError("train_test_split: the least populated class in stratify has only 1 member; "
                         "every class needs at least 2")
    for s in sizes:
        if s < len(classes):
            raise ValueError(f"train_test_split: a part of {s} samples cannot hold all {len(classes)} classes")
    # Parts are filled from the last (test) to the first (train), each taking its share of every
    # class from what is left; members of a class are taken in the permutation's order.
    members = [perm[y[perm] == k] for k in range(len(classes))]
    position = np.empty(n, np.int64)
    position[perm] = np.arange(n)
    remaining = counts.copy()
    taken = np.zeros(len(classes), np.int64)
    parts = [None] * len(sizes)
    for p in range(len(sizes) - 1, -1, -1):
        share = _largest_remainder(remaining, sizes[p]) if p > 0 else np.minimum(remaining, sizes[0])
        part = np.concatenate([members[k][taken[k]:taken[k] + share[k]] for k in range(len(classes))])
        parts[p] = part[np.argsort(position[part], kind="stable")]  # in the permutation's order, as sklearn
        taken += share
        remaining -= share
    return parts


def _check_arrays(arrays, op):
    if not arrays:
        raise ValueError(f"{op}: at least one array required")
    ns = [_num_samples(a) for a in arrays]
    if len(set(ns)) != 1:
        raise ValueError(f"{op}: arrays have different numbers of samples: {ns}")
    return ns[0]


def train_test_split(*arrays, test_size=None, train_size=None, shuffle: bool = True, stratify=None, seed=None):
    """Splits each array into train and test parts: returns [a_train, a_test, b_train, b_test, ...].

    test_size defaults to 0.25 (the rest when train_size is given). NumPy arrays come back as
    NumPy arrays, Tensors as Tensors.
    """
    n = _check_arrays(arrays, "train_test_split")
    if test_size is None and train_size is None:
        test_size = 0.25
    n_test = _count(test_size, n, "test_size", math.ceil) if test_size is not None else None
    n_train = _count(train_size, n, "train_size", math.floor) if train_size is not None else None
    if n_test is None:
        n_test = n - n_train
    if n_train is None:
        n_train = n - n_test
    if n_train + n_test > n:
        raise ValueError(f"train_test_split: train ({n_train}) and test ({n_test}) exceed the {n} samples")
    if n_train == 0 or n_test == 0:
        raise ValueError(f"train_test_split: with {n} samples, test_size={test_size} and train_size={train_size} "
                         "leave an empty part")
    train, test = _split_indices(n, [n_train, n_test], shuffle, stratify, seed)
    return [part for a in arrays for part in (_take(a, train), _take(a, test))]


def train_val_test_split(x, y=None, val_size=0.1, test_size=0.2, shuffle: bool = True, stratify=None, seed=None):
    """Splits x (and y) three ways: returns (x_train, x_val, x_test[, y_train, y_val, y_test]).

    Sizes are fractions of all samples (val and test rounded up) or counts.
    """
    arrays = (x,) if y is None else (x, y)
    n = _check_arrays(arrays, "train_val_test_split")
    n_val = _count(val_size, n, "val_size", math.ceil)
    n_test = _count(test_size, n, "test_size", math.ceil)
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise ValueError(f"train_val_test_split: val ({n_val}) and test ({n_test}) leave no training samples of {n}")
    parts = _split_indices(n, [n_train, n_val, n_test], shuffle, stratify, seed)
    return tuple(_take(a, idx) for a in arrays for idx in parts)
