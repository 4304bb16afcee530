"""A private PostgreSQL server for the tests: ``initdb`` into a temporary directory, ``pg_ctl``
on a Unix socket in that directory (no TCP port), stopped and removed at the end.

initdb and postgres refuse to run as root. As root (CI here runs as root) they run as the
unprivileged user ``nobody`` (subprocess's user/group switch, no sudo needed); the data
directory is made in the system temp directory (not pytest's, which is private to root)
and handed to that user. The server binaries come from ``LICSCAN_PG_BIN`` (``.ci/run``
sets it), else ``pg_config --bindir``, else the newest ``/usr/lib/postgresql/*/bin``,
else PATH.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPERUSER = "licscan"


class Unavailable(Exception):
    """The server cannot be started here (the reason says why)."""


def bindir() -> Path:
    given = os.environ.get("LICSCAN_PG_BIN")
    if given:
        return Path(given)
    cfg = shutil.which("pg_config")
    if cfg:
        r = subprocess.run([cfg, "--bindir"], capture_output=True, text=True)
        if r.returncode == 0 and (Path(r.stdout.strip()) / "initdb").exists():
            return Path(r.stdout.strip())
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise Unavailable("no PostgreSQL server binaries (initdb): apt-get install postgresql, or set LICSCAN_PG_BIN")


@dataclass
class Server:
    root: Path
    bin: Path
    user: dict[str, Any]

    def uri(self, db: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{db}?host={self.root}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True,
                              cwd=self.root, timeout=120, **self.user)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def createdb(self, name: str) -> str:
        """A fresh database (dropped first if a test ran before); its URI."""
        import psycopg

        with psycopg.connect(self.uri(), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        return self.uri(name)


def start() -> Server:
    """A running server, or Unavailable with the reason."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable("psycopg is not installed: pip install -e '.[postgres]'") from None
    pg = bindir()
    if not (pg / "initdb").is_file() or not (pg / "pg_ctl").is_file():
        raise Unavailable(f"no initdb and pg_ctl in {pg}")
    root = Path(tempfile.mkdtemp(prefix="licscan-pg-test-"))
    user: dict[str, Any] = {}
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    srv = Server(root, pg, user)
    init = srv._run("initdb", "-D", str(root / "data"), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                    "--locale=C", "--no-sync", "--no-instructions")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"initdb failed: {init.stderr.strip()[-400:]}")
    opts = f"-c listen_addresses='' -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    up = srv._run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-t", "60", "-o", opts, "start")
    if up.returncode != 0:
        log = (root / "log").read_text(errors="replace")[-400:] if (root / "log").exists() else ""
        srv.stop()
        raise Unavailable(f"pg_ctl start failed: {up.stderr.strip()[-200:]} {log}")
    return srv
