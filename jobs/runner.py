"""The runner: create or resume the store, submit the unfinished tasks to Dask, gather reports.

Tasks write their own chunks (the client never writes results), so finished work survives a
killed client or worker; the client writes only the store's attributes: the spec when the store
is created and the global-minimum selection when every chunk is done.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from distributed import Client, as_completed

from calib.objectives import parse_objective_path
from calib.status import FAILURE_CODES

from .plan import SweepPlan, pending_tasks, plan_sweep
from .spec import SweepSpec
from .errors import StoreCorruptError
from .selection import selection_rows, write_selection
from .store import Store
from .task import ChunkReport, TaskInput, run_chunk

__all__ = ["SweepReport", "run_sweep", "selection_rows", "write_selection", "engine_version",
           "check_store", "plan_for_store"]


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


def _ship_user_module(client: Client, spec: SweepSpec) -> None:
    """Upload the module files of a user objective and of constraint functions from the
    working directory to every worker (each module once)."""
    paths = [spec.model.objective, spec.model.vectorized,
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


def run_sweep(spec: SweepSpec, store_path: str, client: Client, *, overwrite: bool = False,
              on_task: Callable[[ChunkReport, int, int], None] | None = None,
              plan: SweepPlan | None = None) -> SweepReport:
    """Run (or resume) the sweep ``spec`` into ``store_path`` on ``client``'s cluster.

    ``on_task(report, done, total)`` is called after each finished task (for progress bars).
    ``plan`` is ``plan_sweep(spec)`` when the caller has already made it (the CLI plans and
    checks the store before it starts a cluster), so the data are not loaded twice.
    """
    if plan is None:
        plan = plan_sweep(spec)
    elif plan.spec.hash != spec.hash:
        raise ValueError("plan was made from another spec")
    plan = plan_for_store(plan, store_path, overwrite=overwrite)
    store = prepare_store(plan, store_path, overwrite=overwrite)
    tasks = pending_tasks(plan, store.intact_done_chunks())  # a damaged chunk reruns
    total = plan.layout.n_chunks * len(plan.datasets)
    _ship_user_module(client, spec)
    where = str(store.path.absolute())  # workers do not share the client's working directory
    data = {d: client.scatter(plan.datasets[d], hash=False)
            for d in sorted({t.dataset for t in tasks})}
    # the store is part of the key: one spec run into two stores at once must run twice
    # (the scheduler would hand the second run the first one's results, never written)
    tag = hashlib.sha256(where.encode()).hexdigest()[:8]
    futures = [client.submit(run_chunk, TaskInput.of(plan, t, where), data[t.dataset],
                             key=f"{t.key}-{tag}", pure=False) for t in tasks]
    done = total - len(tasks)
    for future in as_completed(futures):
        report = future.result()
        future.release()
        done += 1
        if on_task is not None:
            on_task(report, done, total)
    if tasks or "selection" not in store.group.attrs:  # a finished store stays untouched
        store.write_selection(selection_rows(store, spec))
    status = store.read_status()
    failed = int(np.isin(status, FAILURE_CODES).sum())
    return SweepReport(store=str(store.path), tasks_run=len(tasks),
                       tasks_skipped=total - len(tasks), starts_total=int(status.size),
                       starts_failed=failed)


