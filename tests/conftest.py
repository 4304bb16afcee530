"""Shared helpers: small indexes built from the project's own fixtures."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in ``repo`` with a fixed identity and no signing; its stdout (asserts success)."""
    r = subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t",
                        "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                       cwd=repo, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def committed_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str | bytes]) -> Path:
    """A git repository holding ``files`` in one commit, made the working directory, with
    no pre-commit range or index in the environment."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for rel, data in files.items():
        (root / rel).write_bytes(data) if isinstance(data, bytes) else (root / rel).write_text(data)
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    monkeypatch.chdir(root)
    for var in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "LICSCAN_INDEX"):
        monkeypatch.delenv(var, raising=False)
    return root


def vacuumed_size(index: Path, tmp_path: Path) -> int:
    """Bytes of ``index`` copied by SQLite's VACUUM INTO: every page full."""
    copy = tmp_path / f"{index.name}.vacuumed"
    copy.unlink(missing_ok=True)
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        db.execute("VACUUM INTO ?", (str(copy),))
    finally:
        db.close()
    return copy.stat().st_size


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


@pytest.fixture(scope="session")
def core_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the project's own GPL fixture corpus (one file per language)."""
    from licscan.engine.build import build_index

    out = tmp_path_factory.mktemp("core") / "core.lsi"
    build_index([FIXTURES / "langs" / "corpus"], out, workers=1)
    return out


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """A private PostgreSQL server for the session (tests/pgserver.py). Skips when none can be
    started here, unless LICSCAN_REQUIRE_POSTGRES=1 (.ci/run), where that is a failure."""
    import os

    import pgserver

    try:
        srv = pgserver.start()
    except pgserver.Unavailable as e:
        if os.environ.get("LICSCAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"LICSCAN_REQUIRE_POSTGRES=1 but {e}")
        pytest.skip(str(e))
    yield srv
    srv.stop()
