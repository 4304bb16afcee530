"""An index's per-file results read back (for ``engine/update.py``): what ``prepare.process_file``
made of each indexed file, rebuilt from the rows a build wrote (schema 8), on either backend."""

from __future__ import annotations

import json
import zlib

import numpy as np

from licscan.engine.index import Index
from licscan.engine.prepare import FileResult
from licscan.model import LicenseEvidence

_FILE_COLS = "id, path, lang, license, license_evidence, size, sha1"
_BLOB_COLS = "id, tokens, lines, names, text, sig"
BLOB_BATCH = 256
"""Files whose blobs one query reads: an update consumes the old files in id order."""


def _postings(old: Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every posting (file, hash, position) of ``fp`` and ``capped``, sorted by file, hash,
    position: per file, the arrays ``process_file`` made (sorted by hash, then position).
    Held as three int32 columns (hashes are 31-bit): 12 bytes a posting, where (n, 3) int64
    chunks and their concatenation held 48 at the peak (3.9 GB to remove tmux at 31.8x)."""
    cols: tuple[list[np.ndarray], ...] = ([], [], [])
    for chunk in old.all_postings():
        a = np.asarray(chunk, np.int64).reshape(-1, 3)
        for out, j in zip(cols, (1, 0, 2)):
            out.append(a[:, j].astype(np.int32))
    f, h, p = (_joined(c) for c in cols)
    order = np.lexsort((p, h, f))
    # One column reordered at a time, each old one freed as its copy is made.
    f = f[order]
    h = h[order]
    return f, h, p[order]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """``parts`` as one array; the list is emptied, so the parts are freed as it is made."""
    out = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    parts.clear()
    return out


class OldIndex:
    """The old index's per-file results, rebuilt on demand: its files' metadata and postings
    in memory, their blobs (tokens, lines, names, text, signature) read a batch at a time."""

    def __init__(self, old: Index) -> None:
        self.old = old
        self.vocab = old.vocab()
        self.rows = {r[0]: r for r in old.table_rows("files", _FILE_COLS, "id")}
        self.by_name = {r[1]: fid for fid, r in self.rows.items()}
        self.aliases = {p: f for f, p in old.table_rows("aliases", "file, path")}
        self.pool = {(r[6], r[2]): fid for fid, r in sorted(self.rows.items(), reverse=True)}
        self.f, self.h, self.p = _postings(old)
        self._batch: dict[int, tuple] = {}

    def names_of(self, project: str) -> list[str]:
        """The indexed paths (files and aliases) of a project, in the order a build walks them."""
        got = [n for n in [*self.by_name, *self.aliases] if n.split("/", 1)[0] == project]
        return sorted(got, key=walk_key)

    def sha1(self, name: str) -> str:
        return self.rows[self.by_name.get(name, self.aliases.get(name))][6]

    def _blobs(self, fid: int) -> tuple:
        """(tokens, lines, names, text, sig) of file ``fid``: the batch from ``fid`` on is read
        when ``fid`` is past the one held; an earlier file (a copy's first copy) alone."""
        got = self._batch.get(fid)
        if got is None:
            ahead = not self._batch or fid > max(self._batch)
            rows = self.old.table_rows("files", _BLOB_COLS, "id", f"id >= {int(fid)} AND id < {int(fid) + BLOB_BATCH}"
                                       if ahead else f"id = {int(fid)}")
            if ahead:
                self._batch = {r[0]: r[1:] for r in rows}
            got = next(r[1:] for r in rows if r[0] == fid)
        return got

    def result(self, fid: int, name: str) -> FileResult:
        """File ``fid``'s result as ``process_file`` made it, under ``name``."""
        _, path, flang, _, _, size, sha1 = self.rows[fid]
        tokens, lines, names, text, sig = self._blobs(fid)
        ids = np.frombuffer(zlib.decompress(tokens), np.uint16)
        u, inv = np.unique(ids, return_inverse=True)
        # process_file's uniq is np.unique of the token strings (sorted as Python sorts
        # str); the ids' order is the vocab's, so sort the few distinct strings again.
        words = [self.vocab[i] for i in u.tolist()]
        order = sorted(range(len(words)), key=words.__getitem__)
        rank = np.empty(len(words), np.int64)
        rank[order] = np.arange(len(words))
        # Keys of the column's own dtype: int64 keys would cast the whole int32 column, per file.
        lo, hi = np.searchsorted(self.f, np.array([fid, fid + 1], self.f.dtype))
        return FileResult(
            name=name, lang=flang, size=size, sha1=sha1, uniq=[words[i] for i in order],
            inverse=rank[inv.reshape(-1)].astype(np.uint32), line_deltas=lines, names=names,
            hashes=self.h[lo:hi].astype(np.int64), positions=self.p[lo:hi],
            signature=np.frombuffer(sig, "<u4").astype(np.uint32), text=text, fallback=False)

    def license(self, name: str) -> tuple[str | None, LicenseEvidence | None]:
        row = self.rows[self.by_name[name]]
        return row[3], LicenseEvidence.from_dict(json.loads(row[4])) if row[4] else None


def walk_key(name: str) -> list[tuple[int, str]]:
    """Sort key of an indexed path in ``files.walk`` order: a directory's files (sorted),
    then its subdirectories (sorted), depth first."""
    parts = name.split("/")
    return [(1, d) for d in parts[:-1]] + [(0, parts[-1])]
