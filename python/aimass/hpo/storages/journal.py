"""optuna.storages.journal's names: the journal storage, its file backend and locks."""
from ._journal import (BaseJournalBackend, JournalFileBackend, JournalFileOpenLock, JournalFileSymlinkLock,
                       JournalStorage)

__all__ = ["BaseJournalBackend", "JournalFileBackend", "JournalFileOpenLock", "JournalFileSymlinkLock",
           "JournalStorage"]
