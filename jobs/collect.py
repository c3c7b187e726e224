"""Collect the sweep's task futures as they finish, while watching that the cluster still runs.

`collect` takes each future as it ends and hands it to the runner: a finished task's
`ChunkReport`, or a task that Dask gave up on because the workers running it kept dying
(`distributed.KilledWorker`: the runner records its starts as failed).  Between results it
checks, about once a second, that the client is still connected to its scheduler and that the
scheduler still has a worker; either missing for longer than its limit raises
`SweepAbortedError` (the CLI's exit 3).  A task that raised an exception is a failure of calib
itself (user code cannot raise out of a task: `calib.run` records it), so it aborts the sweep
the same way, naming the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from distributed import Client, Future, as_completed
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from calib.errors import CalibError

__all__ = ["ClusterLimits", "SweepAbortedError", "collect"]

#: seconds between checks of the scheduler connection and the worker count
_CHECK_SECONDS = 1.0
#: seconds to sleep when no future is ready
_IDLE_SECONDS = 0.02


class SweepAbortedError(CalibError):
    """The run could not finish: the scheduler went away, every worker was lost, or a task
    failed in calib itself (not in user code).  The message says which, in one line; finished
    chunks are kept, and running the same command again resumes (`calib run` exits 3)."""


@dataclass(frozen=True)
class ClusterLimits:
    """How long a sweep waits for a lost scheduler connection or for any worker (seconds)."""

    scheduler_lost_after: float = 20.0
    workers_lost_after: float = 60.0


@dataclass
class _Watch:
    """When the scheduler and the workers were last seen."""

    client: Client
    limits: ClusterLimits
    connected_at: float
    workers_at: float
    checked_at: float = 0.0

    def check(self) -> None:
        now = time.monotonic()
        if now - self.checked_at < _CHECK_SECONDS:
            return
        self.checked_at = now
        if self.client.status != "running":
            if now - self.connected_at > self.limits.scheduler_lost_after:
                raise SweepAbortedError(
                    f"lost the Dask scheduler at {self.client.scheduler.address if self.client.scheduler else '?'} "
                    f"(no connection for {self.limits.scheduler_lost_after:g} s)")
            return
        self.connected_at = now
        try:
            n_workers = len(self.client.nthreads())
        except (OSError, TimeoutError):
            return  # the connection check above catches a scheduler that stays away
        if n_workers:
            self.workers_at = now
        elif now - self.workers_at > self.limits.workers_lost_after:
            raise SweepAbortedError(f"all workers lost: the scheduler has had no worker for "
                                    f"{self.limits.workers_lost_after:g} s")


def collect(client: Client, futures: Sequence[Future], *,
            on_result: Callable[[Future, Any], None],
            on_killed: Callable[[Future, int], None],
            limits: ClusterLimits = ClusterLimits()) -> None:
    """Wait for every future; ``on_result(future, value)`` for each finished one and
    ``on_killed(future, deaths)`` for each that ended in ``KilledWorker`` (its workers died
    ``deaths`` times).  Each future is released once handled.

    Raises
    ------
    SweepAbortedError
        The scheduler connection or every worker was lost for longer than ``limits`` allow, a
        future was cancelled (the scheduler forgot it), or a task raised an exception.
    """
    now = time.monotonic()
    watch = _Watch(client, limits, connected_at=now, workers_at=now)
    ac = as_completed(futures)
    while not ac.is_empty():
        ready = ac.next_batch(block=False)
        if not ready:
            watch.check()
            time.sleep(_IDLE_SECONDS)
            continue
        for future in ready:
            if future.status in ("lost", "pending"):
                # its worker died after it finished (or its result is being recomputed): the
                # scheduler recomputes a key the client still wants; wait for that again
                ac.add(future)
                continue
            _handle(client, future, on_result, on_killed)
            future.release()


def _handle(client: Client, future: Future, on_result: Callable[[Future, Any], None],
            on_killed: Callable[[Future, int], None]) -> None:
    status = future.status  # read once: it can change while the result is fetched
    value: Any = None
    error: BaseException | None = None
    try:
        if status == "finished":
            value = future.result()  # fetched from a worker: the cluster may go meanwhile
        elif status == "error":
            error = future.exception()
    except (CommClosedError, OSError, TimeoutError, CancelledError) as exc:
        raise SweepAbortedError(f"lost the Dask scheduler or a worker while fetching a result "
                                f"({type(exc).__name__}: {exc})") from None
    if status == "finished":
        on_result(future, value)
        return
    if status == "error":
        if isinstance(error, KilledWorker):
            on_killed(future, int(error.allowed_failures) + 1)
            return
        raise SweepAbortedError(f"task {future.key!r} failed in calib itself: "
                                f"{type(error).__name__}: {error}")
    if client.status != "running":
        raise SweepAbortedError("lost the Dask scheduler (the client's connection closed)")
    raise SweepAbortedError(f"task {future.key!r} was cancelled by the scheduler "
                            f"({status}); run the same command to resume")
