"""Convolution and pooling of aimass.nn.functional (NCHW, PyTorch-like signatures).

These only normalise arguments (an int or a pair, "valid" / "same") and call the native ops in
aimass._core.functional; the 1-D forms are the 2-D ones on an (N, C, 1, L) view.
"""
from __future__ import annotations

from aimass import _core

__all__ = ["conv1d", "conv2d", "max_pool1d", "avg_pool1d", "max_pool2d", "avg_pool2d", "global_avg_pool2d"]

_f = _core.functional


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _single(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple, got {v!r}")
        return int(v[0])
    return int(v)


def _conv_padding(x, weight, padding, stride, dilation):
    """(top, bottom, left, right) from an int, a pair, a 4-tuple, "valid" or "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if x.ndim != 4 or weight.ndim != 4:
                return 0, 0, 0, 0  # the native op reports the rank
            top, bottom = _f.same_padding(x.shape[2], weight.shape[2], stride[0], dilation[0])
            left, right = _f.same_padding(x.shape[3], weight.shape[3], stride[1], dilation[1])
            return top, bottom, left, right
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return tuple(int(p) for p in padding)
    ph, pw = _pair(padding, "conv2d: padding")
    return ph, ph, pw, pw


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x: (N, C, H, W), weight: (O, C/groups, KH, KW), bias: (O,) -> (N, O, OH, OW).

    padding: an int, a pair (h, w), (top, bottom, left, right), "valid" or "same" (Keras:
    out = ceil(in / stride), the odd pixel at the bottom / right).
    """
    stride, dilation = _pair(stride, "conv2d: stride"), _pair(dilation, "conv2d: dilation")
    pad = _conv_padding(x, weight, padding, stride, dilation)
    return _f.conv2d(x, weight, bias, stride, pad, dilation, int(groups))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x: (N, C, L), weight: (O, C/groups, K), bias: (O,) -> (N, O, OL). padding: an int, "valid" or "same"."""
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: input must be (N, C, L) and weight (O, C/groups, K), got {tuple(x.shape)} "
                         f"and {tuple(weight.shape)}")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "conv1d: padding"))
    out = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "conv1d: stride")), pad,
                 (1, _single(dilation, "conv1d: dilation")), groups)
    return out.squeeze(2)


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""
    kernel = _pair(kernel_size, "max_pool2d: kernel_size")
    stride = kernel if stride is None else _pair(stride, "max_pool2d: stride")
    return _f.max_pool2d(x, kernel, stride, _pair(padding, "max_pool2d: padding"), bool(ceil_mode))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""
    kernel = _pair(kernel_size, "avg_pool2d: kernel_size")
    stride = kernel if stride is None else _pair(stride, "avg_pool2d: stride")
    return _f.avg_pool2d(x, kernel, stride, _pair(padding, "avg_pool2d: padding"), bool(ceil_mode),
                         bool(count_include_pad))


def _pool1d(pool, name, x, kernel_size, stride, padding, *flags):
    if x.ndim != 3:
        raise ValueError(f"{name}: input must be (N, C, L), got {tuple(x.shape)}")
    kernel = _single(kernel_size, f"{name}: kernel_size")
    stride = kernel if stride is None else _single(stride, f"{name}: stride")
    return pool(x.unsqueeze(2), (1, kernel), (1, stride), (0, _single(padding, f"{name}: padding")), *flags).squeeze(2)


def max_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """x: (N, C, L) -> (N, C, OL)."""
    return _pool1d(_f.max_pool2d, "max_pool1d", x, kernel_size, stride, padding, bool(ceil_mode))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """x: (N, C, L) -> (N, C, OL)."""
    return _pool1d(_f.avg_pool2d, "avg_pool1d", x, kernel_size, stride, padding, bool(ceil_mode),
                   bool(count_include_pad))


def global_avg_pool2d(x):
    """x: (N, C, H, W) -> (N, C): the mean over each plane."""
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d: input must be (N, C, H, W), got {tuple(x.shape)}")
    return x.mean(axis=(2, 3))
