"""The pre-commit hook, run for real: `pre-commit try-repo` installs licscan from a copy of
this repository into its own environment and runs `.pre-commit-hooks.yaml` on a
temporary repository's staged changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, committed_repo, git

ROOT = Path(__file__).resolve().parents[1]
CORPUS = FIXTURES / "langs" / "corpus"
_SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", "build", "dist", ".cache", "results"}


def project_files() -> list[Path]:
    """This project's files as a clone would have them (tracked and new, not ignored)."""
    if (ROOT / ".git").exists():
        r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        if r.returncode == 0:
            return [Path(p) for p in r.stdout.decode().split("\0") if p and (ROOT / p).is_file()]
    return [p.relative_to(ROOT) for p in ROOT.rglob("*")
            if p.is_file() and not _SKIP & set(p.relative_to(ROOT).parts) and not p.name.endswith(".lsi")]


def test_hook_definition() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "licscan" and hook["language"] == "python"
    # pre-commit must pass the file names: without them `run --all-files` would scan nothing.
    assert hook["require_serial"] is True and hook["pass_filenames"] is True
    assert hook["entry"].split() == ["licscan", "scan", "--pre-commit"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose history already holds a copy (old.c)."""
    return committed_repo(tmp_path, monkeypatch, {
        "old.c": (CORPUS / "c" / "rlepack.c").read_text(),
        "ok.py": "def greet(name):\n    return f'hello {name}'\n",
        "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(64)})


def hook_scan(core_index: Path, paths: list[str]) -> tuple[list[tuple[str, int, str]], dict[str, list[str]]]:
    from licscan.engine.index import open_index
    from licscan.inputs.units import scan_inputs

    res = scan_inputs(open_index(core_index), paths, pre_commit=True)
    return [(f.path, f.start_line, f.source.path) for f in res.findings], res.skipped


def test_pre_commit_mode_scans_unchanged_files_whole(repo: Path, core_index: Path) -> None:
    # `pre-commit run --all-files`: nothing staged, every file passed; the old copy is found.
    hits, skipped = hook_scan(core_index, ["old.c", "ok.py", "logo.png"])
    assert [(h[0], h[2]) for h in hits] == [("old.c", "corpus/c/rlepack.c")]
    assert skipped == {"binary": ["logo.png"]}
    # Only the files passed are scanned.
    assert hook_scan(core_index, ["ok.py"]) == ([], {})


def test_pre_commit_mode_scans_only_added_lines_of_changed_files(repo: Path, core_index: Path) -> None:
    # A staged change far from the old copy: only its added lines (and context) count, so
    # a normal commit of a clean edit is not blamed for code already committed.
    old = (repo / "old.c").read_text()
    (repo / "old.c").write_text(old + "\n" * 400 + "int fresh_helper(int v) { return v + 1; }\n")
    git(repo, "add", "old.c")
    assert hook_scan(core_index, ["old.c", "ok.py"]) == ([], {})
    # A staged copy in a new file is found; a deleted file passed by name is ignored.
    (repo / "new.py").write_text((CORPUS / "python" / "exprcalc.py").read_text())
    git(repo, "add", "new.py")
    git(repo, "rm", "-q", "ok.py")
    hits, _ = hook_scan(core_index, ["new.py", "ok.py", "gone.c"])
    assert [(h[0], h[2]) for h in hits] == [("new.py", "corpus/python/exprcalc.py")]
    # A symlink adds no code of its own, even to a copy.
    (repo / "link.c").symlink_to("old.c")
    assert hook_scan(core_index, ["link.c"]) == ([], {})


def test_pre_commit_mode_uses_the_pushed_range(repo: Path, core_index: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "lru.go").write_text((CORPUS / "go" / "lrucache.go").read_text())
    (repo / "ok.py").write_text("def greet(name):\n    return f'hi {name}'\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "copied")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", "HEAD")
    hits, _ = hook_scan(core_index, ["lru.go", "ok.py"])
    assert [(h[0], h[2]) for h in hits] == [("lru.go", "corpus/go/lrucache.go")]
    # old.c is outside the range: passed by name (`--files`), it is scanned whole.
    hits, _ = hook_scan(core_index, ["old.c", "ok.py"])
    assert [(h[0], h[2]) for h in hits] == [("old.c", "corpus/c/rlepack.c")]


@pytest.mark.slow
def test_pre_commit_try_repo_blocks_a_copied_file(core_index: Path, tmp_path: Path) -> None:
    hooks = tmp_path / "licscan-repo"
    for rel in project_files():
        dst = hooks / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst)
    git(hooks, "init", "-q")
    git(hooks, "add", "-A")
    git(hooks, "commit", "-qm", "licscan under test")

    target = tmp_path / "target"
    target.mkdir()
    git(target, "init", "-q")
    (target / "README.md").write_text("# a project\n")
    git(target, "add", ".")
    git(target, "commit", "-qm", "init")
    (target / "rle.c").write_text("/* mine now */\n" + (CORPUS / "c" / "rlepack.c").read_text())
    (target / "ok.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    git(target, "add", ".")

    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "PRE_COMMIT_FROM_REF",
                                                             "PRE_COMMIT_TO_REF", "VIRTUAL_ENV")}
    env.update(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), LICSCAN_INDEX=str(core_index))
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "licscan", "--verbose", "--color=never"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=target, capture_output=True, text=True, env=env, timeout=1500)
    print(f"pre-commit try-repo (with hook install): {time.monotonic() - t0:.1f} s")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "Failed" in out and "rle.c" in out and "corpus/c/rlepack.c" in out, out



def test_hook_under_pre_commit_passes_clean_and_checks_pushed_ranges(core_index: Path, tmp_path: Path) -> None:
    """The hook's own definition as a local hook (no install: the licscan under test on PATH)."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    local = {k: v for k, v in hook.items() if k not in ("description", "minimum_pre_commit_version")}
    local["language"] = "system"
    target = tmp_path / "target"
    target.mkdir()
    git(target, "init", "-q")
    (target / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}))
    (target / "ok.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    git(target, "add", ".")
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "PRE_COMMIT_FROM_REF",
                                                             "PRE_COMMIT_TO_REF")}
    env.update(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), LICSCAN_INDEX=str(core_index),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", *args, "--color=never"], cwd=target,
                              capture_output=True, text=True, env=env, timeout=600)

    r = pre_commit("run", "--verbose")
    assert r.returncode == 0 and "Passed" in r.stdout, r.stdout + r.stderr
    git(target, "commit", "-qm", "clean")
    base = git(target, "rev-parse", "HEAD").strip()
    (target / "lru.go").write_text((CORPUS / "go" / "lrucache.go").read_text())
    git(target, "add", ".")
    git(target, "commit", "-qm", "copied", "--no-verify")
    # Nothing staged now; the pushed range holds the copy.
    assert pre_commit("run").returncode == 0
    r = pre_commit("run", "--verbose", "--hook-stage", "pre-push", "--from-ref", base, "--to-ref", "HEAD")
    assert r.returncode == 1 and "corpus/go/lrucache.go" in r.stdout, r.stdout + r.stderr
    # The usual CI use: the repository already holds the copy, nothing is staged.
    r = pre_commit("run", "--all-files", "--verbose")
    assert r.returncode == 1 and "lru.go" in r.stdout and "corpus/go/lrucache.go" in r.stdout, r.stdout + r.stderr
    r = pre_commit("run", "--files", "ok.py")
    assert r.returncode == 0, r.stdout + r.stderr

    # Normal commits through the installed git hook: a clean change passes, a staged copy fails.
    assert pre_commit("install").returncode == 0
    (target / "ok.py").write_text("def greet(name):\n    return f'hi {name}'\n")
    git(target, "add", "ok.py")
    r = subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c",
                        "commit.gpgsign=false", "commit", "-m", "clean edit"], cwd=target, capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0 and "Passed" in r.stdout + r.stderr, r.stdout + r.stderr
    (target / "calc.py").write_text((CORPUS / "python" / "exprcalc.py").read_text())
    git(target, "add", "calc.py")
    r = subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c",
                        "commit.gpgsign=false", "commit", "-m", "leak"], cwd=target, capture_output=True,
                       text=True, env=env, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "corpus/python/exprcalc.py" in out and "lru.go" not in out, out
