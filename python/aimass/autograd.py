"""Grad mode: ``with am.no_grad():`` records nothing; ``am.enable_grad()`` turns it back on."""
from __future__ import annotations

import functools

from . import _core


class _GradMode:
    """A context manager and decorator that sets grad mode for its block (per thread)."""

    enabled: bool

    def __enter__(self):
        self._previous = _core.is_grad_enabled()
        _core.set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc):
        _core.set_grad_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    enabled = False


class enable_grad(_GradMode):
    enabled = True


is_grad_enabled = _core.is_grad_enabled
