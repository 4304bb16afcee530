"""Incremental updates (engine/update.py, `licscan index update|remove`): an update or a
removal gives exactly the index a fresh build of the same corpus gives (findings and every
table), on SQLite and PostgreSQL; only new content is fingerprinted; errors are one line;
a failed update leaves the old index as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import FIXTURES
from licscan.engine import prepare, readback, reuse, update, verify
from licscan.engine.build import build_index
from licscan.engine.index import Index, open_index, verify_index
from licscan.engine.prepare import BuildParams
from licscan.engine.stores import open_store
from licscan.engine.readback import walk_key
from licscan.engine.update import remove_projects, update_index
from licscan.files import walk
from licscan.model import LicscanError
from test_pgstore import _findings, cli

CORPUS = FIXTURES / "langs" / "corpus"
LINEAGE = {"built_at", "generation", "parent_corpus_sha256", "integrity"}
"""Meta keys that differ between an update and a fresh build of the same corpus."""


def _project(root: Path, name: str, files: dict[str, str]) -> Path:
    """A project directory ``name`` holding fixture files (``rel -> language dir``) or text."""
    d = root / name
    for rel, src in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if src.startswith("="):
            p.write_text(src[1:])
        else:
            shutil.copy(next((CORPUS / src).iterdir()), p)
    return d


@pytest.fixture()
def projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """alpha, beta, gamma, and beta2 (beta with one file changed, one added, one deleted).
    gamma vendors a copy of a beta file (an alias); beta has skipped files."""
    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    src = tmp_path / "src"
    alpha = _project(src, "alpha", {"rle.c": "c", "huff.cpp": "cpp", "util/lru.go": "go", "run.sh": "bash",
                                    "COPYING": "=GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n"})
    beta_files = {"calc.py": "python", "lib/Bloom.java": "java", "lib/names.rb": "ruby", "b64.rs": "rust",
                  "tiny.c": "=int x;\n", "notes.txt": "=not code\n", "LICENSE": "=GNU LESSER GENERAL PUBLIC "
                  "LICENSE\nVersion 2.1, February 1999\n"}
    beta = _project(src, "beta", beta_files)
    gamma = _project(src, "gamma", {"fuzzy.js": "javascript", "chrono.ts": "typescript", "press.php": "php",
                                    "Way.cs": "csharp", "vendor/b64.rs": "rust"})
    b2 = _project(tmp_path / "v2", "beta", {k: v for k, v in beta_files.items() if k != "lib/names.rb"})
    with (b2 / "calc.py").open("a") as fh:
        fh.write("\n\ndef added_later(values, scale):\n    total = 0\n    for v in values:\n"
                 "        total += v * scale if v > 0 else -v\n    return total / max(1, len(values))\n")
    (b2 / "lib" / "cache.go").write_text(next((CORPUS / "go").iterdir()).read_text().replace(
        "package ", "// a new file\npackage ", 1) + "\nfunc addedLater(n int) int {\n\treturn n*n + 3*n - 7\n}\n")
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "beta2": b2}


def _build(roots: list[Path], out: Path) -> Path:
    build_index(roots, out, workers=1)
    return out


def _tables(index: Any) -> dict[str, Any]:
    """Every row of every table (meta without its lineage keys, the checksum record as its
    per-table digests), from either backend."""
    idx = open_store(index)
    try:
        pg = hasattr(idx, "schema")
        q = idx._query if pg else (lambda sql: idx._query(sql.replace("{s}.", "")))
        out: dict[str, Any] = {"meta": {k: v for k, v in idx.meta.items() if k not in LINEAGE},
                               "integrity": idx.meta["integrity"]["tables"]}
        for table, key in (("vocab", "id"), ("files", "id"), ("aliases", "file, path"), ("capped", "h, f, p"),
                           ("common", "h"), ("common_names", "code")):
            out[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                          for r in q(f"SELECT * FROM {{s}}.{table} ORDER BY {key}")]
        if pg:  # tokens as UTF-8 bytes, postings packed per fingerprint: as SQLite holds them
            out["vocab"] = [(i, bytes(t).decode()) for i, t in out["vocab"]]
            out["fp"] = sorted((h, *pair) for h, _, blob in q("SELECT h, n, postings FROM {s}.fp")
                               for pair in np.frombuffer(bytes(blob), "<i4").reshape(-1, 2).tolist())
        else:
            out["fp"] = q("SELECT h, f, p FROM fp ORDER BY h, f, p")
        return out
    finally:
        idx.close()


def _assert_same(updated: Any, fresh: Any) -> None:
    a, b = _tables(updated), _tables(fresh)
    assert a["files"] and a["fp"]
    for table in b:
        assert a[table] == b[table], table
    assert _findings(updated) == _findings(fresh)


def _count_fingerprinted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = prepare.process_file

    def counting(job):  # type: ignore[no-untyped-def]
        seen.append(job[1])
        return real(job)

    monkeypatch.setattr("licscan.engine.reuse.process_file", counting)  # both update paths
    monkeypatch.setattr("licscan.engine.build.process_file", counting)
    return seen


def test_walk_key_is_the_walk_order(tmp_path: Path) -> None:
    for rel in ("b.c", "a/z.c", "a/b/c.c", "a.c", "ab/x", "a-b/y", "Z.c", "a/b.c"):
        (tmp_path / "r" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "r" / rel).write_text("x")
    walked = [p.relative_to(tmp_path).as_posix() for p in walk(tmp_path / "r")]
    assert sorted(walked, key=walk_key) == walked


def test_update_add_replace_remove_equal_fresh_builds(projects: dict[str, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c, b2 = projects["alpha"], projects["beta"], projects["gamma"], projects["beta2"]
    idx = _build([a, b], tmp_path / "idx.lsi")
    parent = open_index(idx).meta
    assert parent["generation"] == 1 and parent["parent_corpus_sha256"] is None
    seen = _count_fingerprinted(monkeypatch)

    got = update_index(idx, [c], workers=1)
    assert (got.added, got.replaced, got.generation, got.mode) == (["gamma"], [], 2, "delta")
    # gamma's vendored copy of beta's b64.rs is known content: read back, not fingerprinted
    assert sorted(seen) == ["gamma/Way.cs", "gamma/chrono.ts", "gamma/fuzzy.js", "gamma/press.php"]
    assert got.fingerprinted == 4 and got.reused == 9
    fresh_abc = _build([a, b, c], tmp_path / "abc.lsi")
    _assert_same(idx, fresh_abc)
    meta = open_index(idx).meta
    assert meta["generation"] == 2 and meta["parent_corpus_sha256"] == parent["corpus_sha256"]
    assert meta["corpus_sha256"] == open_index(fresh_abc).meta["corpus_sha256"] != parent["corpus_sha256"]

    seen.clear()
    got = update_index(idx, [b2], workers=1)
    assert (got.added, got.replaced, got.generation) == ([], ["beta"], 3)
    # the changed and the added file; tiny.c too: what a build skipped is not stored, so is tried again
    assert sorted(seen) == ["beta/calc.py", "beta/lib/cache.go", "beta/tiny.c"]
    assert got.fingerprinted == 2 and got.reused == 11
    _assert_same(idx, _build([a, b2, c], tmp_path / "ab2c.lsi"))
    assert "beta/lib/names.rb" not in {r[0] for r in open_index(idx).db.execute("SELECT path FROM files")}

    seen.clear()
    got = remove_projects(idx, ["gamma"], workers=1)
    assert (got.removed, got.generation, got.fingerprinted, seen) == (["gamma"], 4, 0, [])
    _assert_same(idx, _build([a, b2], tmp_path / "ab2.lsi"))


def test_removing_the_first_copy_promotes_the_next(projects: dict[str, Path], tmp_path: Path) -> None:
    a, b, c = projects["alpha"], projects["beta"], projects["gamma"]
    idx = _build([a, b, c], tmp_path / "idx.lsi")
    assert open_index(idx).db.execute("SELECT path FROM aliases").fetchall() == [("gamma/vendor/b64.rs",)]
    remove_projects(idx, ["beta"], workers=1)
    _assert_same(idx, _build([a, c], tmp_path / "ac.lsi"))
    # the copy's tree gone: it cannot be read back
    idx2 = _build([a, b, c], tmp_path / "idx2.lsi")
    shutil.rmtree(c / "vendor")
    with pytest.raises(LicscanError, match="gamma/vendor/b64.rs"):
        remove_projects(idx2, ["beta"], workers=1)


def test_a_rebuild_reads_the_old_files_a_batch_at_a_time(projects: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = projects["alpha"], projects["beta"], projects["gamma"]
    idx = _build([a, b, c], tmp_path / "idx.lsi")
    kept = len(open_index(idx).db.execute("SELECT id FROM files WHERE path NOT LIKE 'alpha/%'").fetchall())
    monkeypatch.setattr(readback, "BLOB_BATCH", 2)
    reads: list[int] = []
    real = Index.table_rows

    def counted(self: Index, table: str, columns: str, order: str = "", where: str = "") -> list[tuple]:
        rows = real(self, table, columns, order, where)
        if table == "files" and "tokens" in columns:
            reads.append(len(rows))
        return rows

    monkeypatch.setattr(Index, "table_rows", counted)
    remove_projects(idx, ["alpha"], workers=1)  # gamma's vendored b64.rs: beta's, read again alone
    _assert_same(idx, _build([b, c], tmp_path / "bc.lsi"))
    assert max(reads) <= 2 and kept <= sum(reads) <= kept + 2, reads


def test_update_on_postgresql_equals_fresh_builds(pg_server, projects: dict[str, Path],  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    from licscan.engine.pgload import build_into

    a, b, c, b2 = projects["alpha"], projects["beta"], projects["gamma"], projects["beta2"]
    uri = pg_server.createdb("upd")
    build_into(uri, lambda dest: build_index([a, b], dest, workers=1))
    assert update_index(uri, [c], workers=1).generation == 2
    fresh = pg_server.createdb("upd_fresh")
    build_into(fresh, lambda dest: build_index([a, b, c], dest, workers=1))
    _assert_same(uri, fresh)
    _assert_same(uri, _build([a, b, c], tmp_path / "abc.lsi"))  # and the same rows as SQLite
    assert update_index(uri, [b2], workers=1).generation == 3
    _assert_same(uri, _build([a, b2, c], tmp_path / "ab2c.lsi"))
    got = remove_projects(uri, ["gamma"], workers=1)
    assert got.generation == 4 and open_store(uri).generation == 4  # type: ignore[attr-defined]
    _assert_same(uri, _build([a, b2], tmp_path / "ab2.lsi"))
    findings = _findings(uri)
    # another update became current meanwhile: refused, not overwritten
    with pytest.raises(LicscanError, match="changed during the update"):
        build_into(uri, lambda dest: build_index([a], dest, workers=1), expect=3)
    with pytest.MonkeyPatch.context() as mp:  # a failure midway leaves the current generation
        mp.setattr("licscan.engine.index.IndexWriter.add_common_names", lambda *a: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            update_index(uri, [c], workers=1)
    assert open_store(uri).generation == 4 and _findings(uri) == findings  # type: ignore[attr-defined]


def test_cli_update_remove_info(projects: dict[str, Path], tmp_path: Path) -> None:
    a, b, c = projects["alpha"], projects["beta"], projects["gamma"]
    idx = str(tmp_path / "idx.lsi")
    env = {"LICSCAN_LICENSE_ENGINE": "light"}
    assert cli("index", "build", "--out", idx, "--workers", "1", str(a), str(b), env=env).returncode == 0
    info = lambda: json.loads(cli("index", "info", "--format", "json", idx).stdout)  # noqa: E731
    first = info()
    assert first["generation"] == 1 and first["corpus_sha256"]
    r = cli("index", "update", idx, str(c), "--workers", "1", env=env)
    assert r.returncode == 0, r.stderr
    assert "generation 2" in r.stderr and "added gamma" in r.stderr and "4 fingerprinted" in r.stderr
    doc = info()
    assert doc["generation"] == 2 and doc["corpus_sha256"] != first["corpus_sha256"]
    assert "generation: 2" in cli("index", "info", idx).stdout
    r = cli("index", "remove", idx, "gamma")
    assert r.returncode == 0, r.stderr
    assert info()["generation"] == 3 and info()["corpus_sha256"] == first["corpus_sha256"]
    for args, msg in ((["remove", idx, "nosuch"], "no project 'nosuch'"),
                      (["remove", idx, "alpha", "beta"], "would leave"),
                      (["update", idx, str(tmp_path / "missing")], "corpus root not found")):
        r = cli("index", *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and msg in r.stderr, r.stderr
    assert info()["generation"] == 3  # refusals change nothing


def test_refuses_other_parameters_and_full_vocab(projects: dict[str, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    idx = tmp_path / "k.lsi"
    build_index([projects["alpha"]], idx, workers=1, params=BuildParams(df_cap=30))
    r = cli("index", "update", str(idx), str(projects["gamma"]))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "df_cap" in r.stderr, r.stderr
    ok = _build([projects["alpha"]], tmp_path / "ok.lsi")
    monkeypatch.setattr(reuse, "VOCAB_LIMIT", 3)
    with pytest.raises(LicscanError, match="full vocabulary"):
        update_index(ok, [projects["gamma"]], workers=1)


def test_failed_update_leaves_the_old_index(projects: dict[str, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _build([projects["alpha"], projects["beta"]], tmp_path / "idx.lsi")
    before = idx.read_bytes()
    reader = open_index(idx)  # a reader that opened the old generation
    findings = _findings(idx)

    def broken(*args: Any, **kw: Any) -> None:
        raise RuntimeError("disk full")

    # the in-place path (an added root) fails late, after writing into its copy; the rebuild
    # (a replaced root) fails while writing its new file
    for target, root in (("licscan.engine.delta._seal", projects["gamma"]),
                         ("licscan.engine.index.IndexWriter.add_common_names", projects["beta2"]),
                         ("licscan.engine.tempfiles.os.fsync", projects["gamma"]),  # while packing
                         ("licscan.engine.tempfiles.os.fsync", projects["beta2"])):
        with monkeypatch.context() as mp:
            mp.setattr(target, broken)
            with pytest.raises(RuntimeError, match="disk full"):
                update_index(idx, [root], workers=1)
        assert idx.read_bytes() == before and _findings(idx) == findings
        assert sorted(p.name for p in tmp_path.iterdir()) == ["idx.lsi", "src", "v2"]  # no temp left
    update_index(idx, [projects["gamma"]], workers=1)
    assert reader.meta["generation"] == 1 and reader.stats()["files"] == len(
        reader.db.execute("SELECT id FROM files").fetchall())  # still reads the old file
    assert open_index(idx).meta["generation"] == 2


def test_update_with_text_base_and_a_file_root(projects: dict[str, Path], tmp_path: Path) -> None:
    """An index with stored text, base code and a root that is one file: the update still
    equals the fresh build (text blobs read back, base trees hashed again)."""
    a, b, c = projects["alpha"], projects["beta"], projects["gamma"]
    one = tmp_path / "src" / "single.py"
    one.write_text((next((CORPUS / "python").iterdir())).read_text().replace("def ", "def one_", 3))
    params = BuildParams(store_text=True)
    idx = tmp_path / "idx.lsi"
    build_index([a, one], idx, workers=1, params=params, base=[c / "vendor"])
    got = update_index(idx, [b], workers=1)
    assert got.added == ["beta"] and open_index(idx).meta["params"]["store_text"] is True
    fresh = tmp_path / "fresh.lsi"
    build_index([a, one, b], fresh, workers=1, params=params, base=[c / "vendor"])
    _assert_same(idx, fresh)
    assert open_index(idx).db.execute("SELECT count(*) FROM common").fetchone()[0] > 0  # base code counted
    shutil.rmtree(c / "vendor")
    with pytest.raises(LicscanError, match="base tree .* is gone"):
        remove_projects(idx, ["beta"], workers=1)
    remove_projects(idx, ["beta"], workers=1, base=[])  # --base overrides the recorded trees
    assert open_index(idx).meta["base"] == []


def _variant(lang: str, n: int) -> str:
    """A fixture file of ``lang`` with a small function appended: a near-copy (same family,
    most fingerprints shared) with content of its own."""
    text = next((CORPUS / lang).iterdir()).read_text()
    body = {"c": f"\nint variant_{n}(int a, int b) {{\n    int s = 0;\n    for (int i = 0; i < a + {n}; i++) "
                 f"s += b * i - {n};\n    return s;\n}}\n",
            "python": f"\n\ndef variant_{n}(a, b):\n    s = 0\n    for i in range(a + {n}):\n"
                      f"        s += b * i - {n}\n    return s\n",
            "go": f"\nfunc variant{n}(a int, b int) int {{\n\ts := 0\n\tfor i := 0; i < a+{n}; i++ {{\n"
                  f"\t\ts += b*i - {n}\n\t}}\n\treturn s\n}}\n"}[lang]
    return "=" + text + body


def test_added_root_moves_the_cap_joins_a_family_and_aliases_copies(projects: dict[str, Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-place path where a new root changes what the whole corpus decides: the cap
    grows (postings leave ``capped``), new copies push fingerprints over it (postings enter
    ``capped``), a new file joins an old family, and a known file becomes an alias."""
    from functools import partial

    params = BuildParams(df_cap=2, df_cap_share=0.2)  # the cap moves at 15 files, not 9,600
    monkeypatch.setattr(reuse, "BuildParams", partial(BuildParams, df_cap=2, df_cap_share=0.2))
    src = tmp_path / "cap"
    one = _project(src, "one", {"rle.c": "c", "calc.py": "python", "lru.go": "go", "Bloom.java": "java",
                                "b64.rs": "rust"})
    two = _project(src, "two", {"rle_v.c": _variant("c", 1), "calc_v.py": _variant("python", 1),
                                "lru_v.go": _variant("go", 1), "lru_w.go": _variant("go", 2),
                                "fuzzy.js": "javascript", "chrono.ts": "typescript"})
    three = _project(src, "three", {"rle_w.c": _variant("c", 3), "rle_x.c": _variant("c", 4),
                                    "calc_w.py": _variant("python", 3), "press.php": "php", "copy/b64.rs": "rust"})
    idx = tmp_path / "idx.lsi"
    build_index([one, two], idx, workers=1, params=params)

    def postings(table: str) -> set[int]:
        return {h for (h,) in open_index(idx).db.execute(f"SELECT DISTINCT h FROM {table}")}

    before = open_index(idx)
    fp0, capped0 = postings("fp"), postings("capped")
    families0 = dict(before.db.execute("SELECT path, family FROM files").fetchall())
    assert before.meta["df_cap_files"] == 2 and capped0
    got = update_index(idx, [three], workers=1)
    assert got.mode == "delta" and got.fingerprinted == 4
    after = open_index(idx)
    assert after.meta["df_cap_files"] == 3
    fp1, capped1 = postings("fp"), postings("capped")
    assert capped0 & fp1, "the bigger cap lets capped fingerprints back into fp"
    assert fp0 & capped1, "new copies push fingerprints over the cap"
    fam = dict(after.db.execute("SELECT path, family FROM files").fetchall())
    assert fam["three/rle_w.c"] == families0["one/rle.c"] == fam["one/rle.c"]
    assert ("three/copy/b64.rs",) in after.db.execute("SELECT path FROM aliases").fetchall()
    fresh = tmp_path / "fresh.lsi"
    build_index([one, two, three], fresh, workers=1, params=params)
    _assert_same(idx, fresh)
    assert [line for line in verify_index(idx)][-1].startswith("checksums:")


def _c_functions(seed: int, n: int) -> str:
    """``n`` small C functions of operators drawn with ``seed``: code of its own, to make
    two variants of one file unlike each other."""
    import random

    r = random.Random(seed)
    ops = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"]
    out = []
    for k in range(n):
        o = [r.choice(ops) for _ in range(6)]
        out.append(f"static int g{seed}_{k}(int a, int b, int c) {{\n    int x = a {o[0]} b {o[1]} c;\n"
                   f"    if (x {o[2]} 3) x = x {o[3]} a;\n    return x {o[4]} b {o[5]} c;\n}}\n")
    return "\n".join(out)


def test_added_file_that_bridges_two_families_renumbers_the_old_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Two variants of a file too unlike to be one family, and a new file like both: the
    families merge, and the old file whose family id changes is rewritten in place."""
    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    base = next((CORPUS / "c").iterdir()).read_text()
    src = tmp_path / "src"
    left = _project(src, "left", {"rle.c": "=" + base + _c_functions(1, 5), "calc.py": "python"})
    right = _project(src, "right", {"rle.c": "=" + base + _c_functions(3, 5), "lru.go": "go"})
    mid = _project(src, "mid", {"rle.c": "c"})
    idx = _build([left, right], tmp_path / "idx.lsi")
    fam0 = dict(open_index(idx).db.execute("SELECT path, family FROM files").fetchall())
    assert fam0["left/rle.c"] != fam0["right/rle.c"]
    assert update_index(idx, [mid], workers=1).mode == "delta"
    fam = dict(open_index(idx).db.execute("SELECT path, family FROM files").fetchall())
    assert fam["left/rle.c"] == fam["right/rle.c"] == fam["mid/rle.c"] != fam0["left/rle.c"]
    _assert_same(idx, _build([left, right, mid], tmp_path / "fresh.lsi"))


def test_in_place_update_that_doubles_a_table_cuts_its_chunks_as_a_build(projects: dict[str, Path], tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A fingerprint table's chunk width follows its size: an update that changes the width
    digests that table again whole, and its record equals the fresh build's."""
    from licscan.engine import digests

    monkeypatch.setattr(digests, "TARGET_ROWS", 8)
    a, b, c = projects["alpha"], projects["beta"], projects["gamma"]
    idx = _build([a], tmp_path / "idx.lsi")
    shift = lambda: open_index(idx).meta["integrity"]["tables"]["fp"]["shift"]  # noqa: E731
    before = shift()
    resealed: list[str] = []
    real = verify.seal_table
    monkeypatch.setattr(verify, "seal_table", lambda db, t: resealed.append(t) or real(db, t))
    assert update_index(idx, [b, c], workers=1).mode == "delta"
    assert shift() != before and "fp" in resealed
    monkeypatch.setattr(verify, "seal_table", real)
    _assert_same(idx, _build([a, b, c], tmp_path / "fresh.lsi"))
