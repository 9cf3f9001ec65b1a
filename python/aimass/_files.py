"""The file rules every aimass loader and saver shares (models, k-NN indexes, and what comes
later): safetensors files only, written atomically with the permissions the user's umask gives,
read only when the path is a regular file.

Writes go to a temporary file in the target's folder, are flushed to disk, then renamed over the
target (os.replace): a save that fails at any point leaves the old file whole and no temporary
behind. tempfile.mkstemp creates files 0600; the finished file is given 0666 & ~umask, as
open() would, so a server running as another user can read what a training job saved.
"""
from __future__ import annotations

import os
import stat
import tempfile

import numpy as np


def _umask() -> int:
    """The process's umask. Linux states it in /proc; elsewhere it can only be read by setting it
    (and at once back), which briefly changes it for other threads."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_save(tensors: dict[str, np.ndarray], metadata: dict[str, str], path: str) -> None:
    """Writes a safetensors file at ``path``: all of it, or (on any failure) nothing."""
    from safetensors.numpy import save_file

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".aimass-", suffix=".tmp", dir=folder)
    try:
        os.close(fd)
        save_file(tensors, tmp, metadata=metadata)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            os.fsync(fd)  # on disk before the rename makes it the file
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def check_regular_file(path: str, who: str) -> None:
    """FileNotFoundError for a missing path, ValueError for one that is not a regular file (a
    FIFO would block the reader forever; a directory or device is never a model)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{who}: no such file: {path!r}") from None
    except OSError as e:
        raise ValueError(f"{who}: cannot read {path!r}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "not a regular file")
        raise ValueError(f"{who}: {path!r} is {kind}, not a regular file")


def read_safetensors(path: str, who: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and metadata of a safetensors file; ValueError naming the file when it is not
    one (truncated, corrupt, not a regular file)."""
    from safetensors import safe_open

    check_regular_file(path, who)
    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for truncated / corrupt files
        raise ValueError(f"{who}: {path!r} is not a readable safetensors file (truncated or corrupt?): {e}") from None
    return tensors, metadata
