"""Where studies live: in memory (default), an SQL database (SQLAlchemy: SQLite, PostgreSQL, MySQL;
Optuna's schema) or a journal file, the last two shared by many workers."""
from __future__ import annotations

from typing import Any

from . import journal
from ._base import BaseHeartbeat, BaseStorage
from ._heartbeat import fail_stale_trials
from ._in_memory import InMemoryStorage
from ._journal import (BaseJournalBackend, JournalFileBackend, JournalFileOpenLock, JournalFileStorage,
                       JournalFileSymlinkLock, JournalStorage)
from ._retry import RetryFailedTrialCallback, RetryHeartbeatStaleTrialCallback

BaseJournalLogStorage = BaseJournalBackend  # Optuna's older name

__all__ = ["BaseStorage", "BaseHeartbeat", "InMemoryStorage", "RDBStorage", "JournalStorage", "JournalFileBackend",
           "JournalFileStorage", "JournalFileSymlinkLock", "JournalFileOpenLock", "BaseJournalLogStorage",
           "RetryFailedTrialCallback", "RetryHeartbeatStaleTrialCallback", "fail_stale_trials", "get_storage",
           "journal"]


def get_storage(storage: Any) -> BaseStorage:
    """A storage object for create_study's storage argument: None (in memory), a database URL, or a storage."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, str):
        if storage.startswith("redis"):
            raise ValueError("RedisStorage is removed at Optuna v3.1.0. Please use JournalRedisBackend instead.")
        from . import _rdb
        return _rdb.storage_for_url(storage)
    if isinstance(storage, BaseStorage):
        return storage
    raise TypeError(f"storage must be None, a database URL or a storage object, got {type(storage).__name__}")


def __getattr__(name: str) -> Any:
    if name == "RDBStorage":  # SQLAlchemy is imported only when an SQL storage is used
        from ._rdb import RDBStorage
        return RDBStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
