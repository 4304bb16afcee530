"""align's memo of one scanned text: the same blocks and diversity as working them out anew."""

from __future__ import annotations

from difflib import SequenceMatcher

from hypothesis import given, settings
from hypothesis import strategies as st

from licscan.engine import align

SETTINGS = settings(max_examples=300, derandomize=True, deadline=None, database=None)
tokens = st.lists(st.integers(0, 4), max_size=40)


@SETTINGS
@given(tokens, tokens, tokens)
def test_blocks_are_difflibs_however_often_asked(a: list[int], b: list[int], c: list[int]) -> None:
    """Asked again, for another gap of the same text, and after another text."""
    def plain(x: list[int], y: list[int]) -> list[tuple[int, int, int]]:
        return [(i, j, n) for i, j, n in SequenceMatcher(None, x, y, autojunk=False).get_matching_blocks() if n]

    q, other = [1, 2, 3], [1, 2, 3]
    for text in (q, q, other, q):
        assert align._blocks(text, a, b) == plain(a, b)
        assert align._blocks(text, a, c) == plain(a, c)
        assert align._blocks(text, c, b) == plain(c, b)


@SETTINGS
@given(st.lists(st.integers(0, 3), min_size=1, max_size=60), st.lists(st.integers(0, 3), max_size=60),
       st.data())
def test_diversity_is_per_text(q: list[int], other: list[int], data: st.DataObject) -> None:
    q0 = data.draw(st.integers(0, len(q)))
    q1 = data.draw(st.integers(q0, len(q)))

    def plain(x: list[int]) -> float:
        n = q1 - q0 - align.DIVERSITY_N + 1
        return 1.0 if n <= 0 else len({tuple(x[i:i + align.DIVERSITY_N]) for i in range(q0, q0 + n)}) / n

    longer = other + [0] * len(q)
    for text in (q, longer, q, longer):
        assert align.diversity(text, q0, q1) == plain(text)


@SETTINGS
@given(st.lists(st.integers(0, 1), max_size=80), st.lists(st.integers(0, 1), max_size=80), st.data())
def test_agreement_is_the_token_by_token_walk(q: list[int], s: list[int], data: st.DataObject) -> None:
    """Runs of 0s and 1s agree for long stretches, past a stride or several."""
    from licscan.engine.chains import agree_after, agree_before

    q, s = q + [0] * 40, [0] * 40 + s
    i, j = data.draw(st.integers(0, len(q))), data.draw(st.integers(0, len(s)))
    after = 0
    while i + after < len(q) and j + after < len(s) and q[i + after] == s[j + after]:
        after += 1
    before = 0
    while i - before > 0 and j - before > 0 and q[i - before - 1] == s[j - before - 1]:
        before += 1
    assert (agree_after(q, s, i, j), agree_before(q, s, i, j)) == (after, before)
