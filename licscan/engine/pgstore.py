"""The index on PostgreSQL: ``engine.store.IndexStore`` over a shared database.

One database holds one index, in generations:
- schema ``licscan`` (``CONTROL``): ``generations`` (one row per generation: its schema,
  corpus hash, build time, sizes) and ``head`` (one row: the generation readers open);
- schema ``licscan_g<N>`` per generation, the tables of the SQLite index
  (``engine/index.py``) with the same rows, so every statistic the evidence rules
  use (postings, owners, ``common``, ``common_names``, families, vocab) is the
  SQLite build's own: ``meta``, ``vocab``, ``files``, ``aliases``, ``common``,
  ``common_names``, ``capped`` (plain rows: anchors of candidates found otherwise, and
  an update's), and ``fp`` laid out for batch lookups: one row per fingerprint,
  its postings packed (``n`` pairs of little-endian int32 file and position), the
  table partitioned by hash prefix (``PARTITIONS`` equal ranges of the ``FP_BITS``-bit
  fingerprint, i.e. its top 4 bits) so each partition's primary key stays small.

A reader reads ``head`` once, on open, and stays on that generation's schema: a build
that switches ``head`` meanwhile never mixes two generations into one scan
(``engine/pgload.py`` keeps the previous generation for runners still on it).
A lookup sends its fingerprints in batches of ``LOOKUP_BATCH``, each one statement with
one ``h = ANY(%s)`` per partition (``_lookup_sql``): a round trip per batch, never one per
k-gram, and each partition probed only for its own fingerprints. A scan's candidate files
come back in one more round trip (``Index.sources``, ``id = ANY(%s)``).

Only this module and ``pgload.py`` import psycopg (the ``[postgres]`` extra): a scan
of an SQLite index never loads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from licscan.engine import verify
from licscan.engine.fingerprints import FP_BITS
from licscan.engine.index import MAGIC, SCHEMA_VERSION, Index
from licscan.engine.uris import scrub, shown
from licscan.model import LicscanError

CONTROL = "licscan"
"""The schema of the generation table and the head pointer."""
PARTITIONS = 16
"""Range partitions of ``fp`` by the fingerprint's top 4 bits."""
EDGES = [i * (1 << FP_BITS) // PARTITIONS for i in range(1, PARTITIONS)]
"""Where each partition after the first begins. Fingerprints are ``FP_BITS`` (31) bits,
not 64: ranges of the signed 64-bit space put every row in one partition."""
LOOKUP_BATCH = 5000
"""Fingerprints per lookup query: 10,000 k-grams (a 1,500-line file) take 2 round trips."""
POSTING = np.dtype("<i4")
"""A posting is two of these, file then position, little-endian whatever the machine."""
CONNECT_TIMEOUT = 10
"""Seconds to wait for the server unless the URI or PGCONNECT_TIMEOUT say otherwise:
a gate that cannot reach its index fails closed, and soon."""
_GEN_SCHEMA = re.compile(r"licscan_g[0-9]+\Z")


def partition_bounds() -> list[tuple[str, str]]:
    """(FROM, TO) of each ``fp`` partition; the ends are open, so any bigint has one."""
    edges = [str(e) for e in EDGES]
    return list(zip(["MINVALUE", *edges], [*edges, "MAXVALUE"]))


def _lookup_sql() -> str:
    """One SELECT per partition, its range in constants: the planner prunes each branch to its
    partition (a generic plan, prepared once, cannot prune on the array), so each partition's
    index is probed for its own fingerprints only. The ranges restrict rows, not tables, so a
    generation loaded with other bounds still gives every posting."""
    out = []
    for lo, hi in partition_bounds():
        where = [f"h >= {lo}"] if lo != "MINVALUE" else []
        where += [f"h < {hi}"] if hi != "MAXVALUE" else []
        out.append(f"SELECT h, n, postings FROM {{s}}.fp WHERE {' AND '.join(where)} AND h = ANY(%s::bigint[])")
    return " UNION ALL ".join(out)


_LOOKUP = _lookup_sql()


def generation_schema(gen: int) -> str:
    return f"licscan_g{int(gen)}"


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise LicscanError("a PostgreSQL index needs psycopg: pip install 'licscan[postgres]'") from None
    return psycopg


def _connect_kwargs(uri: str) -> dict[str, Any]:
    import os

    psycopg = _driver()
    try:
        given = psycopg.conninfo.conninfo_to_dict(uri)
    except psycopg.ProgrammingError as e:
        raise LicscanError(f"invalid index URI {shown(uri)}: {scrub(str(e), uri)}") from None
    kw: dict[str, Any] = {"application_name": "licscan"}
    if "connect_timeout" not in given and not os.environ.get("PGCONNECT_TIMEOUT"):
        kw["connect_timeout"] = CONNECT_TIMEOUT
    return kw


def connect(uri: str, *, autocommit: bool = True) -> Any:
    """A psycopg connection; a one-line LicscanError (no password) when the server cannot
    be reached or refuses."""
    psycopg = _driver()
    kw = _connect_kwargs(uri)
    try:
        return psycopg.connect(uri, autocommit=autocommit, **kw)
    except psycopg.Error as e:
        raise LicscanError(f"cannot reach index {shown(uri)}: {scrub(str(e), uri)}") from None


_READER = {"prepare_threshold": 0}
"""A reader runs the same few statements over and over (lookup, files, sources): prepared
on first use, the server parses and plans the 16-branch lookup once per connection, not
on each of the first five scans (psycopg's default threshold)."""


def _pool(uri: str) -> Any:
    """A connection pool for long-lived processes: a connection the server dropped is
    replaced, not fatal."""
    try:
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError:
        raise LicscanError("a pooled PostgreSQL index needs psycopg_pool: pip install 'licscan[postgres]'") from None
    kw = _connect_kwargs(uri)
    pool = ConnectionPool(uri, min_size=1, max_size=4, kwargs={"autocommit": True, **kw, **_READER}, open=True)
    try:
        pool.wait(timeout=float(kw.get("connect_timeout", CONNECT_TIMEOUT)))
    except PoolTimeout:
        pool.close()
        connect(uri).close()  # the driver's own reason, as one line
        raise LicscanError(f"cannot reach index {shown(uri)}") from None
    return pool


class PgIndex(Index):
    """A read-only view of one generation of a PostgreSQL index. It inherits the parts of the
    SQLite ``Index`` that hold no SQL (caches, parameters, the grammar check, token decoding);
    every query is its own."""

    def __init__(self, uri: str, db: Any, schema: str, generation: int, meta: dict[str, Any]) -> None:
        super().__init__(shown(uri), db, meta)  # type: ignore[arg-type]  # path: what reports print, no password
        self.uri = uri
        self.schema = schema
        self.generation = generation

    def vocab(self) -> list[str]:
        if self._vocab is None:
            self._vocab = [bytes(t).decode() for (t,) in self._query("SELECT token FROM {s}.vocab ORDER BY id")]
        return self._vocab

    def lookup(self, hashes: Sequence[int]) -> list[tuple[int, int, int]]:
        """All (h, file, position) postings of ``hashes``, sorted, in ``LOOKUP_BATCH`` batches."""
        hs: list[int] = []
        counts: list[int] = []
        blobs: list[bytes] = []
        for i in range(0, len(hashes), LOOKUP_BATCH):
            batch = np.asarray(hashes[i:i + LOOKUP_BATCH], np.int64)
            part = np.searchsorted(EDGES, batch, side="right")
            for h, n, blob in self._query(_LOOKUP, [batch[part == k].tolist() for k in range(PARTITIONS)]):
                hs.append(h)
                counts.append(n)
                blobs.append(blob)
        if not hs:
            return []
        pairs = np.frombuffer(b"".join(blobs), POSTING)
        if len(pairs) != 2 * sum(counts):
            raise LicscanError(f"index {self.path} is corrupt: fp postings do not match their counts")
        h = np.repeat(np.array(hs, np.int64), counts)
        f, p = pairs[0::2].astype(np.int64), pairs[1::2].astype(np.int64)
        order = np.lexsort((p, f, h))
        return list(zip(h[order].tolist(), f[order].tolist(), p[order].tolist()))

    def capped_among(self, hashes: Sequence[int]) -> set[int]:
        return {h for (h,) in self._query("SELECT DISTINCT x FROM unnest(%s::bigint[]) x WHERE EXISTS "
                                          "(SELECT 1 FROM {s}.capped k WHERE k.h = x)", (list(hashes),))}

    def capped_postings(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
        return self._query("SELECT c.h, c.f, c.p FROM unnest(%s::bigint[], %s::int[]) q(h, f) "
                           "JOIN {s}.capped c ON c.h = q.h AND c.f = q.f",
                           ([h for h, _ in pairs], [f for _, f in pairs]))

    def common(self, hashes: Iterable[int]) -> set[int]:
        if self._no_common:
            return set()
        wanted = list(hashes)
        out: set[int] = set()
        for i in range(0, len(wanted), LOOKUP_BATCH):
            out.update(h for (h,) in self._query("SELECT h FROM {s}.common WHERE h = ANY(%s::bigint[])",
                                                 (wanted[i:i + LOOKUP_BATCH],)))
        return out

    def _common_name_codes(self, lo: int, hi: int) -> list[int]:
        return [c for (c,) in self._query("SELECT code FROM {s}.common_names WHERE code >= %s AND code < %s", (lo, hi))]

    def _file_rows(self, fids: Sequence[int], columns: str) -> list[tuple]:
        if not fids:  # no round trip for nothing
            return []
        return self._query(f"SELECT {columns} FROM {{s}}.files WHERE id = ANY(%s::int[])", (list(fids),))

    def _alias_rows(self, fids: Sequence[int]) -> list[tuple[int, str]]:
        if not fids:
            return []
        return self._query("SELECT file, path FROM {s}.aliases WHERE file = ANY(%s::int[])", (list(fids),))

    def stats(self) -> dict[str, Any]:
        """The counts of the SQLite index's ``stats``, plus the generation and its size."""
        q = self._query
        return {
            "generation": self.generation,
            "schema": self.schema,
            "bytes": q("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                       (self.schema,))[0][0],
            "files": q("SELECT count(*) FROM {s}.files")[0][0],
            "aliases": q("SELECT count(*) FROM {s}.aliases")[0][0],
            "fingerprints": q("SELECT coalesce(sum(n), 0)::bigint FROM {s}.fp")[0][0],
            "common_fingerprints": q("SELECT count(*) FROM {s}.common")[0][0],
            "languages": dict(q("SELECT lang, count(*) FROM {s}.files GROUP BY lang ORDER BY 2 DESC, 1")),
            "licenses": dict(q("SELECT coalesce(license, 'unknown'), count(*) FROM {s}.files "
                               "GROUP BY 1 ORDER BY 2 DESC, 1")),
            "license_evidence": dict(q("SELECT coalesce(license_evidence::json->>'kind', 'unknown'), count(*) "
                                       "FROM {s}.files GROUP BY 1 ORDER BY 2 DESC, 1")),
        }

    def table_rows(self, table: str, columns: str, order: str = "", where: str = "") -> list[tuple]:
        rows = super().table_rows(f"{{s}}.{table}", columns, order, where)  # this generation's schema
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    def all_postings(self) -> Iterator[Any]:
        for i in range(PARTITIONS):  # postings packed per fingerprint, unpacked to (h, f, p) rows
            rows = self._query(f"SELECT h, n, postings FROM {{s}}.fp_{i:02d}")
            if rows:
                pairs = np.frombuffer(b"".join(r[2] for r in rows), POSTING).astype(np.int64).reshape(-1, 2)
                yield np.column_stack((np.repeat(np.array([r[0] for r in rows], np.int64), [r[1] for r in rows]),
                                       pairs))
        yield self._query("SELECT h, f, p FROM {s}.capped")

    def source_counts(self) -> list[tuple[str, str, str, int, int]]:
        return [tuple(r) for r in self._query(  # type: ignore[misc]
            "SELECT split_part(path, '/', 1), lang, coalesce(license, 'unknown'), count(*), "
            "coalesce(sum(size), 0)::bigint FROM {s}.files GROUP BY 1, 2, 3")]

    def files_in(self, langs: Sequence[str], min_tokens: int) -> list[tuple[int, str, str, str | None]]:
        return self._query("SELECT id, path, lang, license FROM {s}.files WHERE lang = ANY(%s::text[]) "
                           "AND ntokens >= %s ORDER BY id", (list(langs), min_tokens))

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """One round trip. ``{s}`` in ``sql`` is this generation's schema (our own name,
        checked by ``_GEN_SCHEMA``, never user input)."""
        return run(self.db, sql.replace("{s}", self.schema), args, self.uri)

    def close(self) -> None:
        self.db.close()


def run(db: Any, sql: str, args: Sequence[Any], uri: str) -> list[tuple]:
    """Rows of one statement on a connection or a pool; driver errors as one line."""
    psycopg = _driver()
    try:
        if hasattr(db, "getconn"):  # a pool
            with db.connection() as conn:
                return conn.execute(sql, args).fetchall()
        return db.execute(sql, args).fetchall()
    except psycopg.Error as e:
        raise LicscanError(f"index {shown(uri)}: {scrub(str(e), uri)}") from None


def open_pg(uri: str, *, pooled: bool = False) -> PgIndex:
    """Open the current generation read-only; refuses a database without a licscan index,
    and meta that is not a licscan index of this schema version or fails its checks."""
    db = _pool(uri) if pooled else connect(uri)
    if not pooled:
        db.prepare_threshold = _READER["prepare_threshold"]
    try:
        where = shown(uri)
        head: list[tuple] = []
        if run(db, "SELECT to_regclass('licscan.head') IS NOT NULL", (), uri)[0][0]:
            head = run(db, "SELECT g.gen, g.schema FROM licscan.head JOIN licscan.generations g USING (gen)", (), uri)
        if not head:
            raise LicscanError(f"no licscan index in {where}: build one with `licscan index build --out URI`")
        gen, schema = head[0]
        if not _GEN_SCHEMA.match(schema):
            raise LicscanError(f"index {where} is corrupt: generation schema {schema!r}")
        raw = run(db, f"SELECT key, value FROM {schema}.meta", (), uri)
        try:
            meta = {k: json.loads(v) for k, v in raw}
        except ValueError as e:
            raise LicscanError(f"index {where} is corrupt: meta: {e}") from None
        if meta.get("magic") != MAGIC:
            raise LicscanError(f"{where} is not a licscan index")
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise LicscanError(f"index {where} has schema version {meta.get('schema_version')}, this licscan "
                               f"reads {SCHEMA_VERSION}: rebuild it with `licscan index build`")
        verify.check_meta(meta, raw, where)
    except BaseException:
        db.close()
        raise
    return PgIndex(uri, db, schema, gen, meta)


def verify_pg(uri: str) -> Iterator[str]:
    """``licscan index verify`` of a PostgreSQL index: meta (digest, parameters), each table's
    row count against the build's record, and every blob of ``files`` decoded. The server
    guards its pages; these catch a load cut short or rows edited by hand."""
    idx = open_pg(uri)
    try:
        yield f"meta: {len(idx.meta)} entries, build parameters and digest (generation {idx.generation})"
        tables = idx.meta["integrity"]["tables"]
        for table in ("vocab", "files", "aliases", "fp", "capped", "common", "common_names"):
            n = idx._query(f"SELECT {'coalesce(sum(n), 0)' if table == 'fp' else 'count(*)'}::bigint FROM {{s}}.{table}")[0][0]
            if n != tables[table]["rows"]:
                raise LicscanError(f"index {idx.path} is corrupt: table {table} has {n} rows, "
                                   f"{tables[table]['rows']} were recorded at build time")
            yield f"{table}: {n} rows"
        cols = ", ".join(verify.COLUMNS["files"])
        last = -1
        while rows := idx._query(f"SELECT {cols} FROM {{s}}.files WHERE id > %s ORDER BY id LIMIT 256", (last,)):
            verify.decode_files([tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows],
                                idx.path)
            last = rows[-1][0]
        yield "files: every blob decodes"
    finally:
        idx.close()
