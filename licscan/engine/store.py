"""The index store interface: what matching, policy, reports and commands ask of an index.

``engine/index.py`` implements it on one SQLite file, ``engine/pgstore.py`` on a shared
PostgreSQL database (the same rows); ``engine/stores.py`` opens either. Nothing above the
store reads SQL.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import Any, Protocol

from licscan.engine.verify import decode_blob
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


class Source:
    """A file's stored streams (``files.tokens``, ``names``, ``lines``: zlib-compressed arrays),
    fetched with the other candidates of a scan in one query (``IndexStore.sources``) and
    each decoded on first use: most candidates never need their names, and only a
    finding needs its line numbers."""

    def __init__(self, fid: int, blobs: Sequence[Any], where: Path | str, ntokens: int = 0) -> None:
        self.fid = fid
        self.ntokens = ntokens
        self._blobs = dict(zip(("tokens", "names", "lines"), blobs))
        self._where = where

    def _decode(self, column: str, typecode: str) -> array:
        got = decode_blob(self._blobs[column], typecode, lambda: f"files.{column} of file {self.fid}",
                          self._where)
        del self._blobs[column]  # decoded once (cached_property): a cached source keeps one form of it
        return got

    def __len__(self) -> int:
        """Its tokens: what a cache of sources (``stream.Recent``) weighs it by."""
        return self.ntokens

    @cached_property
    def ids(self) -> array:
        """The vocab ids of the normalized token stream."""
        if "stream" in self.__dict__:
            return array("H", self.__dict__["stream"])
        return self._decode("tokens", "H")

    @cached_property
    def stream(self) -> list[int]:
        """``ids`` as a list, what alignment indexes (faster than an array); a matcher keeps
        sources across scans, so it holds this and not the array too."""
        ids = self.__dict__.pop("ids") if "ids" in self.__dict__ else self._decode("tokens", "H")
        return ids.tolist()

    @cached_property
    def names(self) -> array:
        """The hash of each name or literal of the stream, in order
        (``fingerprints.name_codes`` without the -1 entries)."""
        return self._decode("names", "H")

    @cached_property
    def lines(self) -> array:
        """The line of each token (stored as deltas)."""
        return array("I", accumulate(self._decode("lines", "I")))


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

    def capped_among(self, hashes: Sequence[int]) -> set[int]:
        """Those of ``hashes`` over the boilerplate cap (in table ``capped``)."""
        ...

    def capped_postings(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
        """The (fingerprint, file, position) rows of ``capped`` for these (fingerprint, file) pairs."""
        ...

    def common(self, hashes: Iterable[int]) -> set[int]:
        """Those of ``hashes`` that the base (permissive) code also has."""
        ...

    def common_names(self, family: str | None = None) -> frozenset[int]: ...

    def lang_files(self) -> dict[str, int]: ...

    def file(self, fid: int) -> IndexedFile: ...

    def files(self, fids: set[int]) -> dict[int, IndexedFile]: ...

    def sources(self, fids: Collection[int]) -> dict[int, Source]:
        """The stored streams of many files in one round trip (what a scan's candidates need)."""
        ...

    def tokens(self, fid: int) -> tuple[array, array]:
        """(vocab ids, line numbers) of a file's normalized token stream."""
        ...

    def token_ids(self, fid: int) -> array: ...

    def names(self, fid: int) -> array: ...

    def text(self, fid: int) -> str | None: ...

    def aliases(self, fid: int) -> list[str]: ...

    def aliases_of(self, fids: Collection[int]) -> dict[int, list[str]]:
        """Other paths of identical copies of each file, sorted (one round trip)."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def source_counts(self) -> list[tuple[str, str, str, int, int]]:
        """(project, language, license or 'unknown', files, bytes) for ``index info``."""
        ...

    def files_in(self, langs: Sequence[str], min_tokens: int) -> list[tuple[int, str, str, str | None]]:
        """(id, path, language, license) of files in ``langs`` with at least ``min_tokens`` tokens."""
        ...

    def close(self) -> None: ...
