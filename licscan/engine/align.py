"""One chain of hits -> an aligned region: its spans, similarity, what names it kept.

The pieces of verification that need no index: extending a chain into the
alignment of normalized tokens between and around its anchors, counting the
names and literals the copy kept, how table-shaped a region is, and the edges
that belong to the code around a copy.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import NamedTuple

from licscan.engine.chains import NAMES_ALIGN_MAX, agree_after, agree_before

Hit = tuple[int, int, int]
"""(scanned position, source position, fingerprint)."""
Span = tuple[int, int, int]
"""An aligned run: (scanned position, source position, length)."""


class Query(NamedTuple):
    """The scanned text as matching sees it, per token."""

    codes: list[int]
    names: list[int]
    """``fingerprints.name_codes``."""
    telling: list[bool]
    """Whether the token is a name or literal that says where code came from:
    ``fingerprints.telling``, and not common in the index."""
    brace_blocks: bool = True
    """Whether ``{`` and ``}`` delimit blocks of statements in its language (not in
    Python, Ruby or shell, where braces are dicts, blocks or parameter expansions)."""
    lines: Sequence[int] = ()
    """Line of each token (for ``scan --explain``)."""
    path: str = ""


@dataclass
class Region:
    fid: int
    q0: int
    q1: int
    s0: int
    s1: int
    matched: int
    anchors: int
    rare: int
    similarity: float = 0.0
    diversity: float = 1.0
    names: int = 0
    same: int = 0
    telling: int = 0
    also: list[str] = field(default_factory=list)


def spans(q: list[int], s: list[int], chain: list[Hit], k: int) -> tuple[tuple[int, int, int, int], list[Span]]:
    """The region a chain covers, extended while tokens agree at both ends, and its aligned runs."""
    q0, s0 = chain[0][0], chain[0][1]
    n = agree_before(q, s, q0, s0)
    q0, s0 = q0 - n, s0 - n
    q1, s1 = chain[-1][0] + k, chain[-1][1] + k
    n = agree_after(q, s, q1, s1)
    q1, s1 = q1 + n, s1 + n
    out: list[Span] = []
    q_cov_end = -1  # anchors overlap: count each scanned token once
    for i, (qa, sa, _h) in enumerate(chain):
        start = max(qa, q_cov_end)
        if qa + k > start:
            out.append((start, sa + start - qa, qa + k - start))
        q_cov_end = max(q_cov_end, qa + k)
        if i + 1 < len(chain):
            qb, sb, _ = chain[i + 1]
            if qa + k < qb and sa + k < sb:
                out.extend((qa + k + a, sa + k + b, n) for a, b, n in _blocks(q, q[qa + k:qb], s[sa + k:sb]))
    out.append((q0, s0, chain[0][0] - q0))
    out.append((chain[-1][0] + k, chain[-1][1] + k, q1 - chain[-1][0] - k))
    return (q0, q1, s0, s1), out


@dataclass
class _Memo:
    """What was worked out for one scanned text, kept until another is verified."""

    q: list[int]
    blocks: dict[tuple[tuple[int, ...], tuple[int, ...]], list[Span]] = field(default_factory=dict)
    diversity: dict[tuple[int, int], float] = field(default_factory=dict)


_memo = _Memo([])


def _memo_of(q: list[int]) -> _Memo:
    """The memo of scanned text ``q``. Results depend on their keys alone, so a scan in
    another thread that swaps it out costs only work done again."""
    global _memo
    memo = _memo
    if memo.q is not q:
        memo = _memo = _Memo(q)
    return memo


def _blocks(q: list[int], a: list[int], b: list[int]) -> list[Span]:
    """``SequenceMatcher(None, a, b, autojunk=False)``'s matching blocks, without the
    empty last one. Repetitive code has the same gaps between the anchors of many
    chains, and a verbatim copy has none to align."""
    if a == b:
        return [(0, 0, len(a))] if a else []
    blocks = _memo_of(q).blocks
    key = (tuple(a), tuple(b))
    got = blocks.get(key)
    if got is None:
        sm = SequenceMatcher(None, a, b, autojunk=False)
        got = blocks[key] = [(x, y, n) for x, y, n in sm.get_matching_blocks() if n]
    return got


def trim_edges(q: list[int], region: tuple[int, int, int, int], head_end: int, tail_start: int,
               brace_blocks: bool, edges: tuple[frozenset[int], frozenset[int]],
               braces: tuple[int, int]) -> tuple[int, int, int, int]:
    """The region without the tail of a block at its start (`return 1; }` of the
    function before a copy often matches what precedes its source, even as the
    head of the first anchor) or a closer there, and without an opener at its
    end; never trimmed past its first anchor (which ends at ``head_end``) or
    into its last one (which starts at ``tail_start``). Only a block's tail is
    cut, not a partial statement: an edit in the copy also ends an alignment
    mid-statement, and what follows it was copied. ``region`` is (q0, s0, q1, s1)."""
    q0, s0, q1, s1 = region
    closers, openers = edges
    close, open_ = braces
    if brace_blocks and q0 > 0:
        for i in range(q0, min(head_end, q1)):
            if q[i] == open_:
                break
            if q[i] == close:
                q0, s0 = i + 1, s0 + i + 1 - q0
                break
    while q0 < min(head_end, q1 - 1) and q[q0] in closers:
        q0, s0 = q0 + 1, s0 + 1
    while q1 > max(tail_start + 1, q0 + 1) and q[q1 - 1] in openers:
        q1, s1 = q1 - 1, s1 - 1
    return q0, s0, q1, s1


def kept_names(spans: list[tuple[int, int, int]], query: Query, s: list[int],
                sn: array, region: tuple[int, int, int, int], table: bool,
                enough: Callable[[int, int, int], bool]) -> tuple[int, int, int]:
    """(aligned name/literal pairs, how many of them the copy kept verbatim, how many
    distinct telling ones it kept).

    Counted on the normalized alignment first. When that is not ``enough``, the
    region is aligned again on tokens and raw names together: in repetitive code
    (a switch, rows of a table) the normalized alignment may pair each row with
    its neighbour, which makes a verbatim copy look renamed."""
    q, qn, qt = query.codes, query.names, query.telling
    names = same = 0
    told: set[int] = set()
    for qa, sa, n in spans:
        for a, b, t in zip(qn[qa:qa + n], sn[sa:sa + n], qt[qa:qa + n]):
            if a >= 0:
                names += 1
                if a == b:
                    same += 1
                    if t:
                        told.add(a)
    q0, q1, s0, s1 = region
    # Tables are left out: their rows align diagonally from the anchors at their
    # edges, and difflib over rows of commas and numbers is what costs the most.
    if enough(names, same, len(told)) or max(q1 - q0, s1 - s0) > NAMES_ALIGN_MAX or table:
        return names, same, len(told)
    qk = [c * 65537 + n + 1 for c, n in zip(q[q0:q1], qn[q0:q1])]
    sk = [c * 65537 + n + 1 for c, n in zip(s[s0:s1], sn[s0:s1])]
    sm = SequenceMatcher(None, qk, sk, autojunk=False)
    kept = [i for a, _, n in sm.get_matching_blocks() for i in range(q0 + a, q0 + a + n) if qn[i] >= 0]
    if len(kept) <= same:
        return names, same, len(told)
    return names, min(len(kept), names), len({qn[i] for i in kept if qt[i]})


def overlap_source(a: Region, b: Region) -> float:
    inter = min(a.s1, b.s1) - max(a.s0, b.s0)
    return max(0, inter) / max(1, min(a.s1 - a.s0, b.s1 - b.s0))


DIVERSITY_N = 6
"""Longer than one table row (5-7 normalized tokens), so a table's rows all give the
same few n-grams, yet short enough that edited code keeps most of its n-grams."""


def diversity(q: list[int], q0: int, q1: int) -> float:
    """Distinct normalized 6-grams per 6-gram of a region: 0.7-1.0 for ordinary code,
    about 0.2 for a table or list of one repeated row shape."""
    n = q1 - q0 - DIVERSITY_N + 1
    if n <= 0:
        return 1.0
    memo = _memo_of(q).diversity  # the chains of repetitive code often extend to one region
    got = memo.get((q0, q1))
    if got is None:
        got = memo[q0, q1] = len(set(zip(*(q[q0 + i:q1 - DIVERSITY_N + 1 + i] for i in range(DIVERSITY_N))))) / n
    return got


def overlapping(regions: list[Region]) -> list[list[Region]]:
    """For each region, those that cover at least half of it or of themselves (``overlap``),
    itself included; sorted by start, so only regions starting within the longest one's
    length before it are compared."""
    rs = sorted(regions, key=lambda r: r.q0)
    starts = [r.q0 for r in rs]
    longest = max(r.q1 - r.q0 for r in rs)
    out = []
    for r in rs:
        group = []
        for o in rs[bisect_left(starts, r.q0 - longest):]:
            if o.q0 >= r.q1:
                break
            if overlap(o, r) >= 0.5:
                group.append(o)
        out.append(group)
    return out


def overlap(a: Region, b: Region) -> float:
    inter = min(a.q1, b.q1) - max(a.q0, b.q0)
    return max(0, inter) / max(1, min(a.q1 - a.q0, b.q1 - b.q0))
