"""Row digests of an index's integrity record (``verify``), kept so an update can maintain
it without re-reading the tables (issue 13).

Each checksummed table is cut into chunks by ranges of its first key column (chunk
``key >> shift``; the shift fixed per table, or for the fingerprint tables a function of
their row count, ``shift_for``), not by position: a row added or removed changes only its
own chunk. A chunk's digest is the sum, per 64-bit lane and modulo 2**64, of its
rows' digests, so it follows from the rows alone (any order) and an update adds the
digests of the rows it inserts and subtracts those of the rows it deletes. A table's
digest is the sum of its chunks'. A fresh build and a delta update of the same corpus
therefore record the same integrity, chunk for chunk.

A row's digest is two 64-bit lanes: for all-integer tables a keyed mix of its values
(murmur3's finalizer, vectorized: a build digests tens of millions of postings), for the
others the first 16 bytes of a SHA-256 of the row (JSON, blobs hashed after). Neither
resists a forger, nor did the old SHA-256 chain: the record lives in the file it
describes, so whoever can edit the rows can reseal them. It catches every accidental
change, truncation or hand edit that does not reseal (~2**-128 to miss one).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from array import array
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

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
range probe on its first column)."""

BUCKETS: dict[str, int] = {"vocab": 5, "files": 3, "aliases": 6, "common_names": 10}
"""Per table with dense keys, the shift of its first key column that numbers a row's chunk:
32 tokens, 8 files, aliases of 64 files, 1,024 name codes."""
HASHED = frozenset({"fp", "capped", "common"})
"""Tables keyed by a 31-bit fingerprint: their shift follows their size (``shift_for``)."""
TARGET_ROWS = 128
"""Rows a chunk of a fingerprint table holds on average, at most: a sampled check on open,
in pure Python, then costs ~1-2 ms a chunk at any corpus size."""


def shift_for(table: str, rows: int) -> int:
    """The chunk shift of ``table`` holding ``rows`` rows: a function of the row count alone,
    so a build and an update that reach the same rows cut the same chunks."""
    if table not in HASHED:
        return BUCKETS[table]
    return 31 - max(0, (max(rows, 1) - 1) // TARGET_ROWS).bit_length()


INT_TABLES = frozenset({"fp", "capped", "common", "common_names"})
"""All-integer tables: digested as int64 arrays, without a Python loop per row."""

_M1, _M2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
_SEEDS = (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03)
_MASK = (1 << 64) - 1
NUMPY_ROWS = 20000
"""Above this many rows an all-integer chunk is digested with numpy; below, in Python unless
numpy is loaded anyway: a scan's open-time samples must not import it (cold-start budget)."""


def _fmix(x: Any) -> Any:
    """murmur3's 64-bit finalizer (a bijection that spreads every input bit), on a numpy
    uint64 array."""
    import numpy as np

    s33 = np.uint64(33)
    x = x ^ (x >> s33)
    x = x * np.uint64(_M1)
    x ^= x >> s33
    x *= np.uint64(_M2)
    x ^= x >> s33
    return x


def int_digests(a: np.ndarray) -> np.ndarray:
    """(n, 2) uint64 lanes of the rows of an (n, columns) int64 array."""
    import numpy as np

    u = np.ascontiguousarray(a, np.int64).view(np.uint64).reshape(len(a), -1)
    out = np.empty((len(u), 2), np.uint64)
    for lane, seed in enumerate(_SEEDS):
        x = np.full(len(u), seed, np.uint64)
        for j in range(u.shape[1]):
            x = _fmix(x ^ u[:, j] ^ np.uint64(j + 1))
        out[:, lane] = x
    return out


def int_row_digest(row: Sequence[int]) -> tuple[int, int]:
    """``int_digests`` of one row, in pure Python (a test holds the two equal)."""
    out = []
    for seed in _SEEDS:
        x = seed
        for j, v in enumerate(row):
            x ^= (v & _MASK) ^ (j + 1)
            x ^= x >> 33
            x = (x * _M1) & _MASK
            x ^= x >> 33
            x = (x * _M2) & _MASK
            x ^= x >> 33
        out.append(x)
    return out[0], out[1]


def _blob(blobs: list[bytes]) -> Any:
    def enc(v: Any) -> dict[str, int]:
        if not isinstance(v, bytes):
            raise TypeError(f"unexpected {type(v).__name__}")
        blobs.append(v)
        return {"B": len(v)}
    return enc


def row_digest(row: Sequence[Any]) -> tuple[int, int]:
    """Two lanes of a mixed row: SHA-256 of its ``repr`` (ints, text and None only: fast, and
    ``5``, ``'5'`` and ``None`` differ), else of its JSON, each blob as ``{"B": length}`` (text
    is never mistaken for a blob) with its bytes hashed after."""
    if not any(isinstance(v, (bytes, float)) for v in row):  # ints, text, None: repr tells them apart
        d = hashlib.sha256(repr(tuple(row)).encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(d[:8], "little"), int.from_bytes(d[8:16], "little")
    blobs: list[bytes] = []
    h = hashlib.sha256(json.dumps(row, default=_blob(blobs), check_circular=False).encode())
    for b in blobs:
        h.update(b)
    d = h.digest()
    return int.from_bytes(d[:8], "little"), int.from_bytes(d[8:16], "little")


def chunk_sums(table: str, rows: Sequence[tuple], shift: int) -> dict[int, list[int]]:
    """Per chunk number of ``rows``: [rows, lane 0, lane 1] (sums mod 2**64). ValueError if a
    row is not what the table holds (a tampered value)."""
    out: dict[int, list[int]] = {}
    if not rows:
        return out
    if table in INT_TABLES and (len(rows) > NUMPY_ROWS or "numpy" in sys.modules):
        import numpy as np

        try:  # array("q") refuses text and floats that numpy would convert
            a = np.frombuffer(array("q", chain.from_iterable(rows)), np.int64).reshape(len(rows), -1)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("not integers") from None
        return array_sums(a, shift)
    for row in rows:
        try:
            if table in INT_TABLES:
                if not all(type(v) is int and -(1 << 63) <= v < (1 << 63) for v in row):
                    raise ValueError("not integers")
                l0, l1 = int_row_digest(row)
            else:
                l0, l1 = row_digest(row)
        except (TypeError, ValueError) as e:
            raise ValueError(str(e)) from None
        key = row[0]
        if not isinstance(key, int):
            raise ValueError("a key is not an integer")
        s = out.setdefault(key >> shift, [0, 0, 0])
        s[0] += 1
        s[1] = (s[1] + l0) & _MASK
        s[2] = (s[2] + l1) & _MASK
    return out


def array_sums(a: np.ndarray, shift: int) -> dict[int, list[int]]:
    """``chunk_sums`` of an all-integer table's rows as an (n, columns) int64 array."""
    import numpy as np

    if not len(a):
        return {}
    d = int_digests(a)
    b = a[:, 0] >> shift
    order = np.argsort(b, kind="stable")
    b, d = b[order], d[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    counts = np.diff(np.r_[starts, len(b)])
    s0, s1 = np.add.reduceat(d[:, 0], starts), np.add.reduceat(d[:, 1], starts)
    return {int(k): [int(n), int(x), int(y)] for k, n, x, y in
            zip(b[starts].tolist(), counts.tolist(), s0.tolist(), s1.tolist())}


def merge(into: dict[int, list[int]], more: dict[int, list[int]], sign: int = 1) -> None:
    """Add (``sign`` 1) or subtract (-1) chunk sums."""
    for k, (n, x, y) in more.items():
        s = into.setdefault(k, [0, 0, 0])
        s[0] += sign * n
        s[1] = (s[1] + sign * x) & _MASK
        s[2] = (s[2] + sign * y) & _MASK


def pack(x: int, y: int) -> bytes:
    """A chunk's stored digest: its two lane sums, 16 bytes."""
    return x.to_bytes(8, "little") + y.to_bytes(8, "little")


def unpack(b: bytes) -> tuple[int, int]:
    return int.from_bytes(b[:8], "little"), int.from_bytes(b[8:16], "little")


def first_key(shift: int, chunk: int) -> str:
    """The ``checksums.first`` of a chunk: the lowest first-column key it may hold (JSON)."""
    return f"[{chunk << shift}]"


def write_table(db: sqlite3.Connection, table: str, sums: dict[int, list[int]], shift: int) -> dict[str, Any]:
    """Replace ``table``'s rows of ``checksums`` by ``sums`` (empty chunks dropped); its record."""
    db.execute("DELETE FROM checksums WHERE tbl = ?", (table,))
    live = sorted((k, s) for k, s in sums.items() if s[0])
    if any(s[0] < 0 for _, s in live):
        raise ValueError(f"internal error: table {table} would have a chunk of fewer than 0 rows")
    db.executemany("INSERT INTO checksums VALUES (?, ?, ?, ?, ?)",
                   ((table, k, first_key(shift, k), s[0], pack(s[1], s[2])) for k, s in live))
    return record((s for _, s in live), shift)


def apply(db: sqlite3.Connection, table: str, delta: dict[int, list[int]], rec: dict[str, Any]) -> dict[str, Any]:
    """Add ``delta`` to ``table``'s chunks (only those it touches are read and written) and
    return its record updated from ``rec``, the table's record before."""
    keys = sorted(delta)
    have: dict[int, list[int]] = {}
    for i in range(0, len(keys), 900):
        part = keys[i:i + 900]
        have.update((k, [n, *unpack(d)]) for k, n, d in db.execute(
            f"SELECT chunk, nrows, digest FROM checksums WHERE tbl = ? AND chunk IN ({','.join('?' * len(part))})",
            (table, *part)))
    x, y = unpack(bytes.fromhex(rec["digest"]))
    rows, chunks = rec["rows"], rec["chunks"]
    put, gone = [], []
    for k in keys:
        d = delta[k]
        s = have.get(k, [0, 0, 0])
        n = s[0] + d[0]
        if n < 0:
            raise ValueError(f"internal error: table {table} would have a chunk of fewer than 0 rows")
        rows, x, y = rows + d[0], (x + d[1]) & _MASK, (y + d[2]) & _MASK
        chunks += (n > 0) - (s[0] > 0)
        if n:
            put.append((table, k, first_key(rec["shift"], k), n, pack((s[1] + d[1]) & _MASK, (s[2] + d[2]) & _MASK)))
        elif s[0]:
            gone.append((table, k))
    db.executemany("DELETE FROM checksums WHERE tbl = ? AND chunk = ?", gone)
    db.executemany("INSERT OR REPLACE INTO checksums VALUES (?, ?, ?, ?, ?)", put)
    return {"rows": rows, "chunks": chunks, "digest": pack(x, y).hex(), "shift": rec["shift"]}


def record(chunks: Iterable[list[int]], shift: int) -> dict[str, Any]:
    """A table's integrity record from its chunks' [rows, lane 0, lane 1] and their shift."""
    n = c = x = y = 0
    for s in chunks:
        n, c, x, y = n + s[0], c + 1, (x + s[1]) & _MASK, (y + s[2]) & _MASK
    return {"rows": n, "chunks": c, "digest": pack(x, y).hex(), "shift": shift}
