"""The planner: a validated spec becomes datasets, a store layout and tasks (dataset × chunk).

`plan_sweep` loads every dataset on the client, so that a bad file, column or cell is reported
before anything runs or anything is written; the tasks themselves are plain data (a dataset
index and a chunk index) with deterministic keys, so a resumed or retried sweep computes the
same things under the same names.

**Starts per task.**  When ``[run].starts_per_task`` is not given, `auto_starts_per_task` picks
``B`` from a probe of a start's cost on the first dataset: on the per-start path the first
start is solved and timed (when one evaluation suggests it takes under
``_PROBE_START_LIMIT``; else a start is assumed to cost ``EVALS_PER_START_PER_PARAMETER *
(p + 1)`` timed evaluations), on the batched path that many rows of one vectorised call.
``B`` is the number of starts that fill ``TARGET_TASK_SECONDS`` (about 1 s: Dask's ~5 ms of
CPU per task stays below 1 %), lowered so that the sweep has at least ``MIN_TASKS`` tasks
(``MIN_BATCHED_TASKS`` when batched, as batches gain from size) but not below what fills
``MIN_TASK_SECONDS`` (cheap starts: fewer tasks, as a task's fixed cost would dominate), then
lowered so that a task's trace chunk stays under ``MAX_CHUNK_BYTES``, and clipped to
``1..[starts].n``.
The probe runs in a forked child of the client, given up on after `PROBE_TIMEOUT` seconds: an
objective that hangs, exits or crashes there leaves the cost unknown and the client unharmed. A resumed sweep keeps the ``B`` of its store (the runner reads it), so a different probe
never splits a store's chunks differently.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from calib.datasets import Dataset, load_datasets, simulate_datasets
from calib.models import get_model
from calib.errors import ObjectiveImportError
from calib.objectives import load_objective
from calib.parameters import Parameter

from .errors import SpecError
from .modelling import check_gradients
from .sizing import check_sweep_size
from .spec import SweepSpec
from .store import ITER_CHUNK, StoreLayout

__all__ = ["Task", "SweepPlan", "plan_sweep", "pending_tasks", "DEFAULT_TRACE_LENGTH",
           "MAX_TRACE_LENGTH", "auto_starts_per_task", "dataset_fingerprint"]

#: trace rows stored per start when the solver options give no ``maxiter``
DEFAULT_TRACE_LENGTH = 1001
#: never store more trace rows than this per start (longer traces keep their first rows)
MAX_TRACE_LENGTH = 10_001

#: compute time one task should take when ``[run].starts_per_task`` is not given (s)
TARGET_TASK_SECONDS = 1.0
#: evaluations a start is assumed to need, per parameter + 1
EVALS_PER_START_PER_PARAMETER = 25
#: the planner keeps at least this many tasks in a sweep (when it has that many starts)...
MIN_TASKS = 16
#: ...unless that would give tasks of less compute than this (s): ~15 ms of fixed cost per
#: task (its writes, Dask) then stays under ~15 %
MIN_TASK_SECONDS = 0.1
#: the same for batched starts, which gain from large batches (measured on 2 workers: GARCH
#: 4 x 64 starts ran 1.6x faster as 4 tasks of 64 than as 16 tasks of 16)
MIN_BATCHED_TASKS = 4
#: largest trace chunk (``trace_x``: B x min(T, 256) x p float64) a chosen B may give (bytes)
MAX_CHUNK_BYTES = 32 * 2**20
#: starts per task when the probe cannot time the objective (it raised or gave no number)
FALLBACK_STARTS_PER_TASK = 16
#: time spent timing the objective, at most (s), and evaluations at most
_PROBE_SECONDS = 0.02
_PROBE_EVALS = 50
_PROBE_ROWS = 64
#: the first start is solved to time it only when it should take less than this (s)
_PROBE_START_LIMIT = 0.2
#: seconds the client waits for the probe before it plans with the cost unknown
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Task:
    """One unit of Dask work: the starts of one chunk of one dataset."""

    key: str
    dataset: int
    chunk: int


@dataclass(frozen=True)
class SweepPlan:
    """A spec resolved against its data: the datasets, parameters and store layout."""

    spec: SweepSpec
    datasets: tuple[Dataset, ...]
    parameters: tuple[Parameter, ...]
    layout: StoreLayout

    dataset_keys: tuple[str, ...] = ()

    def task(self, dataset: int, chunk: int) -> Task:
        key = f"calib-{self.spec.sweep.name}-{self.spec.hash[:12]}-d{dataset}-c{chunk}"
        return Task(key=key, dataset=dataset, chunk=chunk)

    def with_starts_per_task(self, starts_per_task: int) -> SweepPlan:
        """This plan with another chunking (a resumed store's), everything else the same."""
        return replace(self, layout=replace(self.layout, starts_per_task=starts_per_task))


def dataset_fingerprint(dataset: Dataset) -> str:
    """A digest of a dataset's name, columns and values (the worker's Problem cache key)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((dataset.name, tuple(dataset.columns), dataset.values.shape)).encode())
    digest.update(dataset.values.tobytes())
    return digest.hexdigest()


def load_sweep_datasets(spec: SweepSpec) -> tuple[Dataset, ...]:
    """The spec's datasets: loaded from its files, or simulated from the built-in model."""
    sim = spec.data.simulate
    if sim is not None:
        model = get_model(spec.model.builtin)  # type: ignore[arg-type]
        return tuple(simulate_datasets(model, dict(sim.truth), sim.datasets, sim.points,
                                       spec.sweep.seed))
    patterns = spec.data.file_patterns()
    files: Any = patterns[0] if isinstance(spec.data.files, str) else list(patterns)
    return tuple(load_datasets(files, spec.data.columns))


def _trace_length(spec: SweepSpec) -> int:
    if not spec.solver.trace:
        return 0
    options = spec.solver.options_dict()
    maxiter = options.get("maxiter")
    if isinstance(maxiter, int) and not isinstance(maxiter, bool) and maxiter > 0:
        return min(maxiter + 1, MAX_TRACE_LENGTH)
    return DEFAULT_TRACE_LENGTH


def check_objective(spec: SweepSpec) -> None:
    """Import a user objective (its vectorised twin, its constraint functions) now, so a bad
    path fails up front."""
    if spec.model.objective is not None:
        _import_user_callable(spec.model.objective)
    if spec.model.vectorized is not None:
        _import_user_callable(spec.model.vectorized)
    for path in (spec.model.residuals, spec.model.residuals_vectorized,
                 spec.model.residuals_jacobian):
        if path is not None:
            _import_user_callable(path)
    for constraint in spec.constraints:
        if constraint.function is not None:
            _import_user_callable(constraint.function)


def _import_user_callable(path: str) -> None:
    """`load_objective`, with a module that calls ``sys.exit`` or raises
    ``KeyboardInterrupt`` (or any other `BaseException`) at import refused as bad input."""
    try:
        load_objective(path)
    except (SystemExit, KeyboardInterrupt, GeneratorExit) as exc:
        raise ObjectiveImportError(
            f"objective {path!r}: importing its module raised {type(exc).__name__}"
            f"({exc!s}); a module a sweep imports must not exit or interrupt at import") \
            from None


def _check_default_bounds(spec: SweepSpec, parameters: tuple[Parameter, ...],
                          datasets: tuple[Dataset, ...]) -> None:
    """SpecError when a built-in model's default bounds do not fit a dataset's scale."""
    if spec.model.builtin is None or spec.data.simulate is not None:
        return
    from calib.models.pilot import default_bounds_problem

    problem = default_bounds_problem(get_model(spec.model.builtin), parameters,
                                     [(d.name, d.values) for d in datasets])
    if problem is not None:
        raise SpecError(f"[parameters].{problem[0]}", problem[1])


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    """Resolve ``spec`` into datasets, parameters and a store layout.

    Raises
    ------
    calib.errors.CalibError
        (`DatasetError`, `ObjectiveImportError`, `SpecError`) for bad data, objectives or
        parameters, before anything is written.
    """
    parameters = spec.parameter_objects()
    check_objective(spec)
    datasets = load_sweep_datasets(spec)
    if not datasets:
        raise SpecError("[data]", "yields no datasets")
    check_gradients(spec, datasets[0])
    _check_default_bounds(spec, parameters, datasets)
    n_starts = spec.starts.n
    trace_length = _trace_length(spec)
    check_sweep_size(n_datasets=len(datasets), n_starts=n_starts,
                     n_parameters=len(parameters), trace_length=trace_length)
    per_task = spec.run.starts_per_task
    if per_task is None:
        start_seconds, batched = _guarded_probe(spec, datasets[0])
        per_task = auto_starts_per_task(start_seconds, n_starts=n_starts,
                                        n_datasets=len(datasets), trace_length=trace_length,
                                        n_parameters=len(parameters), batched=batched)
    layout = StoreLayout(
        datasets=tuple(d.name for d in datasets),
        parameters=tuple(p.name for p in parameters),
        n_starts=n_starts,
        starts_per_task=min(per_task, n_starts),
        trace_length=trace_length,
    )
    return SweepPlan(spec=spec, datasets=datasets, parameters=parameters, layout=layout,
                     dataset_keys=tuple(dataset_fingerprint(d) for d in datasets))


def auto_starts_per_task(start_seconds: float | None, *, n_starts: int, n_datasets: int,
                         trace_length: int, n_parameters: int, batched: bool = False) -> int:
    """The default starts per task (the rule in the module docstring).

    ``start_seconds`` is the estimated compute time of one start (None: unknown, then
    `FALLBACK_STARTS_PER_TASK`); ``batched``: the starts run through the batched core (then
    at least `MIN_BATCHED_TASKS` tasks instead of `MIN_TASKS`). The result is in
    ``1..n_starts``.
    """
    if start_seconds is None or not start_seconds > 0 or not math.isfinite(start_seconds):
        per_task = FALLBACK_STARTS_PER_TASK
    else:
        min_tasks = MIN_BATCHED_TASKS if batched else MIN_TASKS
        spread = max(math.ceil(n_starts * n_datasets / min_tasks),
                     math.ceil(MIN_TASK_SECONDS / start_seconds))
        per_task = min(math.ceil(TARGET_TASK_SECONDS / start_seconds), spread)
    if trace_length:
        row_bytes = min(trace_length, ITER_CHUNK) * n_parameters * 8
        per_task = min(per_task, MAX_CHUNK_BYTES // row_bytes)
    return max(1, min(per_task, n_starts))


def _guarded_probe(spec: SweepSpec, dataset: Dataset) -> tuple[float | None, bool]:
    """`_probe_start_seconds` in a forked child process, given up on after ``PROBE_TIMEOUT``
    seconds (or the per-start time limit, if smaller): an objective that never returns, exits
    its process, crashes or exhausts memory must not hang or kill the client before the sweep
    starts. A probe that gives no answer means "cost unknown" (the sweep's own starts then run
    contained on the workers). A fork re-imports nothing (safe in a script without a
    ``__main__`` guard) and costs milliseconds; where there is no fork, a daemon thread with the
    same time-out guards against hangs only."""
    limit = spec.run.time_limit_per_start
    timeout = PROBE_TIMEOUT if limit is None else min(PROBE_TIMEOUT, limit)
    unknown = (None, bool(spec.run.batch))
    if not hasattr(os, "fork"):
        return _threaded_probe(spec, dataset, timeout) or unknown
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: probe, answer, leave without any cleanup of the parent's state
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(_probe_start_seconds(spec, dataset)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    answer = _read_until(read_end, time.monotonic() + timeout)
    os.close(read_end)
    try:
        os.kill(pid, signal.SIGKILL)  # done or not: it has nothing more to say
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    try:
        seconds, batched = json.loads(answer)
        return (None if seconds is None else float(seconds)), bool(batched)
    except (ValueError, TypeError):
        return unknown


def _read_until(fd: int, deadline: float) -> bytes:
    """Everything written to ``fd`` until its writer closes it or ``deadline`` passes."""
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def _threaded_probe(spec: SweepSpec, dataset: Dataset,
                    timeout: float) -> tuple[float | None, bool] | None:
    import threading

    found: list[tuple[float | None, bool]] = []
    probe = threading.Thread(target=lambda: found.append(_probe_start_seconds(spec, dataset)),
                             name="calib-probe", daemon=True)
    probe.start()
    probe.join(timeout)
    return found[0] if found else None


def _probe_start_seconds(spec: SweepSpec, dataset: Dataset) -> tuple[float | None, bool]:
    """(estimated seconds of compute per start or None, whether the starts run batched): the
    objective (or its vectorised twin) timed at the first starts."""
    from calib.batched import batch_applies
    from calib.run import run_start

    from .task import build_problem, chunk_starts

    batched = False
    try:
        problem = build_problem(spec, dataset)
        batched = spec.run.batch and batch_applies(problem)
        starts = chunk_starts(spec, 0, 0, min(spec.starts.n, _PROBE_ROWS))
        evals = EVALS_PER_START_PER_PARAMETER * (problem.n_parameters + 1)
        values = dataset.values
        batch = problem.objective_batch
        if batched and batch is not None:
            per_call = _time_calls(lambda: batch(starts, values))
            return None if per_call is None else per_call / len(starts) * evals, True
        objective, x = problem.objective, starts[0]
        per_call = _time_calls(lambda: objective(x, values))
        if per_call is None:
            return None, batched
        if per_call * evals < _PROBE_START_LIMIT:
            return run_start(problem, x, 0).seconds, batched  # the real thing, solver included
        return per_call * evals, batched
    except Exception:  # noqa: BLE001 - a failing probe only means "cost unknown"
        return None, batched


def _time_calls(call: Callable[[], object]) -> float | None:
    """Fastest of up to `_PROBE_EVALS` timed calls (stopping after `_PROBE_SECONDS`)."""
    best = math.inf
    stop = time.perf_counter() + _PROBE_SECONDS
    for _ in range(_PROBE_EVALS):
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
        if began > stop:
            break
    return best if math.isfinite(best) else None


def pending_tasks(plan: SweepPlan, done: np.ndarray) -> list[Task]:
    """The tasks whose chunk is not marked done, dataset-major (``done``: (dataset, chunk))."""
    return [plan.task(d, c) for d in range(len(plan.datasets))
            for c in range(plan.layout.n_chunks) if not done[d, c]]
