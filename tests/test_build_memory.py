"""The bounded-memory build (engine.spill, issue 12 item 3) writes the same index as the
in-memory build it replaced, and its LSH families are datasketch's."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from licscan.engine import build as build_mod
from licscan.engine import spill as spill_mod
from licscan.engine.build import BuildSummary, _jobs, _write, df_cap
from licscan.engine.index import MAGIC, SCHEMA_VERSION, IndexWriter
from licscan.engine.prepare import BuildParams, FileResult, common_names, families, process_file

from conftest import FIXTURES


def _datasketch_families(sigs: list[np.ndarray], params: BuildParams) -> list[int]:
    """The families of the in-memory build (datasketch's MinHashLSH, 9 KB per key)."""
    from datasketch import LeanMinHash, MinHashLSH

    parent = list(range(len(sigs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lsh = MinHashLSH(threshold=params.family_threshold, num_perm=params.num_perm)
    lean = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in sigs]
    with lsh.insertion_session() as session:
        for i, m in enumerate(lean):
            session.insert(i, m, check_duplication=False)
    for i, m in enumerate(lean):
        for j in lsh.query(m):
            if j != i and m.jaccard(lean[j]) >= params.family_threshold:
                parent[root(j)] = root(i)
    return [root(i) for i in range(len(sigs))]


def _reference_write(out: Path, results: list[FileResult], params: BuildParams, base_hashes: np.ndarray,
                     limit: int) -> None:
    """The tables of the in-memory build (every result and posting in numpy arrays), the
    meta keys that do not depend on the machine or the clock."""
    by_sha: dict[str, int] = {}
    aliases, kept = [], []
    for r in results:
        if r.sha1 in by_sha:
            aliases.append((by_sha[r.sha1], r.name))
        else:
            by_sha[r.sha1] = len(kept)
            kept.append(r)
    fam = _datasketch_families([r.signature for r in kept], params)
    h = np.concatenate([r.hashes for r in kept])
    f = np.concatenate([np.full(len(r.hashes), i, np.int64) for i, r in enumerate(kept)])
    p = np.concatenate([r.positions for r in kept])
    uh, df = np.unique(np.unique(h * (len(kept) + 1) + f) // (len(kept) + 1), return_counts=True)
    keep = df[np.searchsorted(uh, h)] <= df_cap(params, len(kept))
    capped = sorted(zip(h[~keep].tolist(), f[~keep].tolist(), p[~keep].tolist()))
    h, f, p = h[keep], f[keep], p[keep]
    order = np.lexsort((p, f, h))
    h, f, p = h[order], f[order], p[order]
    vocab: dict[str, int] = {}
    rows = []
    for i, r in enumerate(kept):
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in r.uniq), np.int64, len(r.uniq))
        tok = np.minimum(ids[r.inverse], limit).astype(np.uint16)
        rows.append((i, r.name, r.lang, None, None, r.size, r.sha1, len(r.inverse), fam[i],
                     zlib.compress(tok.tobytes(), 6), r.line_deltas, r.names, r.text,
                     np.asarray(r.signature, "<u4").tobytes()))
    names = common_names(sorted(((r.name, r.lang, r.names) for r in kept), key=lambda x: x[0].split("/")[0]),
                         params)
    corpus = hashlib.sha256()
    for r in sorted(results, key=lambda r: r.name):
        corpus.update(f"{r.name}\0{r.sha1}\n".encode())
    w = IndexWriter(out)
    w.add_files(rows)
    w.add_aliases(aliases)
    w.add_vocab(sorted(vocab, key=vocab.__getitem__)[:limit + 1])
    w.add_fingerprints(zip(h.tolist(), f.tolist(), p.tolist()))
    w.add_fingerprints(capped, "capped")
    w.add_common(int(x) for x in np.intersect1d(h, base_hashes))
    w.add_common_names(i << 16 | c for i, fam_ in enumerate(sorted(names)) for c in names[fam_])
    w.set_meta({"magic": MAGIC, "schema_version": SCHEMA_VERSION, "corpus_sha256": corpus.hexdigest(),
                "name_families": sorted(names), "df_cap_files": df_cap(params, len(kept)),
                "params": asdict(params)})
    w.commit()


def _tables(path: Path) -> dict[str, object]:
    """Per-table checksums (verify.seal's) and the meta keys both writers set."""
    db = sqlite3.connect(path)
    meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
    db.close()
    keys = ("corpus_sha256", "name_families", "df_cap_files", "params")
    return {"tables": meta["integrity"]["tables"], **{k: meta[k] for k in keys}}


def _corpus(tmp_path: Path) -> list[Path]:
    """Four projects over the fixture code: copies, identical files (aliases), files with
    a line added (near-duplicates: families) and code shared across projects (capped)."""
    src = FIXTURES / "langs"
    roots = [tmp_path / n for n in ("alpha", "beta", "gamma", "delta")]
    shutil.copytree(src / "corpus", roots[0])
    shutil.copytree(src / "copies", roots[1])
    shutil.copytree(src / "corpus", roots[2])
    for i, f in enumerate(sorted(p for p in roots[2].rglob("*") if p.is_file())):
        if i % 2:
            f.write_text(f.read_text() + "\n" + f.read_text().splitlines()[0] + "\n")
    shutil.copytree(src / "copies", roots[3] / "one")
    shutil.copytree(src / "copies", roots[3] / "two")
    return roots


@pytest.mark.parametrize("limit", [0xFFFF, 50], ids=["vocab", "vocab-overflow"])
def test_spilled_write_is_the_in_memory_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    roots = _corpus(tmp_path)
    # A cap of 1 file drops every shared fingerprint; names in 1 file of 2 projects are common.
    params = BuildParams(df_cap=1, df_cap_share=0.0, common_name_files=1, common_name_projects=2)
    results = [r for r in map(process_file, _jobs(roots, params, BuildSummary(), {})) if not isinstance(r, tuple)]
    base_hashes = np.unique(np.concatenate([r.hashes for r in results[:3]]))
    _reference_write(tmp_path / "ref.lsi", results, params, base_hashes, limit)
    # Tiny flushes: postings of a hash come from many flushes, and partitions from each.
    monkeypatch.setattr(spill_mod, "FLUSH_POSTINGS", 37)
    monkeypatch.setattr(spill_mod, "VOCAB_LIMIT", limit)
    summary = BuildSummary()
    _write(tmp_path / "new.lsi", roots, iter(results), {}, params, summary, base_hashes=base_hashes)
    ref, new = _tables(tmp_path / "ref.lsi"), _tables(tmp_path / "new.lsi")
    assert new == ref
    # The corpus exercises what it must: aliases, families, the cap, common fingerprints and names.
    db = sqlite3.connect(tmp_path / "new.lsi")
    assert summary.duplicates > 0 and summary.fingerprints_dropped > 0 and summary.base_common > 0
    assert db.execute("SELECT count(DISTINCT family) < count(*) FROM files").fetchone()[0]
    assert db.execute("SELECT count(*) FROM common_names").fetchone()[0] > 0
    assert (db.execute("SELECT count(*) FROM vocab").fetchone()[0] == limit + 1) == (limit == 50)
    db.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "spill left behind"


def test_build_spills_and_cleans_up(tmp_path: Path) -> None:
    """build_index (the pool, the spill) gives the reference tables too."""
    roots = _corpus(tmp_path)
    params = BuildParams(df_cap=1, df_cap_share=0.0)
    results = [r for r in map(process_file, _jobs(roots, params, BuildSummary(), {})) if not isinstance(r, tuple)]
    _reference_write(tmp_path / "ref.lsi", results, params, np.zeros(0, np.int64), 0xFFFF)
    build_mod.build_index(roots, tmp_path / "new.lsi", workers=2, params=params, licenses=False)
    assert _tables(tmp_path / "new.lsi") == _tables(tmp_path / "ref.lsi")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".lsi" or p.name.startswith(".")) == \
        ["new.lsi", "ref.lsi"]


def _signatures(rng: np.random.Generator, n: int, num_perm: int) -> list[np.ndarray]:
    """Random signatures, and near-duplicates of some: a few values changed, so some
    share a band and pass the threshold, some share a band and fail it."""
    sigs = [rng.integers(0, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32) for _ in range(n)]
    for _ in range(n):
        s = sigs[int(rng.integers(len(sigs)))].copy()
        changed = rng.choice(num_perm, int(rng.integers(0, num_perm // 2)), replace=False)
        s[changed] = rng.integers(0, 1 << 32, len(changed), dtype=np.uint64)
        sigs.append(s)
    # Small alphabets make chance band collisions (candidates that fail the check).
    sigs += [rng.integers(0, 3, num_perm).astype(np.uint32) for _ in range(n // 4)]
    order = rng.permutation(len(sigs))
    return [sigs[i] for i in order]


@pytest.mark.parametrize("seed", range(6))
def test_families_are_datasketchs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = BuildParams()
    sigs = _signatures(rng, 150, params.num_perm)
    want = _datasketch_families(sigs, params)
    assert len(set(want)) < len(sigs) - 20  # near-duplicates were found: the test can fail
    assert families(np.asarray(sigs), params) == want
    assert families(sigs[:1], params) == [0] and families(np.zeros((0, params.num_perm), np.uint32), params) == []


def test_lsh_bands_are_datasketchs() -> None:
    from datasketch import MinHashLSH

    from licscan.engine.prepare import LSH_BANDS, lsh_bands

    for (threshold, num_perm), bands in LSH_BANDS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert bands == (lsh.b, lsh.r) == lsh_bands(BuildParams(family_threshold=threshold, num_perm=num_perm))
        assert lsh.hashranges == [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]


def test_families_threshold_and_width() -> None:
    rng = np.random.default_rng(7)
    for params in (BuildParams(family_threshold=0.5, num_perm=32), BuildParams(family_threshold=0.9, num_perm=128)):
        sigs = _signatures(rng, 80, params.num_perm)
        assert families(sigs, params) == _datasketch_families(sigs, params)


def test_common_names_refuses_a_project_split() -> None:
    blob = zlib.compress(np.asarray([1, 2], np.uint16).tobytes())
    with pytest.raises(ValueError, match="not together"):
        common_names([("a/x.c", "c", blob), ("b/y.c", "c", blob), ("a/z.c", "c", blob)], BuildParams())


def test_recent_drops_the_least_recently_used_past_its_limit() -> None:
    from licscan.engine.stream import Recent

    r: Recent[int, list[int]] = Recent(10)
    r.put(1, [0] * 4)
    r.put(2, [0] * 4)
    assert r.get(1) is not None  # 1 is now the most recent: 2 goes first
    r.put(3, [0] * 4)
    assert r.get(2) is None and r.get(1) is not None and r.get(3) is not None and r.size == 8
    r.put(4, [0] * 50)  # longer than the limit alone: kept, the rest dropped
    assert list(r.items) == [4] and r.size == 50
