"""Integrity of an index file: structure, meta, build parameters and checksums.

A gate must not pass code because its index was truncated, emptied or edited, so
every index carries a record of itself, written by ``seal`` when it is built:

- each data table is cut into chunks by ranges of its first key column, and the
  ``checksums`` table holds each chunk's number, row count and digest: the sum of its
  rows' digests (``digests``: order-free, so an update adds and subtracts the rows it
  changes instead of re-reading the index);
- meta's ``integrity`` holds, per table, the row count, the number of chunks and the
  sum of the chunk digests (so the ``checksums`` table is covered too), and a
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
from pathlib import Path
from typing import Any

from licscan.engine.digests import (COLUMNS, KEYS, chunk_sums, merge, pack, record, shift_for, unpack,
                                    write_table)
from licscan.model import LicscanError

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

SAMPLES = 2
UNREAD = frozenset({"capped"})
"""Tables a scan never reads (what the cap dropped, for updates): not sampled on open, whose
budget they would spend on boilerplate hashes of hundreds of postings each; ``verify_full``
and every update check them."""
"""Random chunks checked per table on open, besides the first and last."""


def _fail(path: Path | str, what: str) -> LicscanError:
    return LicscanError(f"index {path} is corrupt: {what} (rebuild it with `licscan index build`)")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _select(table: str) -> str:
    cols = ", ".join(COLUMNS[table])
    return f"SELECT {cols} FROM {table}"


def _order(table: str) -> str:
    return ", ".join(KEYS[table])


def meta_digest(rows: Sequence[tuple[str, str]]) -> str:
    """SHA-256 of the meta rows (as stored text) other than ``integrity``."""
    h = hashlib.sha256(json.dumps(sorted(r for r in rows if r[0] != "integrity")).encode())
    return h.hexdigest()


# ---------------------------------------------------------------- build side

READ_ROWS = 1 << 16
"""Rows read at a time while sealing (an all-integer table is digested per batch)."""


def seal(db: sqlite3.Connection) -> dict[str, Any]:
    """Record the checksums of a just-written index (before it is renamed into place).

    Read back from the database rather than computed from the build's arrays: the
    digests are then of exactly what a reader will get, types and all."""
    tables = {table: seal_table(db, table) for table in KEYS}
    return reseal_meta(db, tables)


def seal_table(db: sqlite3.Connection, table: str) -> dict[str, Any]:
    """Digest every row of ``table`` into its chunks; its record."""
    shift = shift_for(table, db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    sums: dict[int, list[int]] = {}
    cur = db.execute(f"{_select(table)} ORDER BY {_order(table)}")
    for part in iter(lambda: cur.fetchmany(READ_ROWS), []):
        merge(sums, chunk_sums(table, part, shift))
    return write_table(db, table, sums, shift)


def reseal_meta(db: sqlite3.Connection, tables: dict[str, Any]) -> dict[str, Any]:
    """Write meta's integrity record: the tables' records and the digest of the other meta rows."""
    meta = db.execute("SELECT key, value FROM meta").fetchall()
    integrity = {"tables": tables, "meta_sha256": meta_digest(meta)}
    db.execute("INSERT OR REPLACE INTO meta VALUES ('integrity', ?)", (json.dumps(integrity, sort_keys=True),))
    return integrity


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
        if not (isinstance(rec, dict) and all(isinstance(rec.get(k), int) for k in ("rows", "chunks", "shift"))
                and isinstance(rec.get("digest"), str) and 0 <= rec["shift"] <= 62):
            raise _fail(path, f"meta has no integrity record of table {table}")
    if integrity["tables"]["files"]["rows"] == 0:
        raise LicscanError(f"index {path} holds no files; build it from a corpus")
    return integrity


def _chunks(db: sqlite3.Connection, table: str) -> list[tuple]:
    """(chunk, first key, rows, digest) of a table's chunks, in order."""
    return db.execute("SELECT chunk, first, nrows, digest FROM checksums WHERE tbl = ? ORDER BY chunk",
                      (table,)).fetchall()


def _nth_chunks(db: sqlite3.Connection, table: str, which: Sequence[int], n: int) -> list[tuple]:
    """The chunks at about the ordinals ``which`` of ``n``: the first and the last exactly, the
    others at the same fraction of the chunk numbers (sparse: numbered by key range). One
    seek each, where an ``OFFSET`` walked every chunk before it (50 ms an open at 2.7 GB of
    code, 521 k chunks of ``fp``)."""
    # Two queries: SQLite answers min() or max() alone with one seek, both together with a scan.
    lo, hi = (db.execute(f"SELECT {f}(chunk) FROM checksums WHERE tbl = ?", (table,)).fetchone()[0]
              for f in ("min", "max"))
    if lo is None:
        return []
    sql = "SELECT chunk, first, nrows, digest FROM checksums WHERE tbl = ? AND chunk >= ? ORDER BY chunk LIMIT 1"
    return [row for i in which
            for row in db.execute(sql, (table, lo + (hi - lo) * i // max(1, n - 1))).fetchall()]


def _ordinal(db: sqlite3.Connection, table: str, chunk: int) -> int:
    """Where ``chunk`` is among its table's chunks (for a message: it walks them)."""
    return db.execute("SELECT count(*) FROM checksums WHERE tbl = ? AND chunk < ?", (table, chunk)).fetchone()[0]


def _range(table: str, chunk: int, shift: int) -> tuple[str, tuple[int, int]]:
    """The WHERE clause and arguments of the rows of one chunk: a range of the first key column."""
    return f"{KEYS[table][0]} >= ? AND {KEYS[table][0]} < ?", (chunk << shift, (chunk + 1) << shift)


def _check_chunk(db: sqlite3.Connection, table: str, chunk: tuple, shift: int, ordinal: int | None, of: int,
                 path: Path | str) -> None:
    """Re-read one chunk by a range probe and compare its row count and digest (``ordinal``:
    where it is among the table's chunks; None: counted only if a message needs it)."""
    n, first, nrows, digest = chunk
    if not isinstance(n, int) or not isinstance(digest, bytes) or len(digest) != 16:
        raise _fail(path, f"table checksums: a chunk of {table} is malformed")

    def at() -> str:
        return f"chunk {(ordinal if ordinal is not None else _ordinal(db, table, n)) + 1} of {of}"

    where, args = _range(table, n, shift)
    rows = db.execute(f"{_select(table)} WHERE {where} ORDER BY {_order(table)}", args).fetchall()
    if len(rows) != nrows:
        raise _fail(path, f"table {table} has {'more' if len(rows) > nrows else 'fewer'} rows than "
                          f"recorded at build time ({at()})")
    try:
        got = chunk_sums(table, rows, shift).get(n)
    except ValueError:
        got = None
    if got is None or pack(got[1], got[2]) != digest:
        if table == "files":  # a blob that does not decode says more than a checksum
            decode_files(rows, path)
        raise _fail(path, f"table {table} does not match its checksum ({at()})")
    # Blobs are not decoded when the digest holds: those the build wrote decode (and
    # decompressing a chunk's files cost ~0.7 ms); ``verify_full`` decodes them all.


def _pick(n: int, k: int) -> set[int]:
    """``k`` chunk ordinals in [0, n) at random (os.urandom: ``random`` costs an import)."""
    if n <= k:
        return set(range(n))
    out: set[int] = set()
    while len(out) < k:
        out.add(int.from_bytes(os.urandom(4), "little") % n)
    return out


def check_open(db: sqlite3.Connection, meta: dict[str, Any], raw: Sequence[tuple[str, str]],
               path: Path | str, samples: int = SAMPLES) -> None:
    """The checks of every open: structure, meta, and per table the first and last chunks
    (which must hold the table's first and last keys) and ``samples`` random chunks against
    their digests."""
    check_structure(db, path)
    integrity = check_meta(meta, raw, path)
    try:
        for table in KEYS:
            if table in UNREAD:
                continue
            rec = integrity["tables"][table]
            n = rec["chunks"]
            key, shift = KEYS[table][0], rec["shift"]
            first = db.execute(f"SELECT {key} FROM {table} ORDER BY {_order(table)} LIMIT 1").fetchone()
            if n == 0 or first is None:
                if n or first:
                    raise _fail(path, f"table {table} has {'no' if n else 'some'} rows, "
                                      f"{rec['rows']} were recorded at build time")
                continue
            last = db.execute(f"SELECT {key} FROM {table} ORDER BY {_order(table).replace(',', ' DESC,')} DESC "
                              "LIMIT 1").fetchone()
            picked = sorted(_pick(n, samples) | {0, n - 1})
            chunks = _nth_chunks(db, table, picked, n)
            if len(chunks) != len(picked):
                raise _fail(path, f"table checksums does not match table {table}")
            ends = {0: first[0], n - 1: last[0]}
            for i, c in zip(picked, chunks):
                # Rows cut from or added at either end leave the first or last chunk's range.
                if i in ends and (not isinstance(ends[i], int) or ends[i] >> shift != c[0]):
                    raise _fail(path, f"table {table} does not match its checksum (chunk {i + 1} of {n})")
                _check_chunk(db, table, c, shift, i if i in ends else None, n, path)
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
            if not all(isinstance(c[3], bytes) and len(c[3]) == 16 for c in chunks) or \
                    record(([c[2], *unpack(c[3])] for c in chunks), rec["shift"]) != rec or \
                    rec["shift"] != shift_for(table, rec["rows"]):
                raise _fail(path, f"table checksums does not match table {table}")
            sums: dict[int, list[int]] = {}
            cur = db.execute(f"{_select(table)} ORDER BY {_order(table)}")
            seen = 0
            for part in iter(lambda: cur.fetchmany(READ_ROWS), []):
                seen += len(part)
                if table == "files":
                    decode_files(part, path)
                try:
                    merge(sums, chunk_sums(table, part, rec["shift"]))
                except ValueError:
                    raise _fail(path, f"table {table} does not match its checksum") from None
            if seen != rec["rows"]:
                raise _fail(path, f"table {table} has {seen} rows, {rec['rows']} were recorded at build time")
            for i, (n, _, nrows, digest) in enumerate(chunks):
                got = sums.pop(n, None)
                if got is None or got[0] != nrows or pack(got[1], got[2]) != digest:
                    raise _fail(path, f"table {table} does not match its checksum (chunk {i + 1} of {len(chunks)})")
            if sums:
                raise _fail(path, f"table {table} has rows outside its recorded chunks")
            yield f"{table}: {seen:,} rows in {len(chunks)} chunk{_s(len(chunks))} ok" + (
                ", every blob decodes" if table == "files" else "")
        n = db.execute("SELECT count(*) FROM checksums").fetchone()[0]
        if n != total_chunks:
            raise _fail(path, f"table checksums has {n} rows, {total_chunks} were recorded at build time")
        yield f"checksums: {n:,} chunk digests ok"
    except sqlite3.DatabaseError as e:
        raise LicscanError(f"index {path} is corrupt or unreadable: {e}") from None
