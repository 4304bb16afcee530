"""Named evidence rules: ``Thresholds.decide`` agrees with ``judge`` and says why; ``scan --explain``."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES
from licscan.engine.rules import Shape, Thresholds


def test_decide_is_judge_with_a_reason() -> None:
    """The named rules change no verdict: same answer as judge() over a grid of regions."""
    t = Thresholds()
    rng = random.Random(7)
    seen = set()
    for _ in range(20000):
        m = rng.choice([10, 30, 32, 35, 40, 49, 50, 80, 150, 200, 400])
        sim = rng.choice([0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0])
        rare = rng.choice([0, 1, 3, 5, 9])
        div = rng.choice([0.1, 0.25, 0.3, 0.7, 1.0])
        names = rng.choice([0, 2, 6, 10, 40])
        same = rng.randint(0, names)
        telling = rng.randint(0, same)
        verbatim = t.may_be_verbatim(m, sim, div, rare) and rng.random() < 0.8
        d = t.decide(Shape(m, sim, rare, div, 8), verbatim, names, same, telling)
        assert d.accepted == t.judge(m, sim, rare, div, verbatim, names, same, telling)
        assert d.reason
        seen.add((d.accepted, d.rule))
    # Every rule both accepts and rejects somewhere, or only rejects by design.
    assert {r for ok, r in seen if ok} == {"shape+names", "verbatim"}
    assert {r for ok, r in seen if not ok} >= {"generic-names", "names", "verbatim"}


def test_a_short_verbatim_snippet_with_a_rare_anchor_is_a_copy() -> None:
    """32 tokens, exact, 10 of 10 names kept (pylint's doc snippet of seed 20261208 at 8.7x):
    its rare anchors went from three to one or two as unrelated projects joined the index."""
    def verdict(t: Thresholds, rare: int, same: int = 10) -> bool:
        verbatim = t.may_be_verbatim(32, 1.0, 0.9, rare)
        return t.decide(Shape(32, 1.0, rare, 0.9, 3), verbatim, 10, same, 5).accepted

    t = Thresholds()
    assert verdict(t, rare=1) and verdict(t, rare=2) and verdict(t, rare=3)
    assert not verdict(t, rare=0)  # nothing singles it out: 35 tokens, as before
    assert not verdict(t, rare=1, same=8)  # renamed: the verbatim path needs 90 % of the names
    old = Thresholds(verbatim_min_tokens_rare=35)  # the rules before
    assert not verdict(old, rare=1) and not verdict(old, rare=2) and verdict(old, rare=3)


def test_a_short_shape_with_nothing_of_its_own_is_not_a_copy() -> None:
    """55 tokens, exact, no rare anchor, no telling name, 4 of 22 names kept: a run of PHPUnit
    assertions that mediawiki's tests share with league/commonmark's at 8.7x (dropped at
    selection, ``Matcher._idioms``)."""
    def shape_only(t: Thresholds, m: int = 55, rare: int = 0, same: int = 4, telling: int = 0) -> bool:
        return t.shape_only(m, rare, 22, same, telling)

    t = Thresholds()
    assert t.judge(55, 1.0, 0, 0.4, False, 22, 4, 0)  # the shape and names rules let it through
    assert shape_only(t)
    assert not (shape_only(t, m=64) or shape_only(t, rare=1) or shape_only(t, same=11) or shape_only(t, telling=2))
    assert not shape_only(Thresholds(shape_only_min_tokens=0))  # the rules before
    lower = t.adjusted(min_tokens=40)  # the floor follows the user's, ten tokens over it
    assert shape_only(lower, m=48) and not shape_only(lower, m=52)


def test_screen_rejects_what_the_matcher_dropped_silently() -> None:
    t = Thresholds()
    assert t.screen(Shape(20, 0.6, 0, 1.0, 2), exact=False, in_base=False, verbatim=False).rule == "shape"
    assert t.screen(Shape(20, 1.0, 0, 1.0, 2), exact=True, in_base=False, verbatim=False).rule == "exact-run"
    assert t.screen(Shape(90, 1.0, 0, 1.0, 6), exact=True, in_base=True, verbatim=False).rule == "base-code"
    assert t.screen(Shape(90, 0.9, 3, 1.0, 6), exact=False, in_base=False, verbatim=False) is None


def _licscan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True, cwd=cwd)


def test_scan_explain_names_the_rule(core_index: Path, tmp_path: Path) -> None:
    src = next((FIXTURES / "langs" / "corpus" / "c").glob("*.c")).read_text()
    leak = tmp_path / "leak.c"
    leak.write_text("/* mine */\n" + src)
    res = _licscan("scan", "--index", str(core_index), "--explain", "--fail-on", "never", str(leak))
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("explain:")]
    assert any(ln.startswith("explain: ACCEPT") and "[" in ln for ln in lines), res.stderr
    without = _licscan("scan", "--index", str(core_index), "--fail-on", "never", str(leak))
    assert "explain:" not in without.stderr
    assert without.stdout == res.stdout  # explaining changes no finding


def test_scan_explain_shows_rejections(core_index: Path, tmp_path: Path) -> None:
    """A few copied lines share fingerprints with the corpus but are too short to be a copy."""
    src = next((FIXTURES / "langs" / "corpus" / "c").glob("*.c")).read_text().splitlines()
    rejected = []
    for a, n in itertools.product(range(0, 60, 6), (4, 6)):
        snippet = tmp_path / f"s{a}_{n}.c"
        snippet.write_text("\n".join(src[a:a + n]) + "\n")
        res = _licscan("scan", "--index", str(core_index), "--explain", "--fail-on", "never", str(snippet))
        rejected += [ln for ln in res.stderr.splitlines() if ln.startswith("explain: reject")]
        if rejected:
            break
    assert rejected and all("[" in ln and "]" in ln for ln in rejected)
