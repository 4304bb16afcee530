"""The fallback tokenizer (engine/fallback.py): exact tokens on the constructs it knows,
and agreement with a plain reading of its rules on generated texts."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from licscan.engine.fallback import _FALLBACK_KEYWORDS, fallback_tokens
from licscan.engine.stream import ID, NUM, STR


def tokens(text: str) -> list[tuple[str, str, int]]:
    ts = fallback_tokens(text)
    return list(zip(ts.norm, ts.raw, ts.lines))


def test_words_numbers_operators_and_lines() -> None:
    assert tokens("if (x1 >= 0x1F)\n  return y->z;") == [
        ("if", "if", 1), ("(", "(", 1), (ID, "x1", 1), (">=", ">=", 1), (NUM, "0x1F", 1), (")", ")", 1),
        ("return", "return", 2), (ID, "y", 2), ("->", "->", 2), (ID, "z", 2), (";", ";", 2)]


def test_comments_vanish() -> None:
    text = "a // one\n# two\n  -- three\n; four\nb /* five\n six */ c\nd--e\n"
    assert tokens(text) == [(ID, "a", 1), (ID, "b", 5), (ID, "c", 6), (ID, "d", 7), ("--", "--", 7), (ID, "e", 7)]


def test_strings_and_their_lines() -> None:
    text = 'x = "a \\"q\\" b"; y = \'c\\\nd\' + `e\nf` + z\n'
    assert tokens(text) == [
        (ID, "x", 1), ("=", "=", 1), (STR, '"a \\"q\\" b"', 1), (";", ";", 1), (ID, "y", 1), ("=", "=", 1),
        (STR, "'c\\\nd'", 1), ("+", "+", 2), (STR, "`e\nf`", 2), ("+", "+", 3), (ID, "z", 3)]


def test_unclosed_openings_are_operators() -> None:
    # A quote that does not close on its line is an operator, and so is every later
    # quote of its kind up to where its scan stopped; an unclosed `/*` is two.
    assert tokens('a "b \\"c\nd "e"') == [
        (ID, "a", 1), ('"', '"', 1), (ID, "b", 1), ("\\", "\\", 1), ('"', '"', 1), (ID, "c", 1),
        (ID, "d", 2), (STR, '"e"', 2)]
    assert tokens("a /* b /* c") == [(ID, "a", 1), ("/", "/", 1), ("*", "*", 1), (ID, "b", 1),
                                     ("/", "/", 1), ("*", "*", 1), (ID, "c", 1)]


def test_lone_surrogates_normalize_to_the_replacement_character() -> None:
    assert tokens("a \ud800 b") == [(ID, "a", 1), ("\ufffd", "\ud800", 1), (ID, "b", 1)]


# The rules, read plainly: at each position the first alternative that matches wins;
# comments are dropped; a quote starts a string if one closes (escapes may cross a
# newline, backquoted strings any), else it is an operator; `/*` opens a comment if
# a `*/` follows, else it is two operators. Quadratic, so only for short texts.
_RULES = re.compile(r"""(?P<block>/\*)
      |(?P<comment>//[^\n]*|\#[^\n]*|^[ \t]*--[^\n]*|^[ \t]*;[^\n]*)
      |(?P<quote>["'`])
      |(?P<num>\b\d[\w.]*)
      |(?P<word>[A-Za-z_$@][\w$]*)
      |(?P<op>==|!=|<=|>=|&&|\|\||<<|>>|->|=>|::|\+\+|--|\+=|-=|\*=|/=|[^\s\w])""", re.M | re.X)
_CLOSED = {'"': re.compile(r'"(?:\\.|[^"\\\n])*"', re.S), "'": re.compile(r"'(?:\\.|[^'\\\n])*'", re.S),
           "`": re.compile(r"`[^`]*`")}


_OPEN_RULES = re.compile(_RULES.pattern.replace(r"(?P<block>/\*)", r"(?P<block>(?!))"), re.M | re.X)


def plainly(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    rules, pos = _RULES, 0
    while pos >= 0:
        resume = -1
        for m in rules.finditer(text, pos):
            kind, start, tok = m.lastgroup, m.start(), m.group()
            line = text.count("\n", 0, start) + 1
            if kind == "comment":
                continue
            if kind == "block":
                end = text.find("*/", start + 2)
                rules, resume = (rules, end + 2) if end >= 0 else (_OPEN_RULES, start)
                break
            if kind == "quote":
                closed = _CLOSED[tok].match(text, start)
                if closed is not None:
                    out.append((STR, closed.group(), line))
                    resume = closed.end()
                    break
                out.append((tok, tok, line))
            elif kind == "word":
                out.append((tok if tok in _FALLBACK_KEYWORDS else ID, tok, line))
            elif kind == "num":
                out.append((NUM, tok, line))
            else:
                out.append(("\ufffd" if "\ud800" <= tok <= "\udfff" else tok, tok, line))
        pos = resume
    return out


_PIECES = st.sampled_from(["a", "b1", "_x", "$y", "@z", "if", "int", "1", "0x2.5", " ", "\t", "\n", "\n  ", "\\",
                           '"', "'", "`", "/*", "*/", "/", "*", "//", "#", "--", "-", ";", "=", "==", "->", "(",
                           ")", "{", "é", "²", "٣", "\ud800", "\x00"])


@settings(max_examples=4000, derandomize=True, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_fallback_follows_its_rules(text: str) -> None:
    """The tokenizer finds comments and strings by their openings and tokenizes the
    code between them in bulk; it must give what reading the rules one match at a
    time gives."""
    assert tokens(text) == plainly(text)


def test_the_rules_reading_is_not_blind() -> None:
    """A control for the test above: the plain reading does tell texts apart."""
    assert plainly('a "b') != plainly('a "b"') and plainly("x /* y */") != plainly("x /* y")
