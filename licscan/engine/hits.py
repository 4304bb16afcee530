"""Scanned k-grams found in the index -> hits (scanned position, source position, fingerprint).

Where each fingerprint starts in the scanned text (``positions``), and the boilerplate
anchors of a candidate that the cap left with one fingerprint (``boilerplate``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from itertools import chain

from licscan.engine.chains import MAX_GAP
from licscan.engine.store import IndexStore

MAX_QPOS = 16
"""Most places in the scanned text one fingerprint is placed at (a repeated k-gram)."""

Hits = dict[int, list[tuple[int, int, int]]]
REACH = 3 * MAX_GAP
"""How far (tokens) from a candidate's one hit its capped anchors are looked for, in both texts."""


def positions(hashes: list[int], literal: list[tuple[int, int]], found: set[int]) -> dict[int, list[int]]:
    """Where in the query each hash the index holds starts (at most MAX_QPOS places).

    Only hashes the index has are placed: a megabyte of input is a million k-grams,
    and a loop over all of them costs more than the lookup."""
    qpos: dict[int, list[int]] = defaultdict(list)
    if not found:
        return qpos
    if len(hashes) > 20000:  # numpy is loaded for inputs this long (matcher._kgram_hashes)
        import numpy as np

        arr = np.asarray(hashes, np.int64)
        where = np.flatnonzero(np.isin(arr, np.fromiter(found, np.int64, len(found)))).tolist()
        placed: list[tuple[int, int]] = list(zip(where, arr[where].tolist()))
    else:
        placed = [(i, h) for i, h in enumerate(hashes) if h in found]
    for i, h in placed + [(i, h) for i, h in literal if h in found]:
        ps = qpos[h]
        if len(ps) < MAX_QPOS:
            ps.append(i)
    return qpos


def boilerplate(index: IndexStore, hits: Hits, placed: dict[int, list[int]], hashes: list[int],
                literal: list[tuple[int, int]]) -> None:
    """Add to ``hits`` the capped anchors (fingerprints in more files than the boilerplate
    cap) of each candidate that shares a single fingerprint with the text, near that hit.

    The cap keeps boilerplate from finding candidates and posting lists from growing with
    the corpus, but it moves with the corpus: a kernel's worth of C lifts ordinary k-grams
    over it, and a short edited copy whose other anchors were lifted is left with one
    fingerprint, which can make no region (issue 12: two of the four edited copies lost
    between 1x and 8.7x the accuracy corpus). A source found by a fingerprint under the cap
    keeps its capped ones as anchors: they cannot make it a candidate, and never count as
    rare (``Matcher._rare`` sees only the rows under the cap). Only single-fingerprint
    candidates: with two or more, the chains already have anchors, and giving them capped
    ones too changed which regions won on both case sets without finding more copies. Only
    within ``REACH`` of the one hit, in both texts: what chaining could link to it, and a
    bound on the work, since boilerplate is everywhere in a long text and a long source."""
    weak = {f: fh for f, fh in hits.items() if len({h for _, _, h in fh}) == 1}
    if not weak:
        return
    mask = bytearray(len(hashes) + 1)
    for q in {q for fh in weak.values() for q, _, _ in fh}:
        lo, hi = max(0, q - REACH), min(len(mask), q + REACH + 1)
        mask[lo:hi] = b"\1" * (hi - lo)
    gone = list(dict.fromkeys(h for i, h in chain(enumerate(hashes), literal) if mask[min(i, len(hashes))]
                              and h not in placed))
    capped = index.capped_among(gone) if gone else set()
    if not capped:
        return
    # Pairs, not every capped hash with every candidate: in a long text both run to
    # thousands (0.44 s of seeks for 430 KB of C at 8.7x; the pairs, 5 ms).
    where = positions(hashes, literal, capped)
    spots = sorted((q, h) for h in capped for q in where[h])
    starts = [q for q, _ in spots]
    pairs = {(h, f) for f, fh in weak.items() for q0, _, _ in fh
             for _, h in spots[bisect_left(starts, q0 - REACH):bisect_right(starts, q0 + REACH)]}
    for h, f, p in index.capped_postings(sorted(pairs)):
        hits[f].extend((q, p, h) for q in where[h]
                       if any(abs(q - q0) <= REACH and abs(p - p0) <= REACH for q0, p0, _ in weak[f]))
