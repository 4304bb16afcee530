"""Fuzzing the scan path: no input makes tokenize() or scan_text() raise (issue 15).

About 10,400 generated inputs in all (four strategies of 2,600), each scanned in a
language drawn from every grammar and the fallback tokenizer ("text"). Seeds are
fixed (derandomize) so CI sees the same inputs every run, there is no per-example
deadline (machines are noisy), and inputs are kept small (a few KB) so the module
stays well under a minute: the hostile shapes (unclosed comments, deep nesting)
are covered at full size by tests/test_tokens_budget.py and bench/robustness.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import licscan
from licscan.engine.tokens import tokenize

LANGS = ("text", "c", "cpp", "python", "java", "javascript", "go", "rust", "php", "ruby",
         "csharp", "bash")
EXAMPLES = 2_600
"""Examples per test; four tests give >= 10,000 inputs."""

FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included
FRAGMENTS = st.sampled_from([
    "/*", "*/", "//", "#", "--", ";", '"', "'", "`", "\\", "\n", "\r\n", "\t", " ", "\0",
    "\ud800", "\udcff", "\udc80", "(", ")", "{", "}", "[", "]", "<", ">", "<?php", "?>",
    "#define X ", "#include <", "'''", '"""', "<<EOF\n", "EOF", "$(", "${", "r#\"", "@\"",
    "x", "foo", "int", "def", "return", "if", "=", "+", ".", ",", "0x", "1e9", "é", "\u2028",
    "\ufeff", "\uffff", "\U0001f600",
])


@st.composite
def hostile(draw: st.DrawFn) -> str:
    """Fragments of comment, string and bracket syntax, some repeated many times."""
    parts = draw(st.lists(st.tuples(FRAGMENTS, st.integers(1, 200)), max_size=12))
    return "".join(frag * (n if n > 150 else 1) for frag, n in parts)


@st.composite
def shapes(draw: st.DrawFn) -> str:
    """Deep nesting, long lines, huge and unclosed literals, with a surrogate or NUL."""
    n = draw(st.integers(1, 300))
    shape = draw(st.sampled_from([
        "(" * n, "(" * n + ")" * n, "[{" * n, "x = " + "a+" * n + "1;", 'x = "' + "a" * n + '";',
        '"\\' * n, "/* " * n, "/*\n" * n, "<" * n, "'" + "a" * n, "`" + "\n" * n,
    ]))
    at = draw(st.integers(0, len(shape)))
    odd = draw(st.sampled_from(["", "\0", "\ud800", "\udfff\udc00", "\n"]))
    return shape[:at] + odd + shape[at:]


def _bytes_text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


STRATEGIES = {
    "hostile": hostile(),
    "bytes": st.binary(max_size=2_000).map(_bytes_text),
    # Any code point; surrogates and syntax drawn often, as uniform code points rarely are.
    # (a list, not st.text: st.text mostly leaves surrogates out)
    "unicode": st.lists(st.one_of(ANY_CHAR, SURROGATES, st.sampled_from("/*\"'`\\\n\0(){}#")),
                        max_size=500).map("".join),
    "shapes": shapes(),
}


@pytest.fixture(scope="module")
def index(core_index: Path) -> str:
    """The small index of tests/fixtures/langs (built once per session)."""
    return str(core_index)


def _check(code: str, lang: str, index: str) -> None:
    ts = tokenize(code, lang)
    for tok in ts.norm:
        tok.encode("utf-8")  # normalized tokens are stored as SQLite text: always UTF-8
    assert len(ts.norm) == len(ts.raw) == len(ts.lines)
    found = licscan.scan_text(code, lang, index=index)
    assert isinstance(found, list)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_scan_never_raises(name: str, index: str) -> None:
    @FUZZ
    @given(code=STRATEGIES[name], lang=st.sampled_from(LANGS))
    def run(code: str, lang: str) -> None:
        _check(code, lang, index)

    run()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", ["x = 1 \ud800 ...", "\udcff" * 40, "a\0b\0" * 30, "/*" * 2000])
def test_known_crashers(code: str, lang: str, index: str) -> None:
    _check(code, lang, index)
