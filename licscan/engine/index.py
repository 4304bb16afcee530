"""The index file: one SQLite database, written atomically, opened read-only.

An index is data, not code: plain tables and zlib-compressed arrays, no pickle.
Layout:
- ``meta``: schema version, build parameters, grammar versions, corpus fingerprint;
- ``vocab``: normalized token strings, so token streams store 2-byte ids;
- ``files``: one row per distinct indexed file (identical copies become ``aliases``),
  with its normalized token stream, line numbers and a 16-bit hash of the raw text
  of each name or literal (so a match can tell a copy's names from a coincidence);
- ``fp``: winnowed fingerprint -> (file, token position), a WITHOUT ROWID b-tree
  so that a lookup is one index probe and the table is its own index;
- ``capped``: postings the boilerplate cap dropped from ``fp``: anchors of candidates found
  otherwise (``hits.boilerplate``), and an update's (``fp`` ∪ ``capped`` is all postings);
- ``common``: fingerprints of ``fp`` that the build's base code (permissive code
  given with ``--base``) also contains: shared, so not specific to any source;
- ``common_names``: per language family, name codes that many of its indexed projects
  use (``malloc``, ``errno``, ``NULL``): a match that kept only these kept nothing of
  its source's own; stored as ``family << 16 | code``, families named in meta
  ``name_families``;
- ``checksums``: per chunk (a key range) of each table, its row count and digest
  (``verify``: checked in part on every open, in full by ``licscan index verify``).
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from licscan.engine import verify
from licscan.engine.store import IndexedFile, Source
from licscan.engine.tempfiles import LIVE_TEMPS, atomic_path, rename_packed, sweep_stale_temps  # noqa: F401 - the writer's API
from licscan.files import tree_text
from licscan.model import LicenseEvidence, LicscanError

SCHEMA_VERSION = 9
"""5: integrity checksums (``verify``); older indexes cannot be verified, so are refused.
6: ``files.license_evidence`` (JSON: what decided each file's license, issue 14).
7: corpus counts relative to its size (issue 12): common names per language family,
files per language in meta ``lang_files``, a boilerplate cap that scales.
8: what an update needs to rebuild each file's build result (``engine/readback.py``): ``files.sig``,
``capped``; meta ``generation``, ``parent_corpus_sha256``, ``skipped_by_root`` (issue 13).
9: checksums per key range, order-free digests (``digests``): an added root changes only its rows (``delta``)."""
MAGIC = "licscan-index"
_CAPPED_AMONG = "SELECT value FROM json_each(?) WHERE EXISTS (SELECT 1 FROM capped c WHERE c.h = value)"
_CAPPED_PAIRS = ("SELECT c.h, c.f, c.p FROM json_each(?) j JOIN capped c "
                 "ON c.h = json_extract(j.value, '$[0]') AND c.f = json_extract(j.value, '$[1]')")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE vocab (id INTEGER PRIMARY KEY, token TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    lang TEXT NOT NULL,
    license TEXT,
    license_evidence TEXT,
    size INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    ntokens INTEGER NOT NULL,
    family INTEGER NOT NULL,
    tokens BLOB NOT NULL,
    lines BLOB NOT NULL,
    names BLOB NOT NULL,
    text BLOB, sig BLOB NOT NULL
);
CREATE TABLE aliases (file INTEGER NOT NULL, path TEXT NOT NULL);
CREATE INDEX aliases_file ON aliases (file, path);
CREATE TABLE fp (h INTEGER NOT NULL, f INTEGER NOT NULL, p INTEGER NOT NULL,
                 PRIMARY KEY (h, f, p)) WITHOUT ROWID;
CREATE TABLE capped (h INTEGER NOT NULL, f INTEGER NOT NULL, p INTEGER NOT NULL,
                     PRIMARY KEY (h, f, p)) WITHOUT ROWID;
CREATE TABLE common (h INTEGER PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE common_names (code INTEGER PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE checksums (tbl TEXT NOT NULL, chunk INTEGER NOT NULL, first TEXT NOT NULL,
                        nrows INTEGER NOT NULL, digest BLOB NOT NULL,
                        PRIMARY KEY (tbl, chunk)) WITHOUT ROWID;
"""


def _indexed(row: Sequence[Any]) -> IndexedFile:
    """A files row (id, path, lang, license, family, ntokens, license_evidence) as an IndexedFile."""
    try:
        ev = LicenseEvidence.from_dict(json.loads(row[6])) if row[6] else None
    except (ValueError, TypeError, AttributeError):
        ev = None  # unreadable evidence costs the explanation, never the finding
    return IndexedFile(*row[:6], license_evidence=ev)


def decode_ints(blob: bytes, typecode: str, what: str = "a blob", path: Path | str = "") -> array:
    """A zlib-compressed array column; LicscanError (one line) if it does not decode."""
    return verify.decode_blob(blob, typecode, lambda: what, path)


class IndexWriter:
    """Creates an index in a temporary file; ``commit`` renames it into place (readers of a
    previous index at the same path keep reading the old file: the rename never touches it)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.tmp = atomic_path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.unlink(missing_ok=True)
        LIVE_TEMPS.add(self.tmp)
        self.db = sqlite3.connect(self.tmp)
        # The file is private until renamed: durability comes from the rename,
        # so the journal would only slow the bulk insert down.
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=4096;")
        self.db.executescript(_SCHEMA)

    def set_meta(self, meta: dict[str, Any]) -> None:
        rows = [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()]
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    def add_vocab(self, tokens: Sequence[str]) -> None:
        self.db.executemany("INSERT INTO vocab VALUES (?, ?)", enumerate(tokens))

    def add_files(self, rows: Iterable[tuple]) -> None:
        self.db.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    def add_aliases(self, rows: Iterable[tuple[int, str]]) -> None:
        self.db.executemany("INSERT INTO aliases VALUES (?, ?)", rows)

    def add_fingerprints(self, rows: Iterable[tuple[int, int, int]], table: str = "fp") -> None:
        """Rows of ``fp`` (or ``capped``) must come sorted by (h, f, p): each insert then lands on the page before."""
        self.db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)

    def add_common(self, hashes: Iterable[int]) -> None:
        self.db.executemany("INSERT INTO common VALUES (?)", ((h,) for h in hashes))

    def add_common_names(self, codes: Iterable[int]) -> None:
        self.db.executemany("INSERT INTO common_names VALUES (?)", ((c,) for c in codes))

    def commit(self) -> None:
        """Record the checksums (of the tables as written, read back) and put a packed copy in place."""
        verify.seal(self.db)
        self.db.commit()
        rename_packed(self.db, self.out)
        self.tmp.unlink(missing_ok=True)
        LIVE_TEMPS.discard(self.tmp)

    def abort(self) -> None:
        try:
            self.db.close()
        finally:
            self.tmp.unlink(missing_ok=True)
            LIVE_TEMPS.discard(self.tmp)


class Index:
    """A read-only view of an index file: the SQLite ``engine.store.IndexStore``."""

    def __init__(self, path: Path, db: sqlite3.Connection, meta: dict[str, Any]) -> None:
        self.path = path
        self.db = db
        self.meta = meta
        self._vocab: list[str] | None = None
        self._files: dict[int, IndexedFile] = {}
        self._checked: set[str] = set()
        self._common_names: dict[str, frozenset[int]] | None = None
        # No base code at build time: the table is empty, skip the query.
        self._no_common = not meta.get("base")

    @property
    def params(self) -> dict[str, Any]:
        return self.meta["params"]

    def check_language(self, lang: str) -> None:
        """Refuse to match a language whose grammar build differs from the index's:
        node kinds and token boundaries would differ, and so would every hash."""
        if lang in self._checked:
            return
        from licscan.languages import LANGUAGES, grammar_signature

        if lang in LANGUAGES:
            built = self.meta.get("grammar_signatures", {}).get(lang)
            now = grammar_signature(lang)
            if built is not None and built != now:
                version = self.meta.get("grammars", {}).get(LANGUAGES[lang].distribution, "?")
                raise LicscanError(
                    f"index {self.path} was built with {LANGUAGES[lang].distribution} {version} "
                    f"({built}), the installed grammar differs ({now}): rebuild the index or "
                    "install the versions licscan pins")
        self._checked.add(lang)

    def vocab(self) -> list[str]:
        if self._vocab is None:
            self._vocab = [t for (t,) in self._query("SELECT token FROM vocab ORDER BY id")]
        return self._vocab

    def lookup(self, hashes: Sequence[int]) -> list[tuple[int, int, int]]:
        """All (h, file, position) rows for the given fingerprints."""
        return self._query_in("SELECT h, f, p FROM fp WHERE h", hashes)

    def capped_among(self, hashes: Sequence[int]) -> set[int]:
        return {h for (h,) in self._query(_CAPPED_AMONG, (json.dumps(list(hashes)),))}

    def capped_postings(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
        return self._query(_CAPPED_PAIRS, (json.dumps(list(pairs)),))

    def common(self, hashes: Iterable[int]) -> set[int]:
        """Those of ``hashes`` that the base code also has."""
        if self._no_common:
            return set()
        return {h for (h,) in self._query_in("SELECT h FROM common WHERE h", list(hashes))}

    def common_names(self, family: str | None = None) -> frozenset[int]:
        """Name codes many indexed projects of a language family use (``prepare.common_names``); too few
        projects, or fallback text (None): the cross-language count. Read one family's key range at a time."""
        cache = self._common_names = self._common_names or {}
        names = self.meta.get("name_families") or [""]
        for fam in (family or "", ""):
            if fam not in cache:
                i = names.index(fam) if fam in names else -1  # -1: an empty range (codes are >= 0)
                cache[fam] = frozenset(c & 0xFFFF for c in self._common_name_codes(i << 16, (i + 1) << 16))
            if cache[fam]:
                return cache[fam]
        return frozenset()

    def _common_name_codes(self, lo: int, hi: int) -> list[int]:
        """The stored ``family index << 16 | name code`` values in [lo, hi) (a backend's own query)."""
        return [c for (c,) in self._query("SELECT code FROM common_names WHERE code >= ? AND code < ?", (lo, hi))]

    def lang_files(self) -> dict[str, int]:
        """Indexed files per language (meta ``lang_files``): the corpus size rarity is relative to."""
        got = self.meta.get("lang_files")
        return got if isinstance(got, dict) else {}

    def file(self, fid: int) -> IndexedFile:
        f = self._files.get(fid)
        return self.files({fid})[fid] if f is None else f

    def files(self, fids: set[int]) -> dict[int, IndexedFile]:
        """Rows for many files at once (one query for those not cached yet)."""
        missing = [f for f in fids if f not in self._files]
        for row in self._file_rows(missing, "id, path, lang, license, family, ntokens, license_evidence"):
            self._files[row[0]] = _indexed(row)
        try:
            return {f: self._files[f] for f in fids}
        except KeyError as e:
            raise LicscanError(f"index {self.path} is corrupt: file {e} is missing") from None

    def sources(self, fids: Collection[int]) -> dict[int, Source]:
        """The stored streams of many files in one query: a scan fetches all its candidates'
        at once, not one round trip per candidate (which a remote server charges for)."""
        want = list(dict.fromkeys(fids))
        got = {r[0]: Source(r[0], r[1:4], self.path, r[4])
               for r in self._file_rows(want, "id, tokens, names, lines, ntokens")}
        if len(got) != len(want):
            raise LicscanError(f"index {self.path} is corrupt: file {min(set(want) - set(got))} is missing")
        return got

    def tokens(self, fid: int) -> tuple[array, array]:
        """(vocab ids, line numbers) of a file's normalized token stream."""
        s = self.sources([fid])[fid]
        return s.ids, s.lines

    def token_ids(self, fid: int) -> array:
        """The vocab ids of a file's token stream."""
        return self.sources([fid])[fid].ids

    def names(self, fid: int) -> array:
        """The hash of each name or literal of a file's stream, in order."""
        return self.sources([fid])[fid].names

    def _file_rows(self, fids: Sequence[int], columns: str) -> list[tuple]:
        """``columns`` of the rows of files ``fids`` (the one query a backend words its own way)."""
        return self._query_in(f"SELECT {columns} FROM files WHERE id", fids)

    def text(self, fid: int) -> str | None:
        """A file's source text: stored (``--store-text``), else read from its unchanged corpus tree."""
        rows = self._file_rows([fid], "text, path, sha1")
        if not rows:
            return None
        blob, path, sha1 = rows[0]
        if blob is not None:
            return decode_ints(blob, "B", f"files.text of file {fid}", self.path).tobytes().decode(
                "utf-8", "replace")
        return tree_text(self.meta.get("roots") or [], path, sha1)

    def aliases(self, fid: int) -> list[str]:
        return self.aliases_of([fid])[fid]

    def aliases_of(self, fids: Collection[int]) -> dict[int, list[str]]:
        """Sorted here, not by the database: code-point order whatever a PostgreSQL collation."""
        out: dict[int, list[str]] = {f: [] for f in fids}
        for f, p in self._alias_rows(list(out)):
            out[f].append(p)
        return {f: sorted(ps) for f, ps in out.items()}

    def _alias_rows(self, fids: Sequence[int]) -> list[tuple[int, str]]:
        return self._query_in("SELECT file, path FROM aliases WHERE file", fids)

    def stats(self) -> dict[str, Any]:
        """Counts for ``index info``."""
        q = self._query
        return {
            "files": q("SELECT count(*) FROM files")[0][0],
            "aliases": q("SELECT count(*) FROM aliases")[0][0],
            "fingerprints": q("SELECT count(*) FROM fp")[0][0],
            "common_fingerprints": q("SELECT count(*) FROM common")[0][0],
            "languages": dict(q("SELECT lang, count(*) FROM files GROUP BY lang ORDER BY 2 DESC")),
            "licenses": dict(q("SELECT coalesce(license, 'unknown'), count(*) FROM files GROUP BY 1 ORDER BY 2 DESC")),
            "license_evidence": dict(q("SELECT coalesce(json_extract(license_evidence, '$.kind'), 'unknown'), "
                                       "count(*) FROM files GROUP BY 1 ORDER BY 2 DESC")),
        }

    def table_rows(self, table: str, columns: str, order: str = "", where: str = "") -> list[tuple]:
        """The rows of one of its tables (``where``: our own SQL, never user input), blobs as bytes."""
        clauses = (f" WHERE {where}" if where else "") + (f" ORDER BY {order}" if order else "")
        return self._query(f"SELECT {columns} FROM {table}{clauses}")

    def all_postings(self) -> Iterator[Any]:
        """Every (h, f, p) of ``fp`` and ``capped`` (what the boilerplate cap dropped), in chunks."""
        for table in ("fp", "capped"):
            cur = self.db.execute(f"SELECT h, f, p FROM {table}")
            while rows := cur.fetchmany(1 << 20):
                yield rows

    def source_counts(self) -> list[tuple[str, str, str, int, int]]:
        return [tuple(r) for r in self._query(  # type: ignore[misc]
            "SELECT CASE WHEN instr(path, '/') > 0 THEN substr(path, 1, instr(path, '/') - 1) ELSE path END,"
            " lang, coalesce(license, 'unknown'), count(*), coalesce(sum(size), 0) FROM files GROUP BY 1, 2, 3")]

    def files_in(self, langs: Sequence[str], min_tokens: int) -> list[tuple[int, str, str, str | None]]:
        marks = ",".join("?" * len(langs))
        return self._query(f"SELECT id, path, lang, license FROM files WHERE lang IN ({marks}) "
                           "AND ntokens >= ? ORDER BY id", (*langs, min_tokens))

    def _query_in(self, sql: str, values: Sequence[Any]) -> list[tuple]:
        """Rows of ``sql IN (values)``, in chunks under old SQLite's host-parameter limit (999)."""
        out: list[tuple] = []
        for i in range(0, len(values), 900):
            chunk = values[i:i + 900]
            out.extend(self._query(f"{sql} IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            raise LicscanError(f"index {self.path} is corrupt or unreadable: {e}") from None

    def close(self) -> None:
        self.db.close()


def open_index(path: str | Path) -> Index:
    """Open an index read-only, refusing missing, foreign, corrupt or mismatched files."""
    p = Path(path)
    if not p.is_file():
        raise LicscanError(f"index not found: {p} (build one with `licscan index build`)")
    db, meta, raw = _connect(p)
    try:
        verify.check_open(db, meta, raw, p)
    except BaseException:
        db.close()
        raise
    return Index(p, db, meta)


def verify_index(path: str | Path) -> Iterator[str]:
    """Every integrity check of an index (``licscan index verify``): yields what was
    checked, raises LicscanError naming the first table that fails."""
    p = Path(path)
    if not p.is_file():
        raise LicscanError(f"index not found: {p}")
    db, meta, raw = _connect(p)
    try:
        yield from verify.verify_full(db, meta, raw, p)
    finally:
        db.close()


def _connect(p: Path) -> tuple[sqlite3.Connection, dict[str, Any], list[tuple[str, str]]]:
    """A read-only connection, the meta (parsed and as stored); refuses foreign files and
    other schema versions."""
    try:
        with p.open("rb") as fh:
            header = fh.read(16)
    except OSError as e:
        raise LicscanError(f"cannot read index {p}: {e.strerror}") from None
    if header != b"SQLite format 3\0":
        raise LicscanError(f"{p} is not a licscan index (corrupt or another kind of file)")
    try:
        db = sqlite3.connect(f"file:{p.resolve()}?mode=ro", uri=True, check_same_thread=False)
        raw = db.execute("SELECT key, value FROM meta").fetchall()
        meta = {k: json.loads(v) for k, v in raw}
    except (sqlite3.DatabaseError, ValueError, TypeError) as e:
        raise LicscanError(f"index {p} is corrupt or unreadable: {e}") from None
    if meta.get("magic") != MAGIC:
        raise LicscanError(f"{p} is not a licscan index")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise LicscanError(
            f"index {p} has schema version {meta.get('schema_version')}, this licscan reads "
            f"{SCHEMA_VERSION}: rebuild it with `licscan index build`")
    return db, meta, raw
