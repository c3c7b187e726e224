"""The task path without Dask (`jobs.task`, `jobs.plan`, `jobs.runner.plan_for_store`): one typed
task input, per-worker caches, the batched and per-start branches, chunking that never changes
results, the default starts per task, and resumes that keep a store's chunking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jobs.task
from calib.run import run_start
from jobs import plan as plan_module
from jobs.plan import auto_starts_per_task, pending_tasks, plan_sweep
from jobs.runner import check_store, plan_for_store, prepare_store
from jobs.spec import SweepSpec, parse_spec
from jobs.store import Store
from jobs.task import TaskInput, build_problem, chunk_starts, run_chunk

from .conftest import ou_sweep_tables


def spec_of(starts: int = 6, starts_per_task: int | None = 3, batch: bool = True,
            trace: bool = True) -> SweepSpec:
    tables: dict[str, Any] = ou_sweep_tables("task-ou", datasets=2, starts=starts, points=200)
    tables["run"] = {"batch": batch, "isolate": False}  # in-process: the spies see the calls
    if starts_per_task is not None:
        tables["run"]["starts_per_task"] = starts_per_task
    tables["solver"]["trace"] = trace
    return parse_spec(tables, Path.cwd())


def fill(spec: SweepSpec, path: Path) -> Store:
    """Run every task of ``spec`` in this process into a new store at ``path``."""
    plan = plan_sweep(spec)
    store = prepare_store(plan, str(path), overwrite=False)
    for task in pending_tasks(plan, store.done_chunks()):
        run_chunk(TaskInput.of(plan, task, str(path)), plan.datasets[task.dataset])
    return store


@pytest.fixture(autouse=True)
def fresh_worker_caches() -> None:
    jobs.task._problems.clear()
    jobs.task._stores.clear()


def test_a_worker_builds_each_problem_and_opens_the_store_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    opened: list[str] = []
    real_build, real_open = jobs.task.build_problem, Store.open

    def counting_build(spec: SweepSpec, dataset: Any) -> Any:
        built.append(dataset.name)
        return real_build(spec, dataset)

    def counting_open(path: Any, **kwargs: Any) -> Store:
        opened.append(str(path))
        return real_open(path, **kwargs)

    monkeypatch.setattr(jobs.task, "build_problem", counting_build)
    monkeypatch.setattr(jobs.task.Store, "open", staticmethod(counting_open))
    store = fill(spec_of(), tmp_path / "s.zarr")  # 2 datasets x 2 chunks
    assert sorted(built) == ["sim-000", "sim-001"]
    assert len(opened) == 1
    assert store.done_chunks().all()


def test_the_task_input_carries_the_parsed_spec_and_the_chunk(tmp_path: Path) -> None:
    spec = spec_of()
    plan = plan_sweep(spec)
    task = TaskInput.of(plan, plan.task(1, 1), str(tmp_path / "s.zarr"))
    assert task.spec is spec and task.spec_hash == spec.hash
    assert (task.dataset_index, task.chunk, task.starts) == (1, 1, slice(3, 6))
    assert Path(task.store_path).is_absolute() and task.layout == plan.layout
    assert task.dataset_key == plan.dataset_keys[1] != plan.dataset_keys[0]


def test_batch_false_runs_each_start_alone_bit_for_bit(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_batch(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the batched core ran with [run] batch = false")

    monkeypatch.setattr(jobs.task, "run_batch", no_batch)
    spec = spec_of(batch=False)
    store = fill(spec, tmp_path / "s.zarr")
    plan = plan_sweep(spec)
    for d, dataset in enumerate(plan.datasets):
        problem = build_problem(spec, dataset)
        arrays = store.read_dataset(d)
        for i, x0 in enumerate(chunk_starts(spec, d, 0, 6)):
            alone = run_start(problem, x0, i)
            np.testing.assert_array_equal(arrays.x[i], alone.x)
            assert arrays.fun[i] == alone.fun and arrays.nfev[i] == alone.nfev


def test_a_vectorised_objective_runs_batched_by_default(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = jobs.task.run_batch

    def spy(problem: Any, starts: np.ndarray, first: int, **kwargs: Any) -> Any:
        calls.append(len(starts))
        return real(problem, starts, first, **kwargs)

    monkeypatch.setattr(jobs.task, "run_batch", spy)
    store = fill(spec_of(), tmp_path / "s.zarr")
    assert calls == [3, 3, 3, 3]  # one batched call per task, its whole chunk
    assert store.read_dataset(0).converged.all()


def test_results_do_not_depend_on_the_chunking(tmp_path: Path) -> None:
    coarse = fill(spec_of(starts_per_task=6), tmp_path / "coarse.zarr")
    fine = fill(spec_of(starts_per_task=2), tmp_path / "fine.zarr")
    for d in range(2):
        a, b = coarse.read_dataset(d), fine.read_dataset(d)
        np.testing.assert_array_equal(a.x0, b.x0)  # the same starts, bit for bit
        np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
        np.testing.assert_allclose(a.fun, b.fun, rtol=1e-10)
        np.testing.assert_array_equal(a.status, b.status)


# -- the default starts per task ---------------------------------------------------------------
def test_default_starts_per_task_fills_about_a_second() -> None:
    # 10 ms a start: 100 starts make a 1 s task
    assert auto_starts_per_task(0.01, n_starts=10_000, n_datasets=4, trace_length=0,
                                n_parameters=3) == 100
    # a start slower than the target: one start a task
    assert auto_starts_per_task(5.0, n_starts=64, n_datasets=1, trace_length=0,
                                n_parameters=3) == 1


def test_default_starts_per_task_keeps_enough_tasks_and_small_chunks() -> None:
    cheap = 1e-6  # a million starts a second would fit one task
    # 10 ms starts, 4 x 64 of them: at least MIN_TASKS (16) tasks, so B = 256 / 16 (160 ms
    # tasks); batched: at least 4 tasks, B = 64
    assert auto_starts_per_task(0.01, n_starts=64, n_datasets=4, trace_length=0,
                                n_parameters=3) == 16
    assert auto_starts_per_task(0.01, n_starts=64, n_datasets=4, trace_length=0,
                                n_parameters=3, batched=True) == 64
    # 0.1 ms starts: 16 tasks would be 1.6 ms of work each; tasks of >= 0.1 s instead
    assert auto_starts_per_task(1e-4, n_starts=2000, n_datasets=1, trace_length=0,
                                n_parameters=3) == 1000
    # never more than the starts of a dataset
    assert auto_starts_per_task(cheap, n_starts=5, n_datasets=100, trace_length=0,
                                n_parameters=3) == 5
    # traces of 1001 rows x 10 parameters: a trace_x chunk of at most 32 MiB
    per_task = auto_starts_per_task(cheap, n_starts=100_000, n_datasets=10,
                                    trace_length=1001, n_parameters=10)
    assert per_task * 256 * 10 * 8 <= plan_module.MAX_CHUNK_BYTES < (per_task + 1) * 256 * 80
    # an objective the probe could not time
    assert auto_starts_per_task(None, n_starts=1000, n_datasets=4, trace_length=0,
                                n_parameters=3) == plan_module.FALLBACK_STARTS_PER_TASK


def test_the_planner_probes_when_starts_per_task_is_not_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "_probe_start_seconds", lambda spec, dataset: (0.25, False))
    plan = plan_sweep(spec_of(starts=64, starts_per_task=None))
    assert plan.layout.starts_per_task == 4  # 1 s / 0.25 s
    assert plan_sweep(spec_of(starts=64, starts_per_task=7)).layout.starts_per_task == 7


def test_a_resumed_store_keeps_its_chunking(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.zarr"
    spec = spec_of(starts=64, starts_per_task=None)
    monkeypatch.setattr(plan_module, "_probe_start_seconds", lambda spec, dataset: (0.25, False))
    first = plan_sweep(spec)
    prepare_store(first, str(path), overwrite=False)
    monkeypatch.setattr(plan_module, "_probe_start_seconds", lambda spec, dataset: (0.5, False))
    second = plan_sweep(spec)
    assert (first.layout.starts_per_task, second.layout.starts_per_task) == (4, 2)
    check_store(second, str(path), overwrite=False)  # no "other data" conflict
    assert plan_for_store(second, str(path), overwrite=False).layout == first.layout
    # with --overwrite the new plan's chunking is used
    assert plan_for_store(second, str(path), overwrite=True).layout == second.layout


def test_batch_false_is_part_of_the_spec_hash() -> None:
    on, off = spec_of(), spec_of(batch=False)
    assert "batch" not in on.to_dict()["run"] and off.to_dict()["run"]["batch"] is False
    assert on.hash != off.hash
    assert SweepSpec.from_dict(off.to_dict()).run.batch is False


def test_the_probe_says_whether_the_starts_run_batched() -> None:
    dataset = plan_sweep(spec_of()).datasets[0]
    seconds, batched = plan_module._probe_start_seconds(spec_of(), dataset)
    assert batched and seconds is not None and seconds > 0
    alone, batched = plan_module._probe_start_seconds(spec_of(batch=False), dataset)
    assert batched is False and alone is not None and alone > 0  # one start solved and timed
