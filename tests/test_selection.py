"""Which sources a region is reported with: at most ``max_sources``, ranked by the evidence
that singles out the one it was copied from (``Matcher._select``)."""

from __future__ import annotations

import random
from pathlib import Path

from licscan.engine.align import Query, Region
from licscan.engine.build import build_index
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher

from conftest import write
from test_scale_evidence import _filler


def test_a_rare_anchor_ranks_the_source_above_its_look_alikes(tmp_path: Path) -> None:
    rng = random.Random(3)
    roots = [write(tmp_path / f"tool{i}", {"main.c": _filler(rng, i)}) for i in range(4)]
    build_index(roots, tmp_path / "x.lsi", workers=1, licenses=False)
    m = Matcher(open_index(tmp_path / "x.lsi"))
    assert len({m.index.file(f).family for f in range(4)}) == 4
    query = Query([0] * 80, [-1] * 80, [False] * 80, True, list(range(1, 81)), "copy.c")

    def region(fid: int, matched: int, rare: int) -> Region:
        return Region(fid, 0, 72, 0, 72, matched, anchors=5, rare=rare, similarity=0.95, diversity=0.9,
                      names=24, same=20, telling=6)

    # coreutils' groups.c and three programs with the same usage() preamble (c-c-0076 at
    # 8.7x): the look-alikes align a few tokens longer; only the source has rare anchors
    kept = m._select([region(0, 66, 8), region(1, 70, 0), region(2, 69, 0), region(3, 68, 0)], query)
    assert [r.fid for r in kept] == [0, 1, 2]
    # without rare anchors the longest alignments win, as before
    kept = m._select([region(0, 66, 0), region(1, 70, 0), region(2, 69, 0), region(3, 68, 0)], query)
    assert [r.fid for r in kept] == [1, 2, 3]
