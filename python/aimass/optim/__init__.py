"""aimass.optim."""
from __future__ import annotations
