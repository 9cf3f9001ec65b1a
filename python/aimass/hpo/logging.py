"""am.hpo's log, as ``optuna.logging``: "Trial N finished with value ..." lines at INFO on stderr.

``set_verbosity(WARNING)`` silences them; the levels are the standard library's.
"""
from __future__ import annotations

import logging as _logging
import sys
import threading
from logging import CRITICAL, DEBUG, ERROR, FATAL, INFO, WARN, WARNING  # noqa: F401

__all__ = ["CRITICAL", "DEBUG", "ERROR", "FATAL", "INFO", "WARN", "WARNING", "get_logger", "get_verbosity",
           "set_verbosity", "disable_default_handler", "enable_default_handler", "disable_propagation",
           "enable_propagation"]

_lock = threading.Lock()
_handler: _logging.Handler | None = None
_ROOT = "aimass.hpo"


class _StderrHandler(_logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a notebook's or pytest's capture included)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _root() -> _logging.Logger:
    global _handler
    with _lock:
        logger = _logging.getLogger(_ROOT)
        if _handler is None:
            _handler = _StderrHandler()
            _handler.setFormatter(_logging.Formatter("[%(levelname).1s %(asctime)s] %(message)s"))
            logger.addHandler(_handler)
            logger.setLevel(INFO)
            logger.propagate = False
        return logger


def get_logger(name: str) -> _logging.Logger:
    _root()
    return _logging.getLogger(name if name.startswith(_ROOT) else f"{_ROOT}.{name}")


def get_verbosity() -> int:
    return _root().getEffectiveLevel()


def set_verbosity(verbosity: int) -> None:
    _root().setLevel(verbosity)


def disable_default_handler() -> None:
    if _handler is not None:
        _root().removeHandler(_handler)


def enable_default_handler() -> None:
    logger = _root()
    if _handler not in logger.handlers:
        logger.addHandler(_handler)


def disable_propagation() -> None:
    _root().propagate = False


def enable_propagation() -> None:
    _root().propagate = True
