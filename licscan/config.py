"""The one place TOML is read: licscan's configuration, manifests and data tables.

Configuration comes from ``.licscan.toml`` or ``[tool.licscan]`` in
``pyproject.toml``, the first found from the working directory upward (stopping
at the repository root), or from ``--config``; command-line flags override it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from licscan.model import LicscanError

CONFIG_NAME = ".licscan.toml"
INDEX_ENV = "LICSCAN_INDEX"
URI_SCHEMES = ("postgresql://", "postgres://")
"""An index named by a libpq URI is a shared PostgreSQL index (``engine/stores.py``)."""
_ROOT_MARKERS = (".git", "pyproject.toml", "package.json", "Cargo.toml", "LICENSE", "COPYING")


def parse_toml(text: str, where: str | Path = "<toml>") -> dict[str, Any]:
    """A TOML document; a one-line LicscanError naming ``where`` when it is invalid."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LicscanError(f"{where}: invalid TOML: {e}") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LicscanError(f"cannot read {path}: {e}") from None
    return parse_toml(text, path)


def read_table(path: Path, text: str | None = None) -> dict[str, Any] | None:
    """The licscan table of a config file; None for a pyproject.toml without one."""
    doc = parse_toml(text, path) if text is not None else load_toml(path)
    if Path(path).name == "pyproject.toml":
        tool = doc.get("tool")
        table = tool.get("licscan") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else None
    return doc


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest config from ``start`` upward; the repository root (``.git``) ends the search."""
    for d in [start, *start.parents]:
        own = d / CONFIG_NAME
        if own.is_file():
            return own, read_table(own) or {}
        py = d / "pyproject.toml"
        if py.is_file():
            text = py.read_text(encoding="utf-8", errors="replace")
            # Parse only pyprojects that mention us: TOML parsing is not free on a cold start.
            table = read_table(py, text) if "licscan" in text else None
            if table is not None:
                return py, table
        if (d / ".git").exists():
            return None
    return None


def configured_index(start: Path | None = None) -> str | None:
    """The index named by configuration: LICSCAN_INDEX, else ``index`` in the nearest
    config file (relative to that file)."""
    env = os.environ.get(INDEX_ENV)
    if env:
        return env
    found = find_config((start or Path.cwd()).resolve())
    value = found[1].get("index") if found else None
    if not (found and isinstance(value, str) and value):
        return None
    # A libpq URI (a shared PostgreSQL index, engine/stores.py) is not relative to anything.
    return value if is_index_uri(value) else str(found[0].parent / value)


def is_index_uri(name: object) -> bool:
    """Whether ``name`` names a PostgreSQL index (a libpq URI) rather than a file."""
    return isinstance(name, str) and name.lower().startswith(URI_SCHEMES)


def resolve_index(given: str | Path | None) -> str | Path:
    """The index to use: the one given, else the configured one; a LicscanError if none."""
    found = given or configured_index()
    if not found:
        raise LicscanError("no index given: pass --index, set LICSCAN_INDEX, or set `index` in "
                           ".licscan.toml or [tool.licscan] of pyproject.toml")
    return found


def project_root(start: Path) -> Path:
    """Nearest directory upward that looks like a project root; ``start`` if none does."""
    for d in [start, *start.parents]:
        if any((d / m).exists() for m in _ROOT_MARKERS):
            return d
    return start
