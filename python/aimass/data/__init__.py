"""aimass.data: in-memory datasets, a DataLoader over the native batch source (shuffling,
batching, background prefetch and augmentation in C++), image folders, and split helpers."""
from __future__ import annotations

from ._image import image_folder
from ._loader import ArrayDataset, DataLoader
from ._split import train_test_split, train_val_test_split

__all__ = ["ArrayDataset", "DataLoader", "image_folder", "train_test_split", "train_val_test_split"]
