"""An index's per-file results read back (for ``engine/update.py``): what ``prepare.process_file``
made of each indexed file, rebuilt from the rows a build wrote (schema 8), on either backend."""

from __future__ import annotations

import json
import zlib
from dataclasses import replace

import numpy as np

from licscan.engine.index import Index
from licscan.engine.prepare import FileResult
from licscan.model import LicenseEvidence

_FILE_COLS = "id, path, lang, license, license_evidence, size, sha1, tokens, lines, names, text, sig"


def _postings(old: Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every posting (file, hash, position) of ``fp`` and ``capped``, sorted by file, hash,
    position: per file, the arrays ``process_file`` made (sorted by hash, then position)."""
    parts = [np.asarray(chunk, np.int64).reshape(-1, 3) for chunk in old.all_postings()]
    a = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
    order = np.lexsort((a[:, 2], a[:, 0], a[:, 1]))
    return a[order, 1], a[order, 0], a[order, 2].astype(np.int32)


class OldIndex:
    """The old index's per-file results, rebuilt on demand."""

    def __init__(self, old: Index) -> None:
        self.vocab = old.vocab()
        self.rows = {r[0]: r for r in old.table_rows("files", _FILE_COLS, "id")}
        self.by_name = {r[1]: fid for fid, r in self.rows.items()}
        self.aliases = {p: f for f, p in old.table_rows("aliases", "file, path")}
        self.pool = {(r[6], r[2]): fid for fid, r in sorted(self.rows.items(), reverse=True)}
        self.f, self.h, self.p = _postings(old)
        self._made: dict[int, FileResult] = {}

    def names_of(self, project: str) -> list[str]:
        """The indexed paths (files and aliases) of a project, in the order a build walks them."""
        got = [n for n in [*self.by_name, *self.aliases] if n.split("/", 1)[0] == project]
        return sorted(got, key=walk_key)

    def sha1(self, name: str) -> str:
        return self.rows[self.by_name.get(name, self.aliases.get(name))][6]

    def result(self, fid: int, name: str) -> FileResult:
        """File ``fid``'s result as ``process_file`` made it, under ``name``."""
        r = self._made.get(fid)
        if r is None:
            _, path, flang, _, _, size, sha1, tokens, lines, names, text, sig = self.rows[fid]
            ids = np.frombuffer(zlib.decompress(tokens), np.uint16)
            u, inv = np.unique(ids, return_inverse=True)
            # process_file's uniq is np.unique of the token strings (sorted as Python sorts
            # str); the ids' order is the vocab's, so sort the few distinct strings again.
            words = [self.vocab[i] for i in u.tolist()]
            order = sorted(range(len(words)), key=words.__getitem__)
            rank = np.empty(len(words), np.int64)
            rank[order] = np.arange(len(words))
            lo, hi = np.searchsorted(self.f, [fid, fid + 1])
            r = self._made[fid] = FileResult(
                name=path, lang=flang, size=size, sha1=sha1, uniq=[words[i] for i in order],
                inverse=rank[inv.reshape(-1)].astype(np.uint32), line_deltas=lines, names=names,
                hashes=self.h[lo:hi], positions=self.p[lo:hi], signature=np.frombuffer(sig, "<u4").astype(np.uint32),
                text=text, fallback=False)
        return r if name == r.name else replace(r, name=name)

    def license(self, name: str) -> tuple[str | None, LicenseEvidence | None]:
        row = self.rows[self.by_name[name]]
        return row[3], LicenseEvidence.from_dict(json.loads(row[4])) if row[4] else None


def walk_key(name: str) -> list[tuple[int, str]]:
    """Sort key of an indexed path in ``files.walk`` order: a directory's files (sorted),
    then its subdirectories (sorted), depth first."""
    parts = name.split("/")
    return [(1, d) for d in parts[:-1]] + [(0, parts[-1])]
