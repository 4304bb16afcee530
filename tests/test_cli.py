"""The command line as users and gates run it: exit codes, JSON contract, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write

CORPUS = FIXTURES / "langs" / "corpus"


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}
    return subprocess.run([sys.executable, "-m", "licscan", *args], input=stdin, capture_output=True,
                          text=stdin is None,
                          cwd=cwd, env=env, timeout=120)


def c_source() -> Path:
    return next((CORPUS / "c").glob("*.c"))


def test_build_then_scan_a_copy_exits_1_with_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "gpl.lsi"
    r = run("index", "build", "--out", str(out), str(CORPUS))
    assert r.returncode == 0, r.stderr
    assert "indexed" in r.stderr and "licenses:" in r.stderr
    copy = tmp_path / "mine.c"
    copy.write_text("/* my own file */\n" + c_source().read_text())
    r = run("scan", "--index", str(out), "--format", "json", str(copy))
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    f = doc["findings"][0]
    assert f["path"] == str(copy)
    assert f["source"]["path"] == "corpus/c/" + c_source().name
    assert f["license"] == "GPL-3.0-or-later"
    assert 0.95 <= f["similarity"] <= 1.0
    assert f["start_line"] >= 2 and f["end_line"] > f["start_line"]
    assert f["source"]["end_line"] - f["source"]["start_line"] == f["end_line"] - f["start_line"]


def test_clean_scan_exits_0_and_is_quiet(core_index: Path, tmp_path: Path) -> None:
    mine = write(tmp_path, {"ok.py": "def greet(name):\n    return f'hello {name}'\n"}) / "ok.py"
    r = run("scan", "--index", str(core_index), str(mine))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "no findings in 1 scanned file(s)"
    assert r.stderr == ""


def test_text_report_side_by_side_shows_both_sides(core_index: Path, tmp_path: Path) -> None:
    src = c_source().read_text()
    mine = tmp_path / "x.c"
    mine.write_text(src)
    r = run("scan", "--index", str(core_index), "--side-by-side", str(mine))
    assert r.returncode == 1
    assert "GPL-3.0-or-later" in r.stdout and "corpus/c/" in r.stdout
    body = [ln for ln in src.splitlines() if "rle_encode" in ln or "while" in ln]
    assert body and body[0].strip()[:30] in r.stdout
    # Code with [brackets] is shown as written, not eaten as rich markup.
    indexed = [ln.strip() for ln in src.splitlines() if "src[in" in ln and len(ln.strip()) < 60]
    assert indexed and indexed[0] in r.stdout


def test_stdin_with_lang(core_index: Path) -> None:
    src = next((CORPUS / "python").glob("*.py")).read_bytes()
    r = run("scan", "--index", str(core_index), "--lang", "python", "--format", "json", "-", stdin=src)
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout)["findings"][0]["path"] == "<stdin>"


@pytest.mark.parametrize("args", [
    ["scan", "--index", "/nonexistent/x.lsi", "a.c"],
    ["scan", "--index", "{corrupt}", "{file}"],
    ["scan", "--index", "{index}", "/nonexistent/file.c"],
    ["scan", "--index", "{index}", "--format", "yaml", "{file}"],
    ["scan", "--bogus-flag"],
    ["index", "build", "--out", "{tmp}/o.lsi", "/nonexistent/root"],
])
def test_user_errors_exit_2_with_one_line(args: list[str], core_index: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.lsi"
    corrupt.write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    f = tmp_path / "f.c"
    f.write_text("int main(void) { return 0; }\n")
    args = [a.format(corrupt=corrupt, file=f, index=core_index, tmp=tmp_path) for a in args]
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert 1 <= len(r.stderr.strip().splitlines()) <= 6  # click usage errors add a usage line


def test_bad_input_never_crashes_a_scan(core_index: Path, tmp_path: Path) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "blob.c").write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    # 2.9 MB of code as dense as real C (about 200 tree nodes per KB): scanned in
    # windows, within the input's budget.
    (d / "huge.c").write_text("int f(int *values, int n) {\n    int total = 0;\n" + (
        "    total += values[n - 1];  /* add the last value, then the one before it */\n") * 40_000 + "}\n")
    (d / "latin1.c").write_bytes("/* caf\xe9 */ int f(void) { return 1; }\n".encode("latin-1"))
    (d / "empty.py").write_text("")
    (d / "deep.c").write_text("int x = " + "(" * 50_000 + "1" + ")" * 50_000 + ";\n")
    (d / "deep.py").write_text("x = " + "[" * 30_000 + "]" * 30_000 + "\n")
    (d / "notes.xyz").write_text("plain words that are not code\n")
    (d / "script").write_text("#!/bin/sh\necho hi\n")
    (d / "weird.lua").write_text("local function f(a) return a * 2 end -- lua: fallback tokenizer\n")
    r = run("scan", "--index", str(core_index), "--format", "json", str(d))
    # The gate fails closed: a binary file and partly parsed ones fail it unless allowed.
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "SKIPPED" in r.stderr
    summary = json.loads(r.stdout)["summary"]
    skipped = {reason: [Path(p).name for p in paths] for reason, paths in summary["skipped"].items()}
    assert skipped["binary"] == ["blob.c"]
    assert "too-large" not in skipped  # large files are scanned in chunks
    assert skipped["empty"] == ["empty.py"]
    assert skipped["not-code"] == ["notes.xyz"]
    assert sorted(skipped["partly-parsed"]) == ["deep.c", "deep.py"]
    assert summary["scanned"] == 6  # huge.c, latin1.c, deep.c, deep.py, script, weird.lua
    r = run("scan", "--index", str(core_index), "--allow-skip", "binary", "--allow-skip", "partly-parsed", str(d))
    assert r.returncode == 0, r.stderr
    # A file named explicitly is scanned whatever its extension.
    r = run("scan", "--index", str(core_index), str(d / "notes.xyz"))
    assert r.returncode == 0 and "1 scanned" in r.stdout


def test_index_info(core_index: Path) -> None:
    r = run("index", "info", "--format", "json", str(core_index))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["files"] >= 12 and info["licenses"] == {"GPL-3.0-or-later": info["files"]}
    assert info["params"]["k"] > 0 and info["roots"][0]["name"] == "corpus"


def test_side_by_side_pairs_lines_by_alignment_not_by_offset() -> None:
    from licscan.reports.text import line_pairs

    source = ["int f(int a, int b)", "{", "    return a * b + 1;", "}"]
    # Reformatted and renamed: the signature split over two lines, a blank line added.
    mine = ["int g(int x,", "      int y)", "{", "", "    return x * y + 1;", "}"]
    rows = line_pairs(mine, source, "c")
    assert (4, 2) in rows and (5, 3) in rows and (2, 1) in rows
    assert [r[0] for r in rows if r[0] is not None] == list(range(len(mine)))
    assert [r[1] for r in rows if r[1] is not None] == list(range(len(source)))


def test_scan_runs_alone_but_reads_like_the_full_command_line() -> None:
    # `licscan scan` dispatches to an app holding only that command (cold-start cost):
    # its help and usage must still name it as the `scan` of `licscan`.
    r = run("scan", "--help")
    assert r.returncode == 0
    assert "Usage: licscan scan [OPTIONS] [PATHS]..." in " ".join(r.stdout.split())
    assert "--index" in r.stdout and "--side-by-side" in r.stdout
    top = run("--help")
    assert top.returncode == 0 and "scan" in top.stdout and "index" in top.stdout
