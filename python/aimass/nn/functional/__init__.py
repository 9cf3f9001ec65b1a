"""aimass.nn.functional: the neural-network ops as functions (native, in csrc/ops)."""
from __future__ import annotations

from ._conv import *  # noqa: F401,F403
from ._loss import *  # noqa: F401,F403
from ._norm import *  # noqa: F401,F403
