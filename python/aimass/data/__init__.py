"""aimass.data."""
from __future__ import annotations
