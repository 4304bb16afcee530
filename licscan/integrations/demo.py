"""``licscan demo``: make an assistant-style leak from the indexed corpus, then catch it.

Nothing copyleft ships with licscan. At run time the demo takes a real function
(15-60 lines, found with tree-sitter) from an indexed GPL file, renames its
identifiers consistently, drops its comments, reformats it, and embeds it in new
code written to a file; then it scans that file and shows the evidence side by side.
"""

from __future__ import annotations

import itertools
import random
import re
import textwrap
from pathlib import Path
from typing import Any, TextIO

from licscan.engine.stores import open_store
from licscan.engine.uris import shown

from licscan.engine.store import IndexStore
from licscan.integrations.disguise import (  # noqa: F401 - the demo API
    _SUPPORT_DIRS, EXTENSIONS, FUNCTION_KINDS, MAX_LINES, MIN_LINES, Leak, candidates, disguise)
from licscan.model import Finding, LicscanError

# --------------------------------------------------------------------------- new code around it

_HEADER = "licscan demo: pretend an assistant wrote this file for you."
_WRAPPERS: dict[str, tuple[str, str]] = {
    "c": (f"""/* {_HEADER} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line_stats {{
    size_t lines;
    size_t longest;
}};

static void stats_add(struct line_stats *st, const char *line) {{
    size_t n = strlen(line);
    st->lines++;
    if (n > st->longest)
        st->longest = n;
}}

""", """
int main(int argc, char **argv) {
    struct line_stats st = {0, 0};
    char line[4096];
    FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
    if (in == NULL) {
        perror(argv[1]);
        return EXIT_FAILURE;
    }
    while (fgets(line, sizeof line, in) != NULL)
        stats_add(&st, line);
    printf("%zu lines, the longest has %zu bytes\\n", st.lines, st.longest);
    return EXIT_SUCCESS;
}
"""),
    "python": (f'''"""{_HEADER}"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


@dataclass
class Report:
    title: str
    rows: list[tuple[str, int]] = field(default_factory=list)

    def add(self, name: str, value: int) -> None:
        self.rows.append((name, value))

    def render(self) -> str:
        width = max((len(n) for n, _ in self.rows), default=0)
        return "\\n".join(f"{{n:<{{width}}}}  {{v}}" for n, v in self.rows)


''', '''

def main(argv: list[str]) -> int:
    report = Report("sizes")
    for arg in argv:
        report.add(arg, len(arg))
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''),
    "java": (f"""/* {_HEADER} */
import java.util.ArrayList;
import java.util.List;

public class LeakDemo {{
    private final List<String> names = new ArrayList<>();

    public void add(String name) {{
        names.add(name.trim());
    }}

""", """
    public static void main(String[] args) {
        LeakDemo demo = new LeakDemo();
        for (String a : args) {
            demo.add(a);
        }
        System.out.println(demo.names.size() + " names");
    }
}
"""),
    "javascript": (f"""// {_HEADER}
'use strict';

const counts = new Map();

function remember(word) {{
  counts.set(word, (counts.get(word) || 0) + 1);
}}

""", """
module.exports = { remember, counts };
"""),
}
_WRAPPERS["cpp"] = _WRAPPERS["c"]


def _wrap(code: str, lang: str) -> tuple[str, int, int]:
    """New file text around the leaked code, and the leak's line range in it."""
    head, tail = _WRAPPERS[lang]
    if lang == "python" and re.search(r"^(async )?def \w+\((self|cls)\b", code, re.M):
        code = "class Helper:\n\n" + textwrap.indent(code, "    ")  # a method needs its class
    if lang == "java":
        code = textwrap.indent(code, "    ")
    start = head.count("\n") + 1
    return head + code + tail, start, start + code.rstrip("\n").count("\n")


def _copyleft_files(idx: IndexStore, rng: random.Random) -> list[tuple[int, str, str, str | None]]:
    rows = idx.files_in(tuple(FUNCTION_KINDS), 200)
    gpl = [r for r in rows if r[3] and "GPL" in r[3]]
    rows = gpl or rows  # an index of unknown licenses still makes a demo
    rng.shuffle(rows)
    # C first (the classic case), and the project's own code before its tests and
    # vendored helpers (gnulib's lib/): that is what a leak of "sed" looks like.
    return sorted(rows, key=lambda r: (r[2] != "c", bool(_SUPPORT_DIRS & set(r[1].split("/")[1:-1]))))


def make_leaks(idx: IndexStore, seed: int = 0, *, roots: dict[str, Path] | None = None,
               min_renames: int = 4) -> Any:
    """Yield leaks from the index's copyleft files, best candidates first."""
    rng = random.Random(seed)
    for fid, path, lang, lic in _copyleft_files(idx, rng):
        text = idx.text(fid)
        if text is None and roots:  # the index's corpus tree moved: read the given one
            base, _, rel = path.partition("/")
            p = roots.get(base, Path("/nonexistent")) / rel
            text = p.read_text(encoding="utf-8", errors="replace") if p.is_file() else None
        if text is None:
            continue
        funcs = candidates(text, lang)[:5]
        rng.shuffle(funcs)
        src = text.encode("utf-8", "surrogatepass")
        for start, end, name in funcs[:3]:
            original = src[start:end].decode("utf-8", "replace")
            try:
                code, renames = disguise(original, lang, rng)
            except (SyntaxError, ValueError, RecursionError):
                continue  # e.g. Python 2 code that ast cannot parse
            if len(renames) < min_renames:
                continue  # a demo of renaming needs names to rename
            first = text.encode("utf-8", "surrogatepass")[:start].count(b"\n") + 1
            file_text, a, b = _wrap(code, lang)
            yield Leak(path, first, first + original.rstrip("\n").count("\n"), lic, lang, name, renames,
                       code, file_text, a, b)


def _caught(findings: list[Finding], leak: Leak) -> Finding | None:
    for f in findings:
        if f.source.path == leak.source_path or leak.source_path in (f.evidence.also_in):
            return f
    return None


def run_demo(index_path: Path | str, out_dir: Path, out: TextIO, *, seed: int = 0, tries: int = 30) -> Leak:
    """Write a leak into ``out_dir``, scan it, print the report side by side; return the leak."""
    from licscan.reports import renderer
    from licscan.inputs.paths import scan_paths

    idx = open_store(index_path)  # a file or a shared PostgreSQL index (LICSCAN_INDEX)
    roots = {r["name"]: Path(r["path"]) for r in idx.meta.get("roots") or []}
    out_dir.mkdir(parents=True, exist_ok=True)
    leaks = itertools.chain(itertools.islice(make_leaks(idx, seed, roots=roots), tries),
                            itertools.islice(make_leaks(idx, seed, roots=roots, min_renames=0), tries))
    for leak in leaks:
        target = out_dir / f"leak_demo{EXTENSIONS[leak.lang]}"
        target.write_text(leak.file_text, encoding="utf-8")
        result = scan_paths(idx, [str(target)])
        if _caught(result.findings, leak) is None:
            continue  # too short or too generic once disguised: take another function
        renamed = ", ".join(f"{a} -> {b}" for a, b in list(leak.renames.items())[:4])
        out.write(
            "licscan demo: an assistant-style leak made from the indexed corpus\n"
            f"  took     {leak.source_path}:{leak.source_start}-{leak.source_end} "
            f"(function {leak.function}, license {leak.license or 'unknown'})\n"
            f"  changed  renamed {len(leak.renames)} identifiers ({renamed}"
            f"{', ...' if len(leak.renames) > 4 else ''}), dropped comments, reformatted\n"
            f"  wrote    {target} (new code around it; the leak is at lines {leak.leak_start}-{leak.leak_end})\n"
            f"  scanning: licscan scan --index {shown(index_path)} --side-by-side {target}\n\n")
        out.flush()
        renderer("text")(result, idx, out, side_by_side=True)
        return leak
    raise LicscanError(f"demo: no function of {shown(index_path)} made a leak that licscan caught "
                       f"(the index needs C, C++, Python, Java or JavaScript files of 15-60 line functions)")
