"""What both paths of an update share (``engine/update.py`` rewrites, ``engine/delta.py``
adds in place): its summary, the parameter check, the content probe, the lineage meta."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from licscan.engine import build
from licscan.engine.build import BuildSummary
from licscan.engine.index import Index
from licscan.engine.prepare import BuildParams, process_file
from licscan.engine.spill import VOCAB_LIMIT
from licscan.files import read_text
from licscan.languages import LANGUAGES, grammar_signature
from licscan.model import LicscanError


@dataclass
class UpdateSummary:
    """What an update or a removal did."""

    build: BuildSummary
    reused: int = 0
    """Files whose result was read back from the old index."""
    fingerprinted: int = 0
    """Files tokenized and fingerprinted anew."""
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    generation: int = 0
    seconds: float = 0.0
    mode: str = "rebuild"
    """"delta": the new roots were added to a copy of the index in place (``engine/delta.py``);
    "rebuild": every table was written again from the per-file results."""


def check_params(old: Index) -> BuildParams:
    """The parameters to rebuild with; refuses an index this licscan would not build the same."""
    meta = old.meta
    params = BuildParams(store_text=bool(meta["params"].get("store_text")))
    if meta["params"] != asdict(params):
        diff = sorted(k for k, v in asdict(params).items() if meta["params"].get(k) != v)
        raise LicscanError(f"index {old.path} was built with other parameters ({', '.join(diff)}) than this "
                           "licscan uses: rebuild it with `licscan index build`")
    sigs = meta.get("grammar_signatures") or {}
    changed = sorted(lang for lang in LANGUAGES if sigs.get(lang) != grammar_signature(lang))
    if changed:
        raise LicscanError(f"index {old.path} was built with other grammars ({', '.join(changed)}) than are "
                           "installed: rebuild it with `licscan index build`")
    if len(old.vocab()) > VOCAB_LIMIT:
        # Past the limit rare tokens share one id: their strings, hence the files, are lost.
        raise LicscanError(f"index {old.path} has a full vocabulary; token streams cannot be read back: "
                           "rebuild it with `licscan index build`")
    return params


def probe(job: tuple[str, str, str, BuildParams]) -> tuple[str, str | None, str | None]:
    """(name, content hash, None), or (name, None, why it is skipped): the hash ``process_file``
    would record (of the decoded text), without tokenizing (runs in a worker process)."""
    path, name, _, params = job
    text, reason = read_text(Path(path), params.max_bytes)
    if text is None:
        return name, None, reason
    return name, hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest(), None


def extra_meta(meta: dict[str, Any], extra: dict[str, Any], order: list[tuple[str, Path, bool]],
                report: UpdateSummary) -> dict[str, Any]:
    """The new generation's meta beyond what ``_write`` computes: its lineage, and the manifests'
    ``sources`` of the projects it keeps and adds."""
    out: dict[str, Any] = {"generation": report.generation, "parent_corpus_sha256": meta.get("corpus_sha256")}
    gone = set(report.removed) | set(report.replaced)
    names = {n for n, _, _ in order}
    sources = [s for s in meta.get("sources") or [] if s.get("name") not in gone and s.get("name") in names]
    sources += list(extra.get("sources") or [])
    manifests = list(dict.fromkeys([*(meta.get("manifests") or []), *(extra.get("manifests") or [])]))
    if sources or manifests:
        out.update(sources=sources, manifests=manifests)
    return out


def results_of(jobs: list[tuple[str, str, str, BuildParams]], known: Callable[[str, str, str], Any], workers: int,
               ui: Any, summary: BuildSummary, report: UpdateSummary) -> dict[str, Any]:
    """By name, each file's result: ``known(name, sha1, lang)`` when that is not None (the
    index holds the content), else the file tokenized and fingerprinted. Skips counted."""
    got: dict[str, Any] = {}
    todo = []
    task = ui.add("hashing", len(jobs))
    with closing(build._run(jobs, workers, probe)) as done:
        for job, (name, sha1, reason) in zip(jobs, done):
            if reason is not None:
                build._skip(summary, name, reason)
            elif (old := known(name, sha1, job[2])) is not None:  # type: ignore[arg-type]
                got[name] = old
            else:
                todo.append(job)
            ui.advance(task)
    task = ui.add("tokenizing", len(todo))
    with closing(build._run(todo, workers, process_file)) as done:
        for r in done:
            if isinstance(r, tuple):
                build._skip(summary, r[0], r[1])
            else:
                got[r.name] = r
                report.fingerprinted += 1
            ui.advance(task)
    return got
