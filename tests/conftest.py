"""Shared helpers: small indexes built from the project's own fixtures."""

from __future__ import annotations

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
