"""Progress bars of a build or an update: rich on a terminal, nothing otherwise."""

from __future__ import annotations

from typing import Any


class Progress:
    """Rich progress bars on a terminal; silent otherwise (CI, pre-commit, tests)."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bars

            self.bar = Bars(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                         MofNCompleteColumn(), TimeElapsedColumn(), transient=False)

    def __enter__(self) -> Progress:
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.__exit__(*exc)

    def add(self, name: str, total: int | None) -> Any:
        return self.bar.add_task(name, total=total) if self.bar else None

    def advance(self, task: Any, n: int = 1) -> None:
        if self.bar:
            self.bar.advance(task, n)
