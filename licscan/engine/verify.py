"""Integrity of an index file: structure, meta, build parameters and checksums.

A gate must not pass code because its index was truncated, emptied or edited, so
every index carries a record of itself, written by ``seal`` when it is built:

- each data table is read back in its primary-key order and cut into chunks
  (``CHUNK_ROWS`` rows or ``CHUNK_BYTES`` bytes); the ``checksums`` table holds each
  chunk's first key, row count and SHA-256;
- meta's ``integrity`` holds, per table, the row count, the number of chunks and a
  SHA-256 over the chunk digests (so the ``checksums`` table is covered too), and a
  SHA-256 of every other meta row.

``check_open`` runs on every open and must stay cheap (a cold ``scan`` is budgeted
0.3 s): tables and columns, meta, parameters, both ends of each table, and a few
chunks picked at random (every chunk of a small index). ``verify_full`` re-reads
everything and decodes every blob (``licscan index verify``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from licscan.model import LicscanError

COLUMNS: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "vocab": ("id", "token"),
    "files": ("id", "path", "lang", "license", "license_evidence", "size", "sha1", "ntokens", "family",
              "tokens", "lines", "names", "text", "sig"),
    "aliases": ("file", "path"),
    "fp": ("h", "f", "p"),
    "capped": ("h", "f", "p"),
    "common": ("h",),
    "common_names": ("code",),
    "checksums": ("tbl", "chunk", "first", "nrows", "digest"),
}
"""Every table an index must have, with the columns the reader uses."""

KEYS: dict[str, tuple[str, ...]] = {
    "vocab": ("id",), "files": ("id",), "aliases": ("file", "path"), "fp": ("h", "f", "p"),
    "capped": ("h", "f", "p"), "common": ("h",), "common_names": ("code",),
}
"""The checksummed tables and their canonical order (each an index, so a chunk is one
range probe)."""

_INT_TABLES = frozenset({"fp", "capped", "common", "common_names"})
"""All-integer tables: a chunk is hashed as one int64 array (fast enough to sample)."""

PARAMS: dict[str, tuple[type, float, float | None]] = {
    "k": (int, 1, None), "w": (int, 1, None), "df_cap": (int, 1, None), "num_perm": (int, 1, None),
    "family_threshold": (float, 0, 1), "min_tokens": (int, 0, None), "max_postings": (int, 1, None),
    "common_name_files": (int, 1, None), "common_name_projects": (int, 1, None),
    "df_cap_share": (float, 0, 1), "common_name_share": (float, 0, 1),
    "literal_min_chars": (int, 0, None), "max_bytes": (int, 1, None), "store_text": (bool, 0, None),
}
"""Every build parameter (``prepare.BuildParams``, which this module must not import: it
pulls numpy into the scan path): type, minimum, maximum."""

_KIND = {int: "an integer", float: "a number", bool: "a boolean"}

CHUNK_ROWS = 256
CHUNK_BYTES = 16 * 1024
"""Small chunks keep a sampled check cheap (~0.1-0.2 ms for 256 ``fp`` rows); the
``checksums`` table costs ~80 bytes per chunk, 1.5 % of a 44 MB index."""
SAMPLES = 2
"""Random chunks checked per table on open, besides the first and last."""


def _fail(path: Path | str, what: str) -> LicscanError:
    return LicscanError(f"index {path} is corrupt: {what} (rebuild it with `licscan index build`)")


# ---------------------------------------------------------------- row digests

def _int_chunk(rows: Sequence[tuple]) -> bytes:
    """A chunk of an all-integer table as bytes; TypeError/OverflowError on a value
    that is not a 64-bit integer (a tampered row)."""
    return array("q", chain.from_iterable(rows)).tobytes()


def _digest(table: str, rows: Sequence[tuple]) -> bytes:
    """SHA-256 of a chunk of rows. Mixed rows go through the C JSON encoder, each blob as
    ``{"B": length}`` (so text is never mistaken for a blob) with its bytes hashed after:
    a per-value Python loop cost ~1 ms per sampled chunk."""
    if table in _INT_TABLES:
        try:
            return hashlib.sha256(_int_chunk(rows)).digest()
        except (TypeError, OverflowError):
            return b"not integers"
    blobs: list[bytes] = []

    def blob(v: Any) -> dict[str, int]:
        if not isinstance(v, bytes):
            raise TypeError(f"unexpected {type(v).__name__}")
        blobs.append(v)
        return {"B": len(v)}

    h = hashlib.sha256(json.dumps(rows, default=blob, check_circular=False).encode())
    for b in blobs:
        h.update(b)
    return h.digest()


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _select(table: str) -> str:
    cols = ", ".join(COLUMNS[table])
    return f"SELECT {cols} FROM {table}"


def _order(table: str) -> str:
    return ", ".join(KEYS[table])


def _key(table: str, row: tuple) -> list[Any]:
    return [row[COLUMNS[table].index(k)] for k in KEYS[table]]


def meta_digest(rows: Sequence[tuple[str, str]]) -> str:
    """SHA-256 of the meta rows (as stored text) other than ``integrity``."""
    return _digest("meta", sorted(r for r in rows if r[0] != "integrity")).hex()


# ---------------------------------------------------------------- build side

def seal(db: sqlite3.Connection) -> dict[str, Any]:
    """Record the checksums of a just-written index (before it is renamed into place).

    Read back from the database rather than computed from the build's arrays: the
    digests are then of exactly what a reader will get, types and all."""
    db.execute("DELETE FROM checksums")
    tables: dict[str, Any] = {}
    for table in KEYS:
        sealed = _Sealed(db, table)
        rows: list[tuple] = []
        size = 0
        cur = db.execute(f"{_select(table)} ORDER BY {_order(table)}")
        if table in _INT_TABLES:  # fixed-size rows: cut by count alone, without a Python loop
            for part in iter(lambda: cur.fetchmany(CHUNK_ROWS), []):
                sealed.add(part)
        for row in [] if table in _INT_TABLES else chain(cur, [None]):
            if row is not None:
                rows.append(row)
                size += sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row)
            if rows and (row is None or len(rows) >= CHUNK_ROWS or size >= CHUNK_BYTES):
                sealed.add(rows)
                rows, size = [], 0
        tables[table] = sealed.done()
    meta = db.execute("SELECT key, value FROM meta").fetchall()
    integrity = {"tables": tables, "meta_sha256": meta_digest(meta)}
    db.execute("INSERT OR REPLACE INTO meta VALUES ('integrity', ?)", (json.dumps(integrity, sort_keys=True),))
    return integrity


class _Sealed:
    """One table's checksums as they are computed: written every ``_FLUSH`` chunks, so an
    index of any size is sealed in bounded memory (a chunk per 256 ``fp`` rows)."""

    _FLUSH = 4096

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        self.db, self.table = db, table
        self.chunks: list[tuple] = []
        self.n = self.total = 0
        self.sha = hashlib.sha256()

    def add(self, rows: Sequence[tuple]) -> None:
        digest = _digest(self.table, rows)
        self.chunks.append((self.table, self.n, json.dumps(_key(self.table, rows[0])), len(rows), digest))
        self.sha.update(digest)
        self.n += 1
        self.total += len(rows)
        if len(self.chunks) >= self._FLUSH:
            self._write()

    def _write(self) -> None:
        self.db.executemany("INSERT INTO checksums VALUES (?, ?, ?, ?, ?)", self.chunks)
        self.chunks = []

    def done(self) -> dict[str, Any]:
        self._write()
        return {"rows": self.total, "chunks": self.n, "sha256": self.sha.hexdigest()}


# ---------------------------------------------------------------- read side

def decode_blob(blob: Any, typecode: str, what: Callable[[], str], path: Path | str) -> array:
    """A zlib-compressed array column, or a one-line error saying which one is corrupt."""
    try:
        if not isinstance(blob, bytes):
            raise TypeError(f"stored as {type(blob).__name__}, not a blob")
        a = array(typecode)
        a.frombytes(zlib.decompress(blob))
        return a
    except (zlib.error, TypeError, ValueError) as e:
        raise _fail(path, f"{what()}: {e}") from None


def check_structure(db: sqlite3.Connection, path: Path | str) -> None:
    """Every table present with the columns the reader uses (one query)."""
    have: dict[str, set[str]] = {}
    try:
        for t, c in db.execute("SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                               "WHERE m.type = 'table'"):
            have.setdefault(t, set()).add(c)
    except sqlite3.DatabaseError as e:
        raise LicscanError(f"index {path} is corrupt or unreadable: {e}") from None
    for table, cols in COLUMNS.items():
        if table not in have:
            raise _fail(path, f"table {table} is missing")
        missing = [c for c in cols if c not in have[table]]
        if missing:
            raise _fail(path, f"table {table} lacks column {missing[0]}")


def check_meta(meta: dict[str, Any], raw: Sequence[tuple[str, str]], path: Path | str) -> dict[str, Any]:
    """Meta's shape, the build parameters, and meta's digest; returns the integrity record."""
    # Parameters and shapes first, for the more telling message; the digest then
    # catches any other edit (a k of 11 is in range, and as wrong as a k of 0).
    params = meta.get("params")
    if not isinstance(params, dict):
        raise _fail(path, "meta params are missing")
    for name, (kind, low, high) in PARAMS.items():
        if name not in params:
            raise _fail(path, f"build parameter {name} is missing")
        v = params[name]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) if kind is float else \
            isinstance(v, kind) and (kind is bool or not isinstance(v, bool))
        if not ok:
            raise _fail(path, f"build parameter {name} is {json.dumps(v)[:40]}, not {_KIND[kind]}")
        if kind is not bool and (v < low or (high is not None and v > high)):
            raise _fail(path, f"build parameter {name} = {v} is out of range")
    shapes = {"grammar_signatures": dict, "grammars": dict, "roots": list, "base": list}
    for key, kind in shapes.items():
        if not isinstance(meta.get(key), kind):
            raise _fail(path, f"meta {key} is missing or not a {kind.__name__}")
    if not all(isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("path"), str)
               for r in [*meta["roots"], *meta["base"]]):
        raise _fail(path, "meta roots are malformed")
    integrity = meta.get("integrity")
    if not isinstance(integrity, dict) or not isinstance(integrity.get("tables"), dict):
        raise _fail(path, "meta has no integrity record")
    if integrity.get("meta_sha256") != meta_digest(raw):
        raise _fail(path, "table meta does not match its checksum")
    for table in KEYS:
        rec = integrity["tables"].get(table)
        if not (isinstance(rec, dict) and all(isinstance(rec.get(k), int) for k in ("rows", "chunks"))
                and isinstance(rec.get("sha256"), str)):
            raise _fail(path, f"meta has no integrity record of table {table}")
    if integrity["tables"]["files"]["rows"] == 0:
        raise LicscanError(f"index {path} holds no files; build it from a corpus")
    return integrity


def _chunks(db: sqlite3.Connection, table: str, which: Sequence[int] | None = None) -> list[tuple]:
    """(chunk, first key, rows, digest) of a table's chunks: all, or those numbered ``which``."""
    sql = "SELECT chunk, first, nrows, digest FROM checksums WHERE tbl = ?"
    if which is not None:
        sql += f" AND chunk IN ({','.join(str(int(i)) for i in which)})"
    return db.execute(sql + " ORDER BY chunk", (table,)).fetchall()


def _check_chunk(db: sqlite3.Connection, table: str, chunk: tuple, of: int, last: bool,
                 path: Path | str) -> list[tuple]:
    """Re-read one chunk by a range probe from its first key and compare its digest;
    the last chunk must also end the table."""
    n, first, nrows, digest = chunk
    try:
        key = json.loads(first)
    except ValueError:
        raise _fail(path, f"table checksums: chunk {n} of {table} is malformed") from None
    if not isinstance(key, list) or len(key) != len(KEYS[table]):
        raise _fail(path, f"table checksums: chunk {n} of {table} is malformed")
    cols = _order(table)
    marks = ", ".join("?" * len(key))
    rows = db.execute(f"{_select(table)} WHERE ({cols}) >= ({marks}) ORDER BY {cols} LIMIT ?",
                      (*key, nrows + 1 if last else nrows)).fetchall()
    if len(rows) != nrows:
        raise _fail(path, f"table {table} has {'more' if len(rows) > nrows else 'fewer'} rows than "
                          f"recorded at build time (chunk {n + 1} of {of})")
    if not rows or _key(table, rows[0]) != key or _digest(table, rows) != digest:
        if table == "files":  # a blob that does not decode says more than a checksum
            decode_files(rows, path)
        raise _fail(path, f"table {table} does not match its checksum (chunk {n + 1} of {of})")
    # Blobs are not decoded when the digest holds: those the build wrote decode (and
    # decompressing a chunk's files cost ~0.7 ms); ``verify_full`` decodes them all.
    return rows


def _pick(n: int, k: int) -> set[int]:
    """``k`` chunk numbers in [0, n) at random (os.urandom: ``random`` costs an import)."""
    if n <= k:
        return set(range(n))
    out: set[int] = set()
    while len(out) < k:
        out.add(int.from_bytes(os.urandom(4), "little") % n)
    return out


def check_open(db: sqlite3.Connection, meta: dict[str, Any], raw: Sequence[tuple[str, str]],
               path: Path | str, samples: int = SAMPLES) -> None:
    """The checks of every open: structure, meta, and per table the first key, the
    last chunk (nothing after it) and ``samples`` random chunks against their digests."""
    check_structure(db, path)
    integrity = check_meta(meta, raw, path)
    try:
        for table in KEYS:
            rec = integrity["tables"][table]
            n = rec["chunks"]
            order = _order(table)
            first = db.execute(f"SELECT {order} FROM {table} ORDER BY {order} LIMIT 1").fetchone()
            if n == 0 or first is None:
                if n or first:
                    raise _fail(path, f"table {table} has {'no' if n else 'some'} rows, "
                                      f"{rec['rows']} were recorded at build time")
                continue
            # The first chunk's key must be the table's first (rows cut from the front),
            # the last chunk must end the table (rows cut from or added at the end).
            picked = _pick(n - 1, samples) | {n - 1}
            which = sorted(picked | {0})
            chunks = _chunks(db, table, which)
            if [c[0] for c in chunks] != which:
                raise _fail(path, f"table checksums does not match table {table}")
            if json.dumps(list(first)) != chunks[0][1]:
                raise _fail(path, f"table {table} does not match its checksum (chunk 1 of {n})")
            for c in (c for c in chunks if c[0] in picked):
                _check_chunk(db, table, c, n, c[0] == n - 1, path)
    except sqlite3.DatabaseError as e:
        raise LicscanError(f"index {path} is corrupt or unreadable: {e}") from None


def decode_files(rows: Sequence[tuple], path: Path | str) -> None:
    """Every blob of these ``files`` rows decodes, to as many entries as the file has tokens."""
    c = COLUMNS["files"]
    fid_i, n_i, t_i, l_i, nm_i, tx_i = (c.index(x) for x in ("id", "ntokens", "tokens", "lines", "names", "text"))
    for r in rows:
        fid = r[fid_i]
        for col, i, tc in (("tokens", t_i, "H"), ("lines", l_i, "I"), ("names", nm_i, "H")):
            a = decode_blob(r[i], tc, lambda col=col: f"files.{col} of file {fid}", path)
            if col != "names" and len(a) != r[n_i]:
                raise _fail(path, f"files.{col} of file {fid} holds {len(a)} entries, not {r[n_i]}")
        if r[tx_i] is not None:
            decode_blob(r[tx_i], "B", lambda: f"files.text of file {fid}", path)


def verify_full(db: sqlite3.Connection, meta: dict[str, Any], raw: Sequence[tuple[str, str]],
                path: Path | str) -> Iterator[str]:
    """Every check: yields a line per table checked; raises LicscanError naming the first
    table that fails."""
    check_structure(db, path)
    integrity = check_meta(meta, raw, path)
    yield (f"meta: magic, schema version {meta.get('schema_version')}, {len(PARAMS)} build parameters "
           "and checksum ok")
    total_chunks = 0
    try:
        for table in KEYS:
            rec = integrity["tables"][table]
            chunks = _chunks(db, table)
            total_chunks += len(chunks)
            if len(chunks) != rec["chunks"] or \
                    hashlib.sha256(b"".join(c[3] for c in chunks)).hexdigest() != rec["sha256"]:
                raise _fail(path, f"table checksums does not match table {table}")
            cur = db.execute(f"{_select(table)} ORDER BY {_order(table)}")
            seen = 0
            for n, first, nrows, digest in chunks:
                rows = cur.fetchmany(nrows)
                seen += len(rows)
                if len(rows) != nrows:
                    break
                if table == "files":
                    decode_files(rows, path)
                if json.dumps(_key(table, rows[0])) != first or _digest(table, rows) != digest:
                    raise _fail(path, f"table {table} does not match its checksum (chunk {n + 1} of {len(chunks)})")
            seen += len(cur.fetchall())
            if seen != rec["rows"]:
                raise _fail(path, f"table {table} has {seen} rows, {rec['rows']} were recorded at build time")
            yield f"{table}: {seen:,} rows in {len(chunks)} chunk{_s(len(chunks))} ok" + (
                ", every blob decodes" if table == "files" else "")
        n = db.execute("SELECT count(*) FROM checksums").fetchone()[0]
        if n != total_chunks:
            raise _fail(path, f"table checksums has {n} rows, {total_chunks} were recorded at build time")
        yield f"checksums: {n:,} chunk digests ok"
    except sqlite3.DatabaseError as e:
        raise LicscanError(f"index {path} is corrupt or unreadable: {e}") from None
