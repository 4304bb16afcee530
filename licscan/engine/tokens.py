"""Source text -> normalized token stream (tree-sitter, or a regex fallback).

Normalization is what makes renamed and edited copies match: identifiers become
``$ID``, numbers ``$NUM``, strings and characters ``$STR``; keywords and operators
keep their text; comments, docstrings and import/include/package declarations
vanish (they say what code uses, not who wrote it, and every file has them).
The raw text and the line of every token are kept beside it for evidence, for
rename-consistency hashing and for comparing names and literals of a match.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from typing import Any

from licscan.engine.budget import InputBudget, parse
from licscan.engine.fallback import fallback_tokens
from licscan.engine.stream import ID, NO_GRAMMAR, NUM, PARSE_BUDGET, STR, SURROGATES, Memo, TokenStream  # noqa: F401 - the token API
from licscan.languages import LANGUAGES, grammar


_SKIP, _IDENT, _NUM, _STR, _KEEP, _DESCEND, _DROP_STMT, _REPARSE, _ANON = range(9)

# Leaf kinds that name things (besides every kind ending in "identifier").
_IDENT_KINDS = frozenset({
    "name", "constant", "word", "variable_name", "simple_symbol", "hash_key_symbol",
    "instance_variable", "class_variable", "global_variable", "special_variable_name",
    "field_name", "label_name", "metavariable", "lifetime", "symbol",
})
_STR_PARTS = ("string", "char", "heredoc", "regex", "rune")
_NUM_PARTS = ("number", "integer", "int_literal", "float", "decimal", "hex_", "octal", "real_literal", "imaginary")
# Statements made of a bare string literal do nothing: they are docstrings
# (Python) or directive prologues, so they are documentation, not code.
_STMT_KINDS = frozenset({"expression_statement"})
# Declarations that only name other code: a run of them is the same boilerplate in
# every project (an import block matched 90 tokens of an unrelated Java file).
_BOILERPLATE_KINDS = frozenset({
    "preproc_include", "import_statement", "import_from_statement", "future_import_statement",
    "import_declaration", "package_declaration", "package_clause", "use_declaration",
    "extern_crate_declaration", "namespace_use_declaration", "using_directive",
})
# Opaque leaves whose text is code the grammar does not parse (C macro bodies).
_REPARSE_KINDS = frozenset({"preproc_arg"})
_NEWLINE = re.compile(b"\n")
_KEYWORDISH = re.compile(r"[#@]?[A-Za-z_]\w{0,23}|[^\w\s]{1,3}")

MAX_DEPTH = 2000
"""Subtrees nested deeper than this are skipped (machine-generated or hostile input)."""

def tokenize(text: str, lang: str, budget: InputBudget | None = None) -> TokenStream:
    """Tokenize ``text`` written in ``lang`` (a name from languages.LANGUAGES, or "text").

    ``budget``: what the grammar may still spend on the input ``text`` is part of
    (see engine/budget.py); without it, only the per-text caps apply."""
    if budget is not None:
        budget.begin(len(text))
    if lang in LANGUAGES:
        return _tree_sitter_tokens(text, lang, budget)
    return _fallback(text, lang, budget, NO_GRAMMAR)


def _fallback(text: str, lang: str, budget: InputBudget | None, reason: str) -> TokenStream:
    started = time.thread_time()
    out = fallback_tokens(text, lang)
    out.fallback_reason = reason
    if budget is not None:
        budget.spend(time.thread_time() - started)
    return out


# --------------------------------------------------------------------------- tree-sitter

_parsers: dict[str, Any] = {}
_kinds: dict[str, tuple[Memo[int, tuple[int, str]], Memo[int, tuple[int, str]]]] = {}


def _parser(lang: str) -> Any:
    p = _parsers.get(lang)
    if p is None:
        import tree_sitter

        p = _parsers[lang] = tree_sitter.Parser(grammar(lang))
    return p


def _category(kind: str, named: bool, leaf: bool) -> int:
    if "comment" in kind:
        return _SKIP
    if not named:
        return _ANON if leaf else _DESCEND
    if kind in _BOILERPLATE_KINDS:
        return _SKIP
    if kind in _STMT_KINDS:
        return _DROP_STMT
    if kind in _REPARSE_KINDS:
        return _REPARSE
    if any(p in kind for p in _STR_PARTS):
        return _STR
    if kind.endswith("identifier") or kind in _IDENT_KINDS:
        return _IDENT
    if leaf and any(p in kind for p in _NUM_PARTS):
        return _NUM
    return _KEEP if leaf else _DESCEND


# Characters the grammars must not see; each is swapped for a harmless one of the
# same UTF-8 length, so byte offsets still index the original text, from which
# tokens are cut. Both were found by tests/test_fuzz.py and bench/robustness.py:
# - lone surrogates (text decoded with surrogateescape) are 3 bytes of invalid
#   UTF-8 once encoded with surrogatepass; the grammars get U+FFFD (3 bytes too).
# - tree-sitter-bash 0.25's scanner segfaults on some texts holding a code point
#   beyond plane 3 (planes 4-13 are unassigned, 14 holds tags, 15-16 private use),
#   e.g. `{({\U000CF3C2(4({`; seen from U+60000 on, never below U+50000.
_ASTRAL = re.compile("[\U00040000-\U0010FFFF]")


def _grammar_input(lang: str, text: str, src: bytes) -> bytes:
    safe = text
    if SURROGATES.search(safe):
        safe = SURROGATES.sub("\ufffd", safe)
    if lang == "bash" and _ASTRAL.search(safe):
        safe = _ASTRAL.sub("\U0001F600", safe)
    return src if safe is text else safe.encode("utf-8")


def _tree_sitter_tokens(text: str, lang: str, budget: InputBudget | None) -> TokenStream:
    src = text.encode("utf-8", "surrogatepass")
    if budget is not None and not budget.affords_parse(src):
        tree = None
    else:
        tree = parse(_parser(lang), _grammar_input(lang, text, src), budget)
    # The walk costs Python work per node: a tree too big for what is left of the
    # input's budget (dense text: a megabyte of brackets is a million nodes) goes to
    # the fallback tokenizer too, which does the same for a fraction of the cost.
    if tree is None or (budget is not None and not budget.affords_walk(tree.root_node.descendant_count)):
        return _fallback(text, lang, budget, PARSE_BUDGET)
    started = time.thread_time()
    try:
        return _walk(tree, src, text, lang)
    finally:
        if budget is not None:
            budget.spend(time.thread_time() - started)


def _walk(tree: Any, src: bytes, text: str, lang: str) -> TokenStream:
    out = TokenStream(lang)
    root = tree.root_node
    if root.child_count == 0:
        return out  # empty or whitespace-only: the root is no token
    kinds = _kinds.get(lang)
    if kinds is None:
        kinds = _kinds[lang] = (Memo(partial(_kind_info, lang, True)), Memo(partial(_kind_info, lang, False)))
    leaf_kind, inner_kind = kinds[0].__getitem__, kinds[1].__getitem__
    # Zero-width (MISSING) nodes exist only in trees with errors: only those pay
    # for the width check.
    missing = root.has_error
    # Text of ASCII source is cut from the str, as its byte offsets are its indices.
    ascii_text = text if len(text) == len(src) else None
    norm, raws = out.norm.append, out.raw.append
    starts: list[int] = []
    at = starts.append  # byte offset of each token; lines are counted from them at the end
    # A cursor walk: no recursion (real inputs nest deeper than Python allows)
    # and no child lists, which is most of the cost on large files. Stepping down
    # first tells leaves from inner nodes, which the category depends on.
    cursor = tree.walk()
    depth = 0
    while True:
        node = cursor.node
        if cursor.goto_first_child():
            cat, anon = inner_kind(node.kind_id)
            if cat == _DESCEND:
                if depth < MAX_DEPTH:
                    depth += 1
                    continue
                out.truncated = True
            elif cat == _DROP_STMT and not (node.named_child_count == 1 and _is_string(node.named_child(0))):
                depth += 1
                continue
            cursor.goto_parent()
            if cat == _DESCEND or cat == _DROP_STMT:
                cat = _SKIP
        else:
            cat, anon = leaf_kind(node.kind_id)
        if cat == _ANON:
            if anon:
                start = node.start_byte
                if not (missing and node.end_byte == start):
                    norm(anon)
                    raws(anon)
                    at(start)
        elif cat == _REPARSE:
            start = node.start_byte
            _reparse(out, src[start:node.end_byte], start, lang, at)
        elif cat != _SKIP:
            start = node.start_byte
            end = node.end_byte
            raw = ascii_text[start:end] if ascii_text is not None else src[start:end].decode("utf-8", "replace")
            if cat == _IDENT:
                norm(ID)
            elif cat == _STR:
                norm(STR)
            elif cat == _NUM:
                norm(NUM)
            elif _KEYWORDISH.fullmatch(raw):
                norm(raw)  # named keyword-like leaf: int, true, self, #define
            elif raw:
                # Free-form named leaves (inline HTML, escape sequences) would flood
                # the vocabulary with one-off texts; their kind is what matters.
                norm(f"<{node.type}>")
            else:
                raw = None
            if raw is not None:
                raws(raw)
                at(start)
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                out.lines = _line_numbers(src, starts)
                return out
            depth -= 1


def _kind_info(lang: str, leaf: bool, kind_id: int) -> tuple[int, str]:
    """(category, text of an anonymous leaf token or "") of a node kind, for leaves or
    for inner nodes."""
    language = grammar(lang)
    kind, named = language.node_kind_for_id(kind_id), language.node_kind_is_named(kind_id)
    cat = _category(kind, named, leaf)
    if leaf and cat in (_DESCEND, _DROP_STMT):
        cat = _SKIP  # a childless statement holds no token
    return cat, kind[:24] if cat == _ANON and kind.strip() else ""


def _reparse(out: TokenStream, seg: bytes, start: int, lang: str, at: Callable[[int], None]) -> None:
    """Tokens of an opaque leaf (``seg``, at byte ``start``) by the fallback tokenizer;
    each is placed at the start of its line within the leaf, which is all its line
    number needs."""
    sub = fallback_tokens(seg.decode("utf-8", "replace"), lang)
    line_starts = [start]
    nl = seg.find(b"\n")
    while nl >= 0:
        line_starts.append(start + nl + 1)
        nl = seg.find(b"\n", nl + 1)
    out.norm.extend(sub.norm)
    out.raw.extend(sub.raw)
    for ln in sub.lines:
        at(line_starts[ln - 1])


def _line_numbers(src: bytes, starts: list[int]) -> list[int]:
    """1-based line of each byte offset in ``starts``."""
    if len(starts) > 20000:  # numpy, as the matcher uses for streams this long
        import numpy as np

        newlines = np.flatnonzero(np.frombuffer(src, np.uint8) == 10)
        return (np.searchsorted(newlines, np.asarray(starts, np.int64)) + 1).tolist()
    newlines = [m.start() for m in _NEWLINE.finditer(src)]
    return [bisect_left(newlines, b) + 1 for b in starts]


def _is_string(node: Any) -> bool:
    kind = node.type
    return node.is_named and any(p in kind for p in _STR_PARTS)

