"""Weight initialisers, in place, drawing from the generator seeded by ``am.manual_seed``.

Fans follow the layers' weight layouts: Dense (out, in) has fan_in = in, fan_out = out; a
convolution (O, C/groups, *kernel) has fan_in = C/groups * prod(kernel), fan_out = O * prod(kernel).
"""
from __future__ import annotations

from .._core import Tensor
from .._core import nn as _nn


def _init(name: str):
    def initialize(tensor: Tensor) -> Tensor:
        _nn._initialize(tensor, name)
        return tensor

    initialize.__name__ = name + "_"
    initialize.__doc__ = f"Fills ``tensor`` in place with the {name} initialiser; returns it."
    return initialize


zeros_ = _init("zeros")
ones_ = _init("ones")
glorot_uniform_ = xavier_uniform_ = _init("glorot_uniform")
glorot_normal_ = xavier_normal_ = _init("glorot_normal")
he_uniform_ = kaiming_uniform_ = _init("he_uniform")
he_normal_ = kaiming_normal_ = _init("he_normal")
