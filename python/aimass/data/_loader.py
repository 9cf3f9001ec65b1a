"""ArrayDataset and DataLoader: the Python face of aimass._core.data.make_array_loader."""
from __future__ import annotations

import numpy as np

from .. import _core
from .._core import Tensor


def as_tensor(a) -> Tensor:
    """A Tensor as is; a NumPy array (or anything np.asarray takes) shared where its layout allows."""
    if isinstance(a, Tensor):
        return a
    return _core.from_numpy(np.asarray(a))


class ArrayDataset:
    """Samples x[i] (and targets y[i]) of in-memory arrays along their first axis.

    x, y: NumPy arrays or aimass Tensors with the same first dimension.
    """

    def __init__(self, x, y=None, classes=None):
        self.x = as_tensor(x)
        self.y = None if y is None else as_tensor(y)
        if self.x.ndim < 1:
            raise ValueError(f"ArrayDataset: x needs a sample axis, got shape {tuple(self.x.shape)}")
        if self.y is not None and (self.y.ndim < 1 or self.y.shape[0] != self.x.shape[0]):
            raise ValueError(f"ArrayDataset: x {tuple(self.x.shape)} and y {tuple(self.y.shape)} "
                             "have different numbers of samples")
        self.classes = None if classes is None else list(classes)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i):
        if self.y is None:
            return self.x[i]
        return self.x[i], self.y[i]

    def __repr__(self) -> str:
        y = "None" if self.y is None else f"{tuple(self.y.shape)} {self.y.dtype}"
        return f"ArrayDataset(x={tuple(self.x.shape)} {self.x.dtype}, y={y})"


class DataLoader:
    """Minibatches (x, y) of a dataset, one epoch per iteration, assembled in C++.

    ``dataset_or_arrays``: an ArrayDataset, a tuple (x, y), or x alone (then batches are x only).
    Each ``for`` loop is one epoch: a new order when ``shuffle`` (from the generator seeded by
    ``am.manual_seed``), ``prefetch`` batches assembled ahead on a background thread.
    Augmentation of image batches x (B, C, H, W): ``random_flip`` (horizontal, p = 0.5),
    ``random_crop`` (pad by that many zero pixels, crop back at a random offset), ``mixup_alpha``
    (mixup with Beta(alpha, alpha)) and ``label_smoothing``; the last two make y soft targets
    (B, num_classes) (num_classes defaults to ``len(dataset.classes)`` when the dataset has them).
    ``loader._source`` is the native BatchSource (for the native training loop).
    """

    def __init__(self, dataset_or_arrays, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 prefetch: int = 2, random_flip: bool = False, random_crop: int = 0, mixup_alpha: float = 0.0,
                 label_smoothing: float = 0.0, num_classes: int | None = None):
        data = dataset_or_arrays
        if isinstance(data, ArrayDataset):
            dataset = data
        elif isinstance(data, (tuple, list)):
            if len(data) not in (1, 2):
                raise ValueError(f"DataLoader: expected (x,) or (x, y), got a sequence of {len(data)} arrays")
            dataset = ArrayDataset(*data)
        else:
            dataset = ArrayDataset(data)
        self.dataset = dataset
        self._has_y = dataset.y is not None
        if num_classes is None:
            num_classes = len(dataset.classes) if dataset.classes is not None else 0
        # No targets: an empty (N, 0) y keeps the native source's (x, y) shape; batches yield x alone.
        y = dataset.y if self._has_y else np.empty((len(dataset), 0), np.int64)
        if not self._has_y and (mixup_alpha > 0 or label_smoothing > 0):
            raise ValueError("DataLoader: mixup_alpha and label_smoothing need targets y")
        if isinstance(batch_size, bool) or int(batch_size) != batch_size:
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self._source = _core.data.make_array_loader(
            dataset.x, as_tensor(y), batch_size=self.batch_size, shuffle=bool(shuffle), drop_last=bool(drop_last),
            prefetch=int(prefetch), random_flip=bool(random_flip), random_crop=int(random_crop),
            mixup_alpha=float(mixup_alpha), label_smoothing=float(label_smoothing), num_classes=int(num_classes))

    def __len__(self) -> int:
        return self._source.num_batches

    @property
    def num_samples(self) -> int:
        """Samples per epoch (after drop_last)."""
        return self._source.num_samples

    def __iter__(self):
        """One epoch. A new iteration (another thread's, or a loop inside this one) supersedes
        this one: its next batch raises RuntimeError saying so. Give each thread its own loader."""
        source = self._source
        epoch = source.start_epoch()
        while (batch := source.next(epoch)) is not None:
            yield batch if self._has_y else batch[0]
