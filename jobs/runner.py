"""The runner: create or resume the store, submit the unfinished tasks to Dask, gather reports.

Tasks write their own chunks, so finished work survives a killed client or worker; the client
writes the store's attributes (the spec when the store is created, the global-minimum selection
when every chunk is done) and, for a task that Dask gave up on because its workers kept dying,
that task's starts as failed with the reason (`record_lost_task`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from distributed import Client

from calib.datasets import Dataset
from calib.objectives import parse_objective_path
from calib.run import StartOutcome
from calib.status import FAILURE_CODES, StartStatus

from .collect import ClusterLimits, collect
from .plan import SweepPlan, Task, pending_tasks, plan_sweep
from .spec import SweepSpec
from .errors import StoreCorruptError
from .selection import selection_rows, write_selection
from .store import Store
from .task import ChunkReport, TaskInput, chunk_starts, run_chunk

__all__ = ["SweepReport", "run_sweep", "selection_rows", "write_selection", "engine_version",
           "check_store", "plan_for_store", "failed_chunks", "record_lost_task",
           "ClusterLimits"]


def engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("calib")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class SweepReport:
    """How a run went: tasks run now, tasks skipped (already done), starts failed overall."""

    store: str
    tasks_run: int
    tasks_skipped: int
    starts_total: int
    starts_failed: int
    tasks_lost: int = 0  # tasks recorded as failed because their workers kept dying


def _ship_user_module(client: Client, spec: SweepSpec) -> None:
    """Upload the module files of a user objective and of constraint functions from the
    working directory to every worker (each module once)."""
    paths = [spec.model.objective, spec.model.vectorized, spec.model.gradient,
             spec.model.gradient_vectorized, spec.model.residuals,
             spec.model.residuals_vectorized, spec.model.residuals_jacobian,
             *(c.function for c in spec.constraints)]
    modules = dict.fromkeys(parse_objective_path(path)[0] for path in paths if path)
    for module in modules:
        candidate = Path.cwd() / (module.replace(".", os.sep) + ".py")
        if "." not in module and candidate.is_file():
            client.upload_file(str(candidate), load=False)


def plan_for_store(plan: SweepPlan, store_path: str, *, overwrite: bool) -> SweepPlan:
    """``plan`` with the chunking of the store it resumes, when the spec leaves
    ``[run].starts_per_task`` to the planner (a new probe may pick another B; a resumed store
    keeps its own).  Otherwise ``plan`` unchanged."""
    if plan.spec.run.starts_per_task is not None or overwrite:
        return plan
    try:
        existing = Store.open(store_path, mode="r")
    except StoreCorruptError:
        return plan  # missing, or not a store: check_store says what is wrong with it
    if existing.spec_hash != plan.spec.hash:
        return plan
    return plan.with_starts_per_task(existing.layout.starts_per_task)


def prepare_store(plan: SweepPlan, store_path: str, *, overwrite: bool) -> Store:
    """Create the store for ``plan`` (or reopen it to resume); refuses another sweep's store."""
    return Store.create(store_path, plan.layout, spec=plan.spec.to_dict(),
                        spec_hash=plan.spec.hash, engine_version=engine_version(),
                        overwrite=overwrite)


def check_store(plan: SweepPlan, store_path: str, *, overwrite: bool) -> None:
    """Check, writing nothing, that ``store_path`` can take ``plan``'s sweep (new or resumed).

    Raises `StoreCorruptError` / `StoreConflictError` as `Store.check_target`.
    """
    plan = plan_for_store(plan, store_path, overwrite=overwrite)
    Store.check_target(store_path, plan.spec.hash, layout=plan.layout, overwrite=overwrite)


def _check_lease(store_path: str, token: str | None) -> None:
    if token is not None:
        from .lease import check_lease

        check_lease(store_path, token)


def run_sweep(spec: SweepSpec, store_path: str, client: Client, *, overwrite: bool = False,
              retry_failed: bool = False,
              on_task: Callable[[ChunkReport, int, int], None] | None = None,
              plan: SweepPlan | None = None,
              limits: ClusterLimits = ClusterLimits(),
              lease_token: str | None = None) -> SweepReport:
    """Run (or resume) the sweep ``spec`` into ``store_path`` on ``client``'s cluster.

    ``on_task(report, done, total)`` is called after each finished task (for progress bars).
    ``plan`` is ``plan_sweep(spec)`` when the caller has already made it (the CLI plans and
    checks the store before it starts a cluster), so the data are not loaded twice.
    ``retry_failed`` also reruns the chunks of a resumed store that hold a failed or timed-out
    start (a task whose workers kept dying included).  ``lease_token`` is the token of the
    caller's `jobs.lease.StoreLease`: every write (a task's chunk, a lost task's starts, the
    selection) first checks the lease still carries it, and a run taken over stops with
    `StoreLeaseLostError` (as the CLI's exit 3) having written nothing more.

    Each dataset reaches the workers as the result of a task holding it (not `scatter`ed), so
    the scheduler recomputes it on another worker when the one holding it dies: a lost worker
    costs only its running tasks, which Dask reruns elsewhere.  A task whose workers died
    ``allowed-failures + 1`` times (Dask's ``distributed.scheduler.allowed-failures``, 3 by
    default) runs once more alone on the cluster after the others (Dask also counts a death
    against tasks queued on the dying worker); if its workers die again it is recorded here,
    on the client, as failed starts with the message ``"worker died while running this task
    (n times)"`` (n: both rounds' deaths), its chunk marked done; the sweep goes on.

    Raises
    ------
    SweepAbortedError
        The scheduler or every worker was lost for longer than ``limits`` allow, or a task
        failed in calib itself (see `jobs.collect.collect`).
    """
    if plan is None:
        plan = plan_sweep(spec)
    elif plan.spec.hash != spec.hash:
        raise ValueError("plan was made from another spec")
    plan = plan_for_store(plan, store_path, overwrite=overwrite)
    store = prepare_store(plan, store_path, overwrite=overwrite)
    done_chunks = store.intact_done_chunks()  # a damaged chunk reruns (jobs.integrity)
    if retry_failed:
        done_chunks &= ~failed_chunks(store)
    tasks = pending_tasks(plan, done_chunks)
    total = plan.layout.n_chunks * len(plan.datasets)
    _ship_user_module(client, spec)
    where = str(store.path.absolute())  # workers do not share the client's working directory
    # the store is part of the key: one spec run into two stores at once must run twice
    # (the scheduler would hand the second run the first one's results, never written)
    tag = hashlib.sha256(where.encode()).hexdigest()[:8]
    data = {d: client.submit(_dataset_value, plan.datasets[d],
                             key=f"dataset-{plan.dataset_keys[d][:16]}-{tag}", pure=False)
            for d in sorted({t.dataset for t in tasks})}
    by_key = {f"{t.key}-{tag}": t for t in tasks}
    futures = [client.submit(run_chunk, TaskInput.of(plan, t, where, lease_token), data[t.dataset],
                             key=key, pure=False) for key, t in by_key.items()]
    progress = {"done": total - len(tasks), "lost": 0}

    def finished(report: ChunkReport) -> None:
        progress["done"] += 1
        if on_task is not None:
            on_task(report, progress["done"], total)

    suspects: list[tuple[str, int]] = []
    collect(client, futures, on_result=lambda _, report: finished(report),
            on_killed=lambda future, deaths: suspects.append((str(future.key), deaths)),
            limits=limits)
    for key, deaths in suspects:
        # alone on the cluster, so that only a culprit dies again: Dask also blames the tasks
        # that merely waited on a dying worker
        task = by_key[key]
        alone = client.submit(run_chunk, TaskInput.of(plan, task, where, lease_token), data[task.dataset],
                              key=f"{key}-alone", pure=False)

        def killed(_: Any, more: int, task: Task = task, deaths: int = deaths) -> None:
            progress["lost"] += 1
            _check_lease(store_path, lease_token)
            finished(record_lost_task(store, plan, task, deaths + more))

        collect(client, [alone], on_result=lambda _, report: finished(report),
                on_killed=killed, limits=limits)
    del data  # the datasets' futures: released once every task has its result
    if tasks or "selection" not in store.group.attrs:  # a finished store stays untouched
        _check_lease(store_path, lease_token)
        store.write_selection(selection_rows(store, spec))
    status = store.read_status()
    failed = int(np.isin(status, FAILURE_CODES).sum())
    return SweepReport(store=str(store.path), tasks_run=len(tasks),
                       tasks_skipped=total - len(tasks), starts_total=int(status.size),
                       starts_failed=failed, tasks_lost=progress["lost"])


def _dataset_value(dataset: Dataset) -> Dataset:
    """The task that holds a dataset on the cluster (recomputed, never lost, with a worker)."""
    return dataset


def failed_chunks(store: Store) -> npt.NDArray[np.bool_]:
    """(dataset, chunk): True where a chunk holds a failed or timed-out start."""
    failed = np.isin(store.read_status(), FAILURE_CODES)
    layout = store.layout
    out = np.zeros((len(layout.datasets), layout.n_chunks), dtype=bool)
    for c in range(layout.n_chunks):
        out[:, c] = failed[:, layout.chunk_slice(c)].any(axis=1)
    return out


def record_lost_task(store: Store, plan: SweepPlan, task: Task, deaths: int) -> ChunkReport:
    """Write the starts of a task that Dask gave up on (its workers died ``deaths`` times) as
    failed, with the reason, and mark its chunk done (the client writes it: no worker did)."""
    sl = plan.layout.chunk_slice(task.chunk)
    starts = chunk_starts(plan.spec, task.dataset, sl.start, sl.stop)
    name = str(plan.datasets[task.dataset].name)
    message = f"worker died while running this task ({deaths} times)"
    outcomes = [StartOutcome(dataset=name, start=sl.start + i, x0=x0, x=x0.copy(),
                             fun=float("nan"), success=False, status=StartStatus.FAILED,
                             message=message, nit=0, nfev=0, seconds=float("nan"))
                for i, x0 in enumerate(starts)]
    store.write_chunk(task.dataset, task.chunk, outcomes)
    return ChunkReport(dataset=task.dataset, chunk=task.chunk, n_starts=len(outcomes),
                       n_failed=len(outcomes), seconds=0.0)


