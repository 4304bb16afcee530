"""Disguise a real function as an assistant would: rename, drop comments, reformat.

Functions are found with tree-sitter; identifiers are renamed consistently, never
the names a program calls from outside (library functions, fields, keywords).
"""

from __future__ import annotations

import ast
import builtins
import keyword
import random
import re
import textwrap
from dataclasses import dataclass
from typing import Any


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
