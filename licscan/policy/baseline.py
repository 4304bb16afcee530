"""Baselines: findings a team has accepted, so a gate fails only on new ones.

A finding's identity is a hash of the normalized tokens of its region
(identifiers, numbers and strings abstracted) together with its source path.
Line numbers and the scanned file's path are not part of it: moving the code or
renaming its identifiers keeps the identity; editing the copied code changes it.

The file is JSON, sorted and stable so it diffs well in review::

    {"version": 1, "tool": "licscan", "entries": [
      {"id": "9f2c...", "path": "src/mine.c", "source": "coreutils/src/yes.c",
       "license": "GPL-2.0-or-later", "tokens": 212,
       "reason": "vendored until #123 lands", "author": "ana", "expires": "2025-12-31"}]}

``path`` is where the code was when it was accepted (for people; not part of the
identity). An entry stops accepting its finding after its ``expires`` date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licscan.model import Finding, LicscanError

VERSION = 1
DEFAULT_NAME = ".licscan-baseline.json"
_META = ("reason", "author", "expires")


def finding_id(f: Finding, text: str | None) -> str:
    """Line-independent identity: sha256 over the source path and the region's normalized tokens.

    The region's lines are re-tokenized on their own rather than sliced out of the
    scan's token stream by ``token_range``: under ``--staged``/``--diff`` and in
    Markdown that range counts tokens of a window or a code block, not of the file,
    and a baseline made from a full scan must match a pre-commit scan of a diff.
    """
    lines = (text or "").splitlines()[f.start_line - 1:f.end_line]
    norm: list[str] = []
    if lines:
        from licscan.engine.tokens import tokenize

        norm = tokenize("\n".join(lines), f.language or "text").norm
    if not norm:  # no text or no tokens (a finding built by hand): whitespace-free lines
        norm = ["".join(ln.split()) for ln in lines]
    h = hashlib.sha256(f.source.path.encode("utf-8"))
    h.update(b"\0" + "\x1f".join(norm).encode("utf-8"))
    return h.hexdigest()[:24]


def parse_date(value: Any, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise LicscanError(f"{where}: expires must be a date like 2025-12-31, not {value!r}") from None


@dataclass
class Entry:
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def expires(self) -> dt.date | None:
        return parse_date(self.data.get("expires"), f"baseline entry {self.id}")

    def expired(self, today: dt.date) -> bool:
        exp = self.expires()
        return exp is not None and today > exp  # valid through its expiry date


class Baseline:
    def __init__(self, entries: list[dict[str, Any]] | None = None, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        for e in entries or []:
            self.entries[str(e["id"])] = Entry(dict(e))

    def get(self, fid: str) -> Entry | None:
        return self.entries.get(fid)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LicscanError(f"baseline not found: {path} (create it with `licscan baseline create`)") from None
        except (OSError, ValueError) as e:
            raise LicscanError(f"baseline unreadable: {path}: {e}") from None
        entries = doc.get("entries") if isinstance(doc, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), str)
                                                     for e in entries):
            raise LicscanError(f"baseline malformed: {path} (expected {{\"entries\": [{{\"id\": ...}}]}})")
        b = cls(entries, Path(path))
        for e in b.entries.values():
            e.expires()  # a bad date is an error now, not a silent pass later
        return b

    def to_json(self) -> str:
        entries = sorted((e.data for e in self.entries.values()), key=lambda d: (str(d.get("path", "")), d["id"]))
        return json.dumps({"version": VERSION, "tool": "licscan", "entries": entries}, indent=2,
                          ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename): a gate never reads half a baseline."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)


def entry_for(f: Finding, fid: str, path: str, meta: dict[str, Any]) -> dict[str, Any]:
    """A baseline entry for a finding at ``path`` (project-relative); ``meta`` adds reason, author, expires."""
    d: dict[str, Any] = {"id": fid, "path": path, "source": f.source.path, "license": f.license,
                         "tokens": f.tokens}
    d.update({k: meta[k] for k in _META if meta.get(k) not in (None, "")})
    return d


def rebuild(old: Baseline | None, current: list[tuple[Finding, str, str]], meta: dict[str, Any]) -> Baseline:
    """The baseline for ``current`` (finding, id, path) triples: known entries are kept as they
    are (code that moved does not churn the file), new ones get ``meta``, ids no longer found
    are dropped."""
    new = Baseline()
    for f, fid, path in current:
        if fid in new.entries:
            continue  # the same code in two places is one accepted copy
        prev = old.get(fid) if old else None
        new.entries[fid] = Entry(dict(prev.data) if prev else entry_for(f, fid, path, meta))
    return new
