"""What a match kept of its source's names and literals: the evidence that separates a
renamed copy from two programs that merely share a token shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from licscan.engine import fingerprints as fpr
from licscan.engine.build import build_index
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher, Thresholds
from licscan.engine.tokens import tokenize

from conftest import write

# A short search loop (about 70 normalized tokens): long enough to match, short
# enough that its shape alone is weak evidence.
SEARCH = """static int {f}(struct {node} *{head}, int {key})
{{
    struct {node} *{cur} = {head};
    int {depth} = {zero};
    while ({cur} != {nil}) {{
        if ({cur}->{val} == {key})
            return {depth};
        {cur} = {key} < {cur}->{val} ? {cur}->{left} : {cur}->{right};
        {depth} += {one};
    }}
    return -{one};
}}
"""
ORIGINAL = dict(f="tree_depth_of", node="tnode", head="root", key="wanted", cur="walk", depth="level",
                zero="0", nil="NULL", val="value", left="lo", right="hi", one="1")
# Every name and literal replaced: nothing of the source text is left.
STRANGER = dict(f="find_level", node="item", head="top", key="goal", cur="it", depth="d",
                zero="7", nil="END", val="k", left="prev", right="next", one="3")
# Local names replaced, but the struct's fields and the NULL it compares with kept,
# as a rename that must still compile against the same types does.
RENAMED = dict(STRANGER, node="tnode", val="value", left="lo", right="hi", nil="NULL")


def _table(name: str, values: list[int]) -> str:
    rows = ",\n".join("    " + ", ".join(f"0x{v:04x}" for v in values[i:i + 8])
                      for i in range(0, len(values), 8))
    return f"static const unsigned short {name}[{len(values)}] = {{\n{rows}\n}};\n"


TABLE = _table("crc_ccitt_lut", [(i * 4129) & 0xFFFF for i in range(64)])
OTHER_TABLE = _table("crc_ccitt_lut", [(i * 40503 + 17) & 0xFFFF for i in range(64)])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("names")
    long_fn = "\n".join(SEARCH.format(**{k: v + str(n) if k not in ("zero", "one", "nil") else v
                                         for k, v in ORIGINAL.items()}) for n in range(3))
    gpl = write(root / "gplproj", {
        "search.c": "/* SPDX-License-Identifier: GPL-2.0-or-later */\n" + SEARCH.format(**ORIGINAL),
        "lut.c": "/* SPDX-License-Identifier: GPL-2.0-or-later */\n#include <stdint.h>\n" + TABLE,
        "long.c": "/* SPDX-License-Identifier: GPL-2.0-or-later */\n" + long_fn,
    })
    out = root / "n.lsi"
    build_index([gpl], out, workers=1, licenses=False)
    return out


def test_name_codes_mark_names_and_literals_only() -> None:
    ts = tokenize('int f(int x) { return x + 42 + g("s"); }', "c")
    codes = fpr.name_codes(ts)
    assert len(codes) == len(ts)
    for norm, raw, c in zip(ts.norm, ts.raw, codes):
        assert (c >= 0) == (norm in fpr.LEXICAL), (norm, raw)
    named = {raw: c for raw, c, n in zip(ts.raw, codes, ts.norm) if n in fpr.LEXICAL}
    assert set(named) == {"f", "x", "42", "g", '"s"'}
    assert all(0 <= c <= 0xFFFF for c in named.values())
    # The same raw text always hashes alike, in any stream.
    again = fpr.name_codes(tokenize("x = 42;", "c"))
    assert [c for c in again if c >= 0] == [named["x"], named["42"]]


def test_structural_twin_without_shared_names_is_not_a_copy(index: Path) -> None:
    m = Matcher(open_index(index))
    stranger = m.scan_text(SEARCH.format(**STRANGER), "c")
    assert stranger == []
    # Without the names rule the same shape is a match: the test guards the rule.
    loose = Matcher(open_index(index), Thresholds(min_same_names=0))
    shape = loose.scan_text(SEARCH.format(**STRANGER), "c")
    assert len(shape) == 1 and shape[0].evidence.names_kept == 0.0


def test_rename_that_keeps_some_names_is_a_copy(index: Path) -> None:
    found = Matcher(open_index(index)).scan_text(SEARCH.format(**RENAMED), "c")
    assert len(found) == 1
    f = found[0]
    assert f.source.path == "gplproj/search.c"
    assert 0 < f.evidence.names_kept < 0.7
    verbatim = Matcher(open_index(index)).scan_text(SEARCH.format(**ORIGINAL), "c")
    kept = {f.source.path: f.evidence.names_kept for f in verbatim}
    assert kept["gplproj/search.c"] == 1.0


def test_long_thorough_rename_is_still_a_copy(index: Path) -> None:
    # Three functions' worth of structure, every name and literal changed.
    text = "\n".join(SEARCH.format(**{k: v + str(n) for k, v in STRANGER.items()}) for n in range(3))
    found = Matcher(open_index(index)).scan_text(text, "c")
    assert [f.source.path for f in found] == ["gplproj/long.c"]
    f = found[0]
    assert f.tokens >= Thresholds().renamed_min_tokens
    assert f.evidence.rare_anchors >= Thresholds().renamed_min_rare
    assert f.evidence.names_kept < 0.1


def test_table_is_a_copy_only_if_its_values_are(index: Path) -> None:
    m = Matcher(open_index(index))
    same = m.scan_text(TABLE, "c")
    assert [f.source.path for f in same] == ["gplproj/lut.c"]
    assert same[0].evidence.diversity < Thresholds().table_diversity
    assert m.scan_text(OTHER_TABLE, "c") == []
    loose = Matcher(open_index(index), Thresholds(table_min_same=0.0))
    assert [f.source.path for f in loose.scan_text(OTHER_TABLE, "c")] == ["gplproj/lut.c"]


@pytest.mark.parametrize("lang, text", [
    ("c", '#include <stdio.h>\n#include "local.h"\n'),
    ("cpp", "#include <vector>\n"),
    ("python", "import os\nfrom collections import OrderedDict as OD\nfrom __future__ import annotations\n"),
    ("java", "package org.example.util;\nimport java.util.List;\nimport static java.lang.Math.max;\n"),
    ("javascript", 'import fs from "fs";\nimport * as path from "path";\n'),
    ("typescript", 'import { readFile } from "fs";\n'),
    ("go", 'package demo\n\nimport (\n\t"fmt"\n\t"os"\n)\n'),
    ("rust", "extern crate serde;\nuse std::collections::HashMap;\n"),
    ("php", "<?php\nuse Foo\\Bar;\nuse Baz\\Qux as Q;\n"),
    ("csharp", "using System;\nusing System.Collections.Generic;\n"),
])
def test_import_blocks_make_no_tokens(lang: str, text: str) -> None:
    ts = tokenize(text, lang)
    assert [t for t in ts.raw if t not in ("<?php",)] == [], ts.raw
    # ... while the code after them keeps its lines.
    body = {"python": "x = 1\n", "go": "var x = 1\n", "rust": "fn f() {}\n", "php": "$x = 1;\n",
            "csharp": "class A {}\n", "java": "class A {}\n"}.get(lang, "int x = 1;\n")
    full = tokenize(text + body, lang)
    lines = [ln for ln, raw in zip(full.lines, full.raw) if raw != "<?php"]
    assert lines and lines[0] == text.count("\n") + 1


def _loop(names: dict[str, str]) -> str:
    """SEARCH's loop alone: a chat-sized snippet of about 45 tokens."""
    body = SEARCH.format(**names).splitlines()
    return "\n".join(body[3:10]) + "\n"


def test_short_snippet_needs_its_names(index: Path) -> None:
    m = Matcher(open_index(index))
    verbatim = [f for f in m.scan_text(_loop(ORIGINAL), "c") if f.source.path == "gplproj/search.c"]
    assert len(verbatim) == 1 and verbatim[0].tokens < Thresholds().min_tokens
    assert m.scan_text(_loop(RENAMED), "c") == []
    # The rename kept no telling name in these lines (value, lo, hi, NULL), so two
    # rules stand between it and a finding: the share of names kept, and the
    # telling names a match under min_tokens needs.
    for rule in ({"short_min_same": 0.0}, {"telling_min_names": 0}):
        assert Matcher(open_index(index), Thresholds(**rule)).scan_text(_loop(RENAMED), "c") == []
    loose = Matcher(open_index(index), Thresholds(short_min_same=0.0, telling_min_names=0))
    assert "gplproj/search.c" in {f.source.path for f in loose.scan_text(_loop(RENAMED), "c")}


def test_verbatim_snippet_of_shared_code_is_a_copy(tmp_path: Path) -> None:
    # The same function vendored in two projects (different files around it): none
    # of its fingerprints is rare, so only its kept names can make a short match.
    # projb's file holds much more besides (so it is not a near-duplicate of proja's,
    # which would make the two one family and the function rare again).
    more = (Path(__file__).parent / "fixtures" / "langs" / "corpus" / "c" / "rlepack.c").read_text()
    a = write(tmp_path / "proja", {"tree.c": SEARCH.format(**ORIGINAL) + "\n"})
    b = write(tmp_path / "projb", {"walk.c": SEARCH.format(**ORIGINAL) + "\n" + more})
    out = tmp_path / "shared.lsi"
    build_index([a, b], out, workers=1, licenses=False)
    m = Matcher(open_index(out))
    found = m.scan_text(_loop(ORIGINAL), "c")
    assert found and all(f.evidence.rare_anchors == 0 for f in found)
    assert {f.source.path for f in found} | set(found[0].evidence.also_in) >= {"proja/tree.c"}
    assert found[0].tokens < Thresholds().min_tokens
    assert m.scan_text(_loop(RENAMED), "c") == []
    strict = Matcher(open_index(out), Thresholds(verbatim_min_tokens=10_000))
    assert strict.scan_text(_loop(ORIGINAL), "c") == []


# A generic idiom: every name in it is one any program would choose.
SAME_ITEMS = """int same_items(const int *a, const int *b, int n, int m)
{
    if (n != m)
        return 0;
    for (int i = 0; i < n; i++) {
        if (a[i] != b[i])
            return 0;
    }
    return 1;
}
"""
# Written independently for the same job: one more early exit, one more test in the loop.
ARRAYS_MATCH = """int arrays_match(const int *a, const int *b, int n, int m)
{
    if (n != m)
        return 0;
    if (a == b)
        return 1;
    for (int i = 0; i < n; i++) {
        if (a[i] != b[i])
            return 0;
        if (a[i] == 0)
            break;
    }
    return 1;
}
"""


def test_telling_names_skip_short_and_universal_ones() -> None:
    assert [fpr.telling(t) for t in ("i", "n", "fd", "0", "42", '""', '"a"', "len", "Length", "NULL")] == [
        False, False, False, False, False, False, False, False, False, False]
    assert [fpr.telling(t) for t in ("xmalloc", "786", '"rounds="', "obscure_msg", "ctx")] == [
        True, True, True, True, True]


def test_idiom_that_kept_only_generic_names_must_be_exact(tmp_path: Path) -> None:
    # The idiom in two GPL projects, so none of its fingerprints is rare: its shape
    # says nothing of its origin, and neither do a, b, n, i, 0 and 1.
    more = (Path(__file__).parent / "fixtures" / "langs" / "corpus" / "c" / "rlepack.c").read_text()
    spdx = "/* SPDX-License-Identifier: GPL-2.0-or-later */\n"
    a = write(tmp_path / "proja", {"cmp.c": spdx + SAME_ITEMS})
    b = write(tmp_path / "projb", {"util.c": spdx + SAME_ITEMS + "\n" + more})
    out = tmp_path / "idiom.lsi"
    build_index([a, b], out, workers=1, licenses=False)
    assert Matcher(open_index(out)).scan_text(ARRAYS_MATCH, "c") == []
    # Without the rule, the independent version is a copy: the test guards the rule.
    loose = Matcher(open_index(out), Thresholds(telling_min_names=0)).scan_text(ARRAYS_MATCH, "c")
    assert len(loose) == 1 and loose[0].evidence.rare_anchors == 0
    assert Thresholds().min_similarity < loose[0].similarity < Thresholds().generic_min_similarity


_VERBS = ["init", "lock", "unlock", "wait", "signal", "create", "join", "destroy", "yield", "sleep",
          "wake", "post", "trywait", "rdlock", "wrlock", "timedwait", "attach", "detach", "cancel",
          "reset", "bind", "park"]
_OBJS = ["baton", "mutex", "turnstile", "gate", "latch", "barrier", "semaphore", "queue", "ring", "token",
         "flag"]


def _steps(n0: int, n1: int) -> str:
    """Rows of one shape (``if (glx_lock (&gate)) FAILED (3);``), two lines each."""
    return "".join(f"  if (glx_{_VERBS[i % len(_VERBS)]} (&{_OBJS[i % len(_OBJS)]}))\n    FAILED ({i + 1});\n"
                   for i in range(n0, n1))


@pytest.mark.parametrize("n0", [6, 8, 14])
def test_block_of_repeated_rows_is_found_at_its_own_rows(tmp_path: Path, n0: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A test driver of 22 near-identical rows; six of them pasted into new code.
    # Every row's fingerprints occur at every row: chaining strays between rows,
    # and winnowing may have kept none of the pasted rows' own fingerprints.
    src = "/* SPDX-License-Identifier: GPL-2.0-or-later */\nstatic int\nrun_steps (void)\n{\n"
    gpl = write(tmp_path / "gplproj", {"steps.c": src + _steps(0, 22) + "  return 0;\n}\n"})
    out = tmp_path / "steps.lsi"
    build_index([gpl], out, workers=1, licenses=False)
    host = ("int\nfresh_helper (int count, char **names)\n{\n  int total = 0;\n"
            "  for (int k = 0; k < count; k++)\n    total += names[k][0];\n"
            + _steps(n0, n0 + 6) + "  return total;\n}\n")
    found = Matcher(open_index(out)).scan_text(host, "c")
    assert len(found) == 1, found
    f = found[0]
    first, last = 5 + 2 * n0, 4 + 2 * (n0 + 6)  # the pasted rows in steps.c
    assert f.source.path == "gplproj/steps.c"
    assert f.source.start_line <= first and f.source.end_line == last
    assert f.source.start_line >= first - 1  # the ';' before the rows may join in
    assert f.end_line == 18 and f.evidence.names_kept == 1.0
    # Each half of the mechanism is needed: exact runs, and moving them to their rows.
    from licscan.engine import chains
    from licscan.engine import matcher as matches

    monkeypatch.setattr(chains, "own_rows", lambda q, s, qn, sn, a, e, d: d)
    assert Matcher(open_index(out)).scan_text(host, "c") == []
    monkeypatch.setattr(matches, "runs", lambda *a, **k: [])
    assert Matcher(open_index(out)).scan_text(host, "c") == []


_FIELDS = ["st_year", "st_month", "st_day", "st_hour", "st_minute"]
COPY_STAMP = ("static void copy_stamp(const struct stamp *src, struct stamp *dst)\n{\n"
              + "".join(f"    dst->{f} = src->{f};\n" for f in _FIELDS)
              + "    if (src->st_zone > 0)\n        dst->st_zone = src->st_zone;\n"
              + "    dst->st_valid = stamp_check(dst);\n}\n")
# Written against the same struct, independently: other parameter names, one more field.
STAMP_ASSIGN = ("void stamp_assign(struct stamp *out, const struct stamp *in)\n{\n"
                + "".join(f"    out->{f} = in->{f};\n" for f in _FIELDS)
                + "    out->st_second = 0;\n"
                + "    if (in->st_zone > 0)\n        out->st_zone = in->st_zone;\n"
                + "    out->st_valid = stamp_check(out);\n}\n")


def test_names_that_many_projects_use_tell_nothing(tmp_path: Path) -> None:
    # Four other projects use the struct's fields and its checker in ten files each:
    # they are an API, not the GPL function's own text.
    def users(p: int) -> dict[str, str]:
        return {f"use{n}.c": "int stamp_sum_%d_%d(const struct stamp *s)\n{\n    return s->st_year * %d + %s"
                " + s->st_zone + s->st_valid + stamp_check(s);\n}\n"
                % (p, n, n, " + ".join(f"s->{f}" for f in _FIELDS[1:])) for n in range(10)}

    spdx = "/* SPDX-License-Identifier: GPL-2.0-or-later */\n"
    gpl = write(tmp_path / "gplproj", {"stamp.c": spdx + COPY_STAMP})
    apis = [write(tmp_path / f"app{p}", users(p)) for p in range(4)]
    from licscan.engine.build import BuildParams

    # The exemption for matches rich in rare anchors is off: this index is too
    # small for anything to be shared, so every anchor of it is rare.
    t = Thresholds(renamed_min_rare=10_000)
    out = tmp_path / "api.lsi"
    build_index([gpl, *apis], out, workers=1, licenses=False)
    idx = open_index(out)
    stamp = fpr.name_codes(tokenize("st_year stamp_check copy_stamp", "c"))
    assert stamp[0] in idx.common_names() and stamp[1] in idx.common_names()
    assert stamp[2] not in idx.common_names()
    assert Matcher(idx, t).scan_text(STAMP_ASSIGN, "c") == []
    # Used by fewer projects, the same names are evidence: the variant is a copy.
    loose = tmp_path / "loose.lsi"
    build_index([gpl, *apis], loose, workers=1, licenses=False, params=BuildParams(common_name_projects=5))
    assert open_index(loose).common_names() == frozenset()
    found = Matcher(open_index(loose), t).scan_text(STAMP_ASSIGN, "c")
    assert [f.source.path for f in found] == ["gplproj/stamp.c"]
    assert found[0].similarity < Thresholds().generic_min_similarity


def test_the_source_whose_names_were_kept_ranks_first(tmp_path: Path) -> None:
    """Two files of a project with one function, renamed in the second: the copy kept
    the first one's names, while the second one's next lines happen to align a few
    tokens further. The names decide which is the source."""
    gpl = write(tmp_path / "gplproj", {
        "a.c": SEARCH.format(**ORIGINAL) + "\nstatic int spare;\n",
        "b.c": SEARCH.format(**RENAMED) + "\nstatic int tally(int n) { return n + 1; }\n",
    })
    out = tmp_path / "r.lsi"
    build_index([gpl], out, workers=1, licenses=False)
    text = SEARCH.format(**ORIGINAL) + "\nstatic int twice(int v) { return v * 2; }\n"
    found = Matcher(open_index(out)).scan_text(text, "c")
    assert found and found[0].source.path == "gplproj/a.c"
    # b.c aligns further, as an alternative source or a listed look-alike.
    assert any(f.source.path == "gplproj/b.c" or "gplproj/b.c" in f.evidence.also_in for f in found)
    assert found[0].evidence.names_kept > 0.9


# Unlinking a node from a doubly linked list: written the same way, token for token,
# by everyone, with names that tell nothing (prev, next, NULL).
UNLINK_GPL = """/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
struct node { struct node *prev, *next; int weight; };

static int spool_depth;

void spool_release(struct node *node, struct node **list)
{
    spool_depth -= node->weight;
    if (node->prev != NULL)
        node->prev->next = node->next;
    else
        *list = node->next;
    if (node->next != NULL)
        node->next->prev = node->prev;
    free(node);
}
"""
UNLINK_MINE = """#include <stdlib.h>
struct item { struct item *prev, *next; };

int remove_item(struct item **head, struct item *it, int count)
{
    if (it->prev != NULL)
        it->prev->next = it->next;
    else
        *head = it->next;
    if (it->next != NULL)
        it->next->prev = it->prev;
    return count - 1;
}
"""


def test_short_exact_idiom_without_telling_names_is_not_a_copy(tmp_path: Path) -> None:
    """Exactness does not make a short idiom a copy when no telling name came along:
    under ``min_tokens`` it is what anyone writes."""
    out = tmp_path / "unlink.lsi"
    build_index([write(tmp_path / "gplproj", {"spool.c": UNLINK_GPL})], out, workers=1, licenses=False)
    assert Matcher(open_index(out)).scan_text(UNLINK_MINE, "c") == []
    # The shape is exact and its anchors are rare: only the telling rule stops it.
    loose = Matcher(open_index(out), Thresholds(telling_min_names=0)).scan_text(UNLINK_MINE, "c")
    assert len(loose) == 1 and loose[0].similarity == 1.0 and loose[0].evidence.rare_anchors >= 3
    assert loose[0].tokens < Thresholds().min_tokens


def test_region_does_not_start_with_the_brace_before_it(tmp_path: Path) -> None:
    """The `}` that ends the function before a copy matches the one before its source:
    the finding still starts at the copy's first line, on both sides."""
    gpl = write(tmp_path / "gplproj", {
        "s.c": "static int helper(void)\n{\n    return 1;\n}\n\n" + SEARCH.format(**ORIGINAL)})
    out = tmp_path / "b.lsi"
    build_index([gpl], out, workers=1, licenses=False)
    text = "int other(int v)\n{\n    return v * 3;\n}\n\n" + SEARCH.format(**ORIGINAL)
    found = Matcher(open_index(out)).scan_text(text, "c")
    assert [(f.start_line, f.source.start_line) for f in found] == [(6, 6)]

