"""The index file: refused when corrupt or foreign, written atomically, readable during builds."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from licscan.engine.build import build_index
from licscan.engine.index import SCHEMA_VERSION, open_index, verify_index
from licscan.model import LicscanError

from conftest import FIXTURES, vacuumed_size, write


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LicscanError, match="index not found"):
        open_index(tmp_path / "nope.lsi")


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, b"SQLite format 3\0" + b"\x07" * 5000])
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.lsi"
    p.write_bytes(content)
    with pytest.raises(LicscanError):
        open_index(p)


def test_truncated_index_is_refused(core_index: Path, tmp_path: Path) -> None:
    p = tmp_path / "cut.lsi"
    data = core_index.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(LicscanError, match="corrupt|not a licscan"):
        idx = open_index(p)
        from licscan.engine.matcher import Matcher

        src = (FIXTURES / "langs" / "corpus" / "c").glob("*.c")
        Matcher(idx).scan_text(next(src).read_text(), "c")


def test_foreign_sqlite_and_wrong_schema_are_refused(core_index: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.lsi"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(LicscanError, match="corrupt|not a licscan"):
        open_index(foreign)
    old = tmp_path / "old.lsi"
    old.write_bytes(core_index.read_bytes())
    with sqlite3.connect(old) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(LicscanError, match="schema version"):
        open_index(old)


def test_grammar_mismatch_is_refused(core_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The installed grammar differs from the index's (editing the index's meta instead
    # would now be refused as tampering, before any grammar is compared).
    import licscan.languages

    monkeypatch.setattr(licscan.languages, "grammar_signature", lambda lang: "abi0:kinds1:fields1")
    from licscan.engine.matcher import Matcher

    with pytest.raises(LicscanError, match="rebuild the index"):
        Matcher(open_index(core_index)).scan_text("int main(void) { return 0; }\n" * 20, "c")


def test_index_records_build_parameters_and_corpus(core_index: Path) -> None:
    idx = open_index(core_index)
    assert idx.params["k"] > 0 and idx.params["w"] > 0
    assert len(idx.meta["corpus_sha256"]) == 64
    assert idx.meta["grammars"]["tree-sitter-c"] != "missing"
    stats = idx.stats()
    assert stats["files"] >= 12 and stats["fingerprints"] > 0
    assert "c" in stats["languages"] and "bash" in stats["languages"]


def synthetic_c(files: int, seed: int = 7) -> dict[str, str]:
    """C files of random expressions (normalized, they must not repeat, or the cap drops
    them): enough postings for the b-tree pages to split."""
    rnd = random.Random(seed)

    def expr(depth: int) -> str:
        if depth == 0 or rnd.random() < 0.3:
            return rnd.choice(["x", "y", "z", str(rnd.randrange(9))])
        kind = rnd.randrange(4)
        if kind == 0:
            return f"({expr(depth - 1)} {rnd.choice('+-*/%&|^')} {expr(depth - 1)})"
        if kind == 1:
            return f"g({', '.join(expr(depth - 1) for _ in range(rnd.randrange(1, 4)))})"
        if kind == 2:
            return f"a[{expr(depth - 1)}]"
        return f"!{expr(depth - 1)}"

    def stmt() -> str:
        return rnd.choice([f"  x = {expr(3)};", f"  if ({expr(2)}) y = {expr(2)};", f"  while ({expr(2)}) z--;"])
    return {f"f{i}.c": "\n".join(f"int fn{j}(int x, int y, int z)\n{{\n" + "\n".join(stmt() for _ in range(8))
                                 + "\n  return x;\n}" for j in range(40)) + "\n" for i in range(files)}


def test_built_index_has_full_pages(tmp_path: Path) -> None:
    out = tmp_path / "x.lsi"
    build_index([write(tmp_path / "proj", synthetic_c(12))], out, workers=1, licenses=False)
    assert open_index(out).stats()["fingerprints"] > 5000
    assert out.stat().st_size == vacuumed_size(out, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "x.lsi", "x.lsi.vacuumed"]  # no temp left
    assert list(verify_index(out))  # raises on the first table that fails


def test_an_old_sqlite_writes_the_index_unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("licscan.engine.tempfiles.sqlite3.sqlite_version_info", (3, 26, 0))  # no VACUUM INTO
    out = tmp_path / "x.lsi"
    build_index([write(tmp_path / "proj", synthetic_c(12))], out, workers=1, licenses=False)
    monkeypatch.undo()
    assert out.stat().st_size > vacuumed_size(out, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj", "x.lsi", "x.lsi.vacuumed"]
    assert list(verify_index(out))


def test_update_in_place_packs_again(tmp_path: Path) -> None:
    from licscan.engine.update import update_index

    out = tmp_path / "x.lsi"
    build_index([write(tmp_path / "a", synthetic_c(12))], out, workers=1, licenses=False)
    got = update_index(out, [write(tmp_path / "b", synthetic_c(4, seed=8))], workers=1, licenses=False)
    # rows inserted into full pages split them: without packing again the file grows past both
    assert got.mode == "delta" and out.stat().st_size == vacuumed_size(out, tmp_path)
    assert list(verify_index(out))


def test_failed_build_leaves_previous_index_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write(tmp_path / "proj", {"a.py": "def f(x):\n    return [i * x for i in range(10)]\n" * 5})
    out = tmp_path / "x.lsi"
    build_index([corpus], out, workers=1, licenses=False)
    before = out.read_bytes()

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    # failing while writing the rows, then while packing them
    for target in ("licscan.engine.index.IndexWriter.add_fingerprints", "licscan.engine.tempfiles.os.fsync"):
        with monkeypatch.context() as mp:
            mp.setattr(target, boom)
            with pytest.raises(RuntimeError):
                build_index([corpus], out, workers=1, licenses=False)
        assert out.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    open_index(out)


def test_scans_read_an_index_while_it_is_being_rebuilt(core_index: Path, tmp_path: Path) -> None:
    from licscan.engine.matcher import Matcher

    out = tmp_path / "live.lsi"
    out.write_bytes(core_index.read_bytes())
    reader = Matcher(open_index(out))
    src = next((FIXTURES / "langs" / "corpus" / "c").glob("*.c")).read_text()
    assert reader.scan_text(src, "c")
    build_index([FIXTURES / "langs" / "corpus"], out, workers=1, licenses=False)
    assert reader.scan_text(src, "c")  # the old file stays readable through its open handle
    assert Matcher(open_index(out)).scan_text(src, "c")


def test_identical_files_are_stored_once(tmp_path: Path) -> None:
    code = (FIXTURES / "langs" / "corpus" / "python").glob("*.py")
    text = next(code).read_text()
    corpus = write(tmp_path / "dup", {"a/x.py": text, "b/y.py": text})
    out = tmp_path / "d.lsi"
    s = build_index([corpus], out, workers=1, licenses=False)
    assert s.files == 1 and s.duplicates == 1
    from licscan.engine.matcher import Matcher

    found = Matcher(open_index(out)).scan_text(text, "python")
    assert found and {found[0].source.path, *found[0].evidence.also_in} == {"dup/a/x.py", "dup/b/y.py"}


def test_source_text_comes_from_the_tree_or_the_index(tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "proj"
    shutil.copytree(FIXTURES / "langs" / "corpus" / "c", tree)
    name = next(tree.glob("*.c")).name
    lean, full = tmp_path / "lean.lsi", tmp_path / "full.lsi"
    build_index([tree], lean, workers=1, licenses=False)
    from licscan.engine.build import BuildParams

    build_index([tree], full, workers=1, licenses=False, params=BuildParams(store_text=True))
    stored = "SELECT count(text) FROM files"
    assert open_index(lean).db.execute(stored).fetchone()[0] == 0
    assert open_index(full).db.execute(stored).fetchone()[0] == 1
    original = (tree / name).read_text()
    assert open_index(lean).text(0) == original  # read from the tree
    (tree / name).write_text(original + "\n/* edited after the build */\n")
    assert open_index(lean).text(0) is None  # changed since the build: not shown as evidence
    shutil.rmtree(tree)
    assert open_index(lean).text(0) is None
    assert open_index(full).text(0) == original  # stored in the index
