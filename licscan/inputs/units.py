"""Where code arrives, turned into scan units: git changes, Markdown, stdin.

A unit is a text to tokenize plus where its findings belong: the path to report,
the line offset of the text inside that path, and the line ranges a finding must
touch to be reported (the added lines of a change). ``scan_inputs`` is the
command line's entry point; plain files and directories still go through
``scan.scan_paths``.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from licscan.files import chunks, decode, looks_generated, read_source
from licscan.engine.store import IndexStore
from licscan.languages import canonical, detect
from licscan.engine.matcher import Matcher, Thresholds
from licscan.model import Finding, LicscanError
from licscan.inputs.paths import ScanResult, check_path, merge_chunked, partly_parsed, scan_paths, shift
from licscan.engine.budget import InputBudget
from licscan.engine.tokens import tokenize

if TYPE_CHECKING:
    from licscan.inputs.git import ChangedFile, Changes

_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mdx")
CONTEXT_LINES = 300
"""Unchanged lines scanned on each side of added lines, so that a copy that only
partly consists of added lines is still matched whole."""


@dataclass
class Unit:
    path: str
    text: str
    lang: str
    line_offset: int = 0
    """Line L of ``text`` is line L + line_offset of ``path``."""
    ranges: list[tuple[int, int]] | None = None
    """Report only findings touching these lines of ``path`` (None: all)."""
    full_text: str | None = None
    """The whole text of ``path`` (for evidence views), when ``text`` is a part of it."""
    alternatives: tuple[str, ...] = ()
    """Other languages to try when ``lang`` was a guess and finds nothing."""


def guessed_unit(path: str, text: str, line_offset: int = 0, ranges: list[tuple[int, int]] | None = None,
                 full_text: str | None = None) -> Unit:
    """A unit for text of unknown language: the likeliest guesses, or the fallback tokenizer."""
    langs = guess_languages(text) or ["text"]
    return Unit(path, text, langs[0], line_offset, ranges, full_text, tuple(langs[1:]))


# --------------------------------------------------------------------------- scanning


def is_markdown_path(path: str) -> bool:
    return path.lower().endswith(_MARKDOWN_SUFFIXES)


def scan_units(index: IndexStore, units: list[Unit], thresholds: Thresholds | None = None,
               result: ScanResult | None = None, matcher: Matcher | None = None) -> ScanResult:
    """Scan pre-extracted units; findings get the units' paths and line numbers."""
    matcher = matcher or Matcher(index, thresholds, batch=len(units) > 8)
    result = result or ScanResult()
    seen: set[str] = set()
    for u in units:
        if u.path not in seen:
            seen.add(u.path)
            result.scanned += 1
        if not u.text.strip():
            continue
        found: list[Finding] = []
        windows = list(chunks(u.text))
        budget = InputBudget.for_size(len(u.text))
        for offset, window in windows:
            for lang in (u.lang, *u.alternatives):
                ts = tokenize(window, lang, budget)
                got = matcher.scan_stream(ts, u.path)
                if got:
                    break
            if why_partly := partly_parsed(ts):
                result.skip(u.path, "partly-parsed", why_partly)
            for f in got:
                shift(f, offset + u.line_offset)
                found.append(f)
        for f in merge_chunked(found) if len(windows) > 1 else found:
            if u.ranges is not None and not any(a <= f.end_line and f.start_line <= b for a, b in u.ranges):
                continue
            result.findings.append(f)
            result.texts[u.path] = u.full_text if u.full_text is not None else u.text
    return result


def scan_inputs(index: IndexStore, paths: list[str] | None, *, lang: str | None = None,
                thresholds: Thresholds | None = None, staged: bool = False, diff: str | None = None,
                markdown: bool = False, pre_commit: bool = False) -> ScanResult:
    """Everything ``licscan scan`` accepts: paths, ``-``, Markdown, staged or diff changes,
    and the file names pre-commit passes (``pre_commit``)."""
    paths = list(paths or [])
    if lang and lang.strip().lower() in ("markdown", "md"):
        markdown, lang = True, None
    if pre_commit:
        if diff or staged:
            raise LicscanError("--pre-commit takes the place of --staged and --diff: give only one")
        return _scan_changes(index, paths, staged=True, diff=None, thresholds=thresholds, hook=True)
    if staged or diff:
        return _scan_changes(index, paths, staged=staged, diff=diff, thresholds=thresholds)
    if not paths:
        raise LicscanError("nothing to scan: give paths, - for stdin, --staged or --diff BASE")
    plain = [p for p in paths if p != "-" and not (markdown or is_markdown_path(p)) or Path(p).is_dir()]
    result = scan_paths(index, plain, lang=lang, thresholds=thresholds) if plain else ScanResult()
    units: list[Unit] = []
    for p in paths:
        if p in plain:
            continue
        from licscan.inputs.markdown import looks_like_markdown

        if p == "-":
            text, reason = decode(sys.stdin.buffer.read())
            name, detail = "<stdin>", reason
        else:
            if not Path(p).is_file():
                check_path(p)
            text, reason, detail = read_source(Path(p))
            name = p
        if text is None:
            result.skip(name, reason, detail)
        elif p == "-" and not markdown and (lang or not looks_like_markdown(text)):
            units.append(Unit(name, text, canonical(lang)) if lang else guessed_unit(name, text))
        else:  # a transcript without code blocks still counts as scanned
            units.extend(markdown_units(name, text, lang) or [Unit(name, "", "text")])
    scan_units(index, units, thresholds, result)
    result.findings.sort(key=lambda f: (f.path, f.start_line, -f.similarity))
    return result


def markdown_units(path: str, text: str, default_lang: str | None = None,
                   ranges: list[tuple[int, int]] | None = None) -> list[Unit]:
    """One unit per fenced code block; blocks without a known tag get ``default_lang`` or a guess."""
    from licscan.inputs.markdown import code_blocks

    units = []
    for b in code_blocks(text):
        if not b.text.strip():
            continue
        last = b.fence_line + b.text.count("\n")
        if ranges is not None and not any(a <= last and b.fence_line < z for a, z in ranges):
            continue
        if b.lang or default_lang:
            units.append(Unit(path, b.text, b.lang or canonical(default_lang or ""), b.fence_line, ranges, text))
        else:
            units.append(guessed_unit(path, b.text, b.fence_line, ranges, text))
    return units


def _scan_changes(index: IndexStore, paths: list[str], *, staged: bool, diff: str | None,
                  thresholds: Thresholds | None, hook: bool = False) -> ScanResult:
    """Added lines of the staged changes (or of a range); with ``hook``, ``paths`` are the
    file names pre-commit passed: see ``_hook_files``."""
    from licscan.inputs import git as gitdiff

    env_from, env_to = os.environ.get("PRE_COMMIT_FROM_REF"), os.environ.get("PRE_COMMIT_TO_REF")
    # The hook's file list can be long: git is asked for all changes and they are
    # filtered here, rather than passing every name again as a pathspec.
    specs = None if hook else paths
    if diff:
        changes = gitdiff.diff_changes(diff, None, specs)
    elif env_from and env_to:
        # pre-commit's pre-push stage, or `pre-commit run --from-ref A --to-ref B`.
        changes = gitdiff.diff_changes(env_from, env_to, specs)
    else:
        changes = gitdiff.staged_changes(specs)
    files = _hook_files(changes, paths) if hook and paths else changes.files
    result = ScanResult()
    units: list[Unit] = []
    for f in files:
        if f.data is None:
            if f.added:
                result.skip(f.display, "unreadable", "unreadable (its new content could not be read)")
            continue
        added = f.added
        text, reason = decode(f.data)
        if not added:
            # git shows no lines of a file with a NUL in its first 8000 bytes ("binary"):
            # when it is text after all (UTF-16, NUL-salted), all of it counts as added.
            if b"\0" not in f.data[:8000] or (text is None and f.renamed_from):
                continue  # only deletions, or a pure rename of a binary file: no code added
            if text is not None:
                added = [(1, text.count("\n") + 1)]
        if text is None:
            result.skip(f.display, reason)
            continue
        if is_markdown_path(f.path):
            units.extend(markdown_units(f.display, text, None, added) or [Unit(f.display, "", "text")])
            continue
        lang = detect(f.path, text[:128])
        if lang is None:
            result.skip(f.display, "not-code")
            continue
        # Generated and minified code is scanned like any other (see paths.scan_text).
        why = looks_generated(text)
        if why:
            result.note(f.display, why)
        units.extend(_windows(f.display, text, lang, added))
    scan_units(index, units, thresholds, result)
    result.findings.sort(key=lambda f: (f.path, f.start_line, -f.similarity))
    return result


def _hook_files(changes: Changes, paths: list[str]) -> list[ChangedFile]:
    """The files pre-commit passed, as changes to scan.

    A file with added lines in ``changes`` keeps them (a normal commit, pre-push). A
    file the changes do not touch was passed by ``--all-files`` or ``--files``: all of
    it counts as added, so a copy already committed is found. Missing files,
    directories and symlinks add no code and are left out, and a file whose changes
    add no lines is treated as ``--staged`` treats it (a pure rename adds nothing, a
    binary file is skipped).
    """
    from licscan.inputs.git import ChangedFile

    assert changes.root is not None
    root, here = changes.root.resolve(), Path.cwd()
    by_path = {f.path: f for f in changes.files}
    out: dict[str, ChangedFile] = {}
    for p in paths:
        # Resolve the directory only: a symlink must keep its own name, not its target's.
        full = Path(os.path.abspath(here / p))
        full = full.parent.resolve() / full.name
        try:
            rel = full.relative_to(root).as_posix()
        except ValueError:
            rel = None  # outside the repository: no change can name it
        if rel is not None and rel in changes.touched:
            if rel in by_path:
                out[rel] = by_path[rel]
            continue
        if full.is_symlink() or not full.is_file():
            continue
        try:
            with full.open("rb") as fh:
                data = fh.read()  # whole: large files are scanned in chunks
        except OSError:
            data = None
        key = rel or str(full)
        out[key] = ChangedFile(key, p, [(1, (data or b"").count(b"\n") + 1)], data)
    return sorted(out.values(), key=lambda f: f.path)


def _windows(path: str, text: str, lang: str, added: list[tuple[int, int]]) -> list[Unit]:
    """The added lines with CONTEXT_LINES around them, merged, as units of one file."""
    lines = text.split("\n")
    spans: list[list[int]] = []
    for a, b in sorted(added):
        lo, hi = max(1, a - CONTEXT_LINES), min(len(lines), b + CONTEXT_LINES)
        if spans and lo <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return [Unit(path, "\n".join(lines[lo - 1:hi]), lang, lo - 1, added, full_text=text)
            for lo, hi in spans if lo <= hi]


# --------------------------------------------------------------------------- language guess

_SIGNS: dict[str, list[tuple[str, int]]] = {
    "python": [(r"^\s*def \w+\(.*\)\s*(->.*)?:\s*$", 5), (r"^\s*(from [\w.]+ )?import [\w.]+\s*$", 2),
               (r"^\s*(elif|except|class \w+(\(.*\))?)\b.*:\s*$", 4), (r"\bself\b", 2),
               (r"^\s*(if|for|while|with|else|try)\b.*:\s*$", 2), (r"\b(None|True|False)\b", 1),
               (r"\b(print|len|range|isinstance|enumerate)\(", 1), (r"\b(not|and|or|in|is)\s", 1),
               (r"\bf[\"']", 1)],
    "c": [(r"^\s*#\s*include\s*[<\"][\w/]+\.h[>\"]", 4), (r"\b(printf|malloc|free|sizeof|memcpy|memset)\s*\(", 2),
          (r"\b(size_t|u?int\d+_t|unsigned|uint8_t)\b", 2), (r"^\s*#\s*define\b", 3), (r"\bchar\s*\*", 2),
          (r"\bstruct\s+\w+\s*[*{]", 2), (r"\bNULL\b", 2), (r"\(\w+\s*\*?\)\s*[\w(]", 1), (r"->", 1)],
    "cpp": [(r"\bstd::", 5), (r"^\s*#\s*include\s*<\w+>", 4), (r"\btemplate\s*<", 4), (r"\b(cout|endl|cerr)\b", 3),
            (r"\b(nullptr|constexpr|namespace|virtual|public:|private:|protected:)", 3), (r"\w::\w", 1),
            (r"\bauto\b", 2), (r"\b(vector|unique_ptr|shared_ptr|map|pair)<", 2), (r"\bconst\s+[\w:<>]+\s*&", 3),
            (r"->", 1)],
    "java": [(r"\b(public|private|protected)\s+(static\s+)?(final\s+)?(class|interface|void|int|long|String|boolean)\b", 2),
             (r"^\s*import\s+java\.", 5), (r"\bSystem\.\w", 3), (r"@(Override|FunctionalInterface|Test)\b", 3),
             (r"^\s*package\s+[\w.]+;", 4), (r"\b(int|long|byte|char|double|boolean|float|String)\[\]", 2),
             (r"\bboolean\b", 3), (r"\bthrows\b", 4), (r"\bfinal\b", 2), (r">>>", 1), (r"\bString\b", 1),
             (r"for\s*\(\s*(final\s+)?[A-Za-z_][\w<>\[\]]*\s+\w+\s*:", 3), (r"\bnew\s+\w+\[", 1),
             (r"\b(Math|Arrays|Objects|Collections|Integer|Long)\.\w", 2)],
    "csharp": [(r"^\s*using\s+System", 5), (r"^\s*namespace\s+[\w.]+\s*[{;]?\s*$", 2), (r"\bConsole\.Write", 3),
               (r"\{\s*get;\s*(private\s+)?set;\s*\}", 4), (r"\b(readonly|sealed|override|internal)\b", 2),
               (r"\bvar\s+\w+\s*=", 2), (r"\bforeach\s*\(\s*var\b", 4), (r"\bout\s+var\b|\bnameof\(", 4),
               (r"\.(Count|Length|Add|TryGetValue|TryAdd|Enqueue|Dequeue|ContainsKey)\b", 2),
               (r"\b(string|double|bool)\b", 1), (r"\bnew\(\)", 2)],
    "javascript": [(r"\bfunction\b", 2), (r"\b(const|let)\s+\w+\s*=", 2), (r"=>", 1),
                   (r"\bconsole\.\w+\(", 2), (r"\brequire\(['\"]", 3), (r"\bmodule\.exports\b", 4),
                   (r"===|!==", 2), (r"\b(document|window)\.", 2), (r"\bundefined\b", 2), (r"\bthis\.", 1)],
    "typescript": [(r"\b(let|const|var|readonly)\s+\w+\s*:\s*[\w\[\]<>|]+", 4), (r"\binterface\s+\w+", 4),
                   (r"[(,]\s*\w+\??\s*:\s*(string|number|boolean|any|unknown|Date|[A-Z]\w*(\[\])?)\b", 4),
                   (r"\)\s*:\s*(string|number|boolean|void|any|never|Promise<[^>]+>|[A-Z]\w*(\[\])?|\w+\s*\|\s*\w+)\s*(\{|=>|$)", 4),
                   (r"^\s*(export\s+)?type\s+\w+\s*=", 4), (r"\bimport\s+type\b", 5), (r"\bas\s+(const|[A-Z]\w*)\b", 2),
                   (r":\s*(string|number|boolean)\b", 3)],
    "go": [(r"^\s*package\s+\w+\s*$", 4), (r"\bfunc\b", 4), (r":=", 3), (r"\bfmt\.", 3), (r"^\s*import\s+\($", 2),
           (r"\bnil\b", 1), (r"\bmake\(|\bchan\b|\bdefer\b|\bgo\s+func\b", 3), (r"\[\]\w+", 2), (r"\bmap\[", 3),
           (r"\berr\s*!=\s*nil\b", 5), (r"\brange\b", 2)],
    "rust": [(r"\bfn\s+\w+", 5), (r"\blet\s+mut\b", 5), (r"^\s*(impl|use|mod|pub)\b", 3), (r"\w!\(", 2),
             (r"&mut\b|&self\b|\bself\.", 2), (r"\b(u8|u16|u32|u64|usize|i32|i64|f64|&str)\b", 3),
             (r"\bas\s+(u8|u16|u32|u64|usize|i32|i64|f64)\b", 4), (r"\b(Vec|Option|Result|String|Box)(<|::)", 3),
             (r"\.(unwrap|iter|collect|push|is_empty|len)\(\)", 2), (r"\b(Some|Ok|Err)\(", 2),
             (r"->\s*[\w<>&\[\]]+\s*(\{|$)", 2), (r"\bmatch\b", 1), (r"\blet\s+\w+\s*[:=]", 1)],
    "php": [(r"<\?php", 12), (r"\$\w+", 3), (r"\$\w+\s*(\.?=|->|\[)", 3), (r"\bfunction\s+\w+\s*\([^)]*\$", 4),
            (r"\becho\s", 1), (r"\$this->", 4), (r"\b(strlen|isset|array|count|implode|explode|str_\w+|preg_\w+)\(", 2),
            (r"\bforeach\s*\(\s*\$", 4), (r"\.=", 2)],
    "ruby": [(r"^\s*def\s+[\w.]+[?!]?(\(.*\))?\s*$", 4), (r"^\s*end\s*$", 3), (r"\bputs\s", 2),
             (r"^\s*require\s+['\"]", 1), (r"\battr_(accessor|reader|writer)\b", 4),
             (r"\bdo\s*\|\w+(,\s*\w+)*\|", 4), (r"\{\s*\|\w+(,\s*\w+)*\|", 4),
             (r"^\s*(module|class)\s+[A-Z]\w*(\s*<\s*\w+)?\s*$", 2), (r"\.each\b|\bunless\b|\belsif\b", 3),
             (r"#\{", 3), (r"@\w+\s*=|\b@\w+\b", 1), (r"\bnil\b", 1), (r":\w+\s*=>|\b\w+:\s+\S", 1)],
    "bash": [(r"^\s*(fi|done|esac|then|do)\s*$", 4), (r"\[\[\s|\s\]\]", 3), (r"\$\{\w+", 2),
             (r"^\s*local\s+\w+", 3), (r"^\s*\w+\(\)\s*\{", 3), (r"\"\$@\"|\$#|\$\?|\$\(", 3), (r"^\s*echo\s", 1),
             (r"^\s*[A-Za-z_]\w*=\S", 2), (r"\s(-[a-z]{1,2}|--[a-z-]+)(\s|$)", 1)],
}


@lru_cache(maxsize=1)
def _compiled() -> dict[str, list[tuple[re.Pattern[str], int]]]:
    """The signs, compiled on first use (compiling them costs a plain scan ~40 ms)."""
    return {lang: [(re.compile(rx, re.M), w) for rx, w in signs] for lang, signs in _SIGNS.items()}


_BRACES = ("c", "java", "javascript", "cpp")


def guess_languages(text: str, most: int = 3) -> list[str]:
    """Likely languages of a snippet from its content, likeliest first (at most ``most``;
    empty when nothing points anywhere). A shebang decides alone."""
    head = text.lstrip()[:256]
    if head.startswith("#!"):
        lang = detect("", head)
        if lang:
            return [lang]
    sample = text[:20000]
    scores = {lang: sum(w * min(3, len(rx.findall(sample))) for rx, w in signs)
              for lang, signs in _compiled().items()}
    ranked = sorted((s, lang) for lang, s in scores.items() if s >= 3)
    ranked.reverse()
    if not ranked:
        # No telltale construct: a brace-and-semicolon snippet is most likely one of these.
        return list(_BRACES[:most]) if most > 1 and re.search(r"[;{]\s*$", sample, re.M) else []
    top = ranked[0][0]
    langs = [lang for s, lang in ranked[:most] if s * 3 >= top]
    if most > 1:
        # A snippet in the common subset of two grammars may be either.
        for a, b in (("javascript", "typescript"), ("c", "cpp"), ("java", "csharp")):
            if a in langs and b not in langs:
                langs.insert(langs.index(a) + 1, b)
            elif b in langs and a not in langs:
                langs.insert(langs.index(b) + 1, a)
    return langs[:most + 1]


