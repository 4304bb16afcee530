"""The persistent license cache: detections by engine and notice text, shared by builds.

Scancode costs about a second per notice, and corpora repeat their notices: each
distinct notice is detected once per engine version, then read from here.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_FILE = "licenses.json"
CACHE_VERSION = 1
"""Bump when notice extraction or the detections -> expression step changes meaning."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "licscan"


class Cache:
    """``{engine:key: expression}`` in one JSON file, replaced atomically on save."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / CACHE_FILE
        self.entries: dict[str, str | None] = self._load()
        self.added: dict[str, str | None] = {}

    def _load(self) -> dict[str, str | None]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            ok = isinstance(data, dict) and data.get("version") == CACHE_VERSION
            entries = data.get("entries", {}) if ok else {}
            return {k: v for k, v in entries.items() if v is None or isinstance(v, str)}
        except (OSError, ValueError):
            return {}  # missing or corrupt cache only costs a re-detection

    def get(self, key: str) -> tuple[bool, str | None]:
        return (key in self.entries, self.entries.get(key))

    def put(self, key: str, value: str | None) -> None:
        self.entries[key] = self.added[key] = value

    def save(self) -> None:
        if not self.added:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            merged = self._load()  # keep what a concurrent build wrote meanwhile
            merged.update(self.added)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".licenses-", suffix=".tmp")
        except OSError as e:
            log.warning("license cache not saved to %s: %s", self.path, e)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": CACHE_VERSION, "entries": merged}, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
            self.added = {}
        except OSError as e:
            log.warning("license cache not saved to %s: %s", self.path, e)
            Path(tmp).unlink(missing_ok=True)
