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
from typing import Any

from licscan.engine.fallback import fallback_tokens
from licscan.engine.stream import ID, NO_GRAMMAR, NUM, PARSE_BUDGET, STR, SURROGATES, TokenStream  # noqa: F401 - the token API
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
_KEYWORDISH = re.compile(r"[#@]?[A-Za-z_]\w{0,23}|[^\w\s]{1,3}")

MAX_DEPTH = 2000
"""Subtrees nested deeper than this are skipped (machine-generated or hostile input)."""

# Parse budget. tree-sitter has no time limit of its own and its error recovery is
# quadratic on some inputs (30 KB of unclosed `/* ` took 40 s as C, C++ or Go), so
# a parse that overruns is cancelled and the text goes through the linear fallback
# tokenizer instead. The budget counts work, not seconds: a time limit would cut
# the same file at build time and not at scan time on a busier machine, and the two
# would tokenize it differently. Two counts, both fixed for a given text:
# - bytes the parser has read: normal code reads its text 1-1.3 times; the
#   pathological parses re-read it from every error (50 MB read for 1 MB of `/* `
#   before the first progress callback);
# - progress callbacks per KB the parse has got through: 4-23 on 2,000 real files
#   of 13 languages (bench corpus, 250 per language), about 34,000 on `/* ` runs.
# Some recoveries do their quadratic work between callbacks (Python on `/*` lines:
# 272 callbacks, 3.8 s for 8 KB), so a time cap stays as the last resort. It is only
# checked at callbacks, whose gaps grow in those recoveries: a cap of 0.65 s at 100 KB
# let one run 68 s, so it stays tight. It counts this thread's CPU time, not the wall
# clock: on a loaded CI runner, waiting for a core cut real files. Known limit: real
# data tables recover slowly too (musl's gb18030.h, 141 KB of bare numbers: 0.43 s of
# a 0.53 s cap) and can still be cut on a machine whose cores are oversubscribed. A text it cuts is `partial`,
# which the gate reports as partly parsed rather than trusting a tokenization that
# may differ elsewhere.
PARSE_READ_FACTOR = 6
"""Bytes a parse may read per byte of text, besides PARSE_READ_BASE."""
PARSE_READ_BASE = 256 * 1024
PARSE_CALLS_BASE = 2000
"""Progress callbacks any parse may make."""
PARSE_CALLS_PER_KB = 400
"""Extra callbacks per KB the parse has got through: 17 times the worst real file's rate."""
PARSE_SECONDS_BASE = 0.25
PARSE_SECONDS_PER_KB = 0.002
"""The time cap: CPU seconds any parse may take, plus CPU seconds per KB it has got through."""
_READ_CHUNK = 1 << 14
"""Bytes per read: how often a long lexer scan checks the budget."""

def tokenize(text: str, lang: str) -> TokenStream:
    """Tokenize ``text`` written in ``lang`` (a name from languages.LANGUAGES, or "text")."""
    if lang in LANGUAGES:
        return _tree_sitter_tokens(text, lang)
    return fallback_tokens(text, lang)


# --------------------------------------------------------------------------- tree-sitter

_parsers: dict[str, Any] = {}
_categories: dict[str, dict[int, int]] = {}


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


def parse_budget(size: int, furthest: int) -> tuple[int, int]:
    """(bytes a parse of ``size`` bytes may read, progress callbacks it may make by the
    time it has got through ``furthest`` bytes)."""
    return (PARSE_READ_BASE + PARSE_READ_FACTOR * size,
            PARSE_CALLS_BASE + PARSE_CALLS_PER_KB * furthest // 1024)


def _parse(lang: str, src: bytes) -> Any:
    """The tree of ``src``, or None when the parse overran ``parse_budget``."""
    parser = _parser(lang)
    size = len(src)
    max_read = parse_budget(size, 0)[0]
    read_bytes = calls = furthest = 0
    cut = False
    start = time.thread_time()

    def late() -> bool:
        return time.thread_time() - start > PARSE_SECONDS_BASE + PARSE_SECONDS_PER_KB * furthest / 1024

    # tree-sitter calls back on progress only when it reads through a callback (it
    # ignores the progress callback for a bytestring), with (byte offset, has error),
    # and only between tokens: lexing one unclosed comment scans to the end of the
    # text first. So reads count against the budget too, and once it is spent they
    # end the text, which ends that scan.
    def read(offset: int, _point: Any) -> bytes:
        nonlocal read_bytes, cut
        cut = cut or read_bytes > max_read or late()
        # Chunks end on character boundaries: a cut parse given the end of the text
        # in the middle of a character crashed the process.
        end = offset if cut else min(size, offset + _READ_CHUNK)
        while end < size and 0x80 <= src[end] < 0xC0:
            end += 1
        read_bytes += max(0, end - offset)
        return src[offset:end]

    def progress(offset: int, _has_error: bool) -> bool:
        nonlocal calls, furthest, cut
        calls += 1
        furthest = max(furthest, offset)  # error recovery may step back
        cut = cut or read_bytes > max_read or calls > parse_budget(size, furthest)[1] or late()
        return cut

    try:
        tree = parser.parse(read, progress_callback=progress)
    except ValueError:  # cancelled: "Parsing failed"
        tree = None
    if cut:
        parser.reset()  # a cancelled parser would otherwise resume this parse next time
        return None
    return tree


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


def _tree_sitter_tokens(text: str, lang: str) -> TokenStream:
    src = text.encode("utf-8", "surrogatepass")
    tree = _parse(lang, _grammar_input(lang, text, src))
    if tree is None:
        out = fallback_tokens(text, lang)
        out.fallback_reason = PARSE_BUDGET
        return out
    out = TokenStream(lang)
    if tree.root_node.child_count == 0:
        return out  # empty or whitespace-only: the root is no token
    cats = _categories.setdefault(lang, {})
    norm, raws, lines = out.norm.append, out.raw.append, out.lines.append
    # A cursor walk: no recursion (real inputs nest deeper than Python allows)
    # and no child lists, which is most of the cost on large files.
    cursor = tree.walk()
    depth = 0
    while True:
        node = cursor.node
        leaf = node.child_count == 0
        key = node.kind_id * 2 + leaf
        cat = cats.get(key)
        if cat is None:
            cat = cats[key] = _category(node.type, node.is_named, leaf)
        descend = False
        if cat == _ANON:
            kind = node.type
            if node.end_byte > node.start_byte and kind.strip():  # zero width: MISSING node
                norm(kind[:24])
                raws(kind)
                lines(node.start_point[0] + 1)
        elif cat == _DESCEND:
            descend = depth < MAX_DEPTH
            out.truncated |= not descend
        elif cat == _DROP_STMT:
            named = node.named_children
            descend = not (len(named) == 1 and _categories_is_string(named[0]))
        elif cat != _SKIP:
            raw = src[node.start_byte:node.end_byte].decode("utf-8", "replace")
            line = node.start_point[0] + 1
            if cat == _IDENT:
                out.add(ID, raw, line)
            elif cat == _STR:
                out.add(STR, raw, line)
            elif cat == _NUM:
                out.add(NUM, raw, line)
            elif cat == _REPARSE:
                sub = fallback_tokens(raw, lang)
                for n, r, ln in zip(sub.norm, sub.raw, sub.lines):
                    out.add(n, r, line + ln - 1)
            elif _KEYWORDISH.fullmatch(raw):
                out.add(raw, raw, line)  # named keyword-like leaf: int, true, self, #define
            elif raw:
                # Free-form named leaves (inline HTML, escape sequences) would flood
                # the vocabulary with one-off texts; their kind is what matters.
                out.add(f"<{node.type}>", raw, line)
        if descend and cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return out
            depth -= 1


def _categories_is_string(node: Any) -> bool:
    kind = node.type
    return node.is_named and any(p in kind for p in _STR_PARTS)
