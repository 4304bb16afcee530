"""Literal k-grams: code whose shape is boilerplate but whose text was written
(help text, messages) is found by its long string literals, and only by them."""

from __future__ import annotations

from pathlib import Path

import pytest

from licscan.engine import fingerprints as fpr
from licscan.engine.build import BuildParams, build_index
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher
from licscan.engine.tokens import tokenize

from conftest import write

# Three tools of one project, each with a usage() of the same shape: every
# normalized k-gram of it is in all three files (and capped below), while the
# help text differs from tool to tool.
USAGE = """void
usage (int status)
{{
  if (status != 0)
    emit_try_help ();
  else
    {{
      printf (_("Usage: %s [OPTION]... {what}\\n"), program_name);
      fputs (_("{l1}\\n"), stdout);
      fputs (_("{l2}\\n"), stdout);
      fputs (_("{l3}\\n"), stdout);
      fputs (_("{l4}\\n"), stdout);
      fputs (_("{l5}\\n"), stdout);
      emit_ancillary_info (PROGRAM_NAME);
    }}
  exit (status);
}}
"""
TEXTS = {
    "frob": ("FILE...", "Frobnicate each FILE in place, keeping a backup copy.",
             "  -b, --backup[=CONTROL]   make a backup of each existing destination file",
             "  -n, --dry-run            print what would be frobnicated, change nothing",
             "  -q, --quiet              suppress the report on unreadable inputs",
             "With no FILE, or when FILE is -, frobnicate standard input instead."),
    "twiddle": ("[NUMBER]", "Twiddle the terminal's bell NUMBER times, then exit quietly.",
                "  -d, --delay=SECONDS      wait SECONDS between two consecutive rings",
                "  -l, --loud               ring with the maximum volume the device allows",
                "  -s, --silent             flash the screen instead of ringing anything",
                "Exit status is 0 if every ring succeeded and 1 if any of them failed."),
    "sprocket": ("SPEC...", "Mount the sprockets described by each SPEC onto the spindle.",
                 "  -a, --all                mount every sprocket listed in the default table",
                 "  -f, --force              replace sprockets that are mounted already",
                 "  -t, --teeth=COUNT        only mount sprockets having COUNT teeth or more",
                 "Sprockets are unmounted again when the spindle stops turning around."),
}


def _usage(tool: str, texts: tuple[str, ...]) -> str:
    what, *lines = texts
    return (f"/* SPDX-License-Identifier: GPL-3.0-or-later */\n/* {tool}: a tool */\n"
            + USAGE.format(what=what, **{f"l{i + 1}": t for i, t in enumerate(lines)}))


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("lit")
    corpus = write(root / "gnutools", {f"src/{t}.c": _usage(t, x) for t, x in TEXTS.items()})
    out = {}
    for chars in (0, fpr.LITERAL_MIN_CHARS):
        # df_cap 2: the usage() shape, in all three files, is boilerplate.
        out[chars] = root / f"lit{chars}.lsi"
        build_index([corpus], out[chars], workers=1, licenses=False,
                    params=BuildParams(df_cap=2, literal_min_chars=chars))
    return out


def _embedded(body: str) -> str:
    """The usage() re-indented inside new code, as an assistant would hand it over."""
    inner = "\n".join("    " + ln for ln in body.splitlines())
    return ("#include <stdio.h>\n\nstatic int counter;\n\nint bump (int by)\n{\n  counter += by;\n"
            "  return counter;\n}\n\n" + inner + "\n\nint main (void)\n{\n  usage (bump (0));\n}\n")


def test_help_text_copied_verbatim_is_found_by_its_literals(indexes: dict[int, Path]) -> None:
    body = USAGE.format(what=TEXTS["twiddle"][0], **{f"l{i + 1}": t for i, t in enumerate(TEXTS["twiddle"][1:])})
    text = _embedded(body)
    found = Matcher(open_index(indexes[fpr.LITERAL_MIN_CHARS])).scan_text(text, "c")
    assert [f.source.path for f in found] == ["gnutools/src/twiddle.c"]
    assert (found[0].similarity, found[0].start_line, found[0].end_line) == (1.0, 11, 27)  # all of usage()
    # Without literal k-grams the shape alone is capped, and nothing is found.
    assert Matcher(open_index(indexes[0])).scan_text(text, "c") == []


def test_the_shape_with_other_text_is_boilerplate(indexes: dict[int, Path]) -> None:
    mine = ("FILE", "Count the words of each FILE and print one total for all of them.",
            "  -c, --chars              count characters instead of words in every file",
            "  -z, --zero               treat NUL as the only separator between words",
            "  -v, --verbose            also print one count per file before the total",
            "The total is printed last, on a line of its own, followed by a newline.")
    text = _embedded(USAGE.format(what=mine[0], **{f"l{i + 1}": t for i, t in enumerate(mine[1:])}))
    assert Matcher(open_index(indexes[fpr.LITERAL_MIN_CHARS])).scan_text(text, "c") == []


def test_literal_codes() -> None:
    ts = tokenize('f("a short one"); g("  a literal long enough\\n"); h(x);', "c")
    codes, _ = fpr.token_codes(ts)
    got = fpr.literal_codes(ts, codes)
    assert got is not None
    lit, where = got
    changed = [ts.raw[i] for i, (a, b) in enumerate(zip(lit, codes)) if a != b]
    assert changed == ['"  a literal long enough\\n"'] == [ts.raw[i] for i in where]
    # Re-indenting the text does not change its code; changing a word does.
    again = tokenize('g("a literal     long enough\\n");', "c")
    other = tokenize('g("a literal long enougH\\n");', "c")
    code = lambda t: fpr.literal_codes(t, fpr.token_codes(t)[0])[0][2]  # noqa: E731
    assert code(again) == lit[where[0]] != code(other)
    short = tokenize('f("short"); g(1);', "c")
    assert fpr.literal_codes(short, fpr.token_codes(short)[0]) is None
