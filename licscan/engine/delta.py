"""Adding projects to an SQLite index in place (issue 13): ``index update`` of roots the
index does not hold yet, without rewriting what they do not change.

A fresh build numbers files by root order then walk order, and vocab ids by first use,
so appended roots only append: old files keep their ids and token streams. What the new
files change, and how it is brought to exactly what a fresh build writes:

- ``files``, ``aliases``, ``vocab``: new rows appended; a file whose content is already
  indexed (or came earlier in the new roots) is an alias, as a build makes it;
- ``fp`` / ``capped``: document frequency of each fingerprint the new files hold (old
  files counted in the index, new ones in memory) and the cap of the new file count
  (``build.df_cap``) decide where its postings go; fingerprints whose frequency or the
  cap moved them across the cap move between the tables with their old postings;
- ``files.family``: families are connected groups, so only the old families that share an
  LSH band bucket with a new file can change; those and the new files are grouped again
  (``prepare.families`` on that subset gives the ids it gives on the whole corpus);
- ``common_names``: counted again from every file's stored names (no per-project counts
  are stored) and the difference written;
- meta: recomposed by ``build.index_meta`` from the old counts plus the new files';
  ``corpus_sha256`` hashed again from the (name, sha1) pairs;
- checksums: the digests of inserted rows are added and of deleted rows subtracted
  (``digests``): nothing is re-read to seal.

The work happens on a copy of the index file, whose packed copy
(``tempfiles.rename_packed``) is renamed over it at the end; any failure removes both and
leaves the old file as it was. Everything else (a replaced or removed project, base code,
PostgreSQL, a license override of a kept project) goes through the rebuild
(``engine/update.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from licscan.engine import build, digests, verify
from licscan.engine.build import BuildSummary
from licscan.engine.index import Index
from licscan.engine.prepare import BuildParams, FileResult, common_names, families, lsh_bands
from licscan.engine.progress import Progress
from licscan.engine.reuse import UpdateSummary, check_params, extra_meta, results_of
from licscan.engine.spill import VOCAB_LIMIT
from licscan.engine.tempfiles import LIVE_TEMPS, atomic_path, rename_packed
from licscan.model import LicenseEvidence

class Changes(dict[str, dict[int, list[int]]]):
    """Per table, the chunk sums to add to its checksums (``digests.merge``), cut by the
    tables' chunk shifts before the update."""

    def __init__(self, tables: dict[str, Any]) -> None:
        super().__init__()
        self.shifts = {t: rec["shift"] for t, rec in tables.items()}


def applies(old: Index, new: Sequence[Path], overrides: dict[str, str], base: Sequence[Any] | None) -> bool:
    """Whether adding ``new`` to ``old`` can be done in place: only roots it does not hold,
    no base code, no license override of a project it keeps."""
    held = {r["name"] for r in old.meta["roots"]}
    names = {r.resolve().name for r in new}
    return bool(new) and not names & held and not old.meta.get("base") and not base and not set(overrides) & held


def add_roots(old: Index, out: Path, new: list[Path], workers: int | None, licenses: bool,
              overrides: dict[str, str], extra: dict[str, Any], progress: bool) -> UpdateSummary:
    """Append the projects ``new`` to the index ``out`` (opened as ``old``), in place."""
    params = check_params(old)
    report = UpdateSummary(BuildSummary(), added=[r.resolve().name for r in new], mode="delta")
    report.generation = int(old.meta.get("generation") or 1) + 1
    tmp = atomic_path(out)
    LIVE_TEMPS.add(tmp)
    try:
        shutil.copyfile(out, tmp)
        db = sqlite3.connect(tmp)
        try:
            # The copy is private until renamed: durability comes from the rename.
            db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
            with Progress(progress) as ui:
                _apply(db, old.meta, params, new, workers or os.cpu_count() or 1, licenses, overrides, extra,
                       report, ui)
            db.commit()
            rename_packed(db, out)
        finally:
            db.close()
    finally:
        tmp.unlink(missing_ok=True)
        LIVE_TEMPS.discard(tmp)
    return report


def _apply(db: sqlite3.Connection, meta: dict[str, Any], params: BuildParams, new: list[Path], workers: int,
           licenses: bool, overrides: dict[str, str], extra: dict[str, Any], report: UpdateSummary,
           ui: Any) -> None:
    summary = report.build
    old_files = db.execute("SELECT id, sha1, lang FROM files ORDER BY id").fetchall()
    nold = len(old_files)
    by_sha = {sha1: fid for fid, sha1, _ in old_files}
    pool = {(sha1, lang): fid for fid, sha1, lang in old_files}
    per_root: dict[Path, list[str]] = {}
    jobs = list(build._jobs(new, params, summary, per_root))
    got = _results(jobs, pool, workers, ui, summary, report)
    added: list[tuple[int, FileResult]] = []
    aliases: list[tuple[int, str]] = []
    names: set[str] = set()
    for job in jobs:  # in walk order, as a build's spill numbers them
        r = got.get(job[1])
        if r is None:
            continue
        names.add(job[1])
        fid = by_sha[r] if isinstance(r, str) else by_sha.get(r.sha1)
        if fid is not None:  # content already indexed, old or earlier in the new roots: a copy
            aliases.append((fid, job[1]))
            continue
        assert isinstance(r, FileResult)
        by_sha[r.sha1] = nold + len(added)
        added.append((nold + len(added), r))
    changes = Changes(meta["integrity"]["tables"])
    license_of = _licenses(meta, new, per_root, names, licenses, overrides, workers, ui, summary)
    ui.add("writing index", None)
    vocab = {t: i for i, t in db.execute("SELECT id, token FROM vocab")}
    nvocab = len(vocab)
    family = _families(db, nold, [r.signature for _, r in added], params, changes)
    rows = []
    for fid, r in added:
        ids = np.fromiter((_token_id(vocab, t) for t in r.uniq), np.int64, len(r.uniq))
        tok = ids[r.inverse].astype(np.uint16)
        spilled = (fid, r.name, r.lang, r.size, r.sha1, len(r.inverse), zlib.compress(tok.tobytes(), 6),
                   r.line_deltas, r.names, r.text)
        rows.append(build._file_row(spilled, int(family[fid]), r.signature, license_of, summary))
    words = sorted(((i, t) for t, i in vocab.items() if i >= nvocab))
    db.executemany("INSERT INTO vocab VALUES (?, ?)", words)
    _add(changes, "vocab", words)
    db.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    _add(changes, "files", db.execute(f"{verify._select('files')} WHERE id >= ?", (nold,)).fetchall())
    db.executemany("INSERT INTO aliases VALUES (?, ?)", aliases)
    _add(changes, "aliases", aliases)
    cap = build.df_cap(params, nold + len(added))
    _postings(db, added, int(meta["df_cap_files"]), cap, changes)
    order = _common_names(db, params, changes)
    _meta(db, meta, params, new, cap, order, len(aliases), extra, report)
    integrity = verify.reseal_meta(db, _seal(db, meta["integrity"]["tables"], changes))
    summary.fingerprints = integrity["tables"]["fp"]["rows"]
    summary.fingerprints_dropped = integrity["tables"]["capped"]["rows"]
    summary.families = len(set(family.tolist()))
    report.reused = summary.files + summary.duplicates - report.fingerprinted


def _results(jobs: list[tuple[str, str, str, BuildParams]], pool: dict[tuple[str, str], int], workers: int,
             ui: Any, summary: BuildSummary, report: UpdateSummary) -> dict[str, FileResult | str]:
    """By name, each new file's result, or its content hash where the index holds that
    (content hash, language): a copy, not tokenized again. Skips counted."""
    return results_of(jobs, lambda _name, sha1, lang: sha1 if (sha1, lang) in pool else None,
                      workers, ui, summary, report)


def _token_id(vocab: dict[str, int], token: str) -> int:
    """``Spill._token_id``: first seen, first numbered; past the limit, the last id."""
    got = vocab.get(token)
    if got is None:
        if len(vocab) > VOCAB_LIMIT:
            return VOCAB_LIMIT
        got = vocab[token] = len(vocab)
    return got


def _add(changes: Changes, table: str, rows: Sequence[tuple] | np.ndarray, sign: int = 1) -> None:
    """Count inserted (``sign`` 1) or deleted (-1) rows of ``table`` into ``changes``."""
    if not len(rows):
        return
    shift = changes.shifts[table]
    sums = digests.array_sums(rows, shift) if isinstance(rows, np.ndarray) else digests.chunk_sums(table, rows, shift)
    digests.merge(changes.setdefault(table, {}), sums, sign)


def _licenses(meta: dict[str, Any], new: list[Path], per_root: dict[Path, list[str]], names: set[str],
              licenses: bool, overrides: dict[str, str], workers: int, ui: Any,
              summary: BuildSummary) -> dict[str, tuple[str | None, LicenseEvidence | None]]:
    """The new files' licenses, detected as the rebuild (``update._licenses``) does for added projects; the
    summary's counts start from the old index's."""
    old = meta.get("summary") or {}
    summary.scancode = bool(old.get("scancode"))
    out: dict[str, Any] = {}
    detect = [r for r in new if r.resolve().name not in overrides] if licenses else []
    if detect:
        out.update(build._detect_licenses(detect, per_root, names, workers, ui, summary))
    for name in names:
        top = name.split("/", 1)[0]
        if top in overrides:
            out[name] = (overrides[top], LicenseEvidence("package-metadata", field="manifest spdx"))
    declared = build._project_licenses(summary.projects, overrides)
    summary.projects = {**(meta.get("projects") or {}), **declared}
    summary.files = int(old.get("files") or 0)
    summary.duplicates = int(old.get("duplicates") or 0)
    summary.licenses = dict(old.get("licenses") or {})
    summary.languages = dict(meta.get("lang_files") or {})
    summary.skipped = dict(Counter(old.get("skipped") or {}) + Counter(summary.skipped))
    summary.skipped_by_root = {**(meta.get("skipped_by_root") or {}), **summary.skipped_by_root}
    return out


def _families(db: sqlite3.Connection, nold: int, sigs: list[np.ndarray], params: BuildParams,
              changes: Changes) -> np.ndarray:
    """Family id per file, old and new; old files whose family changed are rewritten.

    Only the old families that share an LSH band bucket with a new file can join it;
    ``families`` on them and the new files (a union of whole groups, in id order) gives
    the ids it gives on the whole corpus, whose other groups are untouched."""
    stored = db.execute("SELECT family, sig FROM files ORDER BY id").fetchall()
    fam = np.array([f for f, _ in stored] + [-1] * len(sigs), np.int64)
    allsigs = np.frombuffer(b"".join(s for _, s in stored), "<u4").reshape(nold, params.num_perm)
    if sigs:
        allsigs = np.vstack([allsigs, np.asarray(sigs, np.uint32).reshape(len(sigs), params.num_perm)])
    n = len(allsigs)
    hit = np.zeros(n, bool)
    nb, r = lsh_bands(params)
    for band in range(nb if sigs else 0):
        keys = np.ascontiguousarray(allsigs[:, band * r:(band + 1) * r]).view(np.dtype((np.void, 4 * r))).ravel()
        inv = np.unique(keys, return_inverse=True)[1].ravel()
        touched = np.zeros(inv.max() + 1, bool)
        touched[inv[nold:]] = True
        hit |= touched[inv]
    group = np.flatnonzero(np.isin(fam, np.unique(fam[:nold][hit[:nold]])) | (np.arange(n) >= nold))
    fam[group] = group[np.asarray(families(allsigs[group], params), np.int64)]
    olds = group[group < nold]
    moved = olds[fam[olds] != np.array([stored[i][0] for i in olds.tolist()], np.int64)].tolist()
    if moved:
        select = f"{verify._select('files')} WHERE id IN ({','.join(map(str, moved))})"
        _add(changes, "files", db.execute(select).fetchall(), -1)
        db.executemany("UPDATE files SET family = ? WHERE id = ?", ((int(fam[i]), i) for i in moved))
        _add(changes, "files", db.execute(select).fetchall())
    return fam


def _postings(db: sqlite3.Connection, added: list[tuple[int, FileResult]], cap_old: int, cap: int,
              changes: Changes) -> None:
    """The new files' postings into ``fp`` or ``capped`` by the document frequency the index
    and they give each fingerprint; fingerprints the new counts or cap carry across the cap
    move with their old postings."""
    h = np.concatenate([r.hashes for _, r in added]).astype(np.int64) if added else np.zeros(0, np.int64)
    f = np.repeat([fid for fid, _ in added], [len(r.hashes) for _, r in added]).astype(np.int64)
    p = np.concatenate([r.positions for _, r in added]).astype(np.int64) if added else np.zeros(0, np.int64)
    order = np.lexsort((p, f, h))
    h, f, p = h[order], f[order], p[order]
    first = np.r_[True, (h[1:] != h[:-1]) | (f[1:] != f[:-1])] if len(h) else np.zeros(0, bool)
    uh, dn = np.unique(h[first], return_counts=True)
    db.execute("CREATE TEMP TABLE delta_h (h INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO temp.delta_h VALUES (?)", ((x,) for x in uh.tolist()))
    df_old = np.zeros(len(uh), np.int64)
    was_capped = np.zeros(len(uh), bool)
    for table in ("fp", "capped"):
        got = np.array(db.execute(f"SELECT d.h, count(DISTINCT t.f) FROM temp.delta_h d JOIN {table} t "
                                  "ON t.h = d.h GROUP BY d.h").fetchall(), np.int64).reshape(-1, 2)
        at = np.searchsorted(uh, got[:, 0])
        df_old[at] = got[:, 1]
        was_capped[at] = table == "capped"
    now_capped = df_old + dn > cap
    to_capped = uh[now_capped & ~was_capped & (df_old > 0)]
    to_fp = uh[was_capped & ~now_capped]
    if cap > cap_old:  # a bigger corpus lets more through: capped fingerprints the new files lack
        under = np.array(db.execute("SELECT h FROM capped GROUP BY h HAVING count(DISTINCT f) <= ?",
                                    (cap,)).fetchall(), np.int64).reshape(-1)
        to_fp = np.union1d(to_fp, np.setdiff1d(under, uh))
    _move(db, "fp", "capped", to_capped, changes)
    _move(db, "capped", "fp", to_fp, changes)
    keep = ~now_capped[np.searchsorted(uh, h)] if len(h) else np.zeros(0, bool)
    for table, sel in (("fp", keep), ("capped", ~keep)):
        rows = np.stack([h[sel], f[sel], p[sel]], axis=1)
        db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows.tolist())
        _add(changes, table, rows)
    db.execute("DROP TABLE temp.delta_h")


def _move(db: sqlite3.Connection, src: str, dst: str, hashes: np.ndarray, changes: Changes) -> None:
    """Move every posting of ``hashes`` from table ``src`` to ``dst``."""
    if not len(hashes):
        return
    db.execute("CREATE TEMP TABLE delta_m (h INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO temp.delta_m VALUES (?)", ((int(x),) for x in hashes))
    rows = db.execute(f"SELECT t.h, t.f, t.p FROM temp.delta_m m JOIN {src} t ON t.h = m.h "
                      "ORDER BY t.h, t.f, t.p").fetchall()
    db.execute(f"DELETE FROM {src} WHERE h IN (SELECT h FROM temp.delta_m)")
    db.executemany(f"INSERT INTO {dst} VALUES (?, ?, ?)", rows)
    a = np.array(rows, np.int64).reshape(-1, 3)
    _add(changes, src, a, -1)
    _add(changes, dst, a)
    db.execute("DROP TABLE temp.delta_m")


def _common_names(db: sqlite3.Connection, params: BuildParams, changes: Changes) -> list[str]:
    """Count common names again over every file (a project's files are contiguous ids) and
    write the difference; the families' order for meta ``name_families``."""
    names = common_names(db.execute("SELECT path, lang, names FROM files ORDER BY id"), params)
    order = sorted(names)
    codes = {i << 16 | c for i, fam in enumerate(order) for c in names[fam]}
    old = {c for (c,) in db.execute("SELECT code FROM common_names")}
    gone, more = sorted(old - codes), sorted(codes - old)
    db.executemany("DELETE FROM common_names WHERE code = ?", ((c,) for c in gone))
    db.executemany("INSERT INTO common_names VALUES (?)", ((c,) for c in more))
    _add(changes, "common_names", np.array(gone, np.int64).reshape(-1, 1), -1)
    _add(changes, "common_names", np.array(more, np.int64).reshape(-1, 1))
    return order


def _meta(db: sqlite3.Connection, meta: dict[str, Any], params: BuildParams, new: list[Path], cap: int,
          order: list[str], nalias: int, extra: dict[str, Any], report: UpdateSummary) -> None:
    """Meta as a fresh build of the old and new roots composes it, with the update's lineage."""
    summary = report.build
    summary.duplicates += nalias
    corpus = hashlib.sha256()
    for name, sha1 in db.execute("SELECT path, sha1 FROM files UNION ALL SELECT a.path, f.sha1 FROM aliases a "
                                 "JOIN files f ON f.id = a.file ORDER BY 1"):
        corpus.update(f"{name}\0{sha1}\n".encode())
    summary.bytes, summary.tokens = db.execute("SELECT coalesce(sum(size), 0), coalesce(sum(ntokens), 0) "
                                               "FROM files").fetchone()
    roots = [*meta["roots"], *(build._place(r) for r in new)]
    plan = [(r["name"], Path(r["path"]), False) for r in roots]
    lineage = extra_meta(meta, extra, plan, report)
    doc = build.index_meta(params, corpus.hexdigest(), order, cap, roots, [], summary, lineage)
    db.execute("DELETE FROM meta")
    db.executemany("INSERT INTO meta VALUES (?, ?)", ((k, json.dumps(v, sort_keys=True))
                                                      for k, v in doc.items()))


def _seal(db: sqlite3.Connection, tables: dict[str, Any], changes: Changes) -> dict[str, Any]:
    """The tables' integrity records after ``changes``: their digest sums added to the chunks
    they touch, nothing re-read; unless a fingerprint table's size now asks for another
    chunk width (``digests.shift_for``: about once each time it doubles), then it is
    digested again whole, as a build would."""
    out = {}
    for t, rec in tables.items():
        if t not in changes:
            out[t] = rec
            continue
        rows = rec["rows"] + sum(d[0] for d in changes[t].values())
        out[t] = digests.apply(db, t, changes[t], rec) if digests.shift_for(t, rows) == rec["shift"] \
            else verify.seal_table(db, t)
    return out
