"""Where code arrives: staged changes, diffs since a revision, Markdown transcripts, stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, committed_repo, git

from licscan.engine.index import open_index
from licscan.config import configured_index
from licscan.inputs.units import CONTEXT_LINES, guess_languages, scan_inputs
from licscan.inputs.markdown import code_blocks, tag_language
from licscan.model import LicscanError

CORPUS = FIXTURES / "langs" / "corpus"
C_SRC = (CORPUS / "c" / "rlepack.c").read_text()
PY_SRC = (CORPUS / "python" / "exprcalc.py").read_text()
CLEAN_C = "".join(f"int helper_{i}(int v) {{ return v * {i} + {i % 7}; }}\n" for i in range(40))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # vendored.c: copied code that is already committed
    return committed_repo(tmp_path, monkeypatch, {"base.c": CLEAN_C, "vendored.c": C_SRC})


def found(core_index: Path, **kw: object) -> list[tuple[str, int, int, str]]:
    res = scan_inputs(open_index(core_index), kw.pop("paths", None), **kw)  # type: ignore[arg-type]
    return [(f.path, f.start_line, f.end_line, f.source.path) for f in res.findings]


def c_block_lines() -> tuple[int, int]:
    """Lines of rlepack.c's code (after its license header and #include lines, which
    make no tokens)."""
    lines = C_SRC.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("#include"))
    first = next(i for i, ln in enumerate(lines[start:], start + 1)
                 if ln.strip() and not ln.startswith("#include"))
    return first, len(lines)


# --------------------------------------------------------------------------- staged


def test_staged_reports_new_copies_not_old_ones(repo: Path, core_index: Path) -> None:
    # An edit far from the committed copy: the copy does not touch added lines.
    with (repo / "vendored.c").open("a") as fh:
        fh.write("\n" * 5 + CLEAN_C.replace("helper_", "more_"))
    (repo / "calc.py").write_text("import os\n\n" + PY_SRC)
    git(repo, "add", ".")
    hits = found(core_index, staged=True)
    assert [(p, s) for p, _, _, s in hits] == [("calc.py", "corpus/python/exprcalc.py")]
    path, start, end, _ = hits[0]
    assert start > 2 + 8 and end <= 2 + len(PY_SRC.splitlines())


def test_staged_reads_the_index_not_the_working_tree(repo: Path, core_index: Path) -> None:
    (repo / "calc.py").write_text(PY_SRC)
    git(repo, "add", "calc.py")
    staged = found(core_index, staged=True)
    # Unstaged edits (lines inserted on top, copy removed) must not change what is checked.
    (repo / "calc.py").write_text("x = 1\n" * 30)
    assert found(core_index, staged=True) == staged and staged


def test_staged_edit_inside_an_old_copy_is_reported(repo: Path, core_index: Path) -> None:
    first, last = c_block_lines()
    lines = C_SRC.splitlines(keepends=True)
    mid = (first + last) // 2
    lines.insert(mid, "  /* tweaked */ int unused_counter = 0;\n")
    (repo / "vendored.c").write_text("".join(lines))
    git(repo, "add", ".")
    hits = found(core_index, staged=True)
    assert hits and hits[0][0] == "vendored.c"
    # The whole copy is reported, not just the lines around the edit: context was scanned.
    assert hits[0][1] <= first + 2 and hits[0][2] >= last - 2


def test_renamed_deleted_and_binary_files(repo: Path, core_index: Path) -> None:
    git(repo, "mv", "vendored.c", "renamed.c")  # a pure rename adds no lines
    git(repo, "rm", "-q", "base.c")  # a deletion adds none either
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0" + C_SRC.encode())
    git(repo, "add", ".")
    res = scan_inputs(open_index(core_index), None, staged=True)
    assert res.findings == []
    assert res.skipped == {"binary": ["logo.png"]}
    assert res.scanned == 0


def test_renamed_and_edited_file_is_reported_under_its_new_name(repo: Path, core_index: Path) -> None:
    git(repo, "mv", "vendored.c", "src.c")
    first, _ = c_block_lines()
    text = (repo / "src.c").read_text().splitlines(keepends=True)
    text.insert(first + 20, "  int renamed_marker = 1;\n")
    (repo / "src.c").write_text("".join(text))
    git(repo, "add", ".")
    hits = found(core_index, staged=True)
    assert [h[0] for h in hits] == ["src.c"]


def test_unusual_file_names_and_subdirectories(repo: Path, core_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = repo / "dir with space"
    d.mkdir()
    (d / "naïve \"copy\".py").write_text(PY_SRC)
    git(repo, "add", ".")
    assert [h[0] for h in found(core_index, staged=True)] == ['dir with space/naïve "copy".py']
    # From a subdirectory, paths are relative to it, and paths narrow the scan.
    monkeypatch.chdir(d)
    assert [h[0] for h in found(core_index, staged=True)] == ['naïve "copy".py']
    assert found(core_index, staged=True, paths=["../base.c"]) == []


def test_large_file_is_scanned_in_windows_with_right_line_numbers(repo: Path, core_index: Path) -> None:
    filler = "".join(f"static int pad_{i}(int v) {{ return v + {i}; }}\n" for i in range(3 * CONTEXT_LINES))
    (repo / "big.c").write_text(filler + filler.replace("pad_", "tail_"))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "big")
    body = C_SRC.splitlines(keepends=True)[c_block_lines()[0] - 1:]
    lines = (repo / "big.c").read_text().splitlines(keepends=True)
    at = 4 * CONTEXT_LINES  # far from the top: only a window around it is tokenized
    lines[at:at] = body
    (repo / "big.c").write_text("".join(lines))
    git(repo, "add", ".")
    hits = found(core_index, staged=True)
    assert len(hits) == 1
    _, start, end, src = hits[0]
    assert src == "corpus/c/rlepack.c"
    assert at + 1 <= start <= at + 3 and at + len(body) - 3 <= end <= at + len(body)


def test_markdown_in_staged_changes_only_new_blocks(repo: Path, core_index: Path) -> None:
    (repo / "NOTES.md").write_text(f"# Notes\n\n```c\n{C_SRC}```\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "notes")
    with (repo / "NOTES.md").open("a") as fh:
        fh.write(f"\nNew answer:\n\n```python\n{PY_SRC}```\n")
    git(repo, "add", ".")
    hits = found(core_index, staged=True)
    assert [(h[0], h[3]) for h in hits] == [("NOTES.md", "corpus/python/exprcalc.py")]
    assert hits[0][1] > len(C_SRC.splitlines()) + 5


# --------------------------------------------------------------------------- diff


def test_diff_since_a_revision_and_pre_commit_refs(repo: Path, core_index: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "checkout", "-qb", "feature")
    (repo / "calc.py").write_text(PY_SRC)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "feature")
    git(repo, "checkout", "-q", "main")
    (repo / "main_only.c").write_text(C_SRC)  # on main after the fork: not part of the feature
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "main moves on")
    git(repo, "checkout", "-q", "feature")
    want = [("calc.py", "corpus/python/exprcalc.py")]
    assert [(h[0], h[3]) for h in found(core_index, diff="main")] == want
    assert [(h[0], h[3]) for h in found(core_index, diff="main...feature")] == want
    assert found(core_index, diff="HEAD") == []  # nothing added since HEAD
    # An uncommitted edit counts in --diff (the new side is the working tree).
    (repo / "extra.c").write_text(C_SRC)
    git(repo, "add", "extra.c")
    assert {h[0] for h in found(core_index, diff="HEAD")} == {"extra.c"}
    # pre-commit's pre-push stage: --staged means the pushed range.
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "main")
    monkeypatch.setenv("PRE_COMMIT_TO_REF", "feature")
    assert [(h[0], h[3]) for h in found(core_index, staged=True)] == want


def test_diff_errors_are_one_line_exit_2(repo: Path, core_index: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}
    for args, cwd in ((["--diff", "no-such-rev"], repo), (["--staged"], tmp_path)):
        r = subprocess.run([sys.executable, "-m", "licscan", "scan", "--index", str(core_index), *args],
                           cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    with pytest.raises(LicscanError, match="unknown git revision"):
        scan_inputs(open_index(core_index), None, diff="no-such-rev")


# --------------------------------------------------------------------------- Markdown


def test_code_blocks_positions_and_tags() -> None:
    text = ("Intro\n"            # 1
            "```py title=x\n"    # 2
            "a = 1\n"            # 3
            "```\n"              # 4
            "1. item\n"          # 5
            "    ~~~~ {.rust}\n"  # 6
            "    fn main() {}\n"  # 7
            "      x\n"          # 8
            "    ~~~~\n"         # 9
            "> ```c++\n"         # 10
            "> int x;\n"         # 11
            "> ```\n"            # 12
            "````\n"             # 13
            "```inner\n"         # 14
            "````\n"             # 15
            "```\n"              # 16
            "unclosed\n")        # 17
    blocks = code_blocks(text)
    assert [(b.fence_line, b.lang, b.text) for b in blocks] == [
        (2, "python", "a = 1\n"),
        (6, "rust", "fn main() {}\n  x\n"),
        (10, "cpp", "int x;\n"),
        (13, None, "```inner\n"),
        (16, None, "unclosed\n"),
    ]
    assert not blocks[-1].closed and blocks[0].closed
    assert tag_language("src/main.go") == "go" and tag_language("console") is None
    assert tag_language("python:app.py") == "python" and tag_language("") is None


def test_transcript_findings_are_at_transcript_lines(core_index: Path, tmp_path: Path) -> None:
    t = tmp_path / "chat.md"
    head = "**user:** write an RLE encoder\n\n**assistant:** Sure:\n\n"
    t.write_text(head + f"```c\n{C_SRC}```\n\nAnd untagged Python:\n\n```\n{PY_SRC}```\n"
                 "and a clean one:\n\n```js\nconsole.log('hi');\n```\n")
    res = scan_inputs(open_index(core_index), [str(t)])
    got = {f.source.path: f for f in res.findings}
    assert set(got) == {"corpus/c/rlepack.c", "corpus/python/exprcalc.py"}
    lines = t.read_text().splitlines()
    c, py = got["corpus/c/rlepack.c"], got["corpus/python/exprcalc.py"]
    # The transcript's lines at a finding hold the upstream lines it names.
    src_c = C_SRC.splitlines()
    assert lines[c.start_line - 1] == src_c[c.source.start_line - 1]
    assert lines[c.end_line - 1] == src_c[c.source.end_line - 1]
    assert lines[py.start_line - 1] == PY_SRC.splitlines()[py.source.start_line - 1]
    assert py.language == "python"  # guessed: the block has no tag
    assert res.scanned == 1 and res.texts[str(t)] == t.read_text()


def test_markdown_flag_and_piped_answer(core_index: Path, tmp_path: Path) -> None:
    answer = f"Here you go:\n\n```python\n{PY_SRC}```\n"
    r = subprocess.run([sys.executable, "-m", "licscan", "scan", "--index", str(core_index), "--format", "json",
                        "-"], input=answer, capture_output=True, text=True, timeout=120)
    f = json.loads(r.stdout)["findings"][0]
    assert f["path"] == "<stdin>" and f["start_line"] >= 4
    assert answer.splitlines()[f["start_line"] - 1] == PY_SRC.splitlines()[f["source"]["start_line"] - 1]
    txt = tmp_path / "answer.txt"  # not .md: --markdown says it is one
    txt.write_text(answer)
    plain = scan_inputs(open_index(core_index), [str(txt)])
    marked = scan_inputs(open_index(core_index), [str(txt)], markdown=True)
    assert [x.start_line for x in marked.findings] == [f["start_line"]]
    as_lang = scan_inputs(open_index(core_index), [str(txt)], lang="markdown")
    assert [x.start_line for x in as_lang.findings] == [f["start_line"]]
    (tmp_path / "prose.md").write_text("No code here, only words.\n")
    prose = scan_inputs(open_index(core_index), [str(tmp_path / "prose.md")])
    assert prose.scanned == 1 and prose.findings == []
    assert not plain.findings or plain.findings[0].language == "text"


# --------------------------------------------------------------------------- stdin


def test_stdin_guesses_the_language(core_index: Path) -> None:
    for name in ("c/rlepack.c", "python/exprcalc.py", "go/lrucache.go", "rust/b64lite.rs"):
        src = (CORPUS / name).read_bytes()
        r = subprocess.run([sys.executable, "-m", "licscan", "scan", "--index", str(core_index), "--format",
                            "json", "-"], input=src, capture_output=True, timeout=120)
        doc = json.loads(r.stdout)
        assert [f["source"]["path"] for f in doc["findings"]] == [f"corpus/{name}"], name


def test_guess_languages_on_fixtures() -> None:
    """The right language is among the candidates for whole files and for 24-line excerpts."""
    from licscan.languages import detect

    misses, total = [], 0
    for p in sorted((FIXTURES / "langs").rglob("*")):
        if not p.is_file() or p.suffix == ".json":
            continue
        text = p.read_text()
        lines = text.splitlines()
        mid = len(lines) // 2
        for sample in (text, "\n".join(lines[max(0, mid - 12):mid + 12])):
            if len(sample.strip()) < 80:
                continue
            total += 1
            if detect(p) not in guess_languages(sample):
                misses.append(p.name)
    assert total > 100 and len(misses) <= total // 20, misses
    assert guess_languages("#!/usr/bin/env bash\necho hi\n") == ["bash"]
    assert guess_languages("hello there, how are you") == []


# --------------------------------------------------------------------------- configuration


def test_index_from_config_files(core_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LICSCAN_INDEX", raising=False)
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / ".git").mkdir()
    (proj / "pyproject.toml").write_text(f'[tool.licscan]\nindex = "{core_index}"\n')
    assert configured_index(proj / "sub") == str(core_index)
    (proj / ".licscan.toml").write_text('index = "indexes/gpl.lsi"\n')
    assert Path(configured_index(proj / "sub") or "") == proj / "indexes" / "gpl.lsi"
    monkeypatch.setenv("LICSCAN_INDEX", "/env/wins.lsi")
    assert configured_index(proj) == "/env/wins.lsi"
    # And the CLI finds it without --index.
    monkeypatch.delenv("LICSCAN_INDEX")
    (proj / ".licscan.toml").write_text(f'index = "{core_index}"\n')
    (proj / "sub" / "x.py").write_text(PY_SRC)
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_INDEX", "LICSCAN_DEBUG")}
    r = subprocess.run([sys.executable, "-m", "licscan", "scan", "--format", "json", "sub/x.py"],
                       cwd=proj, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout)["findings"][0]["source"]["path"] == "corpus/python/exprcalc.py"
