"""``licscan demo``: make an assistant-style leak from the indexed corpus, then catch it.

Nothing copyleft ships with licscan. At run time the demo takes a real function
(15-60 lines, found with tree-sitter) from an indexed GPL file, renames its
identifiers consistently, drops its comments, reformats it, and embeds it in new
code written to a file; then it scans that file and shows the evidence side by side.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import keyword
import random
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from licscan.engine.index import Index, open_index
from licscan.model import Finding, LicscanError

FUNCTION_KINDS: dict[str, set[str]] = {
    "c": {"function_definition"}, "cpp": {"function_definition"}, "python": {"function_definition"},
    "java": {"method_declaration"}, "javascript": {"function_declaration", "method_definition"},
}
EXTENSIONS = {"c": ".c", "cpp": ".cpp", "python": ".py", "java": ".java", "javascript": ".js"}
MIN_LINES, MAX_LINES = 15, 60
# Positions where an identifier names a member or keyword, not a variable: renaming
# them would change what the code refers to, which an assistant would not do.
_MEMBER_FIELDS = {("attribute", "attribute"), ("keyword_argument", "name"), ("field_access", "field"),
                  ("method_invocation", "name"), ("member_expression", "property")}
_KEEP_NAMES = set(dir(builtins)) | {"self", "cls", "errno", "stdin", "stdout", "stderr", "this", "main"}
_NOUNS = ("buf", "cursor", "item", "node", "entry", "value", "count", "limit", "offset", "width",
          "pos", "token", "state", "result", "flag", "mode", "chunk", "record", "slot", "label", "key",
          "total", "span", "head", "tail", "marker", "field", "target", "origin", "data", "size")
_PREFIXES = ("cur", "next", "prev", "tmp", "max", "min", "raw", "new", "old", "out", "in", "first",
             "last", "base", "local", "saved", "len", "num")
_SUPPORT_DIRS = {"lib", "gnulib", "gnulib-tests", "tests", "test", "testsuite", "t", "doc", "docs",
                 "examples", "contrib", "debian", "m4", "build-aux"}
_VERBS = ("process", "handle", "compute", "scan", "parse", "collect", "update", "render", "apply",
          "resolve")


@dataclass
class Leak:
    """One generated leak and where it came from."""

    source_path: str
    source_start: int
    source_end: int
    license: str | None
    lang: str
    function: str
    renames: dict[str, str]
    code: str
    """The disguised function."""
    file_text: str
    leak_start: int
    leak_end: int


def _parse(text: bytes, lang: str) -> Any:
    import tree_sitter

    from licscan.languages import grammar

    return tree_sitter.Parser(grammar(lang)).parse(text)


def _walk(node: Any) -> Any:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _field_of(node: Any) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for i, child in enumerate(parent.children):
        if child == node:
            return parent.field_name_for_child(i)
    return None


def _renameable(node: Any) -> bool:
    parent = node.parent
    return node.type == "identifier" and (parent is None or (parent.type, _field_of(node)) not in _MEMBER_FIELDS)


def _callee(node: Any) -> bool:
    parent = node.parent
    return parent is not None and parent.type in ("call_expression", "call") and _field_of(node) == "function"


def candidates(text: str, lang: str) -> list[tuple[int, int, str]]:
    """(start byte of the first line, end byte, name) of each function of 15-60 lines,
    those with the most distinct identifiers (the most to rename) first."""
    src = text.encode("utf-8", "surrogatepass")
    tree = _parse(src, lang)
    scored = []
    for n in _walk(tree.root_node):
        if n.type not in FUNCTION_KINDS.get(lang, ()):
            continue
        lines = n.end_point[0] - n.start_point[0] + 1
        if not MIN_LINES <= lines <= MAX_LINES or n.has_error:
            continue
        inner = list(_walk(n))
        # Reindenting would change a string that spans lines (usage texts): leave those.
        if lang != "python" and any("string" in c.type and c.start_point[0] != c.end_point[0] for c in inner):
            continue
        names = [src[c.start_byte:c.end_byte].decode() for c in inner if c.type == "identifier"]
        start = src.rfind(b"\n", 0, n.start_byte) + 1
        scored.append((-len(set(names)), start, n.end_byte, names[0] if names else "?"))
    return [(start, end, name) for _, start, end, name in sorted(scored)]


def disguise(code: str, lang: str, rng: random.Random) -> tuple[str, dict[str, str]]:
    """Rename identifiers consistently, drop comments and reformat: what an assistant does."""
    src = textwrap.dedent(code).encode("utf-8", "surrogatepass")
    tree = _parse(src, lang)
    idents = [n for n in _walk(tree.root_node) if _renameable(n)]
    texts = {src[n.start_byte:n.end_byte].decode() for n in idents}
    rename_texts = {src[n.start_byte:n.end_byte].decode() for n in idents if not _callee(n)}
    top = next((c for c in _walk(tree.root_node) if c.type in FUNCTION_KINDS[lang]), tree.root_node)
    fname = top.child_by_field_name("name") or top.child_by_field_name("declarator")
    while fname is not None and fname.type != "identifier":
        fname = fname.child_by_field_name("declarator")
    if fname is not None:
        rename_texts.add(src[fname.start_byte:fname.end_byte].decode())
    mapping = _new_names(sorted(t for t in rename_texts if _worth_renaming(t)), texts, lang, rng,
                         src[fname.start_byte:fname.end_byte].decode() if fname is not None else None)
    edits = [(n.start_byte, n.end_byte, mapping[src[n.start_byte:n.end_byte].decode()].encode())
             for n in idents if src[n.start_byte:n.end_byte].decode() in mapping]
    edits += [(n.start_byte, n.end_byte, b"") for n in _walk(tree.root_node) if "comment" in n.type]
    out = bytearray(src)
    for start, end, new in sorted(edits, reverse=True):
        out[start:end] = new
    text = out.decode("utf-8", "replace")
    return (_reformat_python(text) if lang == "python" else _reformat_braces(text)), mapping


def _worth_renaming(name: str) -> bool:
    # ALL_CAPS names are macros and constants; builtins and well-known globals stay.
    return not (name.isupper() or name in _KEEP_NAMES or keyword.iskeyword(name) or len(name) < 2 and name == "_")


def _new_names(old: list[str], taken: set[str], lang: str, rng: random.Random,
               function: str | None) -> dict[str, str]:
    camel = lang in ("java", "javascript")
    used = set(taken)
    out: dict[str, str] = {}
    for name in old:
        for _ in range(1000):
            if name == function:
                parts = [rng.choice(_VERBS), rng.choice(_NOUNS)]
            else:
                parts = [rng.choice(_PREFIXES), rng.choice(_NOUNS)] if rng.random() < 0.6 else [rng.choice(_NOUNS)]
            new = parts[0] + "".join(p.title() for p in parts[1:]) if camel else "_".join(parts)
            if new not in used and not keyword.iskeyword(new):
                break
        else:
            new = f"{name}_{len(out)}"
        used.add(new)
        out[name] = new
    return out


def _reformat_python(text: str) -> str:
    """ast round trip: new quoting, spacing and line breaks, no comments; a new docstring."""
    tree = ast.parse(text)
    fn = tree.body[0]
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        body = fn.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body.pop(0)
        words = fn.name.replace("_", " ")
        body.insert(0, ast.Expr(ast.Constant(f"Helper: {words}.")))
    return ast.unparse(tree) + "\n"


def _reformat_braces(text: str) -> str:
    """K&R braces, 4-space indents by brace depth, one blank line at most."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if lines and lines[-1]:
                lines.append("")
            continue
        prev = lines[-1] if lines else ""
        if line == "{" and prev and not prev.startswith("#") and not prev.endswith("\\"):
            lines[-1] = prev + " {"
            continue
        if re.match(r"else\b", line) and prev == "}":
            lines[-1] = "} " + line
            continue
        lines.append(line)
    if len(lines) > 1 and "(" not in lines[0] and "(" in lines[1]:
        lines[0:2] = [f"{lines[0]} {lines[1]}"]  # GNU style puts the return type on its own line
    out, depth, parens, hang = [], 0, 0, 0
    for line in lines:
        if line.startswith("#"):
            out.append(line)
            continue
        line = _tight_calls(line)
        opens, closes, p_open, p_close = _brace_counts(line)
        lead = len(line) - len(line.lstrip("}"))
        indent = (max(depth - lead, 0) + hang) * 4 + (8 if parens > 0 else 0)
        out.append(" " * indent + line if line else "")
        depth = max(depth + opens - closes, 0)
        parens = max(parens + p_open - p_close, 0)
        if line and not parens:
            # `if (x)` without braces: its one statement goes one level deeper
            braceless = _CONTROL.match(line) and not line.endswith(("{", ";", "}"))
            hang = hang + 1 if braceless else 0
    return "\n".join(out).strip("\n") + "\n"


_CONTROL = re.compile(r"(\}\s*)?(if|else|for|while|do)\b")


_SPACED_CALL = re.compile(r"\b(?!(?:if|for|while|switch|return|sizeof|case|do|else)\b)(\w+) \(")


def _tight_calls(line: str) -> str:
    """``f (x)`` -> ``f(x)`` outside string literals (GNU style -> the usual one)."""
    parts = re.split(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')", line)
    return "".join(p if i % 2 else _SPACED_CALL.sub(r"\1(", p) for i, p in enumerate(parts))


def _brace_counts(line: str) -> tuple[int, int, int, int]:
    """Braces and parentheses outside string and character literals."""
    counts = {"{": 0, "}": 0, "(": 0, ")": 0}
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in counts:
            counts[ch] += 1
        i += 1
    return counts["{"], counts["}"], counts["("], counts[")"]


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


def _copyleft_files(idx: Index, rng: random.Random) -> list[tuple[int, str, str, str | None]]:
    langs = tuple(FUNCTION_KINDS)
    marks = ",".join("?" * len(langs))
    rows = idx.db.execute(f"SELECT id, path, lang, license FROM files WHERE lang IN ({marks}) "
                          "AND ntokens >= 200 ORDER BY id", langs).fetchall()
    gpl = [r for r in rows if r[3] and "GPL" in r[3]]
    rows = gpl or rows  # an index of unknown licenses still makes a demo
    rng.shuffle(rows)
    # C first (the classic case), and the project's own code before its tests and
    # vendored helpers (gnulib's lib/): that is what a leak of "sed" looks like.
    return sorted(rows, key=lambda r: (r[2] != "c", bool(_SUPPORT_DIRS & set(r[1].split("/")[1:-1]))))


def make_leaks(idx: Index, seed: int = 0, *, roots: dict[str, Path] | None = None,
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
        if f.source.path == leak.source_path or leak.source_path in (f.extra.get("also_in") or []):
            return f
    return None


def run_demo(index_path: Path, out_dir: Path, out: TextIO, *, seed: int = 0, tries: int = 30) -> Leak:
    """Write a leak into ``out_dir``, scan it, print the report side by side; return the leak."""
    from licscan.reports import renderer
    from licscan.inputs.paths import scan_paths

    idx = open_index(index_path)
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
            f"  scanning: licscan scan --index {index_path} --side-by-side {target}\n\n")
        out.flush()
        renderer("text")(result, idx, out, side_by_side=True)
        return leak
    raise LicscanError(f"demo: no function of {index_path} made a leak that licscan caught "
                       f"(the index needs C, C++, Python, Java or JavaScript files of 15-60 line functions)")
