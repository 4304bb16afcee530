"""Case classes added for issue 16: thorough renaming (e) and chat-sized snippets (f).

  e  renamed-deep: like b (function name, parameters, locals, ~40 % of the literals),
     and also the called helper functions defined in the same source file and the
     struct/class fields the function reads or writes, one new name per old name
  f  chat snippet: 4-8 consecutive lines of a function, dedented, as an assistant pastes
     them into a chat; half of them come from a b-style renamed copy of the function

Both use tree-sitter through the helpers of ``cases.py``.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

from cases import (COMMENTS, FUNC_TYPES, LITERAL_TYPES, Func, _apply_edits, _change_literal, _new_name, _rename_targets,
                   _strip_wrapper, dedent_lines, func_name, leaves, local_names, make_b, parse_func, parser, walk)

# Members of library types that a person who renames a copied function keeps, because the
# code would not build or run otherwise (st_size, length, push, ...).
KEEP_MEMBERS = {
    "length", "size", "push", "pop", "prototype", "call", "apply", "bind", "then", "append", "get", "set",
    "keys", "values", "items", "name", "st_size", "st_mode", "st_mtime", "st_ino", "st_dev", "tv_sec", "tv_nsec",
    "tv_usec", "tm_year", "tm_mon", "tm_mday", "tm_hour", "tm_min", "tm_sec", "d_name", "d_type", "c_str",
    "begin", "end", "first", "second", "data", "empty", "__class__", "__dict__", "__name__",
}


def _txt(src: bytes, n) -> str:
    return src[n.start_byte:n.end_byte].decode("utf-8", "replace")


@lru_cache(maxsize=256)
def file_defs(path: str, lang: str) -> frozenset[str]:
    """Names of the functions and methods defined in a source file: the 'helpers' a
    thorough renamer renames when it renames the callers (library calls keep their names)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return frozenset()
    root = parser(lang).parse(data).root_node
    names = {func_name(n, data) for n in walk(root) if n.type in FUNC_TYPES[lang]}
    return frozenset(n.split("::")[-1] for n in names if n and n != "?" and n != "main")


@lru_cache(maxsize=256)
def java_fields(path: str) -> frozenset[str]:
    """Fields declared in a Java file: ``a.b`` is just as often a package path (javax.swing),
    so only these (and ``this.x``) are renamed."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return frozenset()
    out = set()
    for n in walk(parser("java").parse(data).root_node):
        if n.type == "field_declaration":
            for d in n.children_by_field_name("declarator"):
                nm = d.child_by_field_name("name")
                if nm is not None:
                    out.add(_txt(data, nm))
    return frozenset(out)


# libc and POSIX structs prefix their members (st_size, tv_sec, sin_port): a renamer keeps them
_LIBC_MEMBER = re.compile(r"^(st|tv|tm|d|sa|sin|sin6|ai|pw|gr|it|ts|si|ss|c|f|l)_")


def _is_self(src: bytes, n) -> bool:
    return n is not None and _txt(src, n) in ("self", "cls", "this", "$this")


def deep_targets(fn, src: bytes, lang: str, helpers: frozenset[str],
                 fields: frozenset[str] = frozenset(), local: set[str] = frozenset()) -> list[tuple[object, str]]:
    """(node, old name) of every helper call and field access of ``fn`` to rename; ``fields``:
    the file's declared fields (Java), ``local``: names b's renaming already handles."""
    out: list[tuple[object, str]] = []
    for n in walk(fn):
        p = n.parent
        if p is None:
            continue
        name = _txt(src, n)
        is_call_target = False
        if lang in ("c", "cpp"):
            if n.type == "identifier" and p.type == "call_expression" and p.child_by_field_name("function") == n:
                is_call_target = True
            elif n.type == "field_identifier" and p.type == "field_expression" and p.child_by_field_name("field") == n:
                # obj->member(...) calls a method: only the file's own; a field: always
                call = p.parent is not None and p.parent.type == "call_expression"
                if (call and name in helpers) or (not call and name not in KEEP_MEMBERS
                                                   and not _LIBC_MEMBER.match(name)):
                    out.append((n, name))
                continue
        elif lang == "python":
            if n.type == "identifier" and p.type == "call" and p.child_by_field_name("function") == n:
                is_call_target = True
            elif n.type == "identifier" and p.type == "attribute" and p.child_by_field_name("attribute") == n \
                    and _is_self(src, p.child_by_field_name("object")) and not name.startswith("__"):
                out.append((n, name))
                continue
        elif lang == "java":
            if n.type == "identifier" and p.type == "method_invocation" and p.child_by_field_name("name") == n:
                obj = p.child_by_field_name("object")
                is_call_target = obj is None or _is_self(src, obj)
            elif n.type == "identifier" and p.type == "field_access" and p.child_by_field_name("field") == n:
                if name in fields or _is_self(src, p.child_by_field_name("object")):
                    out.append((n, name))
                continue
            elif n.type == "identifier" and name in fields and name not in local \
                    and p.type not in ("method_invocation", "field_access", "scoped_identifier"):
                out.append((n, name))  # a field used without this.
                continue
        elif lang == "javascript":
            if n.type == "identifier" and p.type == "call_expression" and p.child_by_field_name("function") == n:
                is_call_target = True
            elif n.type == "property_identifier" and p.type == "member_expression" \
                    and p.child_by_field_name("property") == n and _is_self(src, p.child_by_field_name("object")):
                call = p.parent is not None and p.parent.type == "call_expression"
                if name in helpers or not call:
                    out.append((n, name))
                continue
        elif lang == "php":
            if n.type == "name" and p.type == "function_call_expression":
                is_call_target = True
            elif n.type == "name" and p.type in ("member_access_expression", "member_call_expression") \
                    and _is_self(src, p.child_by_field_name("object")):
                if p.type == "member_access_expression" or name in helpers:
                    out.append((n, name))
                continue
        if is_call_target and name in helpers:
            out.append((n, name))
    return out


def make_e(f: Func, rng: random.Random, source_file: Path) -> str | None:
    """Thorough rename: locals as in b, plus helper calls and fields; None when the
    function calls no helper of its file and touches no field (it would be a b case)."""
    src, fn, pre_lines, wrapped = parse_func(f)
    if fn is None:
        return None
    helpers = file_defs(str(source_file), f.lang)
    names = local_names(fn, src, f.lang)
    fields = java_fields(str(source_file)) if f.lang == "java" else frozenset()
    deep = deep_targets(fn, src, f.lang, helpers, fields, names)
    if not deep or len(names) < 2:
        return None
    taken = {_txt(src, n) for n in walk(fn) if n.child_count == 0}
    fname = func_name(fn, src)
    mapping: dict[str, str] = {}
    for nm in sorted(names):
        if f.lang == "php" and nm.startswith("$"):
            mapping[nm] = "$" + _new_name("php", rng, taken)
        else:
            mapping[nm] = _new_name(f.lang, rng, taken, func=(nm == fname))
    edits = [(n.start_byte, n.end_byte, mapping[_txt(src, n)]) for n in _rename_targets(fn, src, f.lang, names)]
    # members and helpers get their own map: a field may share a local's name (p->len and len)
    member_map: dict[str, str] = {}
    for n, old in deep:
        if old not in member_map:
            member_map[old] = _new_name(f.lang, rng, taken, func=old in helpers)
        edits.append((n.start_byte, n.end_byte, member_map[old]))
    renamed_at = {e[0] for e in edits}
    lits = [n for n in walk(fn) if n.type in LITERAL_TYPES and n.start_byte not in renamed_at
            and not (n.parent is not None and n.parent.type in LITERAL_TYPES)]
    rng.shuffle(lits)
    changed = 0
    for n in lits:
        if changed >= max(1, int(len(lits) * 0.4)):
            break
        new = _change_literal(_txt(src, n), f.lang, rng)
        if new is not None:
            edits.append((n.start_byte, n.end_byte, new))
            changed += 1
    return _strip_wrapper(_apply_edits(src, edits), pre_lines, wrapped)


def _prose_rows(f: Func) -> tuple[set[int], dict[int, int]]:
    """(lines of ``f.text`` that are comment or docstring, code tokens per line), 0-based."""
    src, fn, pre, _ = parse_func(f)
    if fn is None:
        return set(), {}
    prose: set[int] = set()
    for n in walk(fn):
        docstring = n.type == "expression_statement" and n.named_child_count == 1 \
            and n.named_children[0].type in ("string", "string_literal", "encapsed_string")
        if n.type in COMMENTS or docstring:
            prose.update(range(n.start_point[0] - pre, n.end_point[0] - pre + 1))
    toks: dict[int, int] = {}
    for t in leaves(fn):
        toks[t.start_point[0] - pre] = toks.get(t.start_point[0] - pre, 0) + 1
    return prose, toks


def make_f(f: Func, rng: random.Random) -> tuple[str, int, int, dict] | None:
    """A 4-8 line chat snippet: (dedented text, first source line, last source line, extra).

    The window is whole lines of the function body (not its first or last line), with at
    least 20 code tokens (tree-sitter leaves, comments not counted), at most one line that
    is a comment, a docstring or blank, and at most one that is only a brace: code a person
    would paste, not a comment block. Half of the snippets come from a renamed copy (class
    b's renaming; it keeps the line count, so the source lines stay the same).
    """
    flines = f.text.split("\n")
    if len(flines) < 7:
        return None
    prose, toks = _prose_rows(f)
    renamed = rng.random() < 0.5
    body = flines
    if renamed:
        try:
            r = make_b(f, rng)
        except (RecursionError, ValueError, IndexError, RuntimeError):
            r = None
        r_lines = r.rstrip("\n").split("\n") if r is not None else []
        if len(r_lines) == len(flines):
            body = r_lines
        else:
            renamed = False
    k = rng.randint(4, 8)
    starts = list(range(1, len(flines) - k))  # skip the header line; the window ends before the last line
    rng.shuffle(starts)
    for s in starts:
        rows = range(s, s + k)
        win = flines[s:s + k]
        if not win[0].strip() or not win[-1].strip() or s in prose or s + k - 1 in prose:
            continue
        if sum(1 for r in rows if r in prose or not flines[r].strip()) > 1:
            continue
        if sum(1 for ln in win if ln.strip() in ("{", "}", "};", "})")) > 1:
            continue
        if sum(toks.get(r, 0) for r in rows) < 20:
            continue
        text = "\n".join(dedent_lines(body[s:s + k])) + "\n"
        return text, f.start + s, f.start + s + k - 1, {"renamed": renamed, "lines": k}
    return None
