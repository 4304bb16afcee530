"""The build's per-file results, streamed out of memory as they arrive (issue 12 item 3).

A build's memory must not grow with its corpus: each ``FileResult`` is written to disk
the moment it arrives, and only small per-file things stay in memory (the MinHash
signature, 256 bytes; the sha1 that detects identical copies; the name, for license
detection). What goes where:

- the ``files`` row (everything but the license, which is decided after all files are
  read) and ``aliases`` go to an SQLite database in the spill directory; ids are assigned
  in arrival order, and an identical file (same sha1) becomes an alias of the first;
- vocab ids are assigned as files arrive, first seen first, as the in-memory build did;
  past ``VOCAB_LIMIT`` ids are not stored (every rarer token shares the last id), so the
  vocabulary is at most 64 Ki strings whatever the corpus;
- postings (hash, file, position) are buffered up to ``FLUSH_POSTINGS`` and appended to
  one of ``2**PART_BITS`` partition files by the top bits of the hash. A partition holds
  every posting of its hashes, so document frequency, the boilerplate cap and the sort
  are computed per partition (``postings``), in ascending hash order: memory is about
  1/256 of the postings, never all of them.

The directory, ``.<index>.<pid>.spill`` next to the output (same file system, and not
/tmp, which may be a small tmpfs), is removed when the build ends however it ends, at
exit, or by the next build after a kill -9 (``tempfiles``).
"""

from __future__ import annotations

import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from licscan.engine.fingerprints import FP_BITS
from licscan.engine.prepare import BuildParams, FileResult
from licscan.engine.tempfiles import LIVE_TEMPS, spill_path
from licscan.model import LicscanError

VOCAB_LIMIT = 0xFFFF
"""Token ids are stored as uint16; the rare tokens past the limit share the last id."""
PART_BITS = 8
"""256 partitions: at 3 GB of code (~250 M postings) one is ~12 MB on disk."""
FLUSH_POSTINGS = 1 << 19
"""Postings buffered before a flush to the partitions: 6 MB as FileResult arrays, ~25 MB
while a flush sorts them (at 2 Mi postings the flush was the build's peak)."""
POSTING = np.dtype([("h", "<i4"), ("f", "<u4"), ("p", "<i4")])
"""A posting as spilled: hashes have ``FP_BITS`` (31) bits, so 12 bytes, not 16."""

assert FP_BITS <= 31, "spilled hashes are int32"

_FILES = """
CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT, lang TEXT, size INTEGER, sha1 TEXT,
                    ntokens INTEGER, tokens BLOB, lines BLOB, names BLOB, text BLOB, project TEXT);
CREATE TABLE aliases (file INTEGER, path TEXT);
"""


class Spill:
    """The results of a build so far, on disk; ``add`` each as it arrives."""

    def __init__(self, out: Path, params: BuildParams, flush_postings: int | None = None) -> None:
        self.params = params
        self.dir = spill_path(out)
        shutil.rmtree(self.dir, ignore_errors=True)  # a dead build of this pid's name: not ours
        self.dir.mkdir(parents=True)
        LIVE_TEMPS.add(self.dir)
        self.db = sqlite3.connect(self.dir / "files.db")
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _FILES)
        self.vocab: dict[str, int] = {}
        self.names: set[str] = set()
        """Every result's name, aliases included (license detection asks for those)."""
        self.by_sha: dict[str, int] = {}
        self.files = self.aliases = self.spilled = 0
        self._sigs = np.zeros((1024, params.num_perm), np.uint32)
        self._buf: list[tuple[np.ndarray, int, np.ndarray]] = []
        self._buffered = 0
        self._flush_at = flush_postings or FLUSH_POSTINGS

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spill (idempotent)."""
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        LIVE_TEMPS.discard(self.dir)

    def add(self, r: FileResult) -> None:
        """Write one result out: a files row (or an alias) and its postings."""
        self.names.add(r.name)
        first = self.by_sha.get(r.sha1)
        if first is not None:
            self.db.execute("INSERT INTO aliases VALUES (?, ?)", (first, r.name))
            self.aliases += 1
            return
        i = self.by_sha[r.sha1] = self.files
        ids = np.fromiter((self._token_id(t) for t in r.uniq), np.int64, len(r.uniq))
        tok = ids[r.inverse].astype(np.uint16)
        self.db.execute("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (i, r.name, r.lang, r.size, r.sha1, len(r.inverse), zlib.compress(tok.tobytes(), 6), r.line_deltas,
                         r.names, r.text, r.name.split("/", 1)[0]))
        if i == len(self._sigs):
            self._sigs = np.concatenate((self._sigs, np.zeros_like(self._sigs)))
        self._sigs[i] = r.signature
        self.files += 1
        self._buf.append((r.hashes, i, r.positions))
        self._buffered += len(r.hashes)
        if self._buffered >= self._flush_at:
            self._flush()

    def _token_id(self, token: str) -> int:
        got = self.vocab.get(token)
        if got is None:
            if len(self.vocab) > VOCAB_LIMIT:
                return VOCAB_LIMIT
            got = self.vocab[token] = len(self.vocab)
        return got

    def words(self) -> list[str]:
        """The vocab table: tokens by id."""
        return sorted(self.vocab, key=self.vocab.__getitem__)

    def signatures(self) -> np.ndarray:
        """MinHash signature per file id."""
        return self._sigs[:self.files]

    def _flush(self) -> None:
        """Append the buffered postings to their partitions."""
        if not self._buffered:
            return
        rec = np.empty(self._buffered, POSTING)
        rec["h"] = np.concatenate([h for h, _, _ in self._buf])
        rec["f"] = np.repeat([f for _, f, _ in self._buf], [len(h) for h, _, _ in self._buf])
        rec["p"] = np.concatenate([p for _, _, p in self._buf])
        self._buf, self._buffered = [], 0
        if len(rec) and rec["h"].min() < 0:
            raise LicscanError("internal error: a negative fingerprint hash")
        part = rec["h"] >> (FP_BITS - PART_BITS)
        order = np.argsort(part, kind="stable")
        rec, part = rec[order], part[order]
        bounds = np.searchsorted(part, np.arange((1 << PART_BITS) + 1))
        for k in np.flatnonzero(np.diff(bounds)).tolist():
            with open(self._part(k), "ab") as fh:
                fh.write(rec[bounds[k]:bounds[k + 1]].tobytes())
        self.spilled += len(rec)

    def _part(self, k: int) -> Path:
        return self.dir / f"p{k:03d}.bin"

    def postings(self, cap: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Every posting as (h, f, p, keep), one partition at a time in ascending hash order,
        each sorted by (h, f, p): ``keep`` is False where the hash is in more than ``cap``
        distinct files (boilerplate). A partition is removed once read."""
        self._flush()
        for k in range(1 << PART_BITS):
            path = self._part(k)
            if not path.exists():
                continue
            rec = np.fromfile(path, POSTING)
            path.unlink()
            h, f, p = rec["h"].astype(np.int64), rec["f"].astype(np.int64), rec["p"]
            del rec
            order = np.lexsort((p, f, h))
            h, f, p = h[order], f[order], p[order]
            # Document frequency counts files, not postings: sorted, a (h, f) run is one file.
            first = np.r_[True, (h[1:] != h[:-1]) | (f[1:] != f[:-1])]
            uh, df = np.unique(h[first], return_counts=True)
            keep = df[np.searchsorted(uh, h)] <= cap
            yield h, f, p, keep

    def finish(self) -> None:
        """No more files: index what the final write reads grouped (files per project)."""
        self._flush()
        self.db.execute("CREATE INDEX files_project ON files (project, id)")

    def rows(self) -> Iterator[tuple]:
        """(id, path, lang, size, sha1, ntokens, tokens, lines, names, text) by id."""
        yield from self.db.execute("SELECT id, path, lang, size, sha1, ntokens, tokens, lines, names, text "
                                   "FROM files ORDER BY id")

    def names_by_project(self) -> Iterator[tuple[str, str, bytes]]:
        """(path, lang, names blob) of every file, a project's files together."""
        yield from self.db.execute("SELECT path, lang, names FROM files ORDER BY project, id")

    def corpus_entries(self) -> Iterator[tuple[str, str]]:
        """(name, sha1) of every result, aliases included, by name (SQLite sorts on disk
        when it must; BINARY order on UTF-8 is Python's order on str)."""
        yield from self.db.execute("SELECT path, sha1 FROM files UNION ALL SELECT a.path, f.sha1 FROM aliases a "
                                   "JOIN files f ON f.id = a.file ORDER BY 1")

    def alias_rows(self) -> Iterator[tuple[int, str]]:
        yield from self.db.execute("SELECT file, path FROM aliases")


def shared(h: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The distinct values of ``h`` (sorted) that ``base`` (sorted, distinct) holds, ascending:
    ``np.intersect1d(h, base)`` without its sort of the whole base for every partition,
    which made a build with base code 2.5-7x slower (bench/RESULTS.md, 2026-12-08);
    ``h`` as ``Spill.postings`` yields it."""
    if not len(h) or not len(base):
        return h[:0]
    u = h[np.r_[True, h[1:] != h[:-1]]]
    at = np.minimum(np.searchsorted(base, u), len(base) - 1)
    return u[base[at] == u]
