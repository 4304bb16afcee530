"""Where an index is named, and the one place that opens it.

An INDEX is a path (the SQLite file of ``engine/index.py``) or a libpq URI
(``postgresql://`` or ``postgres://``: ``engine/pgstore.py``). Everything that opens
an index calls ``open_store``, so the backend is chosen here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from licscan.engine.uris import is_uri, warn_password

if TYPE_CHECKING:
    from licscan.engine.store import IndexStore


def open_store(name: str | Path, *, pooled: bool = False) -> IndexStore:
    """Open an index read-only, by path or URI; LicscanError (one line, exit 2) when it
    cannot be opened. ``pooled``: long-lived processes (the MCP server) get a connection
    pool that outlives a dropped connection (PostgreSQL only)."""
    if is_uri(name):
        from licscan.engine.pgstore import open_pg

        warn_password(str(name))
        return open_pg(str(name), pooled=pooled)
    from licscan.engine.index import open_index

    return open_index(name)
