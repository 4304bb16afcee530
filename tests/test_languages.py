"""Per-language checks: the fixtures parse, and tokenization normalizes alike in all 12 languages.

``licscan.engine.tokens.tokenize(text, lang)`` must make a text's normalized stream
(``.norm``) blind to what a copier changes for free: identifier names, numeric
literal values, whitespace/line breaks, comments and docstrings. Identifiers
become "$ID", numbers "$NUM", strings "$STR"; keywords and operators keep their
text. ``.lines`` gives the 1-based line of every token.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tree_sitter

FIXTURES = Path(__file__).parent / "fixtures" / "langs"

LANGS = ["c", "cpp", "python", "java", "javascript", "typescript",
         "go", "rust", "php", "ruby", "csharp", "bash"]


def _grammar(lang: str):
    import importlib

    module, loader = {
        "c": ("tree_sitter_c", "language"),
        "cpp": ("tree_sitter_cpp", "language"),
        "python": ("tree_sitter_python", "language"),
        "java": ("tree_sitter_java", "language"),
        "javascript": ("tree_sitter_javascript", "language"),
        "typescript": ("tree_sitter_typescript", "language_typescript"),
        "go": ("tree_sitter_go", "language"),
        "rust": ("tree_sitter_rust", "language"),
        "php": ("tree_sitter_php", "language_php"),
        "ruby": ("tree_sitter_ruby", "language"),
        "csharp": ("tree_sitter_c_sharp", "language"),
        "bash": ("tree_sitter_bash", "language"),
    }[lang]
    return tree_sitter.Language(getattr(importlib.import_module(module), loader)())


def _errors(node, out: list) -> list:
    if node.type == "ERROR" or node.is_missing:
        out.append(f"line {node.start_point[0] + 1}: {node.type} {node.text[:40]!r}")
    for child in node.children:
        _errors(child, out)
    return out


# --------------------------------------------------------------------------- fixtures

FIXTURE_FILES = sorted(p for p in FIXTURES.glob("*/*/*") if p.is_file())


def test_fixture_set_is_complete():
    for lang in LANGS:
        assert len(list((FIXTURES / "corpus" / lang).iterdir())) == 1, lang
        classes = sorted(p.name.split("_", 1)[0] for p in (FIXTURES / "copies" / lang).iterdir())
        assert classes == ["neg", "snippet", "t1", "t2", "t3"], lang


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_parses_without_errors(path):
    lang = path.parent.name
    parser = tree_sitter.Parser(_grammar(lang))
    tree = parser.parse(path.read_bytes())
    assert not tree.root_node.has_error, _errors(tree.root_node, [])


@pytest.mark.parametrize("path", sorted((FIXTURES / "corpus").glob("*/*")),
                         ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_corpus_file_carries_spdx_header(path):
    head = "\n".join(path.read_text(encoding="utf-8").splitlines()[:3])
    assert "SPDX-License-Identifier: GPL-3.0-or-later" in head


# --------------------------------------------------------------------------- tokenizer
#
# Per language: ``code`` (the base snippet), ``renames`` (applied with word
# boundaries), ``number`` (one numeric literal and its replacement),
# ``reformatted`` (same tokens, other whitespace), ``commented`` (base plus
# comments/docstrings), ``comments_only`` (a whole file with no code),
# ``known`` (a raw token and its 1-based line in ``code``), ``string`` (a raw
# string literal in ``code``).

SNIPPETS: dict[str, dict] = {
    "c": dict(
        code="""\
int count_above(const int *values, int n, int limit)
{
    int total = 0;
    int i = 0;
    while (i < n) {
        if (values[i] > limit)
            total += 37;
        i++;
    }
    printf("result %d\\n", total);
    return total;
}
""",
        renames={"count_above": "tally", "values": "xs", "n": "len", "limit": "cap",
                 "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
int count_above(const int *values,
                int n, int limit) {
  int total = 0; int i = 0;
  while (i < n)
  {
    if (values[i] > limit) total += 37;
    i++;
  }
  printf("result %d\\n",
         total);
  return total; }
""",
        commented="""\
/* Counts the values above a limit. */
int count_above(const int *values, int n, int limit)
{
    int total = 0;  // running sum
    int i = 0;
    /* walk the array */
    while (i < n) {
        if (values[i] > limit)
            total += 37;  // weight
        i++;
    }
    printf("result %d\\n", total);
    return total;
}
""",
        comments_only="// one\n/* two\n   three */\n",
        known=("while", 5),
        string='"result %d\\n"',
    ),
    "cpp": dict(
        code="""\
int count_above(const std::vector<int> &values, int limit)
{
    int total = 0;
    std::size_t i = 0;
    while (i < values.size()) {
        if (values[i] > limit) {
            total += 37;
        }
        ++i;
    }
    std::printf("result %d\\n", total);
    return total;
}
""",
        renames={"count_above": "tally", "values": "xs", "limit": "cap", "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
int count_above(const std::vector<int> &values, int limit) {
	int total = 0;
	std::size_t i = 0;
	while (i < values.size())
	{
		if (values[i] > limit) { total += 37; }
		++i;
	}
	std::printf("result %d\\n", total); return total;
}
""",
        commented="""\
/// Counts the values above a limit.
int count_above(const std::vector<int> &values, int limit)
{
    int total = 0;  // running sum
    std::size_t i = 0;
    while (i < values.size()) {  /* every element */
        if (values[i] > limit) {
            total += 37;
        }
        ++i;
    }
    std::printf("result %d\\n", total);
    return total;
}
""",
        comments_only="// one\n/* two */\n/// three\n",
        known=("while", 5),
        string='"result %d\\n"',
    ),
    "python": dict(
        code="""\
def count_above(values, limit):
    total = 0
    index = 0
    while index < len(values):
        if values[index] > limit:
            total += 37
        index += 1
    print("result", total)
    return total
""",
        renames={"count_above": "tally", "values": "xs", "limit": "cap", "total": "acc",
                 "index": "k"},
        number=("37", "1024"),
        reformatted="""\
def count_above( values,
                 limit ):
    total = 0
    index = 0

    while index < len( values ):
        if values[ index ] > limit: total += 37
        index += 1
    print( "result",
           total )
    return total
""",
        commented='''\
# Helpers for the report.
def count_above(values, limit):
    """Count the values above limit.

    Each hit is weighted.
    """
    total = 0  # running sum
    index = 0
    # walk the list
    while index < len(values):
        if values[index] > limit:
            total += 37
        index += 1
    print("result", total)
    return total
''',
        comments_only='# one\n"""Module docstring."""\n# two\n',
        known=("while", 4),
        string='"result"',
    ),
    "java": dict(
        code="""\
class Counter {
    static int countAbove(int[] values, int limit) {
        int total = 0;
        int i = 0;
        while (i < values.length) {
            if (values[i] > limit) {
                total += 37;
            }
            i++;
        }
        System.out.println("result " + total);
        return total;
    }
}
""",
        renames={"Counter": "Tally", "countAbove": "tally", "values": "xs", "limit": "cap",
                 "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
class Counter
{
    static int countAbove(int[] values, int limit)
    {
        int total = 0; int i = 0;
        while (i < values.length)
        {
            if (values[i] > limit) { total += 37; }
            i++;
        }
        System.out.println(
            "result " + total);
        return total;
    }
}
""",
        commented="""\
/** A counter. */
class Counter {
    /**
     * Counts the values above a limit.
     */
    static int countAbove(int[] values, int limit) {
        int total = 0; // running sum
        int i = 0;
        while (i < values.length) { /* each */
            if (values[i] > limit) {
                total += 37;
            }
            i++;
        }
        System.out.println("result " + total);
        return total;
    }
}
""",
        comments_only="// one\n/* two */\n/** three */\n",
        known=("while", 5),
        string='"result "',
    ),
    "javascript": dict(
        code="""\
function countAbove(values, limit) {
  let total = 0;
  let i = 0;
  while (i < values.length) {
    if (values[i] > limit) {
      total += 37;
    }
    i++;
  }
  console.log("result", total);
  return total;
}
""",
        renames={"countAbove": "tally", "values": "xs", "limit": "cap", "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
function countAbove(values, limit)
{
    let total = 0; let i = 0;
    while (i < values.length)
    {
        if (values[i] > limit) { total += 37; }
        i++;
    }
    console.log("result",
                total);
    return total;
}
""",
        commented="""\
/**
 * Counts the values above a limit.
 */
function countAbove(values, limit) {
  let total = 0; // running sum
  let i = 0;
  while (i < values.length) {
    /* weighted */
    if (values[i] > limit) {
      total += 37;
    }
    i++;
  }
  console.log("result", total);
  return total;
}
""",
        comments_only="// one\n/* two */\n/** three */\n",
        known=("while", 4),
        string='"result"',
    ),
    "typescript": dict(
        code="""\
function countAbove(values: number[], limit: number): number {
  let total = 0;
  let i = 0;
  while (i < values.length) {
    if (values[i] > limit) {
      total += 37;
    }
    i++;
  }
  console.log("result", total);
  return total;
}
""",
        renames={"countAbove": "tally", "values": "xs", "limit": "cap", "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
function countAbove(
  values: number[],
  limit: number
): number
{
  let total = 0; let i = 0;
  while (i < values.length) { if (values[i] > limit) { total += 37; } i++; }
  console.log("result", total);
  return total;
}
""",
        commented="""\
/** Counts the values above a limit. */
function countAbove(values: number[], limit: number): number {
  let total = 0; // running sum
  let i = 0;
  while (i < values.length) {
    if (values[i] > limit) {
      total += 37; /* weight */
    }
    i++;
  }
  console.log("result", total);
  return total;
}
""",
        comments_only="// one\n/* two */\n/// <reference path=\"x\" />\n",
        known=("while", 4),
        string='"result"',
    ),
    "go": dict(
        code="""\
package demo

import "fmt"

func countAbove(values []int, limit int) int {
	total := 0
	i := 0
	for i < len(values) {
		if values[i] > limit {
			total += 37
		}
		i++
	}
	fmt.Println("result", total)
	return total
}
""",
        renames={"countAbove": "tally", "values": "xs", "limit": "cap",
                 "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
package demo
import "fmt"
func countAbove(values []int,
    limit int) int {
    total := 0
    i := 0

    for i < len(values) {
        if values[i] > limit { total += 37 }
        i++
    }
    fmt.Println("result",
        total)
    return total
}
""",
        commented="""\
// Package demo is a demo.
package demo

import "fmt"

// countAbove counts the values above a limit.
func countAbove(values []int, limit int) int {
	total := 0 // running sum
	i := 0
	/* walk the slice */
	for i < len(values) {
		if values[i] > limit {
			total += 37
		}
		i++
	}
	fmt.Println("result", total)
	return total
}
""",
        comments_only="// one\n/* two */\n// three\n",
        known=("for", 8),
        string='"result"',
    ),
    "rust": dict(
        code="""\
fn count_above(values: &[i32], limit: i32) -> i32 {
    let mut total = 0;
    let mut i = 0;
    while i < values.len() {
        if values[i] > limit {
            total += 37;
        }
        i += 1;
    }
    println!("result {}", total);
    total
}
""",
        renames={"count_above": "tally", "values": "xs", "limit": "cap", "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
fn count_above(values: &[i32],
               limit: i32) -> i32
{
  let mut total = 0; let mut i = 0;
  while i < values.len()
  {
    if values[i] > limit { total += 37; }
    i += 1;
  }
  println!("result {}", total);
  total
}
""",
        commented="""\
//! Counting helpers.

/// Counts the values above a limit.
fn count_above(values: &[i32], limit: i32) -> i32 {
    let mut total = 0; // running sum
    let mut i = 0;
    /* walk the slice */
    while i < values.len() {
        if values[i] > limit {
            total += 37;
        }
        i += 1;
    }
    println!("result {}", total);
    total
}
""",
        comments_only="//! one\n/// two\n// three\n/* four */\n",
        known=("while", 4),
        string='"result {}"',
    ),
    "php": dict(
        code="""\
<?php
function count_above(array $values, int $limit): int
{
    $total = 0;
    $i = 0;
    while ($i < count($values)) {
        if ($values[$i] > $limit) {
            $total += 37;
        }
        $i++;
    }
    echo "result " . $total . "\\n";
    return $total;
}
""",
        renames={"count_above": "tally", "values": "xs", "limit": "cap", "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
<?php
function count_above(array $values, int $limit): int {
  $total = 0; $i = 0;
  while ($i < count($values))
  {
    if ($values[$i] > $limit) { $total += 37; }
    $i++;
  }
  echo "result " . $total
     . "\\n";
  return $total;
}
""",
        commented="""\
<?php
/**
 * Counts the values above a limit.
 */
function count_above(array $values, int $limit): int
{
    $total = 0; // running sum
    $i = 0;     # index
    while ($i < count($values)) {
        /* weighted */
        if ($values[$i] > $limit) {
            $total += 37;
        }
        $i++;
    }
    echo "result " . $total . "\\n";
    return $total;
}
""",
        comments_only="<?php\n// one\n# two\n/* three */\n/** four */\n",
        known=("while", 6),
        string='"result "',
    ),
    "ruby": dict(
        code="""\
def count_above(values, limit)
  total = 0
  i = 0
  while i < values.length
    total += 37 if values[i] > limit
    i += 1
  end
  puts "result", total
  total
end
""",
        renames={"count_above": "tally", "values": "xs", "limit": "cap", "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
def count_above(values,
                limit)
    total = 0
    i = 0

    while i < values.length
        total += 37 if values[i] > limit
        i += 1
    end
    puts "result",
         total
    total
end
""",
        commented="""\
# Counts the values above a limit.
def count_above(values, limit)
  total = 0 # running sum
  i = 0
=begin
walk the array
=end
  while i < values.length
    total += 37 if values[i] > limit
    i += 1
  end
  puts "result", total
  total
end
""",
        comments_only="# one\n=begin\ntwo\n=end\n# three\n",
        known=("while", 4),
        string='"result"',
    ),
    "csharp": dict(
        code="""\
class Counter
{
    static int CountAbove(int[] values, int limit)
    {
        int total = 0;
        int i = 0;
        while (i < values.Length)
        {
            if (values[i] > limit)
            {
                total += 37;
            }
            i++;
        }
        System.Console.WriteLine("result " + total);
        return total;
    }
}
""",
        renames={"Counter": "Tally", "CountAbove": "Tally2", "values": "xs", "limit": "cap",
                 "total": "acc", "i": "k"},
        number=("37", "1024"),
        reformatted="""\
class Counter {
  static int CountAbove(int[] values, int limit) {
    int total = 0; int i = 0;
    while (i < values.Length) {
      if (values[i] > limit) { total += 37; }
      i++;
    }
    System.Console.WriteLine("result " +
                             total);
    return total;
  }
}
""",
        commented="""\
/// <summary>A counter.</summary>
class Counter
{
    // Counts the values above a limit.
    static int CountAbove(int[] values, int limit)
    {
        int total = 0; // running sum
        int i = 0;
        /* walk the array */
        while (i < values.Length)
        {
            if (values[i] > limit)
            {
                total += 37;
            }
            i++;
        }
        System.Console.WriteLine("result " + total);
        return total;
    }
}
""",
        comments_only="// one\n/* two */\n/// <summary>three</summary>\n",
        known=("while", 7),
        string='"result "',
    ),
    "bash": dict(
        code="""\
count_above() {
    local limit=$1
    local total=0
    local value
    for value in "${@:2}"; do
        if (( value > limit )); then
            total=$(( total + 37 ))
        fi
    done
    echo "result" "$total"
    return 0
}
""",
        renames={"count_above": "tally", "limit": "cap", "total": "acc", "value": "item"},
        number=("37", "1024"),
        reformatted="""\
count_above ()
{
  local limit=$1
  local total=0
  local value

  for value in "${@:2}";   do
    if ((  value > limit  ));   then
      total=$((  total + 37  ))
    fi
  done
  echo "result" \\
       "$total"
  return 0
}
""",
        commented="""\
#!/bin/bash
# Counts the values above a limit.
count_above() {
    local limit=$1   # first argument
    local total=0
    local value
    # walk the remaining arguments
    for value in "${@:2}"; do
        if (( value > limit )); then
            total=$(( total + 37 ))
        fi
    done
    echo "result" "$total"
    return 0
}
""",
        comments_only="#!/bin/bash\n# one\n# two\n",
        known=("for", 5),
        string='"result"',
    ),
}


def _tok(text: str, lang: str):
    from licscan.engine.tokens import tokenize

    ts = tokenize(text, lang)
    assert len(ts.norm) == len(ts.raw) == len(ts.lines), lang
    return ts


def _rename(code: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        code = re.sub(rf"\b{re.escape(old)}\b", new, code)
    return code


def test_snippets_cover_all_languages():
    assert sorted(SNIPPETS) == sorted(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_snippets_parse(lang):
    s = SNIPPETS[lang]
    parser = tree_sitter.Parser(_grammar(lang))
    for name in ("code", "reformatted", "commented", "comments_only"):
        tree = parser.parse(s[name].encode())
        assert not tree.root_node.has_error, (name, _errors(tree.root_node, []))
    renamed = _rename(s["code"], s["renames"])
    assert not parser.parse(renamed.encode()).root_node.has_error


@pytest.mark.parametrize("lang", LANGS)
def test_comment_only_file_has_no_tokens(lang):
    s = SNIPPETS[lang]
    # A PHP file needs its open tag, which is markup rather than a comment.
    prefix = "<?php\n" if lang == "php" else ""
    assert s["comments_only"].startswith(prefix)
    got = _tok(s["comments_only"], lang)
    if prefix:
        assert got.norm == _tok(prefix, lang).norm, got.raw
    else:
        assert len(got) == 0, got.raw


@pytest.mark.parametrize("lang", LANGS)
def test_empty_text_has_no_tokens(lang):
    assert len(_tok("", lang)) == 0
    assert len(_tok("\n\n", lang)) == 0


@pytest.mark.parametrize("lang", LANGS)
def test_comments_and_docstrings_make_no_tokens(lang):
    s = SNIPPETS[lang]
    base, commented = _tok(s["code"], lang), _tok(s["commented"], lang)
    assert commented.norm == base.norm
    assert commented.raw == base.raw


@pytest.mark.parametrize("lang", LANGS)
def test_identifiers_normalize(lang):
    s = SNIPPETS[lang]
    base = _tok(s["code"], lang)
    assert len(base) >= 30, base.raw
    for name in s["renames"]:
        # PHP variables keep their sigil in the raw text: "$total".
        idx = [i for i, r in enumerate(base.raw) if r in (name, "$" + name)]
        assert idx, f"identifier {name!r} not among raw tokens {base.raw}"
        assert all(base.norm[i] == "$ID" for i in idx), [(base.raw[i], base.norm[i]) for i in idx]
        assert name not in base.norm and "$" + name not in base.norm


@pytest.mark.parametrize("lang", LANGS)
def test_renaming_keeps_norm(lang):
    s = SNIPPETS[lang]
    base = _tok(s["code"], lang)
    renamed = _tok(_rename(s["code"], s["renames"]), lang)
    assert renamed.raw != base.raw
    assert renamed.norm == base.norm


@pytest.mark.parametrize("lang", LANGS)
def test_numeric_literal_normalizes(lang):
    s = SNIPPETS[lang]
    old, new = s["number"]
    assert s["code"].count(old) == 1
    base = _tok(s["code"], lang)
    changed = _tok(s["code"].replace(old, new), lang)
    i = base.raw.index(old)
    assert base.norm[i] == "$NUM"
    assert changed.raw[i] == new
    assert changed.norm == base.norm


@pytest.mark.parametrize("lang", LANGS)
def test_string_literal_normalizes(lang):
    s = SNIPPETS[lang]
    base = _tok(s["code"], lang)
    idx = [i for i, r in enumerate(base.raw) if r == s["string"]]
    assert idx, f"string {s['string']!r} not a single raw token in {base.raw}"
    assert base.norm[idx[0]] == "$STR"


@pytest.mark.parametrize("lang", LANGS)
def test_keywords_keep_their_text(lang):
    s = SNIPPETS[lang]
    keyword = s["known"][0]
    base = _tok(s["code"], lang)
    i = base.raw.index(keyword)
    assert base.norm[i] == keyword


@pytest.mark.parametrize("lang", LANGS)
def test_reformatting_keeps_norm(lang):
    s = SNIPPETS[lang]
    base, reformatted = _tok(s["code"], lang), _tok(s["reformatted"], lang)
    assert reformatted.norm == base.norm
    assert reformatted.raw == base.raw
    assert reformatted.lines != base.lines


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("variant", ["code", "reformatted", "commented"])
def test_lines_are_monotonic_and_in_range(lang, variant):
    text = SNIPPETS[lang][variant]
    ts = _tok(text, lang)
    n_lines = len(text.splitlines())
    assert ts.lines, lang
    assert all(1 <= ln <= n_lines for ln in ts.lines), ts.lines
    assert all(a <= b for a, b in zip(ts.lines, ts.lines[1:])), ts.lines
    # Every token's raw text really starts on the line it is reported at.
    src = text.splitlines()
    for raw, ln in zip(ts.raw, ts.lines):
        first = raw.splitlines()[0] if raw else raw
        assert first in src[ln - 1], (raw, ln, src[ln - 1])


@pytest.mark.parametrize("lang", LANGS)
def test_known_token_line(lang):
    s = SNIPPETS[lang]
    token, line = s["known"]
    assert s["code"].splitlines()[line - 1].lstrip().startswith(token)
    base = _tok(s["code"], lang)
    i = base.raw.index(token)
    assert base.lines[i] == line
    # The first and last tokens sit on the first and last code lines (package and
    # import lines make no tokens).
    code_lines = [n for n, t in enumerate(s["code"].splitlines(), 1)
                  if t.strip() and not t.startswith(("package ", "import "))]
    assert base.lines[0] == code_lines[0]
    assert base.lines[-1] == code_lines[-1]
