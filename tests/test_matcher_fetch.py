"""How a scan reads candidate sources: each once, in a few round trips, however many there are."""

from __future__ import annotations

from pathlib import Path

import pytest

from licscan.engine import matcher as matcher_mod
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher

HELPER = """static int {name}(const char *{s}, int {n})
{{
    int {h} = 0;
    for (int {i} = 0; {i} < {n}; {i}++) {{
        {h} = {h} * 31 + {s}[{i}];
        if ({h} < 0)
            {h} = -{h};
    }}
    return {h} % 1021;
}}
"""


def test_candidates_bigger_than_the_cache_are_each_read_once(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Six GPL projects hold the same helper: six candidates, each verified. With a cache of
    about two of them, fetching all six at once evicted four before their turn, and each was
    read again alone; now they come half a cache at a time, each read once before selection."""
    from licscan.engine.build import build_index

    from conftest import write

    roots = [write(tmp_path / f"proj{i}", {f"src/util{i}.c": "/* SPDX-License-Identifier: GPL-2.0-only */\n"
                                                 + HELPER.format(name=f"bucket{i}", s="s", n="n", h="h", i="i")
                                                 + f"int extra{i}(void) {{ return {i} * {i + 7}; }}\n"})
             for i in range(6)]
    out = tmp_path / "six.lsi"
    build_index(roots, out, workers=1, licenses=False)
    idx = open_index(out)
    query = HELPER.format(name="hash_name", s="text", n="len", h="acc", i="k")
    expected = Matcher(idx).scan_text(query, "c")
    assert expected
    per_file = max(n for (n,) in idx.db.execute("SELECT ntokens FROM files"))
    monkeypatch.setattr(matcher_mod, "CACHED_TOKENS", int(per_file * 2.5))
    reads: list[int] = []
    real = idx.sources
    monkeypatch.setattr(idx, "sources", lambda fids: (reads.extend(fids), real(fids))[1])
    m = Matcher(idx)
    at_select: list[int] = []
    real_select = m._select
    monkeypatch.setattr(m, "_select", lambda regions, q: (at_select.append(len(reads)), real_select(regions, q))[1])
    got = m.scan_text(query, "c")
    assert [(f.source.path, f.start_line, f.end_line, f.tokens) for f in got] == \
        [(f.source.path, f.start_line, f.end_line, f.tokens) for f in expected]
    before = reads[:at_select[0]]
    assert len(before) == len(set(before)) == 6, reads
