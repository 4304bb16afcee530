"""The index store interface: what matching, policy, reports and commands ask of an index.

``engine/index.py`` implements it on one SQLite file, ``engine/pgstore.py`` on a shared
PostgreSQL database (the same rows); ``engine/stores.py`` opens either. Nothing above the
store reads SQL.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from licscan.model import LicenseEvidence


@dataclass
class IndexedFile:
    """A file's row, with its token stream decoded on demand."""

    id: int
    path: str
    lang: str
    license: str | None
    family: int
    ntokens: int
    license_evidence: LicenseEvidence | None = None
    """What decided ``license`` (``licenses/resolve.py``)."""


class IndexStore(Protocol):
    """A read-only index: fingerprints, files, their token streams and build metadata."""

    path: Path | str
    """The file, or the URI with its password masked (what reports show)."""
    meta: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        """Build parameters (``engine.prepare.BuildParams`` as a dict)."""
        ...

    def check_language(self, lang: str) -> None:
        """Raise LicscanError when the index's grammar build for ``lang`` differs."""
        ...

    def vocab(self) -> list[str]: ...

    def lookup(self, hashes: Sequence[int]) -> list[tuple[int, int, int]]:
        """All (fingerprint, file, position) postings of the given fingerprints, in one batch."""
        ...

    def common(self, hashes: Iterable[int]) -> set[int]:
        """Those of ``hashes`` that the base (permissive) code also has."""
        ...

    def common_names(self, family: str | None = None) -> frozenset[int]: ...

    def lang_files(self) -> dict[str, int]: ...

    def file(self, fid: int) -> IndexedFile: ...

    def files(self, fids: set[int]) -> dict[int, IndexedFile]: ...

    def tokens(self, fid: int) -> tuple[array, array]:
        """(vocab ids, line numbers) of a file's normalized token stream."""
        ...

    def token_ids(self, fid: int) -> array: ...

    def names(self, fid: int) -> array: ...

    def text(self, fid: int) -> str | None: ...

    def aliases(self, fid: int) -> list[str]: ...

    def stats(self) -> dict[str, Any]: ...

    def source_counts(self) -> list[tuple[str, str, str, int, int]]:
        """(project, language, license or 'unknown', files, bytes) for ``index info``."""
        ...

    def files_in(self, langs: Sequence[str], min_tokens: int) -> list[tuple[int, str, str, str | None]]:
        """(id, path, language, license) of files in ``langs`` with at least ``min_tokens`` tokens."""
        ...

    def close(self) -> None: ...
