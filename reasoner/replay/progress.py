"""How a replay shows it is moving: a rich progress bar on a terminal, else a plain line every so often."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO, Protocol


class Progress(Protocol):
    """Told how many cases each finished partition held."""

    def __enter__(self) -> Progress: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Finish the display."""

    def advance(self, cases: int) -> None:
        """``cases`` more are done."""


class Lines:
    """``replayed N of TOTAL cases (R/s)`` on ``stream`` at most every ``every`` seconds, and once at the end."""

    def __init__(self, total: int | None, stream: IO[str] | None, every: float = 10.0) -> None:
        self.total, self.stream, self.every = total, stream, every
        self.done = 0
        self._start = self._last = time.monotonic()

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self._print(time.monotonic())

    def advance(self, cases: int) -> None:
        """Count them; print when ``every`` seconds have passed since the last line."""
        self.done += cases
        now = time.monotonic()
        if now - self._last >= self.every:
            self._print(now)

    def _print(self, now: float) -> None:
        self._last = now
        if self.stream is None:
            return
        of = f" of {self.total:,}" if self.total is not None else ""
        rate = self.done / max(now - self._start, 1e-9)
        print(f"replayed {self.done:,}{of} cases ({rate:,.0f}/s)", file=self.stream, flush=True)


class Bar:
    """rich's progress bar on standard error."""

    def __init__(self, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=False
        )
        self._task = self._bar.add_task("replay", total=total)

    def __enter__(self) -> Bar:
        self._bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.__exit__(kind, exc, tb)

    def advance(self, cases: int) -> None:
        """Move the bar."""
        self._bar.advance(self._task, cases)


def progress(total: int | None, *, quiet: bool = False) -> Progress:
    """A bar when standard error is a terminal, else periodic lines (none at all when ``quiet``)."""
    if quiet:
        return Lines(total, None)
    return Bar(total) if sys.stderr.isatty() else Lines(total, sys.stderr)
