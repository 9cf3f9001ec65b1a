"""Cross-validation for objectives: KFold / StratifiedKFold (the same folds as scikit-learn's for
the same arguments) over NumPy arrays, aimass Tensors and lists, and cross_val_score, which runs an
objective's fold function on every fold:

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)

        def fit_and_score(fold):              # fold.x_train, fold.y_train, fold.x_test, fold.y_test
            model = build(lr)
            model.fit(fold.x_train, fold.y_train, epochs=5, verbose=0)
            return model.evaluate(fold.x_test, fold.y_test)["accuracy"]

        return am.hpo.model_selection.cross_val_score(fit_and_score, x, y, cv=5, trial=trial).mean()

With ``trial``, the running mean after each fold is reported as the trial's intermediate value at
step = fold index and the trial is pruned (TrialPruned) when the study's pruner says so.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from .exceptions import TrialPruned


def _num_samples(x: Any) -> int:
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(x)
    except TypeError:
        raise TypeError(f"Expected an array-like of samples (NumPy array, aimass Tensor, list), got "
                        f"{type(x).__name__}") from None


def _take(x: Any, index: np.ndarray) -> Any:
    """Rows index of x: NumPy arrays and aimass Tensors by fancy indexing, lists element by element."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [x[i] for i in index]
    return x[index]


def _check_random_state(seed: Any) -> np.random.RandomState:
    """scikit-learn's check_random_state: None (NumPy's global RandomState), an int, or a RandomState."""
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


class _BaseKFold:
    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None) -> None:
        if not isinstance(n_splits, numbers.Integral):
            raise ValueError(f"The number of folds must be of Integral type. {n_splits!r} of type "
                             f"{type(n_splits)} was passed.")
        if n_splits <= 1:
            raise ValueError(f"k-fold cross-validation requires at least one train/test split by setting "
                             f"n_splits=2 or more, got n_splits={n_splits}.")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle}")
        if not shuffle and random_state is not None:
            raise ValueError("Setting a random_state has no effect since shuffle is False. You should leave "
                             "random_state to its default (None), or set shuffle=True.")
        self.n_splits, self.shuffle, self.random_state = int(n_splits), shuffle, random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(train indices, test indices) of each fold, int64 arrays into X's rows."""
        n = _num_samples(X)
        if self.n_splits > n:
            raise ValueError(f"Cannot have number of splits n_splits={self.n_splits} greater than the number of "
                             f"samples: n_samples={n}.")
        indices = np.arange(n)
        for test in self._test_masks(n, y):
            yield indices[~test], indices[test]

    def _test_masks(self, n: int, y: Any) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_splits={self.n_splits}, random_state={self.random_state}, shuffle={self.shuffle})"


class KFold(_BaseKFold):
    """Consecutive folds (shuffled first when shuffle=True); the first n % n_splits folds have one
    sample more."""

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None) -> None:
        super().__init__(n_splits, shuffle=shuffle, random_state=random_state)

    def _test_masks(self, n: int, y: Any) -> Iterator[np.ndarray]:
        order = np.arange(n)
        if self.shuffle:
            _check_random_state(self.random_state).shuffle(order)
        sizes = np.full(self.n_splits, n // self.n_splits, dtype=int)
        sizes[: n % self.n_splits] += 1
        start = 0
        for size in sizes:
            mask = np.zeros(n, dtype=bool)
            mask[order[start:start + size]] = True
            start += size
            yield mask


class StratifiedKFold(_BaseKFold):
    """Folds that keep each class's share of y: classes (in order of first appearance) are dealt
    round robin over the sorted labels, each class's fold labels assigned in blocks (shuffled when
    shuffle=True), as scikit-learn's."""

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None) -> None:
        super().__init__(n_splits, shuffle=shuffle, random_state=random_state)

    def split(self, X: Any, y: Any, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if y is None:
            raise ValueError("StratifiedKFold.split needs y, the class labels to stratify on.")
        return super().split(X, y, groups)

    def _test_masks(self, n: int, y: Any) -> Iterator[np.ndarray]:
        folds = self._test_folds(_labels(y))
        for k in range(self.n_splits):
            yield folds == k

    def _test_folds(self, y: np.ndarray) -> np.ndarray:
        rng = _check_random_state(self.random_state)
        _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
        _, class_perm = np.unique(first, return_inverse=True)
        encoded = class_perm[inverse.reshape(-1)]  # classes numbered by first appearance
        n_classes = len(first)
        counts = np.bincount(encoded)
        if np.all(self.n_splits > counts):
            raise ValueError(f"n_splits={self.n_splits} cannot be greater than the number of members in each class.")
        if self.n_splits > counts.min():
            warnings.warn(f"The least populated class in y has only {counts.min()} members, which is less than "
                          f"n_splits={self.n_splits}.", UserWarning, stacklevel=4)
        ordered = np.sort(encoded)
        allocation = np.asarray([np.bincount(ordered[i::self.n_splits], minlength=n_classes)
                                 for i in range(self.n_splits)])  # [n_splits, n_classes]
        folds = np.empty(len(y), dtype=np.int64)
        for k in range(n_classes):
            of_class = np.arange(self.n_splits).repeat(allocation[:, k])
            if self.shuffle:
                rng.shuffle(of_class)
            folds[encoded == k] = of_class
        return folds


def _labels(y: Any) -> np.ndarray:
    if hasattr(y, "numpy") and not isinstance(y, np.ndarray):
        y = y.numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"StratifiedKFold needs 1-d class labels, got y of shape {y.shape}.")
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError("Supported target types are: ('binary', 'multiclass'). Got 'continuous' instead.")
    return y


class Fold(NamedTuple):
    """One fold: its number, the row indices, and the rows of X and y taken by them."""
    index: int
    train_index: np.ndarray
    test_index: np.ndarray
    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any


def cross_val_score(fn: Callable[[Fold], float], X: Any, y: Any = None, cv: Any = 5, *, trial: Any = None) -> np.ndarray:
    """fn(fold) -> score for each fold of cv (an int: KFold(cv); or any splitter with split(X, y)),
    as a float array of n_splits scores. With trial, reports the running mean after each fold (step =
    fold index) and raises TrialPruned when trial.should_prune()."""
    splitter = KFold(cv) if isinstance(cv, numbers.Integral) else cv
    if isinstance(splitter, (str, bytes)) or not hasattr(splitter, "split"):
        raise TypeError(f"cv must be an int or a splitter with split(X, y) (KFold, StratifiedKFold), got "
                        f"{type(cv).__name__}")
    scores: list[float] = []
    for i, (train, test) in enumerate(splitter.split(X, y)):
        fold = Fold(i, train, test, _take(X, train), _take(y, train), _take(X, test), _take(y, test))
        scores.append(float(fn(fold)))
        if trial is not None:
            trial.report(float(np.mean(scores)), i)
            if trial.should_prune():
                raise TrialPruned(f"Trial was pruned after fold {i}.")
    return np.asarray(scores, dtype=float)


__all__ = ["KFold", "StratifiedKFold", "Fold", "cross_val_score"]
