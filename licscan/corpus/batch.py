"""Fetch every source of a manifest, keep going past failures, show progress on a terminal.

``licscan corpus fetch`` of a 400-source manifest takes hours and meets the odd source that
cannot be had (a version gone from the archive, a registry hiccup). So a failure is recorded
with its reason and the next source is fetched; the caller reports the failures and exits
non-zero. Rerunning resumes: complete entries are skipped after a look at their record
(``fetch._complete``), and only the missing or failed ones are fetched.
(``fetch.fetch_manifest``, used by ``index build``, still stops at the first failure: an
index must not be built from part of a corpus.)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from licscan.corpus.fetch import Fetched, Runner, fetch_source
from licscan.corpus.manifest import Manifest, Source
from licscan.model import LicscanError

__all__ = ["Failure", "FetchReport", "fetch_all"]


@dataclass(frozen=True)
class Failure:
    source: Source
    reason: str
    """One line, naming the source (``linux (debian linux=6.1.4-1): apt-get source ... failed``)."""


@dataclass
class FetchReport:
    fetched: list[Fetched] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    @property
    def downloaded(self) -> int:
        return sum(not f.cached for f in self.fetched)


def _reason(src: Source, e: BaseException) -> str:
    """The error as one line that names the source once."""
    text = " ".join(str(e).split()) or e.__class__.__name__
    if not isinstance(e, LicscanError):  # an OSError (disk full), or a bug: say which
        text = f"{e.__class__.__name__}: {text}"
    return text if text.startswith(src.label()) else f"{src.label()}: {text}"


class _Bar:
    """A rich progress bar on stderr: one step per source, the current one named. Off unless
    ``enabled`` (a terminal, not CI, not --quiet): logs get plain lines, no control codes."""

    def __init__(self, enabled: bool, title: str, total: int) -> None:
        self.bar: Any = None
        self.task: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn)

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(stderr=True), transient=False)
            self.task = self.bar.add_task(title, total=total)
            self.title = title

    def __enter__(self) -> _Bar:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def now(self, src: Source) -> None:
        if self.bar:
            self.bar.update(self.task, description=f"{self.title}: {src.name}")

    def step(self) -> None:
        if self.bar:
            self.bar.advance(self.task)

    def done(self, failed: int) -> None:
        if self.bar:
            self.bar.update(self.task, description=self.title + (f" ({failed} failed)" if failed else ""))


def fetch_all(manifest: Manifest, cache: Path | None = None, *, runner: Runner = subprocess.run,
              force: bool = False, progress: bool = False,
              on_start: Callable[[Source], None] | None = None,
              on_fetched: Callable[[Fetched, float], None] | None = None,
              on_failed: Callable[[Failure], None] | None = None) -> FetchReport:
    """Fetch each source of ``manifest`` in order; a failure is recorded and the rest go on.

    Ctrl-C and SIGTERM (as :class:`KeyboardInterrupt`) stop the run: what is done stays done."""
    report = FetchReport()
    with _Bar(progress, manifest.name, len(manifest.sources)) as bar:
        for src in manifest.sources:
            bar.now(src)
            t0 = time.perf_counter()
            try:
                got = fetch_source(src, cache, runner=runner, force=force, on_start=on_start)
            except Exception as e:  # noqa: BLE001 - one bad source must not stop the other 399
                failure = Failure(src, _reason(src, e))
                report.failed.append(failure)
                if on_failed:
                    on_failed(failure)
            else:
                report.fetched.append(got)
                if on_fetched:
                    on_fetched(got, time.perf_counter() - t0)
            bar.step()
        bar.done(len(report.failed))
    return report
