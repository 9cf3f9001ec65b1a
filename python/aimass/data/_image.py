"""image_folder: a folder-per-class image tree (path/cat/*.png, path/dog/*.jpg) as an ArrayDataset.

Pillow decodes and resizes (bilinear) in a thread pool (it releases the GIL while it works);
the layout change to (N, C, H, W) float32 and the normalisation run in C++.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _core
from ._loader import ArrayDataset

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _load(path: str, mode: str, size):
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except Exception as e:  # Pillow raises UnidentifiedImageError, OSError, SyntaxError, ... for bad files
        raise ValueError(f"image_folder: cannot read image {path!r}: {e}") from e
    return a[:, :, None] if a.ndim == 2 else a


def _pair(v, name):
    if v is None:
        return None
    if isinstance(v, int):
        v = (v, v)
    v = tuple(int(s) for s in v)
    if len(v) != 2 or min(v) < 1:
        raise ValueError(f"image_folder: {name} must be (height, width) of positive ints, got {v}")
    return v


def _channel_values(v):
    return [float(a) for a in np.atleast_1d(np.asarray(v, np.float64))]


def image_folder(path, image_size=None, grayscale: bool = False, normalize=None, num_workers: int | None = None):
    """Loads ``path/<class>/<image>`` files into an ArrayDataset.

    x: float32 (N, C, H, W) (C = 1 when grayscale, else 3), values x / 255, then (x - mean) / std
    per channel when ``normalize=(mean, std)`` (scalars or one value per channel). y: int64 class
    ids, classes sorted by folder name (``dataset.classes``). ``image_size=(H, W)`` (or an int)
    resizes every image (bilinear); without it every image must have the same size.
    A missing folder raises FileNotFoundError; a tree without images, or an unreadable image,
    ValueError naming it.
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"image_folder: {root!r} is not a folder")
    size = _pair(image_size, "image_size")
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"image_folder: {root!r} has no class folders (expected {root}/<class>/<image>)")
    files, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        found = sorted(f for f in os.listdir(folder)
                       if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
                       and os.path.isfile(os.path.join(folder, f)))
        if not found:
            raise ValueError(f"image_folder: class folder {folder!r} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        files += [os.path.join(folder, f) for f in found]
        labels += [label] * len(found)
    mode = "L" if grayscale else "RGB"
    workers = num_workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        images = list(pool.map(lambda f: _load(f, mode, size), files))
    if size is None:
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            first = images[0].shape
            odd = next(f for f, im in zip(files, images) if im.shape != first)
            raise ValueError(f"image_folder: images differ in size ({files[0]!r} is {first[:2]}, {odd!r} is "
                             f"{images[files.index(odd)].shape[:2]}): pass image_size=(H, W)")
    mean, std = ([], []) if normalize is None else (_channel_values(normalize[0]), _channel_values(normalize[1]))
    x = _core.data.images_to_tensor(_core.from_numpy(np.stack(images)), mean, std)
    return ArrayDataset(x, np.asarray(labels, np.int64), classes=classes)
