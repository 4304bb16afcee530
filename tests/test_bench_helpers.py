"""The benchmark's own helpers (issue 16): case classes e and f, held-out filter, jscpd sweep rule.

No corpus is needed: functions are written here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

pytest.importorskip("tree_sitter_c")

from cases import DEFAULT_SEED, Case, Func  # noqa: E402
from heldout import shared_with_tuning, wanted  # noqa: E402
from jscpd_sweep import best_per_group, grid  # noqa: E402
from variants import make_e, make_f  # noqa: E402

C_FILE = """\
struct acc { int total; int count; };

static int bump(struct acc *a, int v)
{
    a->total += v;
    return a->count++;
}

int sum_values(struct acc *a, const int *values, int n)
{
    int i;
    int last = 0;
    for (i = 0; i < n; i++) {
        last = bump(a, values[i]);
        if (a->total > 1000)
            break;
    }
    printf("%d items\\n", a->count);
    return last + a->total;
}
"""


def _func(path: Path) -> Func:
    lines = C_FILE.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("int sum_values")) + 1
    text = "\n".join(lines[start - 1:])
    return Func("t_1", path.name, "c", start, len(lines), text, 90, "sum_values")


def test_renamed_deep_renames_helpers_and_fields(tmp_path: Path) -> None:
    p = tmp_path / "acc.c"
    p.write_text(C_FILE)
    out = make_e(_func(p), random.Random(1), p)
    assert out is not None
    assert "bump" not in out and "->total" not in out and "->count" not in out  # helper and fields renamed
    assert "sum_values" not in out and "printf" in out  # library calls keep their names
    assert out.count("\n") == _func(p).text.count("\n") + 1  # same lines: ground truth holds


def test_chat_snippet_is_4_to_8_source_lines(tmp_path: Path) -> None:
    f = _func(tmp_path / "acc.c")
    for seed in range(10):
        r = make_f(f, random.Random(seed))
        assert r is not None
        text, s, e, extra = r
        assert 4 <= e - s + 1 <= 8
        assert text.count("\n") == e - s + 1 and extra["lines"] == e - s + 1
        assert f.start < s and e < f.end  # inside the body
        if not extra["renamed"]:
            src = C_FILE.splitlines()[s - 1:e]
            assert [ln.strip() for ln in text.splitlines()] == [ln.strip() for ln in src]


def test_held_out_filter_and_default() -> None:
    f = Func("t", "x.c", "c", 1, 3, "int a_long_function_name_here(void)\n{\n    return some_other_long_call(1, 2);\n}", 60, "x")
    assert shared_with_tuning(f, frozenset({"returnsome_other_long_call(1,2);", "inta_long_function_name_here(void)"}))
    assert not shared_with_tuning(f, frozenset())
    assert wanted(DEFAULT_SEED, None) and not wanted(1234, None) and wanted(1234, True)


def test_sweep_grid_and_rule() -> None:
    assert len(grid(None, quick=False)) == 12
    g = grid("mode=weak;min-tokens=20,50;min-lines=3", quick=True)
    assert [s.label for s in g] == ["weak t20 l3", "weak t50 l3"]
    pos = [Case("p1", "a", "c", "a/p1.c", 1, 9, "t/x.c", 1, 9, "t"), Case("p2", "a", "c", "a/p2.c", 1, 9, "t/x.c", 1, 9, "t")]
    neg = [Case("n1", "neg", "c", "neg/n1.c", 1, 9, "u/y.c", 1, 9, "u")]
    runs = {"loose": {"p1": {"detected": True}, "p2": {"detected": True}, "n1": {"fp": True}},
            "strict": {"p1": {"detected": True}, "p2": {"detected": False}, "n1": {"fp": False}}}
    b = best_per_group({"a": pos}, runs, pos + neg, set(), licscan_fp=0)["a"]
    assert (b.label, b.recall, b.within) == ("strict", 0.5, True)
    b = best_per_group({"a": pos}, runs, pos + neg, set(), licscan_fp=1)["a"]
    assert (b.label, b.recall, b.within) == ("loose", 1.0, True)


def test_summary_table_and_results_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from report import summarize

    pos = [Case("p1", "a", "c", "a/p1.c", 1, 9, "t/x.c", 1, 9, "t"),
           Case("h1", "f", "c", "f/h1.c", 1, 5, "h/y.c", 3, 7, "h", {"held_out": True})]
    neg = [Case("n1", "neg", "c", "neg/n1.c", 1, 9, "u/y.c", 1, 9, "u")]
    scores = {"licscan": {"p1": {"detected": True}, "h1": {"detected": False}, "n1": {"fp": False}},
              "jscpd": {"p1": {"detected": False}, "h1": {"detected": False}, "n1": {"fp": False}}}
    runs = {"weak t20 l3": {"p1": {"detected": True}, "h1": {"detected": True}, "n1": {"fp": True}}}
    tree = SimpleNamespace(name="h_1.0")
    a = SimpleNamespace(no_results=False, results=tmp_path / "RESULTS.md", seed=7, commit="abc123")
    summarize(a, tmp_path, "quick", pos + neg, ("a", "f"), set(), scores, runs, {"weak t20 l3": 1.0},
              {"held out (indexed)": [tree]}, True, ["--quick"])
    text = (tmp_path / "RESULTS.md").read_text()
    assert text.startswith("# Benchmark results") and "seed 7" in text and "`abc123`" in text
    assert "| a reformatted | 1 | 100.0% | 0.0% | 100.0% | weak t20 l3 (1) **FP > licscan** |" in text
    assert "**held-out packages** (h_1.0)" in text and "| f chat snippet 4-8 lines | 1 | 0.0% |" in text
    assert "recall per class" in capsys.readouterr().out.lower()


def test_paced_runner_counts_queueing_from_when_a_scan_was_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/pgbench_index.py --rate: a runner offered more than it can scan falls behind,
    and its scans' latency grows with the wait (from when each was due), while the closed
    loop's is each scan's own time."""
    import time

    import pgbench_index

    from licscan.engine import matcher, stores

    class Slow:
        def __init__(self, _store: object) -> None:
            pass

        def scan_text(self, *_args: object) -> list[object]:
            time.sleep(0.03)
            return []

    monkeypatch.setattr(stores, "open_store", lambda uri: object())
    monkeypatch.setattr(matcher, "Matcher", Slow)
    monkeypatch.setattr(pgbench_index, "backend_cpu", lambda store: 0.0)
    files = [("x = 1\n", "python")] * 3
    closed = pgbench_index.runner("", files * 4, time.time())[0]
    assert len(closed) == 12 and max(closed) < 0.2
    # ~12 scans of 30 ms due within 60 ms (files cycled): the last waited for the others.
    paced = pgbench_index.runner("", files, time.time(), rate=200.0, seed=1, duration=0.06)[0]
    assert len(paced) > 6 and paced[-1] > 0.15 and paced[-1] > paced[0] + 0.1
    slow = pgbench_index.runner("", files, time.time(), rate=2.0, seed=1, duration=2.0)
    assert slow[2] - slow[1] > 0.5 and max(slow[0]) < 0.2  # idle between arrivals: no queueing


def test_scale_lists_the_cases_two_variants_disagree_on() -> None:
    from scale import differences

    cases = [Case("a-c-0001", "a", "c", "a.c", 1, 5, "p/x.c", 1, 5, "p"),
             Case("c-c-0002", "c", "c", "c.c", 1, 5, "p/y.c", 1, 5, "p"),
             Case("neg-c-0003", "neg", "c", "n.c", 1, 5, "q/z.c", 1, 5, "q")]
    new = {"scores": {"a-c-0001": {"detected": True}, "c-c-0002": {"detected": False}, "neg-c-0003": {"fp": True}}}
    old = {"scores": {"a-c-0001": {"detected": False}, "c-c-0002": {"detected": True}, "neg-c-0003": {"fp": False}}}
    # same aggregate recall, different cases: the rows alone would show no change
    assert differences(new, old, cases) == ("finds 1 more ['a-c-0001'], 1 fewer ['c-c-0002']; flags 1 more negatives "
                                            "['neg-c-0003'], 0 fewer [] (negatives counted or not)")
    assert differences(new, new, cases).startswith("finds 0 more [], 0 fewer []; flags 0 more")
