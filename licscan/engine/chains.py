"""Hits of one source file -> the alignments worth verifying.

A hit is (scanned position, source position, fingerprint). ``chains`` links hits
that keep their order in both texts, as an edited copy does; ``runs`` follows one
diagonal while the tokens agree, as a verbatim copy of repetitive code needs.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable

Hit = tuple[int, int, int]

MAX_GAP = 100
"""Largest gap, in tokens, between consecutive anchors of one copy (an edited block)."""
MAX_DRIFT = 50
"""Largest net insertion or deletion between consecutive anchors."""
_LOOKBACK = 64
_DRIFT_COST = 0.04
NAMES_ALIGN_MAX = 600
"""Longest region re-aligned on raw names: difflib's cost grows with length times
repetition, and a region longer than a function rarely needs it."""


def chains(hits: list[Hit]) -> list[list[Hit]]:
    """Co-linear chains of hits, best first, each hit used once.

    Dynamic programming over hits sorted by scanned position; a hit may extend
    a chain ending at most MAX_GAP tokens before it on both sides, with drift
    bounded by MAX_DRIFT, among the _LOOKBACK - 1 hits not chained yet just before it.
    """
    pending = sorted(set(hits))
    n = len(pending)
    if n < 2:
        return []
    qs = [h[0] for h in pending]
    ss = [h[1] for h in pending]
    # Repetitive code yields 50-70 chains from 400-600 hits, and taking a chain out
    # changes the score of few hits: those whose window held one of its hits, and
    # those that linked to a hit whose score changed. Only they are scored again,
    # and only over the pairs that can link (which depend on positions alone: each
    # is tried once, when it first falls in a window). links[i]: (j, drift cost),
    # nearest first, for every j from tried[i] to i - 1; after[j]: the i linked to j.
    links: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    after: list[list[int]] = [[] for _ in range(n)]
    tried = list(range(n))
    order = list(range(n))  # the hits not chained yet, as indexes into pending
    rank = list(range(n))  # each hit's place in order; -1 once chained
    score = [1.0] * n
    prev = [-1] * n
    stale = [True] * n
    start = 0  # no stale hit before this place
    out: list[list[Hit]] = []
    while len(order) >= 2:
        for p in range(start, len(order)):
            i = order[p]
            if not stale[i]:
                continue
            stale[i] = False
            lo = p - _LOOKBACK + 1
            first = order[lo] if lo > 0 else 0
            if first < tried[i]:
                tried[i] = _link(links[i], after, i, first, tried[i], qs, ss)
            best, arg = 1.0, -1
            for j, cost in links[i]:
                r = rank[j]
                if r < 0:
                    continue
                if r < lo:
                    break
                sc = score[j] + 1 - cost
                if sc > best:
                    best, arg = sc, j
            if best != score[i]:
                for k in after[i]:
                    stale[k] = True
            score[i], prev[i] = best, arg
        now = [score[i] for i in order]
        end = order[now.index(max(now))]  # the first best, as max() picks
        if prev[end] == -1:
            break
        idx = []
        while end != -1:
            idx.append(end)
            end = prev[end]
        idx.reverse()
        out.append([pending[i] for i in idx])
        # A hit's window is the _LOOKBACK - 1 places before it: those that held a
        # chained hit now reach further back.
        for i in idx:
            for k in order[rank[i] + 1:rank[i] + _LOOKBACK]:
                stale[k] = True
        start = rank[idx[0]]
        for i in idx:
            rank[i] = -1
        order = order[:start] + [i for i in order[start:] if rank[i] >= 0]
        for p in range(start, len(order)):
            rank[order[p]] = p
    return out


def _link(found: list[tuple[int, float]], after: list[list[int]], i: int, first: int, tried: int,
          qs: list[int], ss: list[int]) -> int:
    """Append to ``found`` the hits ``first`` <= j < ``tried`` that may precede hit ``i``,
    nearest first, with what their drift costs (and ``i`` to their ``after``); return
    how far back hits are now tried."""
    qi, si = qs[i], ss[i]
    di = si - qi
    for j in range(tried - 1, first - 1, -1):
        qj = qs[j]
        if qi - qj > MAX_GAP:
            return 0  # and so are all before it: sorted
        sj = ss[j]
        if qj < qi and 0 < si - sj <= MAX_GAP and (drift := abs(di - sj + qj)) <= MAX_DRIFT:
            # Drift costs: a repeated k-gram off the diagonal must not pull
            # the chain's start or end away from the true alignment.
            found.append((j, drift * _DRIFT_COST))
            after[j].append(i)
    return first


_SHIFT = 1024
"""How far (tokens) an exact run may be moved along its source to find its own rows."""


def runs(hits: list[Hit], q: list[int], qn: list[int], s: list[int], source_names: Callable[[], array],
         k: int, min_len: int, covered: list[tuple[int, int]]) -> list[list[Hit]]:
    """Chains, one per exact run of at least ``min_len`` tokens along a diagonal that
    holds two hits or more.

    A verbatim copy of repetitive code (rows of ``if (f (&x)) FAIL (n);``) gives
    every row's k-gram at every row of the source; chaining takes the most hits
    it can reach, which strays between rows and splits the true diagonal.
    Extending a hit along its own diagonal while the tokens agree finds the copy
    whole. Winnowing may have kept only other rows of the source's run, though,
    so the run is then moved to the rows whose names and literals it kept.
    Runs inside a ``covered`` (scanned) range were found by chaining already."""
    diagonals: dict[int, list[Hit]] = defaultdict(list)
    for hit in sorted(set(hits)):
        diagonals[hit[1] - hit[0]].append(hit)
    out: list[list[Hit]] = []
    seen: set[tuple[int, int, int]] = set()
    for d, hs in diagonals.items():
        if len(hs) < 2:
            continue  # a lone hit: chaining has it, or it is chance
        end = -1
        for qa, _sa, _h in hs:
            if qa < end:
                continue  # inside the run found already
            a = qa - agree_before(q, s, qa, qa + d)
            end = qa + agree_after(q, s, qa, qa + d)
            inside = [x for x in hs if a <= x[0] and x[0] + k <= end]
            if end - a < min_len or not inside or any(c0 <= a and end <= c1 for c0, c1 in covered):
                continue
            best = own_rows(q, s, qn, source_names(), a, end, d)
            if (a, end, best) not in seen:
                seen.add((a, end, best))
                out.append([(x, x + best, h) for x, _, h in inside])
    return out


_STRIDE = 16
"""Tokens compared at once, as slices (in C), while a run is followed: a verbatim copy
of repetitive code lies on many diagonals, each followed for hundreds of tokens."""


def agree_after(q: list[int], s: list[int], i: int, j: int) -> int:
    """How many tokens ``q[i:]`` and ``s[j:]`` agree on, from their start."""
    n = 0
    while i + n + _STRIDE <= len(q) and j + n + _STRIDE <= len(s) and \
            q[i + n:i + n + _STRIDE] == s[j + n:j + n + _STRIDE]:
        n += _STRIDE
    while i + n < len(q) and j + n < len(s) and q[i + n] == s[j + n]:
        n += 1
    return n


def agree_before(q: list[int], s: list[int], i: int, j: int) -> int:
    """How many tokens before ``q[i]`` and ``s[j]`` agree, going back."""
    n = 0
    while i - n >= _STRIDE and j - n >= _STRIDE and q[i - n - _STRIDE:i - n] == s[j - n - _STRIDE:j - n]:
        n += _STRIDE
    while i - n > 0 and j - n > 0 and q[i - n - 1] == s[j - n - 1]:
        n += 1
    return n


def own_rows(q: list[int], s: list[int], qn: list[int], sn: array, a: int, e: int, d: int) -> int:
    """The diagonal, among those where ``q[a:e]`` is just as exact, whose names agree most."""
    n = e - a
    names = [(i, x) for i, x in enumerate(qn[a:e]) if x >= 0]

    def kept(dd: int) -> int:
        return sum(1 for i, x in names if sn[a + dd + i] == x)

    best, most = d, kept(d)
    if most == len(names) or n > NAMES_ALIGN_MAX:
        return best
    # Only where the source has the run's first or middle name can the rows be its
    # own (a verbatim copy keeps nearly all names): far fewer places to try than
    # every shift by a multiple of the row length.
    lo, hi = max(0, a + d - _SHIFT), min(len(s) - n, a + d + _SHIFT)
    shifts: set[int] = set()
    for i, x in {names[0], names[len(names) // 2]}:
        shifts.update(y - i - a for y in _positions(sn, x, lo + i, hi + i + 1))
    seg = q[a:e]
    for dd in sorted(shifts - {d}):
        if s[a + dd:e + dd] == seg:
            kk = kept(dd)
            if kk > most:
                best, most = dd, kk
    return best


def _positions(arr: array, x: int, lo: int, hi: int) -> list[int]:
    """Every index of ``x`` in ``arr[lo:hi]``: ``array.index`` searches in C, and a
    name occurs a few times in the thousands of tokens around a run."""
    out: list[int] = []
    try:
        y = arr.index(x, lo, hi)
        while True:
            out.append(y)
            y = arr.index(x, y + 1, hi)
    except ValueError:
        return out
