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
from dataclasses import dataclass, field
from typing import Any

from licscan.languages import LANGUAGES, grammar

ID, NUM, STR = "$ID", "$NUM", "$STR"

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


@dataclass
class TokenStream:
    """Normalized tokens of one text, with raw text and 1-based line numbers."""

    lang: str
    norm: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    fallback: bool = False
    """True when the regex tokenizer was used (no grammar for the language)."""
    truncated: bool = False
    """True when over-deep subtrees were skipped."""

    def __len__(self) -> int:
        return len(self.norm)

    def add(self, norm: str, raw: str, line: int) -> None:
        self.norm.append(norm)
        self.raw.append(raw)
        self.lines.append(line)


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


def _tree_sitter_tokens(text: str, lang: str) -> TokenStream:
    src = text.encode("utf-8", "surrogatepass")
    tree = _parser(lang).parse(src)
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


# --------------------------------------------------------------------------- fallback

_FALLBACK_KEYWORDS = frozenset(
    """if else elif elsif unless then fi for foreach while until do done end case esac switch
    default break continue return goto function func fun fn def sub proc lambda let var val
    local my our const static public private protected class struct enum interface trait impl
    module package import use require include from new delete try catch finally throw throws
    raise rescue ensure begin yield async await in of not and or is as with nil null none
    true false self this super void int char long short float double bool unsigned signed
    typedef extern object when match where type""".split()
)
_FALLBACK_RE = re.compile(
    r"""(?P<comment>/\*.*?\*/|//[^\n]*|\#[^\n]*|^[ \t]*--[^\n]*|^[ \t]*;[^\n]*)
      |(?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`[^`]*`)
      |(?P<num>\b\d[\w.]*)
      |(?P<word>[A-Za-z_$@][\w$]*)
      |(?P<op>==|!=|<=|>=|&&|\|\||<<|>>|->|=>|::|\+\+|--|\+=|-=|\*=|/=|[^\s\w])""",
    re.S | re.M | re.X,
)


def fallback_tokens(text: str, lang: str = "text") -> TokenStream:
    """Language-agnostic tokenizer for files without a grammar.

    Knows the common comment syntaxes and a union of common keywords; every
    other word is an identifier. Cruder than a grammar, but still survives
    renaming and reformatting.
    """
    out = TokenStream(lang, fallback=True)
    line = 1
    pos = 0
    for m in _FALLBACK_RE.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        kind = m.lastgroup
        tok = m.group()
        if kind == "comment":
            pass
        elif kind == "str":
            out.add(STR, tok, line)
        elif kind == "num":
            out.add(NUM, tok, line)
        elif kind == "word":
            out.add(tok if tok in _FALLBACK_KEYWORDS else ID, tok, line)
        else:
            out.add(tok, tok, line)
    return out
