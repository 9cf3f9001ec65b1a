"""conv ops of aimass.nn.functional."""
from __future__ import annotations

__all__: list[str] = []
