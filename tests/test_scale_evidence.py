"""Evidence that holds as unrelated projects join the index (issue 12).

A small index (one copyleft source among unrelated filler projects) finds an edited
copy. Distractor projects are then added: many small projects that each hold two
statements of the source's function with its names (the same idioms, not the code),
so that every fingerprint of the source is also somewhere else and its names are
used in several projects. The copy must still be found, and nothing new flagged:
not the independent function, and no distractor as a source.

The fixture is about a thousandth of a real corpus, so the shares that scale the
counts are scaled up to match (``RARE`` and ``SCALED``); with the shares at 0 the
rules are the fixed counts of schemas up to 6, and the copy vanishes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from licscan.engine.build import build_index, df_cap
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher
from licscan.engine.prepare import BuildParams
from licscan.engine.rules import Thresholds

from conftest import write

# A ring buffer's write, one flat statement a line, so that any two lines are code.
BODY = [
    "size_t room = ring_room(rb, rb->capacity, rb->head);",
    "size_t want = len > room ? room : len;",
    "size_t first = rb->capacity - rb->head;",
    "first = (first > want) ? want : first;",
    "memcpy(rb->storage + rb->head, src, first);",
    "memcpy(rb->storage, src + first, want - first);",
    "rb->head = (rb->head + want) % rb->capacity;",
    "rb->count = rb->count + want + rb->pending;",
    "rb->writes = rb->writes + (want > 0 ? 1 : 0);",
    "ring_notify(rb, RING_EVENT_WRITE, want);",
    "rb->last_write = ring_clock(rb->clock_source);",
    "return (int)want + rb->error_count;",
]
SOURCE = ("/* SPDX-License-Identifier: GPL-3.0-or-later */\n"
          "int ring_write(struct ring_buffer *rb, const unsigned char *src, size_t len)\n{\n"
          + "".join(f"    {s}\n" for s in BODY) + "}\n")
# Edited every third statement or so (no exact run of 35 tokens is left, so only
# the alignment's evidence can find it): operands swapped, an if for a ternary, an
# increment, an early return, a statement dropped; the names kept (under 90 % similar).
COPY = ("int put_bytes(struct ring_buffer *rb, const unsigned char *src, size_t len)\n{\n"
        + f"    {BODY[0]}\n    size_t want = room < len ? room : len;\n    if (!want)\n        return 0;\n"
        + f"    {BODY[2]}\n"
        + "    if (first > want)\n        first = want;\n"
        + "    memcpy(&rb->storage[rb->head], src, first);\n    memcpy(rb->storage, &src[first], want - first);\n"
        + "    rb->head = (want + rb->head) % rb->capacity;\n"
        + f"    {BODY[7]}\n    rb->writes++;\n    {BODY[9]}\n    return want > INT_MAX ? -1 : (int)want;\n}}\n")
# The same task written independently: a queue's push with its own shape and names.
INDEPENDENT = """int queue_push(struct queue *q, const char *data, size_t n)
{
    size_t free_slots = q->size - q->used;
    if (n > free_slots)
        n = free_slots;
    for (size_t i = 0; i < n; i++) {
        q->items[(q->tail + i) % q->size] = data[i];
    }
    q->tail = (q->tail + n) % q->size;
    q->used += n;
    return (int)n;
}
"""

RARE = Thresholds(rare_share=1 / 8)
"""At about 60 C files, a fingerprint in up to 7 of them is rare (1/2048 at 3,000+)."""
SCALED = BuildParams(df_cap_share=0.05, common_name_share=0.3, common_name_files=1)
"""Names count per project from one file (these projects are one or a few files)."""
OLD_RARITY = (Thresholds(rare_share=0), SCALED)
"""Rare only in one project (schemas up to 6), the rest scaled."""
OLD_NAMES = (RARE, BuildParams(df_cap_share=0.05, common_name_share=0, common_name_files=1))
"""Common in 4 projects, whatever their number (schemas up to 6), the rest scaled."""
OLD = (Thresholds(rare_share=0), BuildParams(df_cap_share=0, common_name_share=0, common_name_files=1))
"""All the fixed counts of schemas up to 6: rare in one project, cap 24 files, common in 4 projects."""


def _filler(rng: random.Random, n: int) -> str:
    """An unrelated C function: arithmetic over locals, different in every file."""
    v = [f"v{n}_{i}" for i in range(4)]
    ops = ["+", "-", "*", "^", "|"]
    lines = [f"    long {x} = {rng.randint(2, 999)};" for x in v]
    for _ in range(rng.randint(4, 8)):
        a, b, c = rng.sample(v, 3)
        lines.append(f"    {a} = {b} {rng.choice(ops)} {c} {rng.choice(ops)} {rng.randint(1, 99)};")
    lines.append(f"    return {' + '.join(v)};")
    return f"long filler_{n}(void)\n{{\n" + "\n".join(lines) + "\n}\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    """(roots of the small index, the distractor roots)."""
    root = tmp_path_factory.mktemp("scale")
    rng = random.Random(12)
    small = [write(root / "ringlib", {"ring.c": SOURCE})]
    for p in range(8):
        small.append(write(root / f"tool{p}", {f"f{i}.c": _filler(rng, p * 10 + i) for i in range(5)}))
    distractors = []
    # Every window of two statements, in two projects each: every fingerprint of the
    # source is elsewhere, and its names are used in many projects.
    for copy in range(2):
        for i in range(len(BODY) - 1):
            body = "".join(f"    {s}\n" for s in BODY[i:i + 2])
            distractors.append(write(root / f"idiom{copy}_{i}", {
                "w.c": f"int helper_{copy}_{i}(struct ring_buffer *rb, const unsigned char *src, size_t len)\n"
                       f"{{\n{body}}}\n",
                "x.c": _filler(rng, 1000 + 20 * copy + i)}))
    return small, distractors


def _scan(roots: list[Path], out: Path, params: BuildParams, t: Thresholds) -> dict[str, list[str]]:
    build_index(roots, out, workers=1, licenses=False, params=params)
    m = Matcher(open_index(out), t)
    return {name: sorted({f.source.path.split("/", 1)[0] for f in m.scan_text(text, "c")})
            for name, text in (("copy", COPY), ("independent", INDEPENDENT))}


def test_copy_survives_distractors_and_nothing_new_is_flagged(corpus, tmp_path: Path) -> None:
    small, distractors = corpus
    before = _scan(small, tmp_path / "small.lsi", SCALED, RARE)
    after = _scan(small + distractors, tmp_path / "big.lsi", SCALED, RARE)
    assert before == {"copy": ["ringlib"], "independent": []}
    assert after == before


@pytest.mark.parametrize("rules", [OLD, OLD_RARITY, OLD_NAMES], ids=["fixed", "rarity", "names"])
def test_fixed_counts_lose_the_copy(corpus, tmp_path: Path, rules: tuple[Thresholds, BuildParams]) -> None:
    """The same corpus under the fixed counts of schemas up to 6 (all, or just one of
    them): found in the small index, gone in the big one."""
    small, distractors = corpus
    t, params = rules
    assert _scan(small, tmp_path / "small.lsi", params, t) == {"copy": ["ringlib"], "independent": []}
    assert _scan(small + distractors, tmp_path / "big.lsi", params, t) == {"copy": [], "independent": []}


def test_boilerplate_cap_scales_with_the_corpus() -> None:
    p = BuildParams()
    assert df_cap(p, 1000) == 24  # the tuned count, below 9,600 files
    assert df_cap(p, 9559) == 24
    assert df_cap(p, 80000) == 200
    assert df_cap(BuildParams(df_cap_share=0), 80000) == 24


# A helper that three projects vendor (as grep, sed and coreutils vendor gnulib), each inside
# a file of its own: the same block, in three families.
SHARED = ["int fd = open_file(name, O_RDONLY);", "if (fd < 0) { report(name); return 0; }",
          "void *p = map_file((void *)0, (size_t)n, PROT_READ, MAP_PRIVATE, fd, (off_t)0);",
          "if (p == (void *)-1) { report(name); close(fd); return 0; }",
          "handler(p, n, name, arg);", "unmap((void *)p, n);", "close(fd);"]
# Two of its statements with some locals renamed: under 40 tokens, so only rare anchors make
# it a finding (the rule "30 tokens with 3 rare anchors").
SHARED_QUERY = ("int load(const char *name, size_t len, void *ctx)\n{\n"
                "    if (m == (void *)-1) { report(name); close(h); return 0; }\n"
                "    handler(m, len, name, ctx);\n}\n")


@pytest.fixture(scope="module")
def shared_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    root = tmp_path_factory.mktemp("shared")
    rng = random.Random(5)
    small = []
    for p in range(3):
        body = "".join(f"    {s}\n" for s in SHARED)
        fillers = "".join(_filler(rng, 100 * p + i) for i in range(6))
        small.append(write(root / f"vendor{p}", {"io.c": f"{fillers}int load_{p}(const char *name, size_t n, "
                                                          f"void *arg)\n{{\n{body}    return 1;\n}}\n"}))
    for p in range(3):
        small.append(write(root / f"app{p}", {f"f{i}.c": _filler(rng, 500 + 10 * p + i) for i in range(4)}))
    more = [write(root / f"other{p}", {f"f{i}.c": _filler(rng, 900 + 10 * p + i) for i in range(5)})
            for p in range(10)]
    return small, more


@pytest.mark.parametrize("projects, found_big", [(2, []), (99, ["vendor0"])], ids=["shared", "share-only"])
def test_code_three_projects_share_does_not_become_rare(shared_corpus, tmp_path: Path, projects: int,
                                                         found_big: list[str]) -> None:
    """A block that three projects vendor is not specific to any of them: it is not rare in a
    small index, and must not become rare when unrelated files raise the share bound.
    ``projects=99`` is the share bound alone (before ``rare_share_projects``): it lets the
    block through once the index grows."""
    small, more = shared_corpus
    t = Thresholds(rare_share=1 / 8, rare_share_projects=projects)

    def found(roots: list[Path], out: Path) -> list[str]:
        build_index(roots, out, workers=1, licenses=False, params=SCALED)
        m = Matcher(open_index(out), t)
        return sorted({f.source.path.split("/", 1)[0] for f in m.scan_text(SHARED_QUERY, "c")})

    assert found(small, tmp_path / "small.lsi") == []
    assert found(small + more, tmp_path / "big.lsi") == found_big
