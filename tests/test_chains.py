"""``chains`` against the plain dynamic programme it replaces: the same chains, in the same
order, on random hit sets and on the dense ones repetitive code gives."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from licscan.engine.chains import _DRIFT_COST, _LOOKBACK, MAX_DRIFT, MAX_GAP, Hit, chains

SETTINGS = settings(max_examples=300, derandomize=True, deadline=None, database=None)


def reference(hits: list[Hit]) -> list[list[Hit]]:
    """The DP rerun in full over the hits not chained yet, once per chain taken."""
    pending = sorted(set(hits))
    out: list[list[Hit]] = []
    while len(pending) >= 2:
        n = len(pending)
        score = [1.0] * n
        prev = [-1] * n
        for i in range(n):
            qi, si, _ = pending[i]
            best, arg = 1.0, -1
            for j in range(i - 1, max(-1, i - _LOOKBACK), -1):
                qj, sj, _ = pending[j]
                if qi - qj > MAX_GAP:
                    break
                if qj >= qi or sj >= si or si - sj > MAX_GAP:
                    continue
                drift = abs((si - qi) - (sj - qj))
                if drift > MAX_DRIFT:
                    continue
                sc = score[j] + 1 - drift * _DRIFT_COST
                if sc > best:
                    best, arg = sc, j
            score[i], prev[i] = best, arg
        end = max(range(n), key=score.__getitem__)
        if prev[end] == -1:
            break
        idx = []
        while end != -1:
            idx.append(end)
            end = prev[end]
        idx.reverse()
        out.append([pending[i] for i in idx])
        used = set(idx)
        pending = [h for i, h in enumerate(pending) if i not in used]
    return out


hit = st.tuples(st.integers(0, 400), st.integers(0, 400), st.integers(0, 3))


@SETTINGS
@given(st.lists(hit, max_size=300))
def test_random_hits(hits: list[Hit]) -> None:
    assert chains(hits) == reference(hits)


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(st.integers(3, 12), st.integers(4, 16), st.integers(2, 30), st.integers(0, 2**32))
def test_repeated_rows(period: int, rows: int, kept: int, seed: int) -> None:
    """Rows of one shape (a table, a switch): every row's k-grams hit every row of the
    source, so there are many chains, windows full of hits, and ties."""
    rng = random.Random(seed)
    hits = [(a * period + o, b * period + o + rng.choice((0, 0, 1)), o % 3)
            for a in range(rows) for b in range(rows) for o in range(0, period, 2)
            if rng.randrange(100) < 100 - kept]
    got = chains(hits)
    assert got == reference(hits)
    assert len(got) > 1 or len(hits) < 40


def test_hits_not_chained_yet_fill_the_window() -> None:
    """A hit's window is the hits not chained yet before it, so it reaches past hits
    taken by an earlier chain: 70 hits on one diagonal, between 70 on another."""
    a = [(i * 2, i * 2, 0) for i in range(70)]
    b = [(i * 2 + 1, i * 2 + 61, 1) for i in range(70)]
    got = chains(a + b)
    assert got == reference(a + b)
    assert [len(c) for c in got] == [70, 70]
