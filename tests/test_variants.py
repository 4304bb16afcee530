"""End-to-end detection of copy variants in all 12 languages.

One index is built from ``tests/fixtures/langs/corpus`` (hand-written
"GPL-3.0-or-later" sources, one per language); every file under
``tests/fixtures/langs/copies`` is scanned against it and compared with the
ground truth in ``tests/fixtures/langs/cases.json``:

- t1      one function copied verbatim, reformatted, comments removed
- t2      one function with identifiers renamed and literals changed
- t3      one function with ~20 % of its statements edited, plus renaming
- snippet 8-15 lines from the middle of a function, embedded in new code
- neg     unrelated code in the same language (boilerplate included)

Line ranges are 1-based and inclusive. Source paths are
"<basename(root)>/<path below root>", i.e. "corpus/<lang>/<file>".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "langs"
CORPUS = FIXTURES / "corpus"
COPIES = FIXTURES / "copies"
CASES: dict[str, dict] = json.loads((FIXTURES / "cases.json").read_text(encoding="utf-8"))
LICENSE = "GPL-3.0-or-later"
CORPUS_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*") if p.is_file())


@pytest.fixture(scope="session")
def matcher(tmp_path_factory):
    from licscan.engine.build import build_index
    from licscan.engine.index import open_index
    from licscan.engine.matcher import Matcher

    out = tmp_path_factory.mktemp("langs-index") / "corpus.idx"
    summary = build_index([CORPUS], out, workers=1)
    assert summary.files == len(CORPUS_FILES), summary
    return Matcher(open_index(out))


def _scan(matcher, rel: str, base: Path = COPIES):
    lang = rel.split("/", 1)[0]
    text = (base / rel).read_text(encoding="utf-8")
    return matcher.scan_text(text, lang=lang, path=rel)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = _overlap(a, b)
    union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter
    return inter / union


def _describe(findings) -> str:
    if not findings:
        return "no findings"
    return "; ".join(
        f"{f.start_line}-{f.end_line} <- {f.source.path}:{f.source.start_line}-{f.source.end_line}"
        f" sim={f.similarity} lic={f.license}"
        for f in findings
    )


def _cases(*classes: str) -> list:
    return [pytest.param(rel, CASES[rel], id=rel) for rel in sorted(CASES)
            if CASES[rel]["class"] in classes]


@pytest.mark.parametrize("rel,case", _cases("t1", "t2", "t3", "snippet"))
def test_copy_is_found(matcher, rel, case):
    findings = _scan(matcher, rel)
    want_source = f"{CORPUS.name}/{case['source']}"
    src_true = tuple(case["source_lines"])
    copy_true = tuple(case["lines"])
    strict = case["class"] in ("t1", "t2")

    def good(f) -> bool:
        if f.source.path != want_source:
            return False
        src = (f.source.start_line, f.source.end_line)
        if strict and _iou(src, src_true) < 0.5:
            return False
        if not strict and _overlap(src, src_true) == 0:
            return False
        return _overlap((f.start_line, f.end_line), copy_true) > 0

    hits = [f for f in findings if good(f)]
    assert hits, (
        f"{case['class']} copy of {want_source}:{src_true[0]}-{src_true[1]} "
        f"(at {rel}:{copy_true[0]}-{copy_true[1]}) not found; got: {_describe(findings)}"
    )
    for f in hits:
        assert f.license == LICENSE, _describe(hits)
        assert 0.0 < f.similarity <= 1.0, _describe(hits)
        assert 1 <= f.start_line <= f.end_line
        assert 1 <= f.source.start_line <= f.source.end_line


@pytest.mark.parametrize("rel,case", _cases("neg"))
def test_negative_has_no_finding(matcher, rel, case):
    findings = _scan(matcher, rel)
    assert findings == [], f"false positive in {rel}: {_describe(findings)}"


@pytest.mark.parametrize("rel", CORPUS_FILES)
def test_original_matches_itself(matcher, rel):
    findings = _scan(matcher, rel, base=CORPUS)
    own = [f for f in findings if f.source.path == f"{CORPUS.name}/{rel}"]
    assert own, f"{rel} scanned against its own index: {_describe(findings)}"
    best = max(own, key=lambda f: f.similarity)
    assert best.similarity >= 0.99, _describe(own)
    assert best.license == LICENSE, _describe(own)


def test_cases_cover_every_copy_file():
    on_disk = sorted(p.relative_to(COPIES).as_posix() for p in COPIES.glob("*/*") if p.is_file())
    assert on_disk == sorted(CASES)
    for rel, case in CASES.items():
        if case["class"] == "neg":
            assert case["source"] is None and case["lines"] is None
            continue
        assert (CORPUS / case["source"]).is_file(), rel
        for key, path in (("source_lines", CORPUS / case["source"]), ("lines", COPIES / rel)):
            lo, hi = case[key]
            assert 1 <= lo < hi <= len(path.read_text(encoding="utf-8").splitlines()), (rel, key)
