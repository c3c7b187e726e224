"""The function Dask ships: run the starts of one chunk and write them to the store.

A task receives one `TaskInput` (the parsed spec, its hash, which dataset and chunk, the store
layout and path) and the dataset itself (scattered once per worker).  Per worker process it
builds the `calib.Problem` of a (spec, dataset) once and opens the store once; it draws only
its own starts (start ``i`` of dataset ``d`` never depends on chunking), solves them — through
the batched solver core when the problem has a vectorised objective and ``[run].batch`` is on
(`calib.batched.batch_applies`), one at a time through `calib.run_start` otherwise, in a
supervised child process unless ``[run].isolate`` is false (`calib.isolation`) — and writes
its whole chunk, completion marker last.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from calib.datasets import Dataset
from calib.fixed import FixedLayout, UserCallables
from calib.models import get_model
from calib.objectives import load_objective
from calib.batched import batch_applies, run_batch
from calib.isolation import solve_isolated
from calib.problem import Problem
from calib.run import StartOutcome, run_start
from calib.starts import explicit_starts, starts_slice

from .spec import SweepSpec
from .spec_constraints import calib_constraints
from .spec_residuals import residual_callables
from .store import Store, StoreLayout

if TYPE_CHECKING:
    from .plan import SweepPlan, Task

__all__ = ["TaskInput", "ChunkReport", "run_chunk", "build_problem", "chunk_starts",
           "solve_starts"]

FloatArray = npt.NDArray[np.float64]

#: (spec hash, dataset key) pairs whose Problem a worker process keeps
_PROBLEM_CACHE_SIZE = 64
#: (store path, spec hash) pairs whose opened Store a worker process keeps
_STORE_CACHE_SIZE = 4


@dataclass(frozen=True)
class TaskInput:
    """Everything one task needs except the dataset's values (shipped once per worker).

    Attributes
    ----------
    spec : SweepSpec
        The parsed sweep spec (pickled as it is: never re-parsed in a task).
    spec_hash : str
        ``spec.hash``, computed once on the client (the worker caches are keyed by it).
    dataset_index : int
        Position of the dataset in the sweep (its random stream and its row in the store).
    dataset_key : str
        Fingerprint of the dataset's name and values (`dataset_fingerprint`).
    chunk : int
        The chunk (task) index within the dataset: starts ``layout.chunk_slice(chunk)``.
    layout : StoreLayout
        The store's sizes (starts per task included).
    store_path : str
        Absolute path of the store.
    lease_token : str or None
        The token of the run's store lease (`jobs.lease`): the chunk is written only while the
        lease still carries it. None: no lease check (a store written outside `calib run`).
    """

    spec: SweepSpec
    spec_hash: str
    dataset_index: int
    dataset_key: str
    chunk: int
    layout: StoreLayout
    store_path: str
    lease_token: str | None = None

    @property
    def starts(self) -> slice:
        """The start indices this task runs, within its dataset."""
        return self.layout.chunk_slice(self.chunk)

    @classmethod
    def of(cls, plan: SweepPlan, task: Task, store_path: str,
           lease_token: str | None = None) -> TaskInput:
        """The input of ``task`` of ``plan``, writing into ``store_path`` (made absolute)."""
        return cls(spec=plan.spec, spec_hash=plan.spec.hash, dataset_index=task.dataset,
                   dataset_key=plan.dataset_keys[task.dataset], chunk=task.chunk,
                   layout=plan.layout, store_path=str(Path(store_path).absolute()),
                   lease_token=lease_token)


@dataclass(frozen=True)
class ChunkReport:
    """What a finished task reports back: where it wrote and how its starts ended."""

    dataset: int
    chunk: int
    n_starts: int
    n_failed: int
    seconds: float


def build_problem(spec: SweepSpec, dataset: Dataset) -> Problem:
    """The calibration problem of one dataset under ``spec`` (its constraints included).

    Fixed parameters are left out: the problem has the free ones, and its callables insert the
    fixed values (`calib.fixed`).  A user ``gradient`` (and its vectorised twin) is loaded too.
    A residual model (user ``residuals`` or a built-in least-squares model) gives the problem
    its residuals, and a user one its objective ``sum(r**2)`` (`calib.residuals`).
    """
    fixed = spec.fixed_values
    layout = FixedLayout.of(spec.parameter_names, fixed) if fixed else None
    residuals = residual_callables(spec.model)
    if residuals is not None:
        residuals = residuals.with_fixed(layout)
    if spec.model.builtin is not None:
        model = get_model(spec.model.builtin)
        user = UserCallables(model.objective, model.objective_batch).with_fixed(layout)
    elif residuals is not None:
        user = residuals.sum_of_squares()  # already seen through the free parameters
    else:
        m = spec.model
        user = UserCallables(load_objective(m.objective),  # type: ignore[arg-type]
                             *(load_objective(path) if path else None
                               for path in (m.vectorized, m.gradient, m.gradient_vectorized)))
        user = user.with_fixed(layout)
    return Problem(objective=user.objective, parameters=spec.parameter_objects(), dataset=dataset,
                   method=spec.solver.method, options=spec.solver.options_dict(),
                   trace=spec.solver.trace, objective_batch=user.objective_batch,
                   gradient=user.gradient, gradient_batch=user.gradient_batch,
                   constraints=calib_constraints(spec.constraints, spec.parameter_names),
                   residuals=None if residuals is None else residuals.residuals,
                   residuals_batch=None if residuals is None else residuals.residuals_batch,
                   residuals_jacobian=None if residuals is None else residuals.jacobian)


def chunk_starts(spec: SweepSpec, dataset_index: int, start: int, stop: int) -> FloatArray:
    """Start points ``start..stop`` of dataset ``dataset_index``, natural units, (stop-start, p).

    Only these rows are drawn (`calib.starts.starts_slice`); they are bit for bit the rows of
    the whole start matrix.
    """
    parameters = spec.parameter_objects()
    if spec.starts.points is not None:
        return explicit_starts(parameters, np.array(spec.starts.points, dtype=float))[start:stop]
    return starts_slice(parameters, spec.starts.n, start, stop,
                        sampler=spec.starts.sampler or "sobol", seed=spec.sweep.seed,
                        dataset_index=dataset_index)


def solve_starts(problem: Problem, starts: FloatArray, first: int, *,
                 time_limit: float | None, batch: bool, isolate_as: str | None = None,
                 memory_limit: int | None = None) -> list[StartOutcome]:
    """Solve the starts ``starts`` (k, p) numbered ``first..first+k-1``; one outcome each.

    With ``batch`` and a problem the batched core can take (`calib.batched.batch_applies`), all
    starts advance together (`calib.batched.run_batch`); otherwise one at a time (`run_start`).
    With ``isolate_as`` (the problem's cache key) they run in a supervised child process
    (`calib.isolation.solve_isolated`: hard time limit, crashes and exits contained, address
    space capped at ``memory_limit`` bytes); the outcomes are the same.
    """
    if isolate_as is not None:
        return solve_isolated(problem, starts, first, key=isolate_as, time_limit=time_limit,
                              batch=batch, memory_limit=memory_limit)
    if batch and batch_applies(problem):
        return run_batch(problem, starts, first, time_limit=time_limit)
    return [run_start(problem, x0, first + i, time_limit=time_limit)
            for i, x0 in enumerate(starts)]


def run_chunk(task: TaskInput, dataset: Dataset) -> ChunkReport:
    """Run every start of one chunk and write the chunk to the store (marker last)."""
    began = time.perf_counter()
    sl = task.starts
    problem = _cached_problem(task, dataset)
    starts = chunk_starts(task.spec, task.dataset_index, sl.start, sl.stop)
    run = task.spec.run
    outcomes = solve_starts(problem, starts, sl.start, time_limit=run.time_limit_per_start,
                            batch=run.batch,
                            isolate_as=f"{task.spec_hash}:{task.dataset_key}" if run.isolate
                            else None, memory_limit=_worker_memory_limit())
    if task.lease_token is not None:
        from .lease import check_lease

        check_lease(task.store_path, task.lease_token)  # taken over meanwhile: write nothing
    _cached_store(task).write_chunk(task.dataset_index, task.chunk, outcomes)
    failed = sum(o.status.is_failure for o in outcomes)
    return ChunkReport(dataset=task.dataset_index, chunk=task.chunk, n_starts=len(outcomes),
                       n_failed=failed, seconds=time.perf_counter() - began)


def _worker_memory_limit() -> int | None:
    """The Dask worker's memory limit in bytes (None outside a worker or without a limit):
    the address-space cap of its isolated start processes."""
    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ValueError, AttributeError):
        return None
    return int(limit) if limit else None


# -- per-worker caches ---------------------------------------------------------------------------
_lock = threading.Lock()
_problems: OrderedDict[tuple[str, str], Problem] = OrderedDict()
_stores: OrderedDict[tuple[str, str, StoreLayout], Store] = OrderedDict()


def _cached_problem(task: TaskInput, dataset: Dataset) -> Problem:
    """The task's Problem, built once per worker process per (spec hash, dataset key)."""
    key = (task.spec_hash, task.dataset_key)
    with _lock:
        problem = _problems.get(key)
        if problem is not None:
            _problems.move_to_end(key)
            return problem
    problem = build_problem(task.spec, dataset)
    with _lock:
        _problems[key] = problem
        while len(_problems) > _PROBLEM_CACHE_SIZE:
            _problems.popitem(last=False)
    return problem


def _cached_store(task: TaskInput) -> Store:
    """The task's store opened for writing, once per worker process per (path, spec, layout).

    A store replaced by another sweep (``--overwrite``) has another spec hash or layout, so a
    stale handle is never used for it.
    """
    key = (task.store_path, task.spec_hash, task.layout)
    with _lock:
        store = _stores.get(key)
        if store is not None:
            _stores.move_to_end(key)
            return store
    store = Store.open(task.store_path, mode="r+")
    if store.spec_hash != task.spec_hash or store.layout != task.layout:
        raise RuntimeError(f"store {task.store_path!r} no longer holds this sweep "
                           "(replaced while the sweep ran?)")
    with _lock:
        _stores[key] = store
        while len(_stores) > _STORE_CACHE_SIZE:
            _stores.popitem(last=False)
    return store
