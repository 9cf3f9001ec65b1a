"""aimass.nn: modules, layers and losses (native, in csrc/nn) and their functional forms."""
from __future__ import annotations

from . import functional  # noqa: F401
