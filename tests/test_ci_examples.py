"""The CI examples of docs/integrations.md, run: the `run:` lines of the GitHub Actions workflow
and the `script:` lines of the GitLab job are taken from the document and run verbatim in a
temporary git repository, with two substitutions only: the corpus and base manifests' names
become small local fixture manifests (the documented ones are fetched from the network)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FIXTURES, git

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "integrations.md"
CORPUS = FIXTURES / "langs" / "corpus"
INDEX = ".licscan/gpl.lsi"
BASE_BRANCH = "main"


def yaml_blocks() -> list[Any]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)]


def github_steps() -> list[dict[str, Any]]:
    """The steps of the workflow that runs licscan itself (not the composite action)."""
    for doc in yaml_blocks():
        if isinstance(doc, dict) and "jobs" in doc:
            steps = doc["jobs"]["licscan"]["steps"]
            if any("licscan index build" in str(s.get("run", "")) for s in steps):
                return steps
    raise AssertionError("no GitHub Actions workflow running licscan in docs/integrations.md")


def gitlab_script() -> list[str]:
    for doc in yaml_blocks():
        if isinstance(doc, dict) and isinstance(doc.get("licscan"), dict) and "script" in doc["licscan"]:
            return [str(line) for line in doc["licscan"]["script"]]
    raise AssertionError("no GitLab CI job in docs/integrations.md")


def substitute(cmd: str, manifests: dict[str, Path]) -> str:
    """The documented corpus names -> the fixture manifests; everything else verbatim."""
    for name, path in manifests.items():
        cmd = re.sub(rf"(--(?:corpus|base) ){re.escape(name)}(?=\s|$)", rf"\g<1>{path}", cmd)
    return cmd


def is_install(cmd: str) -> bool:
    """The step that installs licscan: the test runs the licscan under test instead."""
    return cmd.startswith("pip install") and "licscan" in cmd


@pytest.fixture
def ci(tmp_path: Path) -> dict[str, Any]:
    """A repository cloned from an upstream (so `origin/main` exists, as in CI), with two
    branches: `leak` adds a copy of a fixture corpus file, `clean` adds code of its own."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q")
    (upstream / "README.md").write_text("# a project\n")
    (upstream / "app.py").write_text("def main():\n    print('hi')\n")
    git(upstream, "add", ".")
    git(upstream, "commit", "-qm", "init")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(upstream), str(work))
    git(work, "checkout", "-qb", "leak")
    (work / "src").mkdir()
    (work / "src" / "rle.c").write_text("/* our compressor */\n" + (CORPUS / "c" / "rlepack.c").read_text())
    git(work, "add", ".")
    git(work, "commit", "-qm", "add a compressor")
    git(work, "checkout", "-q", BASE_BRANCH)
    git(work, "checkout", "-qb", "clean")
    (work / "greet.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "add greet")

    fx = tmp_path / "fixtures"
    (fx / "base").mkdir(parents=True)
    (fx / "base" / "util.py").write_text("def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n")
    (fx / "corpus.toml").write_text(f'[[source]]\nname = "corpus"\npath = "{CORPUS}"\n'
                                    'spdx = "GPL-3.0-or-later"\n')
    (fx / "base.toml").write_text('[[source]]\nname = "base"\npath = "base"\n')
    manifests = {"gnu-core": fx / "corpus.toml", "permissive-base": fx / "base.toml"}

    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "licscan").is_file():  # not run from the venv: a stand-in for the script
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "licscan").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m licscan "$@"\n')
        (bin_dir / "licscan").chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LICSCAN_", "PRE_COMMIT", "GITHUB_", "CI_")) and k != "VIRTUAL_ENV"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", CI="true",
               LICSCAN_CACHE=str(tmp_path / "cache"),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    return {"work": work, "manifests": manifests, "env": env, "tmp": tmp_path}


def sh(cmd: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """One step as the runners run it: bash, -e and pipefail."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def run_github(ci: dict[str, Any], branch: str, cache_hit: bool) -> dict[str, subprocess.CompletedProcess]:
    """The workflow's `run:` steps, by step name; `if:` is honoured for the index cache only."""
    work, env = ci["work"], {**ci["env"], "GITHUB_ACTIONS": "true", "GITHUB_BASE_REF": BASE_BRANCH,
                             "GITHUB_STEP_SUMMARY": str(ci["tmp"] / f"summary-{branch}.md")}
    git(work, "checkout", "-q", branch)
    done: dict[str, subprocess.CompletedProcess] = {}
    for step in github_steps():
        if "run" not in step or is_install(step["run"].strip()):
            continue
        if "cache-hit" in str(step.get("if", "")) and cache_hit:
            continue
        cmd = substitute(step["run"].strip(), ci["manifests"])
        cmd = cmd.replace("${{ github.base_ref }}", BASE_BRANCH)  # what GitHub does before the shell runs
        assert "${{" not in cmd, cmd
        done[step.get("name", cmd)] = sh(cmd, work, env)
    return done


def test_github_workflow_runs_as_documented(ci: dict[str, Any]) -> None:
    steps = [s["run"].strip() for s in github_steps() if "run" in s]
    assert sum(map(is_install, steps)) == 1 and len(steps) == 4
    build = next(s for s in steps if "index build" in s)
    assert substitute(build, ci["manifests"]) != build and "gnu-core" not in substitute(build, ci["manifests"])

    leak = run_github(ci, "leak", cache_hit=False)
    (build_step,) = [r for name, r in leak.items() if name.startswith("Build the index")]
    assert build_step.returncode == 0, build_step.stderr
    assert (ci["work"] / INDEX).is_file()
    scan = leak["Scan the pull request's added lines"]
    assert scan.returncode == 1, (scan.stdout, scan.stderr)  # the leak fails the job
    sarif = (ci["work"] / "licscan.sarif").read_text()
    assert "src/rle.c" in sarif and "rlepack.c" in sarif
    summary = leak["Summary for reviewers"]
    assert summary.returncode == 0, summary.stderr
    assert "rle.c" in (ci["tmp"] / "summary-leak.md").read_text()

    clean = run_github(ci, "clean", cache_hit=True)  # the index comes from the cache this time
    assert not any(n.startswith("Build the index") for n in clean)
    scan = clean["Scan the pull request's added lines"]
    assert scan.returncode == 0, (scan.stdout, scan.stderr)
    assert "rle.c" not in (ci["work"] / "licscan.sarif").read_text()


def run_gitlab(ci: dict[str, Any], branch: str) -> subprocess.CompletedProcess:
    """The job's `script:` lines in order, stopping at the first that fails (as GitLab does)."""
    work = ci["work"]
    env = {**ci["env"], "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
           "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": BASE_BRANCH}
    git(work, "checkout", "-q", branch)
    r = subprocess.CompletedProcess([], 0, "", "")
    for line in gitlab_script():
        if is_install(line.strip()):
            continue
        r = sh(substitute(line.strip(), ci["manifests"]), work, env)
        if r.returncode:
            break
    return r


def test_gitlab_job_runs_as_documented(ci: dict[str, Any]) -> None:
    script = gitlab_script()
    assert sum(is_install(s.strip()) for s in script) == 1
    assert any("--corpus gnu-core" in s for s in script)

    r = run_gitlab(ci, "leak")
    assert r.returncode == 1, (r.args, r.stdout, r.stderr)
    assert "rle.c" in (ci["work"] / "licscan.md").read_text()  # the artifact, kept `when: always`
    shutil.copy(ci["work"] / INDEX, ci["tmp"] / "built.lsi")

    r = run_gitlab(ci, "clean")  # `test -f` finds the cached index: no rebuild
    assert r.returncode == 0, (r.args, r.stdout, r.stderr)
    assert (ci["work"] / INDEX).read_bytes() == (ci["tmp"] / "built.lsi").read_bytes()
    assert "rle.c" not in (ci["work"] / "licscan.md").read_text()
