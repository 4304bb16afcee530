"""Base code (``index build --base``) and table-shaped matches: what is common is not evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from licscan.engine.build import build_index
from licscan.cli.main import app
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher, Thresholds

from conftest import write

# A short helper (48 normalized tokens): found through its rare anchors alone,
# which base code that has the same helper takes away.
HELPER = """int {name}(int *{a}, int *{b}, int {n})
{{
    for (int {i} = 0; {i} < {n}; {i}++)
        if ({a}[{i}] != {b}[{i}])
            return {i};
    return -1;
}}
"""
DISTINCT = """unsigned long {name}(const unsigned char *{buf}, unsigned long {len}, unsigned long {seed})
{{
    unsigned long a = {seed} & 0xffff, b = ({seed} >> 16) & 0xffff;
    for (unsigned long k = 0; k < {len}; k++) {{
        a = (a + {buf}[k] * 7u + 3u) % 65521u;
        b = (b + (a ^ (a << 3))) % 65521u;
        if ((k & 31u) == 31u)
            b ^= a >> 5;
    }}
    if ({len} > 4096)
        a = (a * 31u) ^ (b >> 2);
    return (b << 16) | a;
}}
"""


def _corpus(tmp_path: Path) -> tuple[Path, Path]:
    gpl = write(tmp_path / "gplproj", {"util.c": "/* SPDX-License-Identifier: GPL-3.0-or-later */\n"
                                       + HELPER.format(name="first_difference", a="left", b="right",
                                                       n="count", i="k")
                                       + DISTINCT.format(name="rolling_digest", buf="buf", len="len",
                                                         seed="seed")})
    base = write(tmp_path / "mitlib", {"cmp.c": "/* SPDX-License-Identifier: MIT */\n"
                                       + HELPER.format(name="mismatch_at", a="xs", b="ys", n="total",
                                                       i="j")})
    return gpl, base


def test_base_code_takes_rarity_from_what_it_shares(tmp_path: Path) -> None:
    gpl, base = _corpus(tmp_path)
    plain, based = tmp_path / "plain.lsi", tmp_path / "based.lsi"
    build_index([gpl], plain, workers=1, licenses=False)
    summary = build_index([gpl], based, workers=1, licenses=False, base=[base])
    assert summary.base_files == 1 and summary.base_common > 0
    # The GPL helper itself (a short match needs its names kept, see test_names.py).
    helper = HELPER.format(name="first_difference", a="left", b="right", n="count", i="k")
    digest = DISTINCT.format(name="mix", buf="data", len="n", seed="s0")

    without = Matcher(open_index(plain)).scan_text(helper, "c")
    assert len(without) == 1 and without[0].evidence.rare_anchors >= 1
    # The MIT library has the same helper: nothing in it is specific to the GPL source.
    assert Matcher(open_index(based)).scan_text(helper, "c") == []
    # What the base does not have is still found, with all its rare anchors.
    a = Matcher(open_index(plain)).scan_text(digest, "c")
    b = Matcher(open_index(based)).scan_text(digest, "c")
    assert len(a) == len(b) == 1
    assert (b[0].source, b[0].tokens, b[0].evidence.rare_anchors) == \
        (a[0].source, a[0].tokens, a[0].evidence.rare_anchors)


def test_base_is_recorded_and_shown(tmp_path: Path) -> None:
    gpl, base = _corpus(tmp_path)
    out = tmp_path / "x.lsi"
    res = CliRunner().invoke(app, ["index", "build", "--out", str(out), "--no-licenses",
                                   "--base", str(base), str(gpl)])
    assert res.exit_code == 0, res.output
    assert "base code: 1 files" in res.output
    idx = open_index(out)
    assert [b["name"] for b in idx.meta["base"]] == ["mitlib"]
    assert idx.stats()["common_fingerprints"] > 0
    info = json.loads(CliRunner().invoke(app, ["index", "info", "--format", "json", str(out)]).output)
    assert info["base"][0]["name"] == "mitlib" and info["common_fingerprints"] > 0
    # Base code is never a source of findings.
    assert all(not p.startswith("mitlib/") for (p,) in idx.db.execute("SELECT path FROM files"))


def test_missing_base_is_a_usage_error(tmp_path: Path) -> None:
    gpl, _ = _corpus(tmp_path)
    res = subprocess.run([sys.executable, "-m", "licscan", "index", "build", "--out", str(tmp_path / "y.lsi"),
                          "--no-licenses", "--base", str(tmp_path / "nope"), str(gpl)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "not found" in res.stderr and len(res.stderr.splitlines()) == 1
    assert not (tmp_path / "y.lsi").exists()


def _table(kind: str, words: str) -> str:
    rows = "\n".join(f'    {{ "{w}", {kind}_{w.upper()} }},' for w in words.split())
    return f"static const struct {kind.lower()}_entry {kind.lower()}s[] = {{\n{rows}\n}};\n"


def test_a_table_matches_no_other_table(tmp_path: Path) -> None:
    """Rows of one shape (``{ "name", CONST },``) align with any other such table: two
    indexed programs have one, so the shape is common, and a third program's table
    must not be reported as a copy of either."""
    write(tmp_path / "shell", {"words.c": _table("TOK", "if then else elif fi case esac for while until do "
                                                 "done in function select time")
                               + DISTINCT.format(name="hash_word", buf="s", len="n", seed="h")})
    write(tmp_path / "editor", {"keys.c": _table("KEY", "up down left right home end insert delete "
                                                 "escape tab enter space backspace pageup pagedown")})
    out = tmp_path / "t.lsi"
    build_index([tmp_path / "shell", tmp_path / "editor"], out, workers=1, licenses=False)
    # The same shape with a distinctive function is still a copy of that function.
    assert Matcher(open_index(out)).scan_text(DISTINCT.format(name="f", buf="b", len="l", seed="x"), "c")
    other = "\n".join(f'        {{ "{w}", ATTR_{w.upper()} }},' for w in
                      "bold dim underscore blink reverse hidden italics strike double curly dotted dashed "
                      "overline".split())
    table = f"static const struct attr_name names[] = {{\n{other}\n}};\n"
    assert Matcher(open_index(out)).scan_text(table, "c") == []


def test_a_few_base_shaped_anchors_do_not_make_a_copy_base_code(tmp_path: Path) -> None:
    """Fingerprints are normalized: a short verbatim block whose two to four anchors
    all have look-alikes somewhere in a large base is still a copy; only a match
    with ``base_min_anchors`` anchors or more can show that the base has it whole."""
    gpl, _ = _corpus(tmp_path)
    out = tmp_path / "plain.lsi"
    build_index([gpl], out, workers=1, licenses=False)
    # Three lines of the digest, kept verbatim: 45 tokens, four anchors.
    block = "\n".join(DISTINCT.format(name="rolling_digest", buf="buf", len="len", seed="seed")
                      .splitlines()[4:7]) + "\n"
    helper = HELPER.format(name="first_difference", a="left", b="right", n="count", i="k")

    def scan(text: str, **t: int) -> list:
        idx = open_index(out)
        idx.common = lambda hashes: set(hashes)  # a base that has every shape
        return Matcher(idx, Thresholds(**t)).scan_text(text, "c")

    found = scan(block)
    assert len(found) == 1 and found[0].source.path == "gplproj/util.c"
    assert 2 <= found[0].evidence.anchors < Thresholds().base_min_anchors
    # Counting every chain as base code would lose it ...
    assert scan(block, base_min_anchors=1) == []
    # ... while the whole helper, all of whose anchors the base has, stays base code.
    assert scan(helper) == []
    assert len(scan(helper, base_min_anchors=100)) == 1


def test_shared_is_intersect1d_of_sorted_hashes() -> None:
    # The build's per-partition intersection with the base (spill.shared) must give exactly
    # what np.intersect1d gives: edge values, duplicates, a base beyond either end, empties.
    import numpy as np

    from licscan.engine.spill import shared

    rng = np.random.default_rng(20261208)
    for _ in range(500):
        h = np.sort(rng.integers(-30, 30, rng.integers(0, 60))).astype(np.int64)
        base = np.unique(rng.integers(-40, 40, rng.integers(0, 60))).astype(np.int64)
        assert np.array_equal(shared(h, base), np.intersect1d(h, base))
    big = np.array([2**62, 2**62 + 1], np.int64)
    assert shared(big, np.array([-1, 2**62 + 1], np.int64)).tolist() == [2**62 + 1]
