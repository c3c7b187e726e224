"""Progress you can see: the task bar of `calib run` and `calib status --watch`.

`TaskProgress` turns the runner's ``on_task(report, done, total)`` calls into one line (bar,
tasks done of total, starts done and failed in this run, elapsed time and an ETA from this
run's rate), redrawn in place on a terminal and written every `LOG_INTERVAL` seconds
elsewhere (a log file).  `watch_store` polls a store that another process writes until every
chunk is done or no live run holds it any more.  Both write to a text stream the CLI passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO

__all__ = ["ProgressState", "TaskProgress", "StoreSnapshot", "WatchOutcome", "eta_seconds",
           "format_duration", "progress_line", "snapshot_line", "store_snapshot", "watch_store",
           "LOG_INTERVAL"]

#: seconds between progress lines when stderr is not a terminal
LOG_INTERVAL = 10.0
_BAR_WIDTH = 24


@dataclass(frozen=True)
class ProgressState:
    """Where a run stands: tasks done of total (those already done when it began included),
    starts finished and failed by this run, seconds since it began."""

    tasks_done: int
    tasks_total: int
    tasks_at_start: int
    starts_done: int
    starts_failed: int
    elapsed: float


def eta_seconds(state: ProgressState) -> float | None:
    """Seconds left at this run's rate so far (tasks per second); None before any task of this
    run has finished.  0 when every task is done."""
    remaining = state.tasks_total - state.tasks_done
    if remaining <= 0:
        return 0.0
    ran = state.tasks_done - state.tasks_at_start
    if ran <= 0 or state.elapsed <= 0:
        return None
    return remaining * state.elapsed / ran


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (``M:SS`` under an hour); ``?`` for None."""
    if seconds is None:
        return "?"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(state: ProgressState) -> str:
    """``tasks [#####-----] 3/8  starts 24 done, 2 failed  0:12 elapsed, ETA 0:20``."""
    fraction = state.tasks_done / state.tasks_total if state.tasks_total else 1.0
    filled = int(round(_BAR_WIDTH * fraction))
    bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
    return (f"tasks [{bar}] {state.tasks_done}/{state.tasks_total}  starts "
            f"{state.starts_done} done, {state.starts_failed} failed  "
            f"{format_duration(state.elapsed)} elapsed, ETA "
            f"{format_duration(eta_seconds(state))}")


class TaskProgress:
    """The progress line of one run, fed by the runner's ``on_task`` callback.

    On a terminal (``tty``) the line is redrawn in place after each task; otherwise a line is
    written when `LOG_INTERVAL` seconds have passed since the last one, and always for the last
    task.  ``clock`` is `time.monotonic` (tests pass their own).
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 interval: float = LOG_INTERVAL) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.interval = interval
        self.began = clock()
        self.state: ProgressState | None = None
        self._last_written: float | None = None
        self._width = 0

    def on_task(self, report: Any, done: int, total: int) -> None:
        """Count one finished task (``report.n_starts``, ``report.n_failed``) and redraw."""
        now = self.clock()
        state = self.state or ProgressState(done - 1, total, done - 1, 0, 0, 0.0)
        self.state = replace(state, tasks_done=done, tasks_total=total,
                             starts_done=state.starts_done + int(report.n_starts),
                             starts_failed=state.starts_failed + int(report.n_failed),
                             elapsed=now - self.began)
        if self.tty:
            self._draw(progress_line(self.state))
        elif (done >= total or self._last_written is None
              or now - self._last_written >= self.interval):
            self.stream.write(progress_line(self.state) + "\n")
            self._last_written = now
        self.stream.flush()

    def _draw(self, line: str) -> None:
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)

    def close(self) -> None:
        """End the in-place line on a terminal (nothing to do elsewhere)."""
        if self.tty and self.state is not None:
            self.stream.write("\n")
            self.stream.flush()


@dataclass(frozen=True)
class StoreSnapshot:
    """One look at a store: chunks done of total and starts by status (all datasets)."""

    chunks_done: int
    chunks_total: int
    converged: int
    not_converged: int
    failed: int
    pending: int
    writer_live: bool

    @property
    def finished(self) -> bool:
        return self.chunks_done >= self.chunks_total


def snapshot_line(snapshot: StoreSnapshot) -> str:
    """``3/8 tasks done; starts: 20 converged, 1 not converged, 3 failed, 40 pending``."""
    return (f"{snapshot.chunks_done}/{snapshot.chunks_total} tasks done; starts: "
            f"{snapshot.converged} converged, {snapshot.not_converged} not converged, "
            f"{snapshot.failed} failed, {snapshot.pending} pending")


@dataclass(frozen=True)
class WatchOutcome:
    """How a watch ended: every chunk done (``finished``), or the writer gone before that."""

    finished: bool
    last: StoreSnapshot


def watch_store(look: Callable[[], StoreSnapshot], emit: Callable[[str], None], *,
                interval: float, sleep: Callable[[float], None] = time.sleep,
                patience: int = 3) -> WatchOutcome:
    """Poll ``look()`` every ``interval`` seconds, ``emit`` a line whenever the counts change,
    until every chunk is done or no live run has held the store for ``patience`` looks in a
    row (a run that is starting may not hold it yet)."""
    previous: StoreSnapshot | None = None
    without_writer = 0
    while True:
        snapshot = look()
        if previous is None or replace(snapshot, writer_live=True) != replace(
                previous, writer_live=True):
            emit(snapshot_line(snapshot))
        previous = snapshot
        if snapshot.finished:
            return WatchOutcome(finished=True, last=snapshot)
        without_writer = 0 if snapshot.writer_live else without_writer + 1
        if without_writer >= patience:
            return WatchOutcome(finished=False, last=snapshot)
        sleep(interval)


def store_snapshot(path: str) -> StoreSnapshot:
    """Look at the store at ``path`` once: chunks done, starts by status, and whether a live
    run holds its lease (`jobs.lease`).  Raises what `Store.open` raises."""
    from .lease import read_holder
    from .report import status_rows
    from .store import Store

    store = Store.open(path)
    done = store.done_chunks()
    rows = status_rows(store)
    holder = read_holder(path)
    return StoreSnapshot(chunks_done=int(done.sum()), chunks_total=int(done.size),
                         **{key: sum(int(r[key]) for r in rows)
                            for key in ("converged", "not_converged", "failed", "pending")},
                         writer_live=holder is not None and holder.is_live())
