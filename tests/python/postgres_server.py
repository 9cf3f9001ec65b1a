"""A throwaway PostgreSQL server for tests (the registry's PostgreSQL backend, and anything else
that needs one).

    with postgres_server() as url:      # postgresql+psycopg2://postgres@/postgres?host=<dir>&port=<port>
        ...

AIMASS_TEST_POSTGRES_URL, when set, is used as it is (no server started). Otherwise initdb and
pg_ctl are looked for on PATH and in /usr/lib/postgresql/*/bin (Debian's postgresql package); a
cluster is made in a temporary folder and started on a free port, listening only on a unix socket
in that folder. PostgreSQL refuses to run as root, so under euid 0 the folder is given to the
`postgres` user and the commands run as it (runuser, else su). `Unavailable` says why when
there is no server to be had (tests skip with that reason; tests/run.sh installs the package so
CI never does).
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from typing import Iterator


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def find_bin_dir() -> str | None:
    """The folder holding initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    initdb = shutil.which("initdb")
    if initdb and os.path.exists(os.path.join(os.path.dirname(os.path.realpath(initdb)), "pg_ctl")):
        return os.path.dirname(os.path.realpath(initdb))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.split("/")[4].split(".")])
    for initdb in reversed(candidates):
        if os.path.exists(os.path.join(os.path.dirname(initdb), "pg_ctl")):
            return os.path.dirname(initdb)
    return None


def _as_postgres_user() -> list[str]:
    """The command prefix that runs a command as the server's user: none unless we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root and there is no `postgres` user to run the PostgreSQL server as") from None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    if shutil.which("su"):
        return ["su", "postgres", "-s", "/bin/sh", "-c"]  # the command follows as one string
    raise Unavailable("running as root, and neither runuser nor su is there to run PostgreSQL as `postgres`")


def _run(prefix: list[str], argv: list[str], timeout: float = 60) -> None:
    cmd = prefix + [shlex.join(argv)] if prefix and prefix[0] == "su" else prefix + argv
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a PostgreSQL server (started here, and stopped at the end)."""
    url = os.environ.get("AIMASS_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise Unavailable("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: "
                          "install the postgresql package (tests/run.sh does) or set AIMASS_TEST_POSTGRES_URL")
    prefix = _as_postgres_user()
    folder = tempfile.mkdtemp(prefix="aimass-pg-")
    started = False
    try:
        if prefix:
            entry = pwd.getpwnam("postgres")
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        data, log, port = os.path.join(folder, "data"), os.path.join(folder, "server.log"), _free_port()
        _run(prefix, [os.path.join(bin_dir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-sync", "--no-instructions"])
        options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off -c max_connections=50"
        _run(prefix, [os.path.join(bin_dir, "pg_ctl"), "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
             timeout=90)
        started = True
        yield f"postgresql+psycopg2://postgres@/postgres?host={folder}&port={port}"
    finally:
        if started:
            _run(prefix, [os.path.join(bin_dir, "pg_ctl"), "-D", os.path.join(folder, "data"), "-m", "immediate",
                          "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)
