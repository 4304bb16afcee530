"""Writing an index into PostgreSQL: the SQLite build's result, copied into a new generation.

``index build --out postgresql://...`` runs the ordinary build (``engine/build.py``) into
a private temporary SQLite file, checks it as any reader would (``open_index``), and
``COPY``s its rows into a new schema ``licscan_g<N>``. Nothing above the store is
written twice: postings, families, ``common``, ``common_names``, vocab and meta are the
SQLite build's own rows, so both backends give the same findings.

Atomic: the whole load, the new generation's row and the switch of ``licscan.head``
are one transaction. An interrupted build (Ctrl-C, a lost connection, a killed
process) rolls back and leaves the previous generation as it was; readers never see
a half-written one. After the switch, generations older than the previous one are
dropped: the previous one stays for runners that opened it before the switch.

Roles: a role granted USAGE on schema ``licscan`` (a reader) is granted read access
to each new generation, so runners keep a read-only role (docs: "Team setup").
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from licscan.engine.index import open_index
from licscan.engine.pgstore import CONTROL, POSTING, connect, generation_schema, partition_bounds
from licscan.engine.uris import scrub, shown
from licscan.model import LicscanError

T = TypeVar("T")
FETCH_ROWS = 1 << 20
"""fp rows read from SQLite at a time while packing postings (~24 MB of numpy)."""
_LOCK = 0x6C6963736361  # an advisory lock key ("licsca"): one build switches at a time

_CONTROL_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {CONTROL};
CREATE TABLE IF NOT EXISTS {CONTROL}.generations (
    gen integer PRIMARY KEY, schema text NOT NULL, corpus_sha256 text, built_at text,
    files bigint NOT NULL, fingerprints bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS {CONTROL}.head (
    id integer PRIMARY KEY CHECK (id = 1), gen integer NOT NULL REFERENCES {CONTROL}.generations (gen));
"""

_TABLES = """
CREATE TABLE {s}.meta (key text NOT NULL, value text NOT NULL);
CREATE TABLE {s}.vocab (id integer NOT NULL, token bytea NOT NULL);
CREATE TABLE {s}.files (id integer NOT NULL, path text NOT NULL, lang text NOT NULL, license text,
    license_evidence text, size bigint NOT NULL, sha1 text NOT NULL, ntokens integer NOT NULL,
    family integer NOT NULL, tokens bytea NOT NULL, lines bytea NOT NULL, names bytea NOT NULL, text bytea,
    sig bytea NOT NULL);
CREATE TABLE {s}.aliases (file integer NOT NULL, path text NOT NULL);
CREATE TABLE {s}.capped (h bigint NOT NULL, f integer NOT NULL, p integer NOT NULL);
CREATE TABLE {s}.common (h bigint NOT NULL);
CREATE TABLE {s}.common_names (code integer NOT NULL);
CREATE TABLE {s}.fp (h bigint NOT NULL, n integer NOT NULL, postings bytea NOT NULL) PARTITION BY RANGE (h);
"""
# Keys after the COPY: building a b-tree once is cheaper than maintaining it per row.
_KEYS = """
ALTER TABLE {s}.meta ADD PRIMARY KEY (key);
ALTER TABLE {s}.vocab ADD PRIMARY KEY (id);
ALTER TABLE {s}.files ADD PRIMARY KEY (id);
CREATE INDEX ON {s}.aliases (file, path);
ALTER TABLE {s}.capped ADD PRIMARY KEY (h, f, p);
ALTER TABLE {s}.common ADD PRIMARY KEY (h);
ALTER TABLE {s}.common_names ADD PRIMARY KEY (code);
ALTER TABLE {s}.fp ADD PRIMARY KEY (h);
"""
_COPIED = {
    "meta": "key, value",
    "vocab": "id, token",
    "files": "id, path, lang, license, license_evidence, size, sha1, ntokens, family, tokens, lines, names, text, sig",
    "aliases": "file, path",
    "capped": "h, f, p",  # only an update reads it (engine/update.py): plain rows, not packed
    "common": "h",
    "common_names": "code",
}


def packed_postings(db: Any) -> Iterator[tuple[int, int, bytes]]:
    """(h, n, postings) per fingerprint of an SQLite index's ``fp``, in hash order, postings
    as ``n`` little-endian int32 (file, position) pairs, in (file, position) order."""
    cur = db.execute("SELECT h, f, p FROM fp ORDER BY h, f, p")
    pending = np.zeros((0, 3), np.int64)
    while True:
        rows = cur.fetchmany(FETCH_ROWS)
        a = np.concatenate([pending, np.array(rows, np.int64).reshape(-1, 3)])
        if not len(a):
            return
        # The last hash of a batch may go on in the next one: hold it back.
        cut = len(a) if not rows else int(np.searchsorted(a[:, 0], a[-1, 0]))
        body, pending = a[:cut], a[cut:]
        if len(body):
            if body[:, 1:].max() >= 1 << 31 or body[:, 1:].min() < 0:
                raise LicscanError("a file id or position does not fit a posting (int32)")
            buf = body[:, 1:].astype(POSTING).tobytes()
            starts = np.flatnonzero(np.r_[True, body[1:, 0] != body[:-1, 0]])
            ends = np.r_[starts[1:], len(body)]
            for s, e in zip(starts.tolist(), ends.tolist()):
                yield int(body[s, 0]), e - s, buf[s * 8:e * 8]
        if not rows:
            return


def _copy(conn: Any, table: str, cols: str, rows: Iterator[tuple] | list[tuple]) -> int:
    n = 0
    with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def _reader_roles(conn: Any) -> list[str]:
    """Roles (other than ours) granted USAGE on the control schema: the readers."""
    return [r for (r,) in conn.execute(
        "SELECT DISTINCT r.rolname FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE n.nspname = %s AND a.privilege_type = 'USAGE' AND r.rolname <> current_user", (CONTROL,)).fetchall()]


def load(conn: Any, sqlite_index: Path, uri: str, expect: int | None = None) -> tuple[int, int]:
    """Copy a finished SQLite index into a new generation and switch ``head`` to it, in one
    transaction; then drop generations older than the previous one. (generation, bytes).
    ``expect``: the generation an update was made from; if another has become current
    meanwhile, refuse rather than drop its change (``engine/update.py``).
    ``conn`` is in autocommit mode, so each ``transaction()`` block is a real transaction."""
    from psycopg import sql

    src = open_index(sqlite_index)  # the checks of every reader: never load a broken index
    try:
        enc = conn.execute("SHOW server_encoding").fetchone()[0]
        if enc.upper() not in ("UTF8", "UTF-8"):
            raise LicscanError(f"index database {shown(uri)} has encoding {enc}; licscan needs UTF8 "
                               "(createdb -E UTF8)")
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            conn.execute(_CONTROL_DDL)
            prev = conn.execute(f"SELECT gen FROM {CONTROL}.head").fetchone()
            if expect is not None and (prev is None or prev[0] != expect):
                raise LicscanError(f"index {shown(uri)} changed during the update (generation "
                                   f"{prev[0] if prev else 'none'} is current, not {expect}); run it again")
            gen = conn.execute(f"SELECT coalesce(max(gen), 0) + 1 FROM {CONTROL}.generations").fetchone()[0]
            s = generation_schema(gen)
            conn.execute(f"CREATE SCHEMA {s}")
            conn.execute(_TABLES.format(s=s))
            for i, (lo, hi) in enumerate(partition_bounds()):
                conn.execute(f"CREATE TABLE {s}.fp_{i:02d} PARTITION OF {s}.fp FOR VALUES FROM ({lo}) TO ({hi})")
            for table, cols in _COPIED.items():
                rows = src.db.execute(f"SELECT {cols} FROM {table}")
                # Tokens as UTF-8 bytes: a token may hold a NUL, which PostgreSQL text cannot.
                _copy(conn, f"{s}.{table}", cols, ((i, t.encode()) for i, t in rows) if table == "vocab" else rows)
            fingerprints = _copy(conn, f"{s}.fp", "h, n, postings", packed_postings(src.db))
            conn.execute(_KEYS.format(s=s))
            conn.execute(f"ANALYZE {s}.fp")  # plans for the ANY() probes from the first scan on
            for role in _reader_roles(conn):
                r = sql.Identifier(role)
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(s), r))
                conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(sql.Identifier(s), r))
                conn.execute(sql.SQL("GRANT SELECT ON {}.generations, {}.head TO {}").format(
                    sql.Identifier(CONTROL), sql.Identifier(CONTROL), r))
            files = conn.execute(f"SELECT count(*) FROM {s}.files").fetchone()[0]
            conn.execute(f"INSERT INTO {CONTROL}.generations (gen, schema, corpus_sha256, built_at, files, "
                         "fingerprints) VALUES (%s, %s, %s, %s, %s, %s)",
                         (gen, s, src.meta.get("corpus_sha256"), src.meta.get("built_at"), files, fingerprints))
            conn.execute(f"INSERT INTO {CONTROL}.head (id, gen) VALUES (1, %s) "
                         "ON CONFLICT (id) DO UPDATE SET gen = EXCLUDED.gen", (gen,))
        size = conn.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s", (s,)).fetchone()[0]
    finally:
        src.close()
    if prev is not None:
        drop_before(conn, prev[0], uri)
    return gen, size


def drop_before(conn: Any, keep: int, uri: str) -> list[int]:
    """Drop generations older than ``keep`` (the one before the switch). One that a reader
    still holds a lock on is left for the next build, with a warning."""
    import psycopg

    dropped = []
    old = conn.execute(f"SELECT gen, schema FROM {CONTROL}.generations WHERE gen < %s ORDER BY gen", (keep,)).fetchall()
    for gen, schema in old:
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '5s'")
                conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))
                conn.execute(f"DELETE FROM {CONTROL}.generations WHERE gen = %s", (gen,))
            dropped.append(gen)
        except psycopg.Error as e:
            print(f"licscan: warning: old generation {gen} of {shown(uri)} left in place: "
                  f"{scrub(str(e), uri)}", file=sys.stderr)
    return dropped


def build_into(uri: str, build: Callable[[Path], T], expect: int | None = None) -> tuple[T, int, int]:
    """Build with ``build(path)`` into a temporary SQLite file and load it as a new generation
    of the index at ``uri``: (build's result, generation, bytes in the database).

    The server is reached first, so an unreachable one fails before the build, not after."""
    connect(uri).close()
    with tempfile.TemporaryDirectory(prefix="licscan-pg-") as d:
        tmp = Path(d) / "index.lsi"
        result = build(tmp)
        conn = connect(uri)
        try:
            import psycopg

            try:
                gen, size = load(conn, tmp, uri, expect)
            except psycopg.Error as e:
                raise LicscanError(f"loading index {shown(uri)} failed, nothing changed: {scrub(str(e), uri)}") from None
        finally:
            conn.close()
    return result, gen, size
