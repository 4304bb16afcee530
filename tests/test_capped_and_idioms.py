"""Two rules for a growing index (issue 12, bench/RESULTS.md "capped anchors and recurring idioms").

- A short edited copy whose fingerprints unrelated projects lift over the boilerplate cap is
  left with one fingerprint under it; its capped ones still anchor the alignment
  (``hits.boilerplate``), so the copy is not lost as the index grows.
- A region whose shape matches unrelated sources while keeping few names of any is an idiom
  (``Thresholds.idiom``): a Java ``equals`` written the same way in many classes.

Each test also runs the rules as they were (the hook disabled, or the idiom rule off) and
asserts the old outcome, so it fails on them.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from licscan.engine.build import build_index
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher
from licscan.engine.prepare import BuildParams
from licscan.engine.rules import Thresholds

from conftest import write
from test_scale_evidence import BODY, COPY, INDEPENDENT, RARE, SCALED, SOURCE, _filler

CAP = BuildParams(df_cap=4, df_cap_share=0)
"""The fixture is about a thousandth of a corpus: a cap of 4 files stands for 24 (or 0.25 %)."""


def _found(index: Path, text: str, lang: str, t: Thresholds) -> list[str]:
    return sorted({f.source.path for f in Matcher(open_index(index), t).scan_text(text, lang)})


@pytest.fixture(scope="module")
def capped_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    """(the small index's roots, unrelated projects that hold the first ten statements of
    the source, inside functions of their own: a kernel's worth of the same idioms)."""
    root = tmp_path_factory.mktemp("capped")
    rng = random.Random(12)
    small = [write(root / "ringlib", {"ring.c": SOURCE})]
    small += [write(root / f"tool{p}", {f"f{i}.c": _filler(rng, p * 10 + i) for i in range(5)}) for p in range(8)]
    body = "".join(f"    {s}\n" for s in BODY[:10])
    kernels = [write(root / f"kernel{p}", {
        "k.c": f"long kfun_{p}(struct ring_buffer *rb, const unsigned char *src, size_t len)\n{{\n"
               f"    long z{p} = {p};\n{body}    return z{p};\n}}\n",
        "x.c": _filler(rng, 3000 + p)}) for p in range(6)]
    return small, kernels


def test_capped_anchors_keep_an_edited_copy(capped_corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small, kernels = capped_corpus
    build_index(small, tmp_path / "small.lsi", workers=1, licenses=False, params=CAP)
    build_index(small + kernels, tmp_path / "big.lsi", workers=1, licenses=False, params=CAP)
    big = open_index(tmp_path / "big.lsi")
    assert big.db.execute("SELECT count(DISTINCT h) FROM capped").fetchone()[0] > 0  # the kernels lifted some
    for index in ("small.lsi", "big.lsi"):
        assert _found(tmp_path / index, COPY, "c", RARE) == ["ringlib/ring.c"], index
        assert _found(tmp_path / index, INDEPENDENT, "c", RARE) == [], index
    # No kernel is a source: their copies of the statements are all over the cap.
    capped_rows = big.db.execute("SELECT h, f, p FROM capped").fetchall()
    assert big.capped_among([h for h, _, _ in capped_rows] + [1, 2]) == {h for h, _, _ in capped_rows}
    assert sorted(big.capped_postings(sorted({(h, f) for h, f, _ in capped_rows}))) == sorted(capped_rows)
    monkeypatch.setattr("licscan.engine.matcher.boilerplate", lambda *a: None)
    assert _found(tmp_path / "small.lsi", COPY, "c", RARE) == ["ringlib/ring.c"]
    assert _found(tmp_path / "big.lsi", COPY, "c", RARE) == []  # the rule as it was: the copy vanishes


def test_capped_anchors_on_postgresql(pg_server, capped_corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same findings, evidence included, from the same index served by PostgreSQL."""
    from licscan.engine import pgload, pgstore
    from licscan.engine.stores import open_store

    small, kernels = capped_corpus
    build_index(small + kernels, tmp_path / "big.lsi", workers=1, licenses=False, params=CAP)
    uri = pg_server.createdb("capped")
    conn = pgstore.connect(uri)
    try:
        pgload.load(conn, tmp_path / "big.lsi", uri)
    finally:
        conn.close()
    pg = open_store(uri)
    try:
        rows = open_index(tmp_path / "big.lsi").db.execute("SELECT h, f, p FROM capped").fetchall()
        assert pg.capped_among([h for h, _, _ in rows] + [1, 2, 3]) == {h for h, _, _ in rows}
        assert sorted(pg.capped_postings(sorted({(h, f) for h, f, _ in rows}))) == sorted(rows)
        for text in (COPY, INDEPENDENT):
            assert ([f.to_dict() for f in Matcher(pg, RARE).scan_text(text, "c")]
                    == [f.to_dict() for f in Matcher(open_index(tmp_path / "big.lsi"), RARE).scan_text(text, "c")])
    finally:
        pg.close()


def _equals(cls: str, fields: list[str]) -> str:
    same = " && ".join(f"{x} == that.{x}" for x in fields)
    return (f"    @Override\n    public boolean equals(Object other) {{\n"
            f"        if (this == other) return true;\n"
            f"        if (other == null || getClass() != other.getClass()) return false;\n"
            f"        {cls} that = ({cls}) other;\n        return {same};\n    }}\n\n"
            f"    @Override\n    public int hashCode() {{\n        return Objects.hash({', '.join(fields)});\n    }}\n")


def _java_class(rng: random.Random, name: str, fields: list[str]) -> str:
    """A class of unrelated static helpers, then its ``equals`` and ``hashCode``."""
    def ident() -> str:
        return rng.choice("bcdfgkmnprstvw") + "".join(rng.choice("aeiou") + rng.choice("bcdfglmnprstvz")
                                                      for _ in range(3))
    helpers = "".join(f"    static long {ident()}(long a, long b) {{\n        long t = a * {rng.randint(2, 999)};\n"
                      f"        return t {rng.choice('+-*^|')} b {rng.choice('+-*^|')} {rng.randint(1, 99)};\n    }}\n\n"
                      for _ in range(8))
    return f"public final class {name} {{\n{helpers}{_equals(name, fields)}}}\n"


@pytest.fixture(scope="module")
def java_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six projects, two classes each, every one with its own fields; and two projects that
    vendor one class whose ``equals`` is the same code (same fields, other helpers)."""
    root = tmp_path_factory.mktemp("idioms")
    rng = random.Random(3)
    roots = []
    for proj in ("mapedit", "notes", "geoview", "tracker", "planner", "ledger"):
        roots.append(write(root / proj, {f"src/{proj.capitalize()}Item{i}.java": _java_class(
            rng, f"{proj.capitalize()}Item{i}", [f"{proj[:3]}{i}f{j}" for j in range(8)]) for i in range(2)}))
    for vendor in ("vendora", "vendorb"):
        roots.append(write(root / vendor, {"src/Extent.java": _java_class(rng, "Extent", SHARED_FIELDS)}))
    out = root / "java.lsi"
    build_index(roots, out, workers=1, licenses=False, params=SCALED)
    return out


SHARED_FIELDS = ["minLat", "minLon", "maxLat", "maxLon", "zoomLevel", "tileSize", "layerIndex", "epoch"]
OWN_FIELDS = ["startOffset", "lineCount", "width", "height", "depth", "caption", "style", "owner"]


def test_an_idiom_in_many_sources_is_not_a_copy(java_index: Path) -> None:
    text = "public final class Segment {\n" + _equals("Segment", OWN_FIELDS) + "}\n"
    assert _found(java_index, text, "java", Thresholds()) == []
    # The rule off: every one of the twelve classes aligns at 100 % on 128 tokens, keeping
    # 23 of 49 names, none telling; so the generic-names rule alone let it through.
    assert _found(java_index, text, "java", Thresholds(idiom_min_sources=10**9)) != []


def test_the_same_code_in_several_sources_is_still_a_copy(java_index: Path) -> None:
    """Vendored code keeps all its names in every place it is found: not an idiom."""
    text = "public final class Extent {\n" + _equals("Extent", SHARED_FIELDS) + "}\n"
    got = _found(java_index, text, "java", Thresholds())
    assert got and set(got) <= {"vendora/src/Extent.java", "vendorb/src/Extent.java"}


def test_a_copy_of_one_class_is_still_found(java_index: Path) -> None:
    copy = (java_index.parent / "notes/src/NotesItem1.java").read_text()
    assert "notes/src/NotesItem1.java" in _found(java_index, copy, "java", Thresholds())


@pytest.mark.parametrize("sources, matches, idiom", [
    (12, [(0, 49, 23, 0)] * 12, True),
    (1, [(0, 49, 23, 0)] * 3, False),  # one family: the same source's look-alikes
    (3, [(0, 49, 23, 0), (0, 49, 23, 0), (2, 49, 23, 0)], False),  # a match with rare anchors
    (3, [(0, 49, 23, 0), (0, 49, 23, 2), (0, 49, 23, 0)], False),  # one that kept telling names
    (9, [(1, 15, 15, 1)] * 9, False),  # vendored: every name kept everywhere
    (3, [(0, 10, 9, 0), (0, 10, 2, 0), (0, 10, 3, 0)], True),  # most kept few
])
def test_idiom_rule(sources: int, matches: list[tuple[int, int, int, int]], idiom: bool) -> None:
    assert Thresholds().idiom(sources, matches) is idiom
