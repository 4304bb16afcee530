"""Scanned k-grams found in the index -> hits (scanned position, source position, fingerprint).

Where each fingerprint starts in the scanned text (``positions``), and the boilerplate
anchors of a candidate that the cap left with one fingerprint (``boilerplate``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from licscan.engine.store import IndexStore

MAX_QPOS = 16
"""Most places in the scanned text one fingerprint is placed at (a repeated k-gram)."""

Hits = dict[int, list[tuple[int, int, int]]]


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


def boilerplate(index: IndexStore, hits: Hits, keys: Sequence[int], placed: dict[int, list[int]],
                hashes: list[int], literal: list[tuple[int, int]]) -> None:
    """Add to ``hits`` the capped anchors (fingerprints in more files than the boilerplate
    cap) of each candidate that shares a single fingerprint with the text.

    The cap keeps boilerplate from finding candidates and posting lists from growing with
    the corpus, but it moves with the corpus: a kernel's worth of C lifts ordinary k-grams
    over it, and a short edited copy whose other anchors were lifted is left with one
    fingerprint, which can make no region (issue 12: two of the four edited copies lost
    between 1x and 8.7x the accuracy corpus). A source found by a fingerprint under the cap
    keeps its capped ones as anchors: they cannot make it a candidate, and never count as
    rare (``Matcher._rare`` sees only the rows under the cap). Only single-fingerprint
    candidates: with two or more, the chains already have anchors, and giving them capped
    ones too changed which regions won on both case sets without finding more copies."""
    weak = [f for f, fh in hits.items() if len({h for _, _, h in fh}) == 1]
    gone = [h for h in keys if h not in placed]
    if not weak or not gone:
        return
    rows = index.capped(gone, weak)
    if not rows:
        return
    where = positions(hashes, literal, {h for h, _f, _p in rows})
    for h, f, p in rows:
        hits[f].extend((q, p, h) for q in where[h])
