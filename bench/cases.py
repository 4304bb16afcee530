#!/usr/bin/env python3
"""Generate leak cases the way an assistant leaks code, with ground truth.

Functions are picked at random (fixed seed) from the copyleft corpus with
tree-sitter, then turned into one case file each:

  a  verbatim but reformatted: comments stripped, re-indented, line breaks and
     brace placement changed (docstrings dropped in Python)
  b  identifiers renamed consistently (function name, parameters, locals) and
     some number/string literals changed
  c  statements edited: 15-25 % of the simple statements deleted, duplicated or
     modified, and one new statement inserted
  d  a block of >= 6-8 lines (consecutive statements) copied into new, generated,
     unrelated code
  e  renamed-deep: b, plus the called helper functions and the fields (bench/variants.py)
  f  chat snippet: 4-8 lines of a function, half of them renamed (bench/variants.py)

Held-out packages (bench/heldout.py) give cases only in the evaluation run (DEFAULT_SEED).

Negatives (any finding is a false positive):

  neg    functions of independent permissive projects (musl, dash, zlib, ...), verbatim
  idiom  generic idioms written for this benchmark (getopt loops, swaps, argparse, ...)

Ground truth per case: the source path in the index's naming
(``<basename(tree)>/<path in tree>``), its line range, and the case file's line range.

    python bench/cases.py --set quick --out /tmp/cases --per-class 50
"""

from __future__ import annotations

import argparse
import io
import json
import keyword
import random
import re
import sys
import tokenize
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import tree_sitter as ts  # noqa: E402

from corpus import Tree, default_cache, fetch_all, iter_files, packages  # noqa: E402

# --------------------------------------------------------------------------------------
# languages

LANG_EXTS = {
    "c": (".c",),
    "cpp": (".cc", ".cpp", ".cxx"),
    "python": (".py",),
    "java": (".java",),
    "javascript": (".js",),
    "php": (".php",),
}
CASE_EXT = {"c": ".c", "cpp": ".cpp", "python": ".py", "java": ".java", "javascript": ".js", "php": ".php"}
LANG_SHARE = {"c": 0.55, "python": 0.12, "java": 0.10, "cpp": 0.08, "php": 0.08, "javascript": 0.07}

FUNC_TYPES = {
    "c": {"function_definition"},
    "cpp": {"function_definition"},
    "python": {"function_definition"},
    "java": {"method_declaration", "constructor_declaration"},
    "javascript": {"function_declaration", "method_definition", "generator_function_declaration"},
    "php": {"function_definition", "method_declaration"},
}
COMMENTS = {"comment", "line_comment", "block_comment"}
ATOMIC = {
    "string_literal", "char_literal", "raw_string_literal", "string", "template_string",
    "encapsed_string", "heredoc", "nowdoc", "character_literal", "text_block", "regex",
    "system_lib_string", "variable_name",
}
SIMPLE_STMTS = {
    "c": {"expression_statement", "declaration", "return_statement", "break_statement", "continue_statement", "goto_statement"},
    "cpp": {"expression_statement", "declaration", "return_statement", "break_statement", "continue_statement"},
    "python": {"expression_statement", "return_statement", "pass_statement", "assert_statement", "raise_statement", "delete_statement"},
    "java": {"expression_statement", "local_variable_declaration", "return_statement", "throw_statement", "break_statement", "continue_statement"},
    "javascript": {"expression_statement", "lexical_declaration", "variable_declaration", "return_statement", "throw_statement", "break_statement"},
    "php": {"expression_statement", "return_statement", "echo_statement", "unset_statement", "break_statement"},
}
BLOCK_TYPES = {"compound_statement", "block", "statement_block", "declaration_list", "constructor_body", "switch_block_statement_group", "case_statement"}


@lru_cache(maxsize=None)
def parser(lang: str) -> ts.Parser:
    import importlib

    mod = {"c": "tree_sitter_c", "cpp": "tree_sitter_cpp", "python": "tree_sitter_python", "java": "tree_sitter_java",
           "javascript": "tree_sitter_javascript", "php": "tree_sitter_php"}[lang]
    m = importlib.import_module(mod)
    fn = m.language_php if lang == "php" else m.language
    return ts.Parser(ts.Language(fn()))


def lang_of(path: Path) -> str | None:
    suf = path.suffix.lower()
    for lang, exts in LANG_EXTS.items():
        if suf in exts:
            return lang
    return None


# --------------------------------------------------------------------------------------
# functions in the corpus


@dataclass
class Func:
    tree: str
    rel: str
    lang: str
    start: int  # 1-based inclusive, whole lines
    end: int
    text: str  # the whole lines start..end
    tokens: int
    name: str

    @property
    def source_path(self) -> str:
        return f"{self.tree}/{self.rel}"


def leaves(node, *, atomic: bool = True):
    """Non-comment leaf tokens; strings (and PHP variables) as one token."""
    stack = [node]
    out = []
    while stack:
        n = stack.pop()
        if n.type in COMMENTS:
            continue
        if n.child_count == 0 or (atomic and n.type in ATOMIC):
            if n.end_byte > n.start_byte:
                out.append(n)
            continue
        stack.extend(reversed(n.children))
    return out


def walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def func_name(node, src: bytes) -> str:
    n = node.child_by_field_name("name")
    if n is None:
        d = node.child_by_field_name("declarator")
        while d is not None and d.type not in ("identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name"):
            d = d.child_by_field_name("declarator")
        n = d
    return src[n.start_byte:n.end_byte].decode("utf-8", "replace") if n is not None else "?"


def looks_generated(head: bytes) -> bool:
    h = head[:4096].lower()
    return any(s in h for s in (b"generated by", b"do not edit", b"automatically generated", b"autogenerated"))


def file_functions(tree: Tree, path: Path, lang: str, *, min_lines: int, min_tokens: int, max_lines: int) -> list[Func]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if len(data) > 300_000 or looks_generated(data) or b"\0" in data[:8192]:
        return []
    lines = data.split(b"\n")
    if max((len(x) for x in lines), default=0) > 400:  # minified
        return []
    root = parser(lang).parse(data).root_node
    out = []
    rel = path.relative_to(tree.path).as_posix()
    for n in walk(root):
        if n.type not in FUNC_TYPES[lang]:
            continue
        s, e = n.start_point[0], n.end_point[0]
        nlines = e - s + 1
        if nlines < min_lines or nlines > max_lines or n.has_error:
            continue
        # the function must own its lines (nothing else of the file on them)
        if data[n.end_byte:].split(b"\n", 1)[0].strip() not in (b"", b";"):
            continue
        if lines[s][: n.start_point[1]].strip():
            continue
        ntok = len(leaves(n))
        if ntok < min_tokens:
            continue
        text = b"\n".join(lines[s : e + 1]).decode("utf-8", "replace")
        out.append(Func(tree.name, rel, lang, s + 1, e + 1, text, ntok, func_name(n, data)))
    return out


def sample_functions(trees: list[Tree], lang: str, n: int, rng: random.Random, *, min_lines=8, min_tokens=60,
                     max_lines=120, per_file=2) -> list[Func]:
    files = [(t, p) for t in trees for p in iter_files(t.path) if lang_of(p) == lang]
    rng.shuffle(files)
    out: list[Func] = []
    seen_text: set[str] = set()
    for t, p in files:
        if len(out) >= n:
            break
        fs = file_functions(t, p, lang, min_lines=min_lines, min_tokens=min_tokens, max_lines=max_lines)
        rng.shuffle(fs)
        for f in fs[:per_file]:
            key = re.sub(r"\s+", "", f.text)
            if key in seen_text:  # the same function twice (vendored copies): once is enough
                continue
            seen_text.add(key)
            out.append(f)
    return out[:n]


# --------------------------------------------------------------------------------------
# helpers for rewriting


def parse_func(f: Func):
    """(src bytes, function node, lines of wrapper before the function) for a function parsed on its own.

    Methods are wrapped in a class so that the grammar sees them where they belong.
    """
    prefix = b""
    if f.lang == "php":
        prefix = b"<?php\n"
        if re.match(r"\s*(?:#\[.*\]\s*)*(public|private|protected|static|abstract|final)\b", f.text):
            prefix = b"<?php\nclass X {\n"
    elif f.lang == "java":
        prefix = b"class X {\n"
    elif f.lang == "javascript" and not re.match(r"\s*(async\s+)?function\b", f.text):
        prefix = b"class X {\n"
    suffix = b"\n}\n" if prefix.endswith(b"{\n") else b""
    src = prefix + f.text.encode() + suffix
    root = parser(f.lang).parse(src).root_node
    pre = prefix.count(b"\n")
    for n in walk(root):
        if n.type in FUNC_TYPES[f.lang]:
            return src, n, pre, bool(suffix)
    return src, None, 0, False


def dedent_lines(lines: list[str]) -> list[str]:
    ind = [len(x) - len(x.lstrip(" \t")) for x in lines if x.strip() and not x.startswith("#")]
    cut = min(ind) if ind else 0
    return [x[cut:] if x[:cut].strip() == "" else x.lstrip() for x in lines]


def orig_indent_unit(text: str) -> str:
    tabs = sum(1 for ln in text.splitlines() if ln.startswith("\t"))
    spaces = Counter()
    for ln in text.splitlines():
        m = re.match(r"^( +)\S", ln)
        if m:
            spaces[len(m.group(1))] += 1
    if tabs > sum(spaces.values()) / 2:
        return "\t"
    for u in (2, 3, 4, 8):
        if spaces.get(u):
            return " " * u
    return "    "


# --------------------------------------------------------------------------------------
# (a) reformat


_NO_SPACE_AFTER = {"(", "[", "!", "~", ".", "->", "::", "$"}
_NO_SPACE_BEFORE = {")", "]", ",", ";", ".", "->", "::", "++", "--"}
_CONT_END = {",", "(", "&&", "||", "+", "?", "=", "|", "and", "or", "."}


def _row_of(n) -> int:
    return n.start_point[0]


def reformat_braces(f: Func, rng: random.Random) -> str | None:
    src, fn, _, _ = parse_func(f)
    if fn is None:
        return None
    toks = leaves(fn)
    if not toks:
        return None
    src_lines = src.split(b"\n")
    # groups: tokens on one original line (a multi-line token keeps what follows on its last line)
    groups: list[dict] = []
    prev = None
    for t in toks:
        if prev is None or t.start_point[0] > prev.end_point[0]:
            groups.append({"toks": [t], "pp": False})
        else:
            groups[-1]["toks"].append(t)
        prev = t
    for g in groups:
        first = src[g["toks"][0].start_byte:g["toks"][0].end_byte]
        if first.startswith(b"#"):
            g["pp"] = True
            r0, r1 = g["toks"][0].start_point[0], g["toks"][-1].end_point[0]
            # raw directive text (a #define may continue over lines), comments removed
            raw = b"\n".join(src_lines[r0:r1 + 1]).decode("utf-8", "replace")
            raw = re.sub(r"/\*.*?\*/", " ", raw, flags=re.S)
            raw = re.sub(r"//.*$", "", raw, flags=re.M)
            g["raw"] = raw.strip()

    def text(t) -> str:
        return src[t.start_byte:t.end_byte].decode("utf-8", "replace")

    def render(g) -> str:
        if g["pp"]:
            return g["raw"]
        out = ""
        p = None
        for t in g["toks"]:
            s = text(t)
            if p is not None:
                same_row = t.start_point[0] == p.end_point[0]
                ps = text(p)
                if same_row:
                    out += " " if t.start_byte > p.end_byte else ""
                elif ps in _NO_SPACE_AFTER or s in _NO_SPACE_BEFORE:
                    pass
                else:
                    out += " "
            out += s
            p = t
        return out

    def ends_with(g, s: str) -> bool:
        return not g["pp"] and text(g["toks"][-1]) == s

    # 1. brace placement: flip the dominant style
    knr = sum(1 for g in groups if ends_with(g, "{") and len(g["toks"]) > 1)
    allman = sum(1 for g in groups if not g["pp"] and len(g["toks"]) == 1 and text(g["toks"][0]) == "{")
    new: list[dict] = []
    if knr >= allman:
        for g in groups:
            first = text(g["toks"][0])
            if ends_with(g, "{") and len(g["toks"]) > 1 and first != "return" and not (f.lang == "javascript" and first in ("return", "=>")):
                new.append({"toks": g["toks"][:-1], "pp": False})
                new.append({"toks": [g["toks"][-1]], "pp": False})
            else:
                new.append(g)
    else:
        for g in groups:
            if new and not g["pp"] and len(g["toks"]) == 1 and text(g["toks"][0]) == "{" and not new[-1]["pp"]:
                new[-1] = {"toks": new[-1]["toks"] + g["toks"], "pp": False}
            else:
                new.append(g)
    groups = new

    # 2. join continuation lines (open parenthesis or trailing operator)
    def depth_change(g) -> int:
        d = 0
        for t in g["toks"]:
            s = text(t)
            d += s in ("(", "[")
            d -= s in (")", "]")
        return d

    joined: list[dict] = []
    for g in groups:
        if joined and not g["pp"] and not joined[-1]["pp"]:
            last = joined[-1]
            open_paren = sum(depth_change(x) for x in [last]) > 0 or text(last["toks"][-1]) in _CONT_END
            if open_paren and text(g["toks"][0]) not in ("}", "{") and len(render(last)) + len(render(g)) < 100:
                joined[-1] = {"toks": last["toks"] + g["toks"], "pp": False}
                continue
        joined.append(g)
    groups = joined

    # 3. split long lines after a comma inside parentheses
    split: list[dict] = []
    for g in groups:
        if g["pp"] or len(render(g)) <= 64:
            split.append(g)
            continue
        depth, cands = 0, []
        for i, t in enumerate(g["toks"]):
            s = text(t)
            depth += s in ("(", "[")
            depth -= s in (")", "]")
            if s == "," and depth >= 1 and i < len(g["toks"]) - 2:
                cands.append(i)
        if not cands:
            split.append(g)
            continue
        mid = len(g["toks"]) / 2
        i = min(cands, key=lambda c: abs(c - mid))
        split.append({"toks": g["toks"][: i + 1], "pp": False})
        split.append({"toks": g["toks"][i + 1 :], "pp": False, "cont": True})
    groups = split

    # 4. re-indent with another unit
    unit = orig_indent_unit(f.text)
    unit = rng.choice([u for u in ("  ", "    ", "\t", "   ") if u != unit])
    out_lines = []
    depth = 0
    paren = 0
    body_of_prev = False
    for g in groups:
        if g["pp"]:
            out_lines.append(g["raw"])
            continue
        toks_s = [text(t) for t in g["toks"]]
        lead_close = 0
        for s in toks_s:
            if s == "}":
                lead_close += 1
            else:
                break
        ind = max(0, depth - lead_close) + (2 if paren > 0 or g.get("cont") else 0)
        if body_of_prev and toks_s[0] != "{":
            ind += 1  # the single-statement body of an if/for/while/else without braces
        out_lines.append(unit * ind + render(g))
        body_of_prev = toks_s[0] in ("if", "for", "while", "else", "do", "}") and toks_s[-1] not in ("{", ";", "}") \
            and ("else" in toks_s or toks_s[0] != "}") and paren + sum((s in "([") - (s in ")]") for s in toks_s) == 0
        for s in toks_s:
            depth += s == "{"
            depth -= s == "}"
            paren += s in ("(", "[")
            paren -= s in (")", "]")
        depth = max(depth, 0)
        paren = max(paren, 0)
    return "\n".join(out_lines) + "\n"


def reformat_python(f: Func, rng: random.Random) -> str | None:
    text = "\n".join(dedent_lines(f.text.splitlines())) + "\n"
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    logical: list[tuple[int, list]] = []
    level = 0
    cur: list = []
    for t in toks:
        if t.type == tokenize.INDENT:
            level += 1
        elif t.type == tokenize.DEDENT:
            level -= 1
        elif t.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        elif t.type == tokenize.NEWLINE:
            if cur:
                logical.append((level, cur))
            cur = []
        else:
            if not cur:
                cur_level = level
            cur.append(t)
    if cur:
        logical.append((level, cur))
    # drop docstrings (a lone string right after a def/class line, with a body after it)
    keep = []
    for i, (lv, tk) in enumerate(logical):
        if (len(tk) == 1 and tk[0].type == tokenize.STRING and i > 0 and logical[i - 1][1][-1].string == ":"
                and logical[i - 1][1][0].string in ("def", "class", "async")
                and i + 1 < len(logical) and logical[i + 1][0] == lv):
            continue
        keep.append((lv, tk))
    if not keep:
        return None
    unit = rng.choice(["  ", "   "]) if orig_indent_unit(f.text) == "    " else "    "

    def render(tk) -> tuple[str, list[tuple[int, int]]]:
        out = ""
        commas = []  # (position in out, bracket depth) after each comma
        depth = 0
        p = None
        for t in tk:
            s = t.string
            if p is not None:
                if t.start[0] == p.end[0]:
                    out += " " if t.start[1] > p.end[1] else ""
                elif p.string in "([{" or s in ")]},:.":
                    pass
                else:
                    out += " "
            out += s
            if s in "([{":
                depth += 1
            elif s in ")]}":
                depth -= 1
            elif s == ",":
                commas.append((len(out), depth))
            p = t
        return out, commas

    lines = []
    for lv, tk in keep:
        s, commas = render(tk)
        ind = unit * lv
        at1 = [c for c, d in commas if d == 1]
        if len(s) + len(ind) > 79 and at1 and "\n" not in s:
            # one element per line after the first bracket
            parts, last = [], 0
            for c in at1:
                parts.append(s[last:c])
                last = c
            parts.append(s[last:])
            lines.append(ind + parts[0])
            for p in parts[1:]:
                lines.append(ind + unit * 2 + p.strip())
        else:
            lines.append(ind + s)
    return "\n".join(lines) + "\n"


def make_a(f: Func, rng: random.Random) -> str | None:
    return reformat_python(f, rng) if f.lang == "python" else reformat_braces(f, rng)


# --------------------------------------------------------------------------------------
# (b) rename identifiers + change literals

WORDS = ["count", "total", "buf", "ptr", "idx", "len", "result", "tmp", "node", "item", "value", "data", "size",
         "offset", "pos", "cur", "nxt", "ctx", "state", "flag", "key", "entry", "acc", "limit", "width", "cell",
         "slot", "span", "chunk", "token", "mark", "probe", "delta", "stride", "hold", "aux", "pivot", "seed"]
VERBS = ["process", "handle", "compute", "update", "build", "scan", "parse", "apply", "resolve", "collect", "render", "emit"]
NOUNS = ["entry", "record", "block", "chunk", "segment", "field", "item", "frame", "packet", "buffer", "table", "range"]


def _new_name(lang: str, rng: random.Random, taken: set[str], *, func: bool = False) -> str:
    for _ in range(1000):
        if func:
            a, b = rng.choice(VERBS), rng.choice(NOUNS)
            name = f"{a}{b.capitalize()}" if lang in ("java", "javascript") else f"{a}_{b}"
        else:
            a = rng.choice(WORDS)
            name = a if rng.random() < 0.5 else f"{a}{rng.randint(2, 9)}"
            if lang in ("java", "javascript") and rng.random() < 0.5:
                name = a + rng.choice(WORDS).capitalize()
        if name not in taken and not keyword.iskeyword(name):
            taken.add(name)
            return name
    raise RuntimeError("no fresh name")


def _declarator_names(n, src) -> list:
    """identifier nodes declared by a C/C++ declarator."""
    out = []
    while n is not None:
        if n.type == "identifier":
            out.append(n)
            break
        nxt = n.child_by_field_name("declarator")
        if nxt is None:
            ids = [c for c in n.named_children if c.type == "identifier"]
            out.extend(ids[:1])
            break
        n = nxt
    return out


def local_names(fn, src: bytes, lang: str) -> set[str]:
    def t(n) -> str:
        return src[n.start_byte:n.end_byte].decode("utf-8", "replace")

    names: set[str] = set()
    if lang in ("c", "cpp"):
        d = fn.child_by_field_name("declarator")
        for idn in _declarator_names(d, src):
            names.add(t(idn))
        for n in walk(fn):
            if n.type in ("parameter_declaration", "optional_parameter_declaration"):
                dd = n.child_by_field_name("declarator")
                for idn in _declarator_names(dd, src):
                    names.add(t(idn))
            elif n.type == "declaration" and n is not fn:
                for dd in n.children_by_field_name("declarator"):
                    for idn in _declarator_names(dd, src):
                        names.add(t(idn))
    elif lang == "python":
        nm = fn.child_by_field_name("name")
        if nm is not None:
            names.add(t(nm))
        params = fn.child_by_field_name("parameters")
        for n in walk(params) if params is not None else []:
            if n.type == "identifier" and n.parent is not None and n.parent.type not in ("attribute", "keyword_argument", "type"):
                if n.parent.type in ("default_parameter", "typed_default_parameter") and n.parent.child_by_field_name("value") == n:
                    continue
                names.add(t(n))
        for n in walk(fn):
            if n.type in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
                left = n.child_by_field_name("left")
                for m in walk(left) if left is not None else []:
                    if m.type == "identifier" and (m.parent is None or m.parent.type != "attribute"):
                        names.add(t(m))
        names.discard("self")
        names.discard("cls")
    elif lang == "java":
        nm = fn.child_by_field_name("name")
        if nm is not None and fn.type == "method_declaration":
            names.add(t(nm))
        for n in walk(fn):
            if n.type in ("formal_parameter", "catch_formal_parameter", "variable_declarator", "enhanced_for_statement", "spread_parameter"):
                nm = n.child_by_field_name("name")
                if nm is not None and nm.type == "identifier":
                    names.add(t(nm))
    elif lang == "javascript":
        nm = fn.child_by_field_name("name")
        if nm is not None and nm.type == "identifier":
            names.add(t(nm))
        for n in walk(fn):
            if n.type == "formal_parameters":
                for m in n.named_children:
                    if m.type == "identifier":
                        names.add(t(m))
                    elif m.type == "assignment_pattern":
                        left = m.child_by_field_name("left")
                        if left is not None and left.type == "identifier":
                            names.add(t(left))
            elif n.type == "variable_declarator":
                nm = n.child_by_field_name("name")
                if nm is not None and nm.type == "identifier":
                    names.add(t(nm))
    elif lang == "php":
        nm = fn.child_by_field_name("name")
        if nm is not None:
            names.add(t(nm))
        for n in walk(fn):
            if n.type == "variable_name":
                v = t(n)
                if v not in ("$this", "$GLOBALS") and not re.match(r"^\$_[A-Z]", v):
                    names.add(v)
    return {n for n in names if n and n != "main"}


def _rename_targets(fn, src: bytes, lang: str, names: set[str]):
    out = []
    for n in walk(fn):
        if lang == "php":
            if n.type == "variable_name" and src[n.start_byte:n.end_byte].decode("utf-8", "replace") in names:
                out.append(n)
            elif n.type == "name" and n.parent is not None and n.parent.type in ("function_definition", "method_declaration") \
                    and src[n.start_byte:n.end_byte].decode("utf-8", "replace") in names:
                out.append(n)
            continue
        if n.type != "identifier":
            continue
        txt = src[n.start_byte:n.end_byte].decode("utf-8", "replace")
        if txt not in names:
            continue
        par = n.parent
        if lang == "python" and par is not None:
            if par.type == "attribute" and par.child_by_field_name("attribute") == n:
                continue
            if par.type == "keyword_argument" and par.child_by_field_name("name") == n:
                continue
        if lang == "java" and par is not None and par.type == "field_access" and par.child_by_field_name("field") == n:
            continue
        out.append(n)
    return out


def _change_literal(s: str, lang: str, rng: random.Random) -> str | None:
    if re.fullmatch(r"\d+", s):
        v = int(s)
        return str(v + rng.randint(1, 9) if v < 2 else max(0, v + rng.choice([-3, -2, -1, 1, 2, 3, 5, 8])))
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
        return hex(int(s, 16) ^ rng.randint(1, 15))
    if re.fullmatch(r"\d+\.\d*", s):
        return f"{float(s) * rng.choice([0.5, 2, 1.5]):g}" + (".0" if "." not in f"{float(s) * 2:g}" else "")
    m = re.fullmatch(r'([a-zA-Z]*)(["\'])(.*)\2', s, re.S)
    if m and len(m.group(3)) >= 3 and "\n" not in s:
        words = re.findall(r"[A-Za-z]{3,}", m.group(3))
        if not words:
            return None
        body = m.group(3)
        for w in dict.fromkeys(words[:3]):  # not a set: its order changes with PYTHONHASHSEED
            body = re.sub(rf"\b{re.escape(w)}\b", rng.choice(WORDS), body)
        return f"{m.group(1)}{m.group(2)}{body}{m.group(2)}"
    return None


LITERAL_TYPES = {"number_literal", "integer", "float", "decimal_integer_literal", "hex_integer_literal", "decimal_floating_point_literal",
                 "number", "string_literal", "string", "encapsed_string"}


def make_b(f: Func, rng: random.Random) -> str | None:
    src, fn, pre_lines, wrapped = parse_func(f)
    if fn is None:
        return None
    names = local_names(fn, src, f.lang)
    if len(names) < 2:
        return None
    taken = {src[n.start_byte:n.end_byte].decode("utf-8", "replace") for n in walk(fn) if n.child_count == 0}
    mapping = {}
    fname = func_name(fn, src)
    for nm in sorted(names):
        if f.lang == "php" and nm.startswith("$"):
            mapping[nm] = "$" + _new_name("php", rng, taken)
        else:
            mapping[nm] = _new_name(f.lang, rng, taken, func=(nm == fname))
    edits = []
    for n in _rename_targets(fn, src, f.lang, names):
        old = src[n.start_byte:n.end_byte].decode("utf-8", "replace")
        edits.append((n.start_byte, n.end_byte, mapping[old]))
    renamed_at = {e[0] for e in edits}
    lits = [n for n in walk(fn) if n.type in LITERAL_TYPES and n.start_byte not in renamed_at]
    # outermost literal nodes only
    lits = [n for n in lits if not (n.parent is not None and n.parent.type in LITERAL_TYPES)]
    rng.shuffle(lits)
    changed = 0
    for n in lits:
        if changed >= max(1, int(len(lits) * 0.4)):
            break
        new = _change_literal(src[n.start_byte:n.end_byte].decode("utf-8", "replace"), f.lang, rng)
        if new is not None:
            edits.append((n.start_byte, n.end_byte, new))
            changed += 1
    out = _apply_edits(src, edits)
    return _strip_wrapper(out, pre_lines, wrapped)


def _apply_edits(src: bytes, edits) -> str:
    edits = sorted(edits, key=lambda e: e[0])
    res, last = [], 0
    for s, e, new in edits:
        if s < last:
            continue
        res.append(src[last:s])
        res.append(new.encode())
        last = e
    res.append(src[last:])
    return b"".join(res).decode("utf-8", "replace")


def _strip_wrapper(text: str, pre_lines: int, wrapped: bool) -> str:
    lines = text.split("\n")[pre_lines:]
    if wrapped:  # the class wrapper's closing line
        while lines and not lines[-1].strip():
            lines.pop()
        lines.pop()
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------
# (c) statement edits

NEW_STMT = {
    "c": ['fprintf(stderr, "%s: step %d\\n", __func__, {n});', "assert({v} >= 0);", "++debug_counter_{n};", 'trace_event("{w}", {n});'],
    "cpp": ['std::cerr << "{w} " << {n} << std::endl;', "assert({v} >= 0);", "++debug_counter_{n};"],
    "python": ['logger.debug("{w} %d", {n})', "assert {v} is not None", 'print("{w}", {n})'],
    "java": ['System.err.println("{w}: " + {n});', 'LOG.fine("{w} " + {n});', "assert {v} != null;"],
    "javascript": ['console.log("{w}", {n});', "debugger;", 'trace("{w}", {n});'],
    "php": ['error_log("{w}: " . {n});', 'trigger_error("{w}", E_USER_NOTICE);', 'echo "{w}\\n";'],
}


def _stmt_nodes(fn, lang: str, src: bytes, lines: list[bytes]):
    out = []
    for n in walk(fn):
        if n.type not in SIMPLE_STMTS[lang] or n is fn:
            continue
        s, e = n.start_point[0], n.end_point[0]
        if lines[s][: n.start_point[1]].strip() or lines[e][n.end_point[1]:].strip():
            continue  # must own its lines
        if any(p.type in SIMPLE_STMTS[lang] for p in _ancestors(n, fn)):
            continue
        out.append(n)
    return out


def _ancestors(n, stop):
    p = n.parent
    while p is not None and p != stop:
        yield p
        p = p.parent


_RESERVED = {"this", "self", "null", "true", "false", "new", "return", "int", "char", "long", "void", "const", "static",
             "unsigned", "sizeof", "struct", "var", "let", "function", "echo", "array", "super", "throw", "delete", "typeof"}


def _modify_stmt(text: str, lang: str, rng: random.Random) -> str:
    for pat, rep in [(r"(?<![=!<>])<(?![<=])", "<="), (r" \+ ", " - "), (r"\b(\d+)\b", None), (r"==", "!="), (r" - ", " + ")]:
        ms = list(re.finditer(pat, text))
        if not ms:
            continue
        m = rng.choice(ms)
        if rep is None:
            rep = str(int(m.group(1)) + rng.randint(1, 4))
        return text[: m.start()] + rep + text[m.end():]
    # otherwise rename one identifier-looking word that is not a keyword
    words = [m for m in re.finditer(r"\b[a-z_][a-z0-9_]{2,}\b", text)
             if not keyword.iskeyword(m.group(0)) and m.group(0) not in _RESERVED]
    if words:
        m = rng.choice(words)
        return text[: m.start()] + m.group(0) + "_alt" + text[m.end():]
    return text


def make_c(f: Func, rng: random.Random) -> str | None:
    src, fn, pre_lines, wrapped = parse_func(f)
    if fn is None:
        return None
    lines = src.split(b"\n")
    stmts = _stmt_nodes(fn, f.lang, src, lines)
    if len(stmts) < 5:
        return None
    k = max(2, round(len(stmts) * rng.uniform(0.15, 0.25)))
    chosen = rng.sample(stmts, k)
    ops = {}
    for n in chosen:
        r = rng.random()
        # never empty a Python block
        siblings = [c for c in n.parent.named_children if c.type not in COMMENTS] if n.parent is not None else []
        in_block = n.parent is not None and (n.parent.type in BLOCK_TYPES or n.parent.type in FUNC_TYPES[f.lang])
        if r < 0.5 and in_block and len(siblings) > 1:
            ops[n.start_point[0]] = ("del", n)
        elif r < 0.7:
            ops[n.start_point[0]] = ("dup", n)
        else:
            ops[n.start_point[0]] = ("mod", n)
    ins_at = rng.choice(stmts)
    text_lines = [ln.decode("utf-8", "replace") for ln in lines]
    out: list[str] = []
    i = 0
    while i < len(text_lines):
        if i == ins_at.start_point[0]:
            ind = re.match(r"^[ \t]*", text_lines[i]).group(0)
            tmpl = rng.choice(NEW_STMT[f.lang])
            v = "$" + rng.choice(WORDS) if f.lang == "php" else rng.choice(WORDS)
            out.append(ind + tmpl.replace("{w}", rng.choice(WORDS)).replace("{n}", str(rng.randint(2, 99))).replace("{v}", v))
        if i in ops:
            kind, n = ops[i]
            e = n.end_point[0]
            block = text_lines[i : e + 1]
            if kind == "dup":
                out.extend(block)
                out.extend(block)
            elif kind == "mod":
                out.extend(_modify_stmt("\n".join(block), f.lang, rng).split("\n"))
            i = e + 1
            continue
        out.append(text_lines[i])
        i += 1
    return _strip_wrapper("\n".join(out), pre_lines, wrapped)


# --------------------------------------------------------------------------------------
# (d) a block inside generated code


class Gen:
    """Generates plausible, unrelated code in one language (random names, mixed statements)."""

    def __init__(self, lang: str, rng: random.Random):
        self.lang = lang
        self.rng = rng
        self.taken: set[str] = set()

    def name(self) -> str:
        return _new_name(self.lang, self.rng, self.taken)

    def var(self) -> str:
        return ("$" if self.lang == "php" else "") + self.name()

    def num(self) -> str:
        return str(self.rng.choice([0, 1, 2, 3, 4, 7, 8, 10, 16, 32, 64, 100, 255, 1024]))

    def expr(self, vs: list[str]) -> str:
        r = self.rng
        a = r.choice(vs)
        k = r.random()
        if k < 0.3:
            return f"{a} {r.choice(['+', '-', '*', '%', '&', '|'])} {self.num()}"
        if k < 0.5:
            return f"{a} {r.choice(['+', '-', '*'])} {r.choice(vs)}"
        if k < 0.7:
            fn = _new_name(self.lang, r, self.taken, func=True)
            return f"{fn}({a}, {self.num()})"
        if k < 0.85:
            return f"{a}"
        return f"({a} {r.choice(['<<', '>>', '^'])} {self.rng.randint(1, 5)})" if self.lang != "python" else f"({a} // {r.randint(2, 9)})"

    def cond(self, vs: list[str]) -> str:
        r = self.rng
        op = r.choice(["<", ">", "<=", ">=", "!=", "=="])
        c = f"{r.choice(vs)} {op} {self.num()}"
        if r.random() < 0.3:
            land = "and" if self.lang == "python" else "&&"
            c += f" {land} {r.choice(vs)} {r.choice(['<', '>'])} {r.choice(vs)}"
        return c

    def decl(self, v: str, e: str) -> str:
        return {
            "c": f"{self.rng.choice(['int', 'long', 'size_t', 'unsigned'])} {v} = {e};",
            "cpp": f"{self.rng.choice(['int', 'auto', 'std::size_t', 'long'])} {v} = {e};",
            "java": f"{self.rng.choice(['int', 'long'])} {v} = {e};",
            "javascript": f"{self.rng.choice(['let', 'const', 'var'])} {v} = {e};",
            "php": f"{v} = {e};",
            "python": f"{v} = {e}",
        }[self.lang]

    def stmts(self, vs: list[str], n: int, depth: int = 0) -> list[str]:
        r = self.rng
        out: list[str] = []
        py = self.lang == "python"
        sc = "" if py else ";"
        for _ in range(n):
            k = r.random()
            if k < 0.3:
                out.append(f"{r.choice(vs)} {r.choice(['+=', '-=', '=', '*='])} {self.expr(vs)}{sc}")
            elif k < 0.45:
                fn = _new_name(self.lang, r, self.taken, func=True)
                recv = {"java": "this.", "php": "$this->", "javascript": "this.", "cpp": ""}.get(self.lang, "")
                out.append(f"{recv}{fn}({', '.join(r.sample(vs, min(len(vs), r.randint(1, 3))))}){sc}")
            elif k < 0.7 and depth < 2:
                body = self.stmts(vs, r.randint(1, 2), depth + 1)
                if py:
                    out.append(f"if {self.cond(vs)}:")
                    out.extend("    " + b for b in body)
                else:
                    out.append(f"if ({self.cond(vs)}) {{")
                    out.extend("    " + b for b in body)
                    out.append("}")
            elif k < 0.85 and depth < 2:
                i = self.var()
                body = self.stmts(vs + [i], r.randint(1, 2), depth + 1)
                if py:
                    out.append(f"for {i} in range({r.choice(vs)}):")
                elif self.lang == "php":
                    out.append(f"foreach ({r.choice(vs)} as {i}) {{")
                elif self.lang == "javascript":
                    out.append(f"for (const {i} of {r.choice(vs)}) {{")
                else:
                    t = "int " if self.lang in ("java", "cpp", "c") else ""
                    out.append(f"for ({t}{i} = 0; {i} < {r.choice(vs)}; {i}++) {{")
                out.extend("    " + b for b in body)
                if not py:
                    out.append("}")
            else:
                v = self.var()
                out.append(self.decl(v, self.expr(vs)))
                vs.append(v)
        return out

    def function(self, body_mid: list[str] | None = None) -> tuple[list[str], int | None]:
        """Lines of a generated function; with body_mid, where its first line landed."""
        r = self.rng
        fname = _new_name(self.lang, r, self.taken, func=True)
        params = [self.var() for _ in range(r.randint(1, 3))]
        vs = list(params)
        pre = self.stmts(vs, r.randint(2, 4))
        post = self.stmts(vs, r.randint(1, 3))
        ind = "    "
        lang = self.lang
        if lang == "python":
            head = [f"def {fname}({', '.join(params)}):"]
            ret = [ind + f"return {r.choice(vs)}"]
            tail: list[str] = []
        elif lang == "c":
            head = [f"static long {fname}({', '.join('long ' + p for p in params)})", "{"]
            ret, tail = [ind + f"return {r.choice(vs)};"], ["}"]
        elif lang == "cpp":
            head = [f"long {fname}({', '.join('long ' + p for p in params)}) {{"]
            ret, tail = [ind + f"return {r.choice(vs)};"], ["}"]
        elif lang == "java":
            head = [f"    private long {fname}({', '.join('long ' + p for p in params)}) {{"]
            ind = "        "
            ret, tail = [ind + f"return {r.choice(vs)};"], ["    }"]
        elif lang == "javascript":
            head = [f"function {fname}({', '.join(params)}) {{"]
            ret, tail = [ind + f"return {r.choice(vs)};"], ["}"]
        else:  # php
            head = [f"function {fname}({', '.join(params)}) {{"]
            ret, tail = [ind + f"return {r.choice(vs)};"], ["}"]
        lines = head + [ind + s for s in pre]
        at = None
        if body_mid is not None:
            at = len(lines)
            lines += [ind + s if s.strip() else "" for s in body_mid]
        lines += [ind + s for s in post] + ret + tail
        return lines, at


def pick_block(f: Func, rng: random.Random, min_lines: int = 7, max_lines: int = 16):
    """Consecutive statements of one block, >= min_lines lines: (first line, last line) 1-based in the source file."""
    src, fn, pre_lines, wrapped = parse_func(f)
    if fn is None:
        return None
    lines = src.split(b"\n")
    cands = []
    for n in walk(fn):
        if n.type not in BLOCK_TYPES and not (f.lang == "python" and n.type == "block"):
            continue
        kids = [c for c in n.named_children if c.type not in COMMENTS]
        for i in range(len(kids)):
            s = kids[i].start_point[0]
            if lines[s][: kids[i].start_point[1]].strip():
                continue
            for j in range(i, len(kids)):
                e = kids[j].end_point[0]
                if lines[e][kids[j].end_point[1]:].strip() not in ("", "{"):
                    continue
                span = e - s + 1
                if span > max_lines:
                    break
                if span >= min_lines:
                    ntok = sum(len(leaves(k)) for k in kids[i : j + 1])
                    if ntok >= 45:
                        cands.append((s, e))
                    break
    if not cands:
        # no balanced run of statements of that size: any run of whole lines from the
        # start of one statement to the end of another (braces may be unbalanced)
        stmts = [k for n in walk(fn) if n.type in BLOCK_TYPES or (f.lang == "python" and n.type == "block")
                 for k in n.named_children if k.type not in COMMENTS]
        starts = sorted({k.start_point[0] for k in stmts if not lines[k.start_point[0]][: k.start_point[1]].strip()})
        ends = sorted({k.end_point[0] for k in stmts if lines[k.end_point[0]][k.end_point[1]:].strip() in (b"", b"{")})
        toks_per_row = Counter(t.start_point[0] for t in leaves(fn))
        for s in starts:
            for e in ends:
                if min_lines <= e - s + 1 <= max_lines and sum(toks_per_row[r] for r in range(s, e + 1)) >= 45:
                    cands.append((s, e))
    if not cands:
        return None
    s, e = rng.choice(cands)
    s -= pre_lines
    e -= pre_lines
    return f.start + s, f.start + e


def make_d(f: Func, rng: random.Random) -> tuple[str, int, int, int, int] | None:
    """(text, case_start, case_end, source_start, source_end)."""
    blk = pick_block(f, rng)
    if blk is None:
        return None
    s, e = blk
    flines = f.text.split("\n")
    block = dedent_lines(flines[s - f.start : e - f.start + 1])
    g = Gen(f.lang, rng)
    out: list[str] = []
    lang = f.lang
    if lang == "c":
        out += ["#include <stdio.h>", "#include <stdlib.h>", ""]
    elif lang == "cpp":
        out += ["#include <vector>", "#include <string>", ""]
    elif lang == "python":
        out += ["import os", "import sys", ""]
    elif lang == "java":
        out += ["package com.example.gen;", "", "import java.util.List;", "", f"public class {g.name().capitalize()}Util {{"]
    elif lang == "php":
        out += ["<?php", "", "namespace App\\Gen;", ""]
    elif lang == "javascript":
        out += ["'use strict';", ""]
    before, _ = g.function()
    out += before + [""]
    host, at = g.function(block)
    assert at is not None
    case_start = len(out) + at + 1
    case_end = case_start + len(block) - 1
    out += host + [""]
    after, _ = g.function()
    out += after
    if lang == "java":
        out += ["}"]
    return "\n".join(out) + "\n", case_start, case_end, s, e


# --------------------------------------------------------------------------------------
# negatives: generic idioms (written for this benchmark)

IDIOMS: list[tuple[str, str]] = [
    ("c", """\
static void swap_ints(int *a, int *b)
{
    int t = *a;
    *a = *b;
    *b = t;
}

static void bubble_sort(int *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j + 1 < n - i; j++) {
            if (v[j] > v[j + 1])
                swap_ints(&v[j], &v[j + 1]);
        }
    }
}
"""),
    ("c", """\
int main(int argc, char **argv)
{
    int opt;
    int verbose = 0;
    const char *output = NULL;

    while ((opt = getopt(argc, argv, "vo:h")) != -1) {
        switch (opt) {
        case 'v':
            verbose = 1;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
        default:
            fprintf(stderr, "usage: %s [-v] [-o file] input\\n", argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s: missing input\\n", argv[0]);
        return 2;
    }
    return process(argv[optind], output, verbose);
}
"""),
    ("c", """\
struct node {
    struct node *next;
    int value;
};

struct node *list_push(struct node *head, int value)
{
    struct node *n = malloc(sizeof *n);
    if (n == NULL) {
        perror("malloc");
        exit(EXIT_FAILURE);
    }
    n->value = value;
    n->next = head;
    return n;
}

void list_free(struct node *head)
{
    while (head != NULL) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
}
"""),
    ("c", """\
ssize_t binary_search(const int *a, size_t n, int key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else if (a[mid] > key)
            hi = mid;
        else
            return (ssize_t) mid;
    }
    return -1;
}
"""),
    ("c", """\
static int count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    int n = 0;

    if (fp == NULL) {
        fprintf(stderr, "cannot open %s: %s\\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL)
        n++;
    if (ferror(fp)) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    return n;
}
"""),
    ("c", """\
void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (p == NULL && size != 0) {
        fputs("out of memory\\n", stderr);
        abort();
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = xmalloc(len);
    memcpy(copy, s, len);
    return copy;
}
"""),
    ("c", """\
static int cmp_str(const void *a, const void *b)
{
    const char *const *sa = a;
    const char *const *sb = b;
    return strcmp(*sa, *sb);
}

static void sort_names(char **names, size_t count)
{
    qsort(names, count, sizeof names[0], cmp_str);
    for (size_t i = 0; i < count; i++)
        printf("%zu: %s\\n", i, names[i]);
}
"""),
    ("c", """\
size_t trim_trailing(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\\t' || s[len - 1] == '\\n' || s[len - 1] == '\\r'))
        s[--len] = '\\0';
    return len;
}

char *skip_spaces(char *s)
{
    while (*s == ' ' || *s == '\\t')
        s++;
    return s;
}
"""),
    ("c", """\
int read_all(int fd, void *buf, size_t count)
{
    char *p = buf;
    size_t left = count;

    while (left > 0) {
        ssize_t n = read(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        p += n;
        left -= (size_t) n;
    }
    return (int) (count - left);
}
"""),
    ("c", """\
unsigned long hash_string(const char *str)
{
    unsigned long hash = 5381;
    int c;

    while ((c = (unsigned char) *str++) != 0)
        hash = ((hash << 5) + hash) + c;
    return hash;
}

int parse_int(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\\0' || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int) v;
    return 0;
}
"""),
    ("cpp", """\
template <typename T>
class Stack {
public:
    void push(const T &value) { items_.push_back(value); }
    bool empty() const { return items_.empty(); }
    T pop()
    {
        if (items_.empty())
            throw std::out_of_range("pop from empty stack");
        T top = items_.back();
        items_.pop_back();
        return top;
    }
    std::size_t size() const { return items_.size(); }

private:
    std::vector<T> items_;
};
"""),
    ("cpp", """\
std::vector<std::string> split(const std::string &s, char delim)
{
    std::vector<std::string> parts;
    std::string current;
    for (char c : s) {
        if (c == delim) {
            parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(current);
    return parts;
}
"""),
    ("python", """\
def main(argv=None):
    parser = argparse.ArgumentParser(description="Process some files.")
    parser.add_argument("paths", nargs="+", help="input files")
    parser.add_argument("-o", "--output", default="-", help="output file")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG)
    for path in args.paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                process(line.rstrip("\\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""),
    ("python", """\
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return f"Point({self.x!r}, {self.y!r})"

    def __eq__(self, other):
        if not isinstance(other, Point):
            return NotImplemented
        return self.x == other.x and self.y == other.y

    def __hash__(self):
        return hash((self.x, self.y))

    def distance(self, other):
        return math.hypot(self.x - other.x, self.y - other.y)
"""),
    ("python", """\
def load_config(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("config must be an object")
    return data


def save_config(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
"""),
    ("python", """\
def chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def flatten(nested):
    result = []
    for item in nested:
        if isinstance(item, (list, tuple)):
            result.extend(flatten(item))
        else:
            result.append(item)
    return result


def group_by(items, key):
    groups = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups
"""),
    ("python", """\
def retry(func, attempts=3, delay=1.0):
    last_error = None
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except Exception as exc:
            last_error = exc
            logger.warning("attempt %d/%d failed: %s", attempt, attempts, exc)
            time.sleep(delay * attempt)
    raise RuntimeError(f"giving up after {attempts} attempts") from last_error
"""),
    ("java", """\
public class Person {
    private final String name;
    private int age;

    public Person(String name, int age) {
        this.name = name;
        this.age = age;
    }

    public String getName() {
        return name;
    }

    public int getAge() {
        return age;
    }

    public void setAge(int age) {
        this.age = age;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (o == null || getClass() != o.getClass()) return false;
        Person other = (Person) o;
        return age == other.age && Objects.equals(name, other.name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, age);
    }
}
"""),
    ("java", """\
public static List<String> readLines(Path path) throws IOException {
    List<String> lines = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
        String line;
        while ((line = reader.readLine()) != null) {
            if (!line.isEmpty()) {
                lines.add(line.trim());
            }
        }
    }
    return lines;
}
"""),
    ("java", """\
public static Map<String, Integer> countWords(String text) {
    Map<String, Integer> counts = new HashMap<>();
    for (String word : text.toLowerCase().split("\\\\s+")) {
        if (word.isEmpty()) {
            continue;
        }
        counts.put(word, counts.getOrDefault(word, 0) + 1);
    }
    return counts;
}
"""),
    ("javascript", """\
async function fetchJson(url, options = {}) {
  const response = await fetch(url, {
    headers: { 'Content-Type': 'application/json' },
    ...options,
  });
  if (!response.ok) {
    throw new Error(`Request failed with status ${response.status}`);
  }
  return response.json();
}

function debounce(fn, wait) {
  let timer = null;
  return function (...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), wait);
  };
}
"""),
    ("javascript", """\
function groupBy(items, keyFn) {
  const groups = {};
  for (const item of items) {
    const key = keyFn(item);
    if (!groups[key]) {
      groups[key] = [];
    }
    groups[key].push(item);
  }
  return groups;
}

function uniq(values) {
  return Array.from(new Set(values));
}
"""),
    ("php", """\
<?php
function find_user(PDO $pdo, int $id): ?array
{
    $stmt = $pdo->prepare('SELECT id, name, email FROM users WHERE id = :id');
    $stmt->execute(['id' => $id]);
    $row = $stmt->fetch(PDO::FETCH_ASSOC);
    if ($row === false) {
        return null;
    }
    return $row;
}

function escape_html(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_HTML5, 'UTF-8');
}
"""),
    ("php", """\
<?php
class Config
{
    private array $values = [];

    public function get(string $key, $default = null)
    {
        if (!array_key_exists($key, $this->values)) {
            return $default;
        }
        return $this->values[$key];
    }

    public function set(string $key, $value): void
    {
        $this->values[$key] = $value;
    }

    public function all(): array
    {
        return $this->values;
    }
}
"""),
]


# --------------------------------------------------------------------------------------
# the case set


@dataclass
class Case:
    id: str
    cls: str
    lang: str
    file: str
    case_start: int
    case_end: int
    source_path: str | None
    source_start: int | None
    source_end: int | None
    origin: str
    extra: dict = field(default_factory=dict)


BASE_CLASSES = ("a", "b", "c", "d")
"""The classes of the rounds before issue 16; drawn exactly as then, so old seeds give the same cases."""
CLASSES = BASE_CLASSES + ("e", "f")
"""e renamed-deep and f chat snippet: bench/variants.py."""
DEFAULT_SEED = 20261207
"""The evaluation seed, never used for tuning (those were 1234, 4321, 2718, 9001, 6006, 3141, 8080, 5555)."""


def quotas(n: int, langs: list[str]) -> dict[str, int]:
    share = {lang: LANG_SHARE[lang] for lang in langs}
    tot = sum(share.values())
    q = {lang: int(round(n * s / tot)) for lang, s in share.items()}
    diff = n - sum(q.values())
    q["c" if "c" in q else langs[0]] += diff
    return q


def available_langs(trees: list[Tree]) -> list[str]:
    have = Counter()
    for t in trees:
        for p in iter_files(t.path):
            lang = lang_of(p)
            if lang:
                have[lang] += p.stat().st_size
    return [lang for lang in LANG_SHARE if have[lang] > 50_000]


def held_per_class(per_class: int) -> int:
    """Held-out cases per class: a quarter of the tuning packages' count (their code is smaller)."""
    return max(10, per_class // 4)


def _emit(f: Func, cls: str, cid: str, crng: random.Random, out: Path, trees: dict[str, Tree],
          extra: dict | None = None) -> Case | None:
    """Turn function ``f`` into a case of class ``cls`` written under ``out``; None if it does not fit."""
    from variants import make_e, make_f  # variants imports this module

    lang = f.lang
    more: dict = {}
    if cls == "d":
        r = make_d(f, crng)
        if r is None:
            return None
        text, cs, ce, ss, se = r
    elif cls == "f":
        r = make_f(f, crng)
        if r is None:
            return None
        text, ss, se, more = r
        pre = 0
        if lang == "php":
            text, pre = "<?php\n" + text, 1
        cs, ce = 1 + pre, text.rstrip("\n").count("\n") + 1
    else:
        try:
            if cls == "e":
                text = make_e(f, crng, trees[f.tree].path / f.rel)
            else:
                text = {"a": make_a, "b": make_b, "c": make_c}[cls](f, crng)
        except (RecursionError, ValueError, IndexError):
            text = None
        if text is None:
            return None
        pre = 0
        if lang == "php":
            text = "<?php\n" + text
            pre = 1
        nlines = text.rstrip("\n").count("\n") + 1
        cs, ce, ss, se = 1 + pre, nlines, f.start, f.end
    rel = f"{cls}/{cid}{CASE_EXT[lang]}"
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_text(text, encoding="utf-8")
    return Case(cid, cls, lang, rel, cs, ce, f.source_path, ss, se, f.tree,
                {"function": f.name, "function_lines": [f.start, f.end], "tokens": f.tokens, **more, **(extra or {})})


def _fill(pool: list[Func], classes: tuple[str, ...], quota: int, lang: str, seed: int, out: Path,
          trees: dict[str, Tree], cases: list[Case], *, tag: str = "", extra: dict | None = None, log=print) -> None:
    """Make ``quota`` cases of each class from ``pool`` (in order; a function is used once)."""
    used = 0
    for cls in classes:
        made = 0
        while made < quota and used < len(pool):
            f = pool[used]
            used += 1
            crng = random.Random(f"{seed}-{cls}-{f.source_path}-{f.start}")
            c = _emit(f, cls, f"{cls}-{lang}-{tag}{made:04d}", crng, out, trees, extra)
            if c is not None:
                cases.append(c)
                made += 1
        if made < quota:
            log(f"  {lang}/{cls}{' (' + tag + ')' if tag else ''}: only {made} of {quota} cases (ran out of functions)")


def generate(copyleft: list[Tree], permissive: list[Tree], out: Path, *, per_class: int = 200, negatives: int = 200,
             seed: int = DEFAULT_SEED, held_out: list[Tree] = (), held_per_class: int = 0, log=print) -> list[Case]:
    """Cases from the tuning trees ``copyleft`` (all classes), negatives from ``permissive``, and
    ``held_per_class`` cases per class from the ``held_out`` trees (marked ``extra.held_out``)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    langs = available_langs(copyleft)
    q = quotas(per_class, langs)
    trees = {t.name: t for t in list(copyleft) + list(held_out)}
    new_classes = tuple(c for c in CLASSES if c not in BASE_CLASSES)
    for lang in langs:
        need = q[lang] * len(BASE_CLASSES)
        n0 = int(need * 2.2) + 10
        pool = sample_functions(copyleft, lang, n0, random.Random(f"{seed}-{lang}"))
        rng.shuffle(pool)
        log(f"  {lang}: {len(pool)} candidate functions for {need} cases")
        _fill(pool, BASE_CLASSES, q[lang], lang, seed, out, trees, cases, log=log)
        # the new classes draw from functions past that pool, with their own random streams,
        # so classes a-d of a tuning seed are the very cases of the earlier rounds
        seen = {(f.source_path, f.start) for f in pool}
        more = sample_functions(copyleft, lang, n0 + int(q[lang] * len(new_classes) * 4) + 10,
                                random.Random(f"{seed}-{lang}"))
        more = [f for f in more if (f.source_path, f.start) not in seen]
        random.Random(f"{seed}-{lang}-new").shuffle(more)
        _fill(more, new_classes, q[lang], lang, seed, out, trees, cases, log=log)
    if held_out and held_per_class:
        from heldout import held_out_pool

        hlangs = available_langs(list(held_out))
        hq = quotas(held_per_class, hlangs)
        for lang in hlangs:
            pool = held_out_pool(list(held_out), list(copyleft), lang, hq[lang] * len(CLASSES) * 4 + 10, seed, log=log)
            _fill(pool, CLASSES, hq[lang], lang, seed, out, trees, cases, tag="h", extra={"held_out": True}, log=log)
    # negatives: permissive functions, verbatim
    if permissive:
        nlangs = [lang for lang in available_langs(permissive)]
        nq = quotas(negatives, nlangs)
        for lang in nlangs:
            # spread over the packages that have the language, so no one package dominates
            have = [t for t in permissive if any(lang_of(p) == lang for p in iter_files(t.path))]
            per = -(-nq[lang] // max(1, len(have)))
            pool, seen = [], set()
            for t in have:
                for f in sample_functions([t], lang, per, random.Random(f"{seed}-neg-{lang}-{t.name}")):
                    pool.append(f)
                    seen.add((f.source_path, f.start))
            if len(pool) < nq[lang]:  # small packages ran out: top up from all
                for f in sample_functions(have, lang, nq[lang] * 2, random.Random(f"{seed}-neg-{lang}")):
                    if (f.source_path, f.start) not in seen and len(pool) < nq[lang]:
                        pool.append(f)
                        seen.add((f.source_path, f.start))
            random.Random(f"{seed}-neg-{lang}").shuffle(pool)
            pool = pool[: nq[lang]]
            for i, f in enumerate(pool):
                cid = f"neg-{lang}-{i:04d}"
                rel = f"neg/{cid}{CASE_EXT[lang]}"
                text = f.text + "\n"
                pre = 0
                if lang == "php":
                    text, pre = "<?php\n" + text, 1
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_text(text, encoding="utf-8")
                cases.append(Case(cid, "neg", lang, rel, 1 + pre, text.count("\n"), f.source_path, f.start, f.end, f.tree,
                                  {"function": f.name}))
    for i, (lang, text) in enumerate(IDIOMS):
        cid = f"idiom-{lang}-{i:04d}"
        rel = f"idiom/{cid}{CASE_EXT[lang]}"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
        cases.append(Case(cid, "idiom", lang, rel, 1, text.count("\n"), None, None, None, "bench"))
    (out / "cases.json").write_text(json.dumps([asdict(c) for c in cases], indent=1))
    return cases


def load_cases(out: Path) -> list[Case]:
    return [Case(**d) for d in json.loads((out / "cases.json").read_text())]


def summary_table(cases: list[Case]) -> str:
    by = defaultdict(Counter)
    for c in cases:
        by[c.cls + (" held" if c.extra.get("held_out") else "")][c.lang] += 1
    langs = sorted({c.lang for c in cases})
    lines = [f"{'class':<8}" + "".join(f"{lang:>11}" for lang in langs) + f"{'total':>8}"]
    for cls in sorted(by, key=lambda x: (len(x.split()[0]) > 1, "held" in x, x)):
        lines.append(f"{cls:<8}" + "".join(f"{by[cls][lang]:>11}" for lang in langs) + f"{sum(by[cls].values()):>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="accuracy", choices=("quick", "accuracy"))
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--out", type=Path, default=None, help="case dir (default CACHE/cases-SET)")
    ap.add_argument("--per-class", type=int, default=None, help="cases per class (default 200; 40 for quick)")
    ap.add_argument("--negatives", type=int, default=None, help="permissive negatives (default 200; 60 for quick)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED,
                    help="default %(default)s, the evaluation seed: never tune on it (bench/README.md)")
    ap.add_argument("--held-out", action=argparse.BooleanOptionalAction, default=None,
                    help="draw cases from the held-out packages too (default: only with the default seed)")
    ap.add_argument("--show", help="print one case (by id) next to its source")
    a = ap.parse_args(argv)
    out = a.out or a.cache / f"cases-{a.set}"
    if a.show:
        cases = {c.id: c for c in load_cases(out)}
        c = cases[a.show]
        print(json.dumps(asdict(c), indent=1))
        print("----- case", c.file)
        for i, ln in enumerate((out / c.file).read_text().splitlines(), 1):
            mark = ">" if c.case_start <= i <= c.case_end else " "
            print(f"{mark}{i:4} {ln}")
        if c.source_path:
            tree, rel = c.source_path.split("/", 1)
            for sub in ("debian", "pypi"):
                p = a.cache / sub / tree / rel
                if p.is_file():
                    src = p.read_text(errors="replace").splitlines()
                    print("----- source", c.source_path)
                    for i in range(c.source_start, c.source_end + 1):
                        print(f" {i:5} {src[i - 1]}")
        return 0
    quick = a.set == "quick"
    per_class = a.per_class or (40 if quick else 200)
    negs = a.negatives if a.negatives is not None else (60 if quick else 200)
    from heldout import split, wanted

    tuning, held = split(fetch_all(packages(a.set, "copyleft"), a.cache))
    permissive = fetch_all(packages(a.set, "permissive"), a.cache)
    cases = generate(tuning, permissive, out, per_class=per_class, negatives=negs, seed=a.seed,
                     held_out=held if wanted(a.seed, a.held_out) else [], held_per_class=held_per_class(per_class))
    print(f"{len(cases)} cases in {out}")
    print(summary_table(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
