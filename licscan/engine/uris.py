"""Index URIs: how a libpq URI naming a PostgreSQL index is shown and checked.

Passwords belong in libpq's own places (``PGPASSWORD``, ``~/.pgpass``, a service
file), never on a command line: a URI that holds one still works, but licscan warns
and shows only ``shown(uri)``, with the password masked, in messages and reports.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from licscan.config import is_index_uri as is_uri

_warned: set[str] = set()


def _split(uri: str) -> tuple[str | None, str]:
    """(password or None, the URI with any password masked)."""
    parts = urlsplit(uri)
    secret = None
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _, secret = userinfo.partition(":")
        netloc = f"{user}:***@{hosts}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "password" for k, _ in query):
        secret = secret or next(v for k, v in query if k == "password")
        query = [(k, "***" if k == "password" else v) for k, v in query]
    return secret, urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/"), parts.fragment))


def shown(name: str | Path) -> str:
    """How an index is named in messages, logs and reports: a URI's password masked."""
    return _split(name)[1] if is_uri(name) else str(name)


def scrub(text: str, uri: str) -> str:
    """``text`` (a driver's error message) with the URI's password, if any, masked, on one line."""
    secret = _split(uri)[0]
    line = " ".join(text.split())
    return line.replace(secret, "***") if secret else line


def warn_password(uri: str) -> None:
    """Warn once per URI that holds a password: it shows in process lists and shell history."""
    if _split(uri)[0] is not None and uri not in _warned:
        _warned.add(uri)
        print(f"licscan: warning: the index URI {shown(uri)} holds a password; put it in PGPASSWORD, "
              "~/.pgpass or a service file instead", file=sys.stderr)
