"""Run starts in a supervised child process, so that no objective can take its caller down.

`solve_isolated` hands the starts of one chunk to a child Python process (one per calling
thread, started on first use and kept for later chunks) and collects one `StartOutcome` per
start as each finishes.  The child runs `calib.run.run_start` (or `calib.batched.run_batch`)
exactly as the caller would, so a start's result is bit for bit the same as in-process; what
the child adds is containment:

- **a hard wall-clock limit**: with a per-start ``time_limit``, a start that has not reported
  ``time_limit + hard_limit_grace(time_limit)`` seconds after the previous one (an objective
  stuck in C code, ``time.sleep``, a deadlock) has its child killed (SIGKILL) and is recorded
  as ``'timeout'``;
- **crashes and exits**: an objective that calls ``os._exit``, segfaults or aborts ends only
  the child; its start is recorded as ``'failed'`` with the exit code or signal;
- **memory**: the child's address space is capped (``RLIMIT_AS``) at ``memory_limit`` bytes, so
  an objective that allocates past it gets ``MemoryError`` (a ``'failed'`` start) or dies alone.

After a death the next start runs in a fresh child.  A batch (``batch=True`` and
`calib.batched.batch_applies`) runs as one request with a hard limit of ``k * time_limit``; if
its child dies, every start of the batch reruns on its own (per-start isolation finds the
culprit).  Measured on this project's 2-core machine (OU model, 1000 points, 16 starts per
call): the caller spends 0.25 ms of CPU per start on the per-start path (0.06 ms batched) on
the pipe, about 1 % of a 20 ms start, and a child takes 0.4-1.2 s to start once per calling
thread (imports of numpy, calib and solvers).
"""

from __future__ import annotations

import atexit
import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.batched import batch_applies, run_batch
from calib.errors import ProblemError
from calib.problem import Problem
from calib.run import StartOutcome, check_x0, run_start
from calib.status import StartStatus

__all__ = ["solve_isolated", "hard_limit_grace", "IsolationError", "close_children"]

FloatArray = npt.NDArray[np.float64]

#: problems a child keeps built (by key), most recently used last
_CHILD_PROBLEMS = 16
#: seconds to wait for a dead child's exit status
_REAP_SECONDS = 5.0
#: seconds a child may take to start, or to load a problem, before its starts are timed
_STARTUP_SECONDS = 300.0


class IsolationError(RuntimeError):
    """The child process could not do what calib asked (a calib bug, not a start's failure)."""


def hard_limit_grace(time_limit: float) -> float:
    """Seconds past ``time_limit`` before a start that has not returned is killed: the soft
    limit (checked between evaluations) stops well-behaved objectives first."""
    return max(0.5, 0.1 * time_limit)


@dataclass(frozen=True)
class _Death:
    """Why a child stopped answering: ``status`` and ``message`` for the start it was on."""

    status: StartStatus
    message: str


def _death_of(proc: subprocess.Popen[bytes], memory_limit: int | None) -> _Death:
    try:
        code = proc.wait(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"the objective crashed its process ({name})"
        if memory_limit is not None and -code in (signal.SIGKILL, signal.SIGABRT):
            text += f"; memory limit per start process {memory_limit / 2**30:.3g} GiB"
    else:
        text = f"the objective ended its process (exit code {code})"
    return _Death(StartStatus.FAILED, text + "; the start ran in an isolated process")


class _Child:
    """One supervised child process and the parent's end of its pipe."""

    def __init__(self, memory_limit: int | None) -> None:
        self.memory_limit = memory_limit
        parent_end, child_end = Pipe(duplex=True)
        fd = child_end.fileno()
        argv = [sys.executable, "-m", "calib.isolation", str(fd), str(os.getpid()),
                str(memory_limit or 0)]
        self.proc = subprocess.Popen(argv, pass_fds=[fd], stdin=subprocess.DEVNULL)
        child_end.close()
        self.conn: Connection = parent_end
        self.problems: set[str] = set()

    def send(self, message: tuple[Any, ...]) -> bool:
        try:
            self.conn.send(message)
            return True
        except (OSError, ValueError):
            return False

    def receive(self, timeout: float | None) -> tuple[Any, ...] | None:
        """The next message; ``("timeout",)`` when ``timeout`` passed first (the child is then
        killed); None when the child died."""
        try:
            if not self.conn.poll(timeout):
                self.kill()
                return ("timeout",)
            message: tuple[Any, ...] = self.conn.recv()
            return message
        except (EOFError, OSError, pickle.UnpicklingError):
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        self.conn.close()
        if self.proc.poll() is None:
            try:  # the child exits on the pipe's end of file
                self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Supervisor:
    """The calling thread's child (restarted after each death) and the solve protocol."""

    def __init__(self) -> None:
        self.child: _Child | None = None

    def _ready(self, memory_limit: int | None) -> _Child:
        if self.child is not None and (self.child.proc.poll() is not None
                                       or self.child.memory_limit != memory_limit):
            self.child.close()
            self.child = None
        if self.child is None:
            self.child = _Child(memory_limit)
        return self.child

    def _dead(self, timed_out: bool, time_limit: float | None, hard: float | None) -> _Death:
        assert self.child is not None
        child, self.child = self.child, None
        death = _death_of(child.proc, child.memory_limit)
        child.close()
        if timed_out:
            return _Death(StartStatus.TIMEOUT,
                          f"time limit of {time_limit:g} s per start reached (the objective did "
                          f"not return; its isolated process was killed after {hard:g} s)")
        return death

    def request(self, key: str, problem: Problem, starts: FloatArray, first: int, *,
                time_limit: float | None, batch: bool, memory_limit: int | None,
                on_outcome: Any) -> _Death | None:
        """Solve ``starts`` in the child; ``on_outcome(outcome)`` per finished start (a batch
        reports all at the end).  Returns None when all reported, else why the child died on
        the first unreported start."""
        child = self._ready(memory_limit)
        problem_bytes = None if key in child.problems else _pickled(problem)
        message = ("solve", key, problem_bytes, starts, first, time_limit, batch, list(sys.path))
        if not child.send(message):
            return self._dead(False, time_limit, None)
        child.problems.add(key)
        per_report = None if time_limit is None else (
            time_limit * (len(starts) if batch else 1) + hard_limit_grace(time_limit))
        timing = False  # the clock starts once the child has started and loaded the problem
        while True:
            reply = child.receive(per_report if timing else _STARTUP_SECONDS)
            if reply is None or reply[0] == "timeout":
                if not timing:
                    raise IsolationError("the isolated start process did not start, or did not "
                                         f"load the problem, within {_STARTUP_SECONDS:g} s")
                return self._dead(reply is not None, time_limit, per_report)
            if reply[0] == "begin":
                timing = True
            elif reply[0] == "need_problem":
                child.problems.discard(key)
                if not child.send(("solve", key, _pickled(problem), *message[3:])):
                    return self._dead(False, time_limit, None)
                child.problems.add(key)
            elif reply[0] == "outcome":
                on_outcome(reply[1])
            elif reply[0] == "done":
                return None
            else:  # ("error", text): calib itself failed in the child
                raise IsolationError(f"isolated start process failed: {reply[1]}")

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None


def _pickled(problem: Problem) -> bytes:
    try:
        return pickle.dumps(problem, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ProblemError(
            f"the problem cannot be sent to an isolated process ({type(exc).__name__}: {exc}); "
            "make the objective a module-level function, or set [run] isolate = false") from exc


_local = threading.local()
_all_supervisors: list[_Supervisor] = []
_registry_lock = threading.Lock()


def _supervisor() -> _Supervisor:
    sup: _Supervisor | None = getattr(_local, "supervisor", None)
    if sup is None:
        sup = _local.supervisor = _Supervisor()
        with _registry_lock:
            _all_supervisors.append(sup)
    return sup


@atexit.register
def close_children() -> None:
    """Stop every child process this process started (also run at exit)."""
    with _registry_lock:
        for sup in _all_supervisors:
            sup.close()


def _lost_start(problem: Problem, x0: FloatArray, start: int, death: _Death,
                seconds: float) -> StartOutcome:
    return StartOutcome(dataset=str(problem.dataset.name), start=start, x0=x0, x=x0.copy(),
                        fun=float("nan"), success=False, status=death.status,
                        message=death.message, nit=0, nfev=0, seconds=seconds)


def solve_isolated(problem: Problem, starts: npt.ArrayLike, first: int, *, key: str,
                   time_limit: float | None = None, batch: bool = False,
                   memory_limit: int | None = None) -> list[StartOutcome]:
    """Solve every start of ``starts`` in a supervised child process; one outcome each.

    Parameters
    ----------
    problem : Problem
        The calibration problem; it must pickle (module-level objective functions).
    starts : array_like, shape (k, p)
        Start points in natural units; row ``i`` is start ``first + i``.
    first : int
        Index of the first start within its dataset.
    key : str
        Names ``problem`` for the child's cache (equal keys must mean equal problems).
    time_limit : float, optional
        Seconds per start (> 0): the soft limit of `calib.run.run_start`, plus the hard limit
        at ``time_limit + hard_limit_grace(time_limit)`` (see the module docstring).
    batch : bool
        Run through the batched core when `calib.batched.batch_applies` (as `run_batch`).
    memory_limit : int, optional
        Bytes of address space the child may map (``RLIMIT_AS``); None: no limit.

    Returns
    -------
    list of StartOutcome
        In start order, the same records an in-process run gives; a start whose process died
        or was killed has status ``'failed'`` or ``'timeout'`` with a message saying why.

    Raises
    ------
    ProblemError
        For starts of the wrong shape or outside the bounds, a non-positive ``time_limit``, or
        a problem that does not pickle.
    IsolationError
        When calib itself fails in the child (not an objective's failure).
    """
    x0 = np.array([check_x0(problem, x, first + i) for i, x in enumerate(np.asarray(starts))],
                  dtype=np.float64).reshape(-1, problem.n_parameters)
    if time_limit is not None and not time_limit > 0:
        raise ProblemError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    sup = _supervisor()
    outcomes: list[StartOutcome] = []
    if batch and batch_applies(problem) and len(x0):
        death = sup.request(key, problem, x0, first, time_limit=time_limit, batch=True,
                            memory_limit=memory_limit, on_outcome=outcomes.append)
        if death is None:
            return outcomes
        outcomes = []  # the batch died: each start alone finds the culprit
    while len(outcomes) < len(x0):
        done = len(outcomes)
        began = time.perf_counter()
        before = len(outcomes)

        def note(outcome: StartOutcome) -> None:
            nonlocal began
            outcomes.append(outcome)
            began = time.perf_counter()

        death = sup.request(key, problem, x0[done:], first + done, time_limit=time_limit,
                            batch=False, memory_limit=memory_limit, on_outcome=note)
        if death is not None:
            i = len(outcomes)
            outcomes.append(_lost_start(problem, x0[i], first + i, death,
                                        time.perf_counter() - began))
        elif len(outcomes) == before and len(x0) > done:
            raise IsolationError("isolated start process reported no outcome")
    return outcomes


# -- the child ------------------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent thread ends; exit if it already has."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


def _child_solve(conn: Connection, problems: OrderedDict[str, Problem],
                 message: tuple[Any, ...]) -> None:
    _, key, problem_bytes, starts, first, time_limit, batch, path = message
    sys.path[:] = path
    if problem_bytes is not None:
        problems[key] = pickle.loads(problem_bytes)
        while len(problems) > _CHILD_PROBLEMS:
            problems.popitem(last=False)
    problem = problems.get(key)
    if problem is None:
        conn.send(("need_problem",))
        return
    problems.move_to_end(key)
    conn.send(("begin",))  # the parent's hard limit counts from here
    if batch:
        for outcome in run_batch(problem, starts, first, time_limit=time_limit):
            conn.send(("outcome", outcome))
    else:
        for i, x0 in enumerate(starts):
            conn.send(("outcome", run_start(problem, x0, first + i, time_limit=time_limit)))
    conn.send(("done",))


def _child_main(argv: list[str]) -> None:
    fd, parent, memory_limit = int(argv[0]), int(argv[1]), int(argv[2])
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    if memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    conn = Connection(fd)
    problems: OrderedDict[str, Problem] = OrderedDict()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        try:
            _child_solve(conn, problems, message)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
