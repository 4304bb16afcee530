"""Command-line conventions (issue 16): --version, -q/--quiet, shell completion, plain help,
and the corpus manifests shipped as package data and used by name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import licscan
from licscan.corpus import manifest as manifest_mod
from conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[1]
CORPUS = FIXTURES / "langs" / "corpus"
SHIPPED = ("copyleft-large", "gnu-core", "permissive-base", "quickstart", "quickstart-pypi")


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env={**base, **(env or {})}, timeout=120)


def leak(tmp_path: Path) -> Path:
    mine = tmp_path / "mine.c"
    mine.write_text("/* my own file */\n" + (CORPUS / "c" / "rlepack.c").read_text())
    return mine


# --------------------------------------------------------------------------- --version, -q


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"licscan {licscan.__version__}\n" and r.stderr == ""


def test_quiet_index_build_prints_no_summary(tmp_path: Path) -> None:
    small = [str(CORPUS / "c"), "--no-licenses", "--workers", "1"]
    loud = run("index", "build", "--out", str(tmp_path / "a.lsi"), *small)
    assert loud.returncode == 0 and "indexed" in loud.stderr
    for args in (["-q", "index", "build"], ["--quiet", "index", "build"]):
        r = run(*args, "--out", str(tmp_path / "b.lsi"), *small)
        assert r.returncode == 0 and r.stderr == "" and (tmp_path / "b.lsi").is_file(), r.stderr


def test_quiet_scan_passing_prints_no_policy_report(core_index: Path, tmp_path: Path) -> None:
    mine = str(leak(tmp_path))
    loud = run("scan", "--index", str(core_index), "--fail-on", "never", mine)
    assert loud.returncode == 0 and "policy:" in loud.stderr, loud.stderr
    # `licscan scan ...` runs the one-command fast path; `licscan -q scan` the full app.
    for args in (["scan", "-q"], ["scan", "--quiet"], ["-q", "scan"]):
        r = run(*args, "--index", str(core_index), "--fail-on", "never", mine)
        assert r.returncode == 0 and r.stderr == "", (args, r.stderr)
        assert "rlepack.c" in r.stdout  # the report itself is not a summary
    failing = run("scan", "-q", "--index", str(core_index), mine)
    assert failing.returncode == 1 and "FAIL" in failing.stderr  # why the gate failed still prints


def test_quiet_errors_still_print(tmp_path: Path) -> None:
    for args in (["scan", "-q"], ["-q", "scan"]):
        r = run(*args, "--index", str(tmp_path / "none.lsi"), str(tmp_path))
        assert r.returncode == 2 and r.stderr.startswith("licscan: error:"), r.stderr


# --------------------------------------------------------------------------- completion, help


def test_shell_completion() -> None:
    top = run("--help")
    assert "--install-completion" in top.stdout and "--show-completion" in top.stdout
    # The shell is named, not detected from the parent process (which differs between a
    # terminal, pytest and CI): typer's own switch for that.
    r = run("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert r.returncode == 0 and "_licscan_completion" in r.stdout, r.stderr
    r = run(env={"_LICSCAN_COMPLETE": "complete_bash", "COMP_WORDS": "licscan corpus show quick",
                 "COMP_CWORD": "3"})
    assert r.returncode == 0 and set(r.stdout.split()) == {"quickstart", "quickstart-pypi"}, r


def test_help_keeps_square_brackets() -> None:
    r = run("scan", "--help")
    assert r.returncode == 0
    assert "[tool.licscan]" in r.stdout
    assert "Usage: licscan scan" in r.stdout


# --------------------------------------------------------------------------- shipped manifests


def test_manifests_ship_as_package_data() -> None:
    from importlib.resources import files

    names = {p.name for p in files("licscan.manifests").iterdir()}
    assert {f"{n}.toml" for n in SHIPPED} <= names
    assert set(manifest_mod.shipped_manifests()) == set(SHIPPED)


def test_pyproject_lists_every_package() -> None:
    # The manifests' package-dir mapping rules out packages.find: the list must be complete.
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    st = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "licscan").rglob("__init__.py")}
    assert set(st["packages"]) == on_disk | {"licscan.manifests"}
    assert st["package-dir"]["licscan.manifests"] == "corpora"
    assert "*.toml" in st["package-data"]["licscan.manifests"]


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("LICSCAN_NETWORK_TESTS") != "1",
                    reason="set LICSCAN_NETWORK_TESTS=1 (pip fetches setuptools for an isolated build)")
def test_wheel_holds_the_manifests(tmp_path: Path) -> None:
    import zipfile

    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                        str(ROOT)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("licscan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"licscan/manifests/{n}.toml" for n in SHIPPED} <= names
    assert "licscan/data/obligations.toml" in names and "licscan/cli/main.py" in names


def test_corpus_list_and_show_by_name(tmp_path: Path) -> None:
    r = run("corpus", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert set(rows) == set(SHIPPED) and "GNU sed" in rows["quickstart"]
    r = run("corpus", "show", "gnu-core", "--cache", str(tmp_path / "cache"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("gnu-core: ") and "coreutils (debian coreutils=" in r.stdout
    r = run("corpus", "show", "copyleft-large", "--cache", str(tmp_path / "cache"), cwd=tmp_path)
    assert r.returncode == 0 and "  languages=csharp\n" in r.stdout, r.stderr


@pytest.mark.parametrize("args", [["corpus", "show", "gnu-cor"], ["corpus", "fetch", "nope"],
                                  ["index", "build", "--out", "x.lsi", "--corpus", "nope"],
                                  ["index", "build", "--out", "x.lsi", "--base", "nope", "."]])
def test_unknown_manifest_name_is_one_line(args: list[str], tmp_path: Path) -> None:
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert all(n in r.stderr for n in SHIPPED), r.stderr
    assert not (tmp_path / "x.lsi").exists()


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the shipped manifests: local trees, with relative `path` sources."""
    d = tmp_path / "shipped"
    (d / "trees").mkdir(parents=True)
    (d / "trees" / "c").symlink_to(CORPUS / "c")
    (d / "trees" / "python").symlink_to(CORPUS / "python")
    (d / "quickstart.toml").write_text('description = "fixture C"\n[[source]]\npath = "trees/c"\n'
                                       'spdx = "GPL-3.0-or-later"\n')
    (d / "pybase.toml").write_text('[[source]]\npath = "trees/python"\n')
    monkeypatch.setattr(manifest_mod, "_shipped_dir", lambda: d)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LICSCAN_INDEX", raising=False)
    return d


def test_index_build_corpus_and_base_by_name(shipped: Path, tmp_path: Path) -> None:
    from licscan.cli.main import app
    from licscan.engine.index import open_index

    res = CliRunner().invoke(app, ["index", "build", "--out", "q.lsi", "--corpus", "quickstart",
                                   "--corpus", str(shipped / "pybase.toml"), "--base", "pybase",
                                   "--no-licenses"])
    assert res.exit_code == 0, (res.output, res.exception)
    idx = open_index(tmp_path / "q.lsi")
    paths = {row[0] for row in idx.db.execute("SELECT path FROM files")}
    assert "c/rlepack.c" in paths and "python/exprcalc.py" in paths  # relative `path` sources resolved
    assert [b.get("name") for b in idx.meta.get("base") or []] == ["python"]


def test_demo_defaults_to_the_shipped_quickstart(shipped: Path, tmp_path: Path) -> None:
    from licscan.cli.main import app

    res = CliRunner().invoke(app, ["demo", "--out", "d"])
    assert res.exit_code == 0, (res.output, res.exception)
    assert (tmp_path / "quickstart.lsi").is_file()
    assert "1 finding(s)" in res.output and "rlepack.c" in res.output
