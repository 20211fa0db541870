"""Progress of long CLI steps (storing, matching, re-matching, migrating): bars on a terminal,
a few plain lines otherwise (logs and CI keep them readable)."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

# Off a terminal only long tasks print lines: a quiet console for the everyday refresh.
PLAIN_LINES_FROM = 1000
# Off a terminal, a task of unknown size prints a line each time this many more are done.
COUNT_LINES_EVERY = 10_000


class ProgressBars:
    """A (task, done, total) callback: one bar per task while it runs."""

    def __init__(self, stream: TextIO | None = None, terminal: bool | None = None) -> None:
        # sys.stderr as it is now (redirected, say), not as it was at import
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self._bar: tqdm | None = None  # type: ignore[type-arg]
        self._task: str | None = None
        self._last_tenth = -1

    def __call__(self, task: str, done: int, total: int | None) -> None:
        """total None: not known (a listing streamed to the store): a count, not a bar."""
        if total is not None and total <= 0:
            return
        if self.terminal:
            self._draw(task, done, total)
        elif total is None:
            self._count(task, done)
        elif total >= PLAIN_LINES_FROM:
            self._line(task, done, total)

    def _draw(self, task: str, done: int, total: int | None) -> None:
        if task != self._task or self._bar is None:
            self.close()
            self._bar = tqdm(total=total, desc=task, unit="", file=self.stream, leave=True)
            self._task = task
        self._bar.update(done - self._bar.n)
        if total is not None and done >= total:
            self.close()

    def _count(self, task: str, done: int) -> None:
        """Every COUNT_LINES_EVERY done of a task of unknown size."""
        if task != self._task:
            self._task, self._last_tenth = task, 0
        if done // COUNT_LINES_EVERY > self._last_tenth:
            self._last_tenth = done // COUNT_LINES_EVERY
            print(f"{task}: {done}", file=self.stream, flush=True)

    def _line(self, task: str, done: int, total: int) -> None:
        """Start, every tenth and the end, so a 45k-paper refresh says it is alive."""
        tenth = done * 10 // total
        if task != self._task:
            self._task, self._last_tenth = task, -1
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            print(f"{task}: {done}/{total}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._task = None, None
