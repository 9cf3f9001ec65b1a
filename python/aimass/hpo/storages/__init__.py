"""Where studies live: in memory (default), an SQL database (SQLAlchemy: SQLite, PostgreSQL, MySQL;
Optuna's schema) or a journal file, the last two shared by many workers."""
from __future__ import annotations

from typing import Any

from ._base import BaseHeartbeat, BaseStorage
from ._heartbeat import fail_stale_trials
from ._in_memory import InMemoryStorage

__all__ = ["BaseStorage", "BaseHeartbeat", "InMemoryStorage", "get_storage", "fail_stale_trials"]


def get_storage(storage: Any) -> BaseStorage:
    """A storage object for create_study's storage argument: None (in memory), a database URL, or a storage."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, str):
        from . import _rdb
        return _rdb.storage_for_url(storage)
    if isinstance(storage, BaseStorage):
        return storage
    raise TypeError(f"storage must be None, a database URL or a storage object, got {type(storage).__name__}")
