"""A gate that fails closed (issue 15): what a scan cannot read or judge fails it, how a
copy is dressed (size, NULs, UTF-16, a "generated" comment, joined lines) does not hide
it, no cap hides a copy behind allowed ones, and bad policy input is an error (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import FIXTURES, committed_repo, git, write

from licscan.engine.index import open_index
from licscan.inputs.paths import ScanResult, scan_paths
from licscan.inputs.units import scan_inputs
from licscan.model import LicscanError
from licscan.policy.gate import apply_policy, load_policy

CORPUS = FIXTURES / "langs" / "corpus"
C_SRC = (CORPUS / "c" / "rlepack.c").read_text()
PY_SRC = (CORPUS / "python" / "exprcalc.py").read_text()
CLEAN_C = "".join(f"int helper_{i}(int v) {{ return v * {i} + {i % 7}; }}\n" for i in range(40))


def run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def project(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / ".git").mkdir()  # a repository root: the config search stops here
    write(proj, files or {})
    return proj


def sources(result: ScanResult) -> list[str]:
    return [f.source.path for f in result.findings]


def c_block_lines() -> tuple[int, int]:
    """First and last line of rlepack.c's code (after its header and #include lines)."""
    lines = C_SRC.splitlines()
    first = next(i for i, ln in enumerate(lines, 1) if ln.startswith("#define"))
    last = max(i for i, ln in enumerate(lines, 1) if ln.startswith("}"))
    return first, last


# -- unreadable input ------------------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A project holding src/secret.c that cannot be opened (root reads a chmod 000
    file, so the open is made to fail), next to a clean file."""
    proj = project(tmp_path, {"src/secret.c": C_SRC, "src/ok.c": CLEAN_C})
    target = str(proj / "src" / "secret.c")
    real_open = os.open

    def deny(path: object, *args: object, **kw: object) -> int:
        if os.fspath(path) == target:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", target)
        return real_open(path, *args, **kw)  # type: ignore[arg-type]

    real_bytes = Path.read_bytes

    def deny_bytes(self: Path) -> bytes:  # how the code before issue 15 read files
        if str(self) == target:
            raise PermissionError(13, "Permission denied", target)
        return real_bytes(self)

    monkeypatch.setattr(os, "open", deny)
    monkeypatch.setattr(Path, "read_bytes", deny_bytes)
    return proj


@pytest.mark.parametrize("given", ["src/secret.c", "src"])
def test_unreadable_file_fails_the_gate(core_index: Path, unreadable: Path, given: str) -> None:
    path = str(unreadable / given)
    result = scan_paths(open_index(core_index), [path])
    secret = str(unreadable / "src" / "secret.c")
    assert result.skipped == {"unreadable": [secret]}
    assert "Permission denied" in result.details[secret]
    outcome = apply_policy(result, load_policy(cwd=unreadable))
    assert outcome.exit_code == 1
    assert result.failing_skips == {"unreadable": [secret]}
    # Allowed by reason, or excluded by path, it passes.
    for extra in ({"allow_skips": ["unreadable"]},):
        result = scan_paths(open_index(core_index), [path])
        assert apply_policy(result, load_policy(cwd=unreadable, **extra)).exit_code == 0
    write(unreadable, {".licscan.toml": 'exclude = ["src/secret.c"]\n'})
    result = scan_paths(open_index(core_index), [path])
    outcome = apply_policy(result, load_policy(cwd=unreadable))
    assert outcome.exit_code == 0 and outcome.accepted["skip excluded"] == 1


def test_a_fifo_in_a_directory_fails_the_gate_without_blocking(core_index: Path, tmp_path: Path) -> None:
    proj = project(tmp_path, {"src/ok.c": CLEAN_C})
    os.mkfifo(proj / "src" / "pipe.c")
    r = run("scan", "--index", str(core_index), "--format", "json", "src", cwd=proj, timeout=60)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)["summary"]
    assert summary["skipped"] == {"unreadable": ["src/pipe.c"]}
    assert summary["skipped_failing"] == {"unreadable": ["src/pipe.c"]}
    assert summary["skipped_detail"]["src/pipe.c"] == "unreadable (not a regular file)"
    assert "SKIPPED src/pipe.c" in r.stderr and "policy failed" in r.stderr
    r = run("scan", "--index", str(core_index), "--allow-skip", "unreadable", "src", cwd=proj, timeout=60)
    assert r.returncode == 0, r.stderr
    write(proj, {".licscan.toml": 'allow-skips = ["unreadable"]\n'})
    assert run("scan", "--index", str(core_index), "src", cwd=proj, timeout=60).returncode == 0
    write(proj, {".licscan.toml": 'exclude = ["*.c"]\nallow-skips = []\n'})
    assert run("scan", "--index", str(core_index), "src", cwd=proj, timeout=60).returncode == 0
    # A reason outside the vocabulary is a config error, not an allowance.
    r = run("scan", "--index", str(core_index), "--allow-skip", "binaries", "src", cwd=proj, timeout=60)
    assert r.returncode == 2 and "unknown skip reason 'binaries'" in r.stderr


def test_skip_policy_directly(tmp_path: Path) -> None:
    proj = project(tmp_path)
    every = {r: [f"src/{r}.c"] for r in ("unreadable", "too-large", "binary", "generated", "minified",
                                          "partly-parsed")}
    result = ScanResult(skipped={**every, "empty": ["src/e.c"], "not-code": ["README"]})
    outcome = apply_policy(result, load_policy(cwd=proj))
    assert outcome.exit_code == 1
    assert sorted(r for _p, r, _d in outcome.skips) == sorted(every)  # empty and not-code never fail
    assert result.failing_skips == every
    allowed = load_policy(cwd=proj, allow_skips=list(every))
    assert apply_policy(ScanResult(skipped=dict(every)), allowed).exit_code == 0
    partly = load_policy(cwd=proj, allow_skips=["binary", "generated"])
    outcome = apply_policy(ScanResult(skipped=dict(every)), partly)
    assert sorted(r for _p, r, _d in outcome.skips) == ["minified", "partly-parsed", "too-large", "unreadable"]
    assert apply_policy(ScanResult(skipped=dict(every)), load_policy(cwd=proj, fail_on="never")).exit_code == 0
    with pytest.raises(LicscanError, match="unknown skip reason"):
        load_policy(cwd=proj, allow_skips=["empty"])
    write(proj, {".licscan.toml": 'allow-skips = "binary"\n'})
    assert load_policy(cwd=proj).allow_skips == ["binary"]


# -- repackaged leaks --------------------------------------------------------------------------


def leak_variants() -> dict[str, bytes]:
    first = c_block_lines()[0]
    lines = C_SRC.split("\n")
    return {
        "padded.c": (C_SRC + "/* " + "x" * (3 * 1024 * 1024) + " */\n").encode(),
        "padded_lines.c": ("/*\n" + ("pad " * 30 + "\n") * 25_000 + "*/\n" + C_SRC).encode(),
        "nul.c": ("\n".join(lines[:first]) + "\n/* a \0 comment */\n" + "\n".join(lines[first:])).encode(),
        "utf16.c": C_SRC.encode("utf-16"),
        "utf16le.c": C_SRC.encode("utf-16-le"),
        "utf32.c": C_SRC.encode("utf-32"),
        "generated.c": ("/* Generated by hand. */\n" + C_SRC).encode(),
    }


@pytest.mark.parametrize("name", sorted(leak_variants()))
def test_repackaged_leak_is_found(core_index: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(leak_variants()[name])
    result = scan_paths(open_index(core_index), [str(path)])
    if name == "padded_lines.c":
        # 3 MB of junk lines is slower to parse than the input's budget allows: the
        # window holding the leak goes to the fallback tokenizer, which still finds it
        # (in two parts), and the file fails the gate as partly parsed besides.
        assert set(sources(result)) == {"corpus/c/rlepack.c"}, result.skipped
        assert result.skipped == {"partly-parsed": [str(path)]}
    else:
        assert sources(result) == ["corpus/c/rlepack.c"], result.skipped
        assert result.skipped == {}
    f = result.findings[0]
    # Line numbers are the whole file's, also past a chunk boundary.
    enc = "utf-16-le" if name == "utf16le.c" else "utf-16" if "16" in name else "utf-32" if "32" in name else None
    data = path.read_bytes()
    text = data.decode(enc) if enc else data.replace(b"\0", b"").decode()
    assert "rle" in "\n".join(text.split("\n")[f.start_line - 1:f.end_line]).lower()
    assert apply_policy(result, load_policy(cwd=tmp_path)).exit_code == 1


def test_binary_stays_binary_and_fails_the_gate(core_index: Path, tmp_path: Path) -> None:
    png = tmp_path / "logo.c"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(64) + C_SRC.encode())
    result = scan_paths(open_index(core_index), [str(png)])
    assert result.findings == [] and result.skipped == {"binary": [str(png)]}
    assert apply_policy(result, load_policy(cwd=tmp_path)).exit_code == 1
    assert apply_policy(result, load_policy(cwd=tmp_path, allow_skips=["binary"])).exit_code == 0


def test_a_copy_across_window_boundaries_is_found_whole(core_index: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import licscan.files

    monkeypatch.setattr(licscan.files, "CHUNK_CHARS", 1500)  # windows of ~40 lines through the copy
    monkeypatch.setattr(licscan.files, "CHUNK_OVERLAP_LINES", 30)
    path = tmp_path / "mine.c"
    pad = 500
    path.write_text(CLEAN_C * 10 + "\n" * (pad - 400) + C_SRC)
    result = scan_paths(open_index(core_index), [str(path)])
    first, last = c_block_lines()
    assert sources(result) == ["corpus/c/rlepack.c"]
    f = result.findings[0]
    assert f.start_line <= pad + first + 2 and f.end_line >= pad + last - 2


# -- staged changes ----------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return committed_repo(tmp_path, monkeypatch, {"base.c": CLEAN_C})


def joined_lines() -> str:
    """The leak with its code joined into one long line (minified-looking), over 4 KiB."""
    lines = C_SRC.split("\n")
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines[c_block_lines()[0]:] if not ln.startswith("#")]
    return "\n".join(head) + "\n" + " ".join(body) + " /* " + "z" * 3000 + " */\n"


@pytest.mark.parametrize("name,data", [
    ("generated.c", ("/* Generated by hand. */\n" + C_SRC).encode()),
    ("joined.c", joined_lines().encode()),
    ("utf16.c", C_SRC.encode("utf-16")),
    ("nul.c", ("/* \0 */\n" + C_SRC).encode()),
    ("big.c", (C_SRC + "/* " + "x" * (3 * 1024 * 1024) + " */\n").encode()),
])
def test_staged_repackaged_leak_is_found(repo: Path, core_index: Path, name: str, data: bytes) -> None:
    (repo / name).write_bytes(data)
    git(repo, "add", name)
    for kw in ({"staged": True}, {"pre_commit": True}):
        result = scan_inputs(open_index(core_index), [name] if "pre_commit" in kw else None, **kw)
        assert [(f.path, f.source.path) for f in result.findings] == [(name, "corpus/c/rlepack.c")], result.skipped
        assert result.skipped == {}
    if name in ("generated.c", "joined.c"):  # recorded, for people; not a reason to skip
        assert result.noted == {"generated" if name == "generated.c" else "minified": [name]}


# -- no cap hides a copy -----------------------------------------------------------------------


def _stdlib_files(count: int) -> list[Path]:
    std = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idlelib", "site-packages", "dist-packages", "lib2to3", "__pycache__", "encodings"}
    picked = [p for p in sorted(std.rglob("*.py")) if not skip & set(p.relative_to(std).parts)
              and 8000 <= p.stat().st_size <= 20000 and p.read_text(encoding="utf-8", errors="replace").isascii()]
    if len(picked) < count:
        pytest.skip(f"only {len(picked)} suitable stdlib modules")
    return picked[:count]


@pytest.fixture(scope="module")
def lgpl_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """70 distinct Python modules under LGPL (the stdlib's, relabelled) and one GPL file."""
    from licscan.engine.build import build_index

    root = tmp_path_factory.mktemp("lgpl") / "corpus"
    mods = _stdlib_files(70)
    for p in mods:
        name = "_".join(p.relative_to(Path(sysconfig.get_paths()["stdlib"])).parts)
        write(root, {f"lgpl/{name}": "# SPDX-License-Identifier: LGPL-2.1-or-later\n" + p.read_text()})
    write(root, {"gpl/exprcalc.py": PY_SRC})
    out = root.parent / "lgpl.lsi"
    build_index([root], out, workers=1)
    return out, mods


def test_allowed_copies_do_not_hide_a_failing_one(lgpl_index: tuple[Path, list[Path]], tmp_path: Path) -> None:
    index, mods = lgpl_index
    proj = project(tmp_path, {".licscan.toml": 'allow = ["LGPL-2.1-or-later"]\nproject-license = "MIT"\n'})
    # The leak is one function: fewer fingerprints than any module, so it ranks last.
    leak = PY_SRC[PY_SRC.index("def evaluate("):]
    text = "\n\n".join(p.read_text() for p in mods) + "\n\n" + leak
    write(proj, {"src/mine.py": text})
    r = run("scan", "--index", str(index), "--format", "json", "src/mine.py", cwd=proj, timeout=600)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    failing = [f for f in doc["findings"] if f["policy"] == "fail"]
    assert [f["source"]["path"] for f in failing] == ["corpus/gpl/exprcalc.py"]
    assert failing[0]["start_line"] > text.count("\n") - leak.count("\n") - 5
    allowed = {f["source"]["path"] for f in doc["findings"] if f["policy"] == "allowed"}
    assert len(allowed) >= 64  # past the old cap of 64 candidates


# -- bad policy input is an error --------------------------------------------------------------


@pytest.mark.parametrize("baseline", ["missing.json", "corrupt.json", "wrong.json"])
def test_bad_baseline_is_an_error_even_on_a_clean_scan(core_index: Path, tmp_path: Path, baseline: str) -> None:
    proj = project(tmp_path, {"ok.c": CLEAN_C, "corrupt.json": "{not json", "wrong.json": '{"entries": 3}'})
    r = run("scan", "--index", str(core_index), "--baseline", baseline, "ok.c", cwd=proj)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "baseline" in r.stderr and "Traceback" not in r.stderr
    write(proj, {".licscan.toml": f'baseline = "{baseline}"\n'})
    assert run("scan", "--index", str(core_index), "ok.c", cwd=proj).returncode == 2


@pytest.mark.parametrize("expr", ["GPL-2.0 AND (", "(((", "MIT OR OR", "my license!", "GPL 2"])
def test_malformed_project_license_is_a_one_line_error(core_index: Path, tmp_path: Path, expr: str) -> None:
    proj = project(tmp_path, {"mine.c": C_SRC})
    r = run("scan", "--index", str(core_index), "--project-license", expr, "mine.c", cwd=proj)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "invalid SPDX expression" in r.stderr
    write(proj, {".licscan.toml": f"project-license = {json.dumps(expr)}\n"})
    r = run("scan", "--index", str(core_index), "mine.c", cwd=proj)
    assert r.returncode == 2 and ".licscan.toml project-license" in r.stderr


def test_valid_project_licenses_still_pass(tmp_path: Path) -> None:
    for expr in ("MIT", "(MIT OR Apache-2.0) AND BSD-3-Clause", "GPL-2.0+ WITH Classpath-exception-2.0",
                 "LicenseRef-Proprietary", "UNLICENSED", "mit or apache-2.0"):
        assert load_policy(cwd=tmp_path, project_license=f" {expr} ").project_license == expr


@pytest.mark.parametrize("kind", ["devnull", "fifo"])
def test_special_files_as_scan_paths_are_an_error(core_index: Path, tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = str(tmp_path / "pipe.c")
        os.mkfifo(path)
    else:
        path = os.devnull
    r = run("scan", "--index", str(core_index), path, cwd=tmp_path, timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1
    assert "not a regular file or directory" in r.stderr and "no such file" not in r.stderr


# -- the pieces ----------------------------------------------------------------------------------


def test_chunks_cover_every_line_with_overlap() -> None:
    from licscan.files import chunks

    text = "\n".join(f"line {i}" for i in range(1, 1001))
    windows = list(chunks(text, size=800, overlap=10))
    assert len(windows) > 10 and windows[0][0] == 0
    seen: set[int] = set()
    for (offset, window), (nxt, _) in zip(windows, windows[1:] + [(None, "")]):
        lines = window.split("\n")
        assert all(ln == f"line {offset + i}" for i, ln in enumerate(lines, 1))  # offsets are exact
        seen.update(range(offset + 1, offset + len(lines) + 1))
        if nxt is not None:
            assert nxt == offset + len(lines) - 10  # 10 lines shared with the next window
    assert seen == set(range(1, 1001))
    assert list(chunks("short\ntext")) == [(0, "short\ntext")]
    # One line longer than a window is a window of its own, never cut or lost.
    long = ["a", "x" * 5000, "b"]
    assert [w for _, w in chunks("\n".join(long), size=100, overlap=1)][1] == "x" * 5000


@pytest.mark.parametrize("text", [
    ("x = " + "ab+" * 700 + "1\n") * 500,  # 2 KB lines: 400 of them were most of every window
    ("y" * 600 + "\n") * 400 + "a" * 3_000_000 + "\nz\n",  # lines, then one longer than a window
])
def test_windows_read_no_text_much_more_than_once(text: str) -> None:
    """Shared lines are capped at an eighth of a window, and a window always reaches past the
    one before: long lines made a 1 MB file 377 windows, 98 MB read (50 s)."""
    from licscan.files import chunks

    windows = list(chunks(text))
    assert sum(len(w) for _, w in windows) <= len(text) * 8 / 7 + 2 * 256 * 1024
    covered = set()
    for offset, window in windows:
        covered.update(range(offset, offset + window.count("\n") + 1))
    assert covered == set(range(text.count("\n") + 1))


@pytest.mark.parametrize("data,expect", [
    ("int f(void);\n".encode("utf-16"), "int f(void);\n"),
    ("int f(void);\n".encode("utf-16-be"), "int f(void);\n"),
    ("int f(void);\n".encode("utf-32-le"), "int f(void);\n"),
    (b"\xef\xbb\xbfint f(void);\n", "int f(void);\n"),
    (b"int /* \0 */ f(void);\n", "int /*  */ f(void);\n"),
    (b"caf\xe9\n", "caf\xe9\n"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(64), None),
    (bytes(range(256)) * 8, None),
])
def test_decode(data: bytes, expect: str | None) -> None:
    from licscan.files import decode

    assert decode(data)[0] == expect


def test_reports_say_which_skipped_files_fail(core_index: Path, tmp_path: Path) -> None:
    import io

    import jsonschema

    from licscan.reports import FORMATS, renderer
    from licscan.reports.json import SCHEMA_PATH

    proj = project(tmp_path, {"src/a.c": CLEAN_C})
    result = scan_paths(open_index(core_index), [str(proj / "src")])
    result.skip(str(proj / "src/logo.c"), "binary")
    result.skip(str(proj / "src/gone.c"), "unreadable", "unreadable (Permission denied)")
    result.note(str(proj / "src/a.c"), "generated")
    apply_policy(result, load_policy(cwd=proj, allow_skips=["binary"]))
    out: dict[str, str] = {}
    for fmt in FORMATS:
        buf = io.StringIO()
        renderer(fmt)(result, open_index(core_index), buf)
        out[fmt] = buf.getvalue()
    doc = json.loads(out["json"])
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    summary = doc["summary"]
    assert summary["skipped_failing"] == {"unreadable": [str(proj / "src/gone.c")]}
    assert summary["skipped_detail"] == {str(proj / "src/gone.c"): "unreadable (Permission denied)"}
    assert summary["noted"] == {"generated": [str(proj / "src/a.c")]}
    assert "1 of them failing the policy" in out["text"]
    assert "1 skipped file(s) fail the policy" in out["markdown"]
    notes = json.loads(out["sarif"])["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sorted(n["level"] for n in notes) == ["error", "note"]
