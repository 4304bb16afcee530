"""Shared helpers: small indexes built from the project's own fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


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
