"""Starts are contained (issue 10, item 2): objectives that hang, exit their process, segfault,
exhaust memory or raise a BaseException fail only their own start, with a reason.

User objective modules are written to ``tmp_path``; the hard cases run in real child processes
(`calib.isolation`), and a whole sweep runs on the session LocalCluster.  On the code before
this item a segfault or ``os._exit`` killed the worker (the sweep aborted), a ``time.sleep`` hung
it, and ``SystemExit`` escaped `run_start`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calib.batched import run_batch
from calib.datasets import Dataset
from calib.isolation import hard_limit_grace, solve_isolated
from calib.parameters import Parameter
from calib.problem import Problem
from calib.run import run_start
from jobs.runner import run_sweep
from jobs.spec import parse_spec
from jobs.store import Store

from .conftest import write_csv, write_module

#: start a, by the interval it falls in, picks how the objective misbehaves
FAULTY = '''
import ctypes, os, time
import numpy as np

def sse(params, data):
    a, b = params
    if 4 < a < 5:
        os._exit(7)
    if 5 < a < 6:
        ctypes.string_at(0)          # segfault
    if 6 < a < 7:
        time.sleep(120)              # never returns within the limit
    if 7 < a < 8:
        raise SystemExit(3)
    if 8 < a < 9:
        raise KeyboardInterrupt("from the objective")
    if -6 < a < -5:
        np.ones(2**31)               # 16 GiB: past the memory limit
    r = data[:, 1] - (a * data[:, 0] + b)
    return float(r @ r)

def sse_batch(P, data):
    if np.any((P[:, 0] > 4) & (P[:, 0] < 5)):
        os._exit(9)                  # the whole batch's process dies
    r = data[None, :, 1] - (P[:, :1] * data[None, :, 0] + P[:, 1:])
    return np.einsum("ij,ij->i", r, r)
'''

EXPECTED = {  # start index -> (status, text the message must hold)
    1: ("failed", "ended its process (exit code 7)"),
    2: ("failed", "crashed its process (SIGSEGV)"),
    3: ("timeout", "time limit of 0.5 s per start reached"),
    4: ("failed", "SystemExit: 3"),
    5: ("failed", "KeyboardInterrupt: from the objective"),
    6: ("failed", "MemoryError"),
}
STARTS = np.array([[1.0, 1.0], [4.5, 0.0], [5.5, 0.0], [6.5, 0.0], [7.5, 0.0], [8.5, 0.0],
                   [-5.5, 0.0], [2.0, -1.0]])
GOOD = (0, 7)


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[Any]:
    write_module(tmp_path, "faulty_objective", FAULTY)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("faulty_objective")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("faulty_objective", None)


def _problem(module: Any, *, batch: bool = False) -> Problem:
    x = np.linspace(0.0, 1.0, 30)
    dataset = Dataset("line", np.column_stack([x, 3.0 * x - 2.0]), ("x", "y"))
    return Problem(objective=module.sse, parameters=(Parameter("a", -10.0, 10.0),
                                                     Parameter("b", -10.0, 10.0)),
                   dataset=dataset, trace=True,
                   objective_batch=module.sse_batch if batch else None)


def test_each_fault_fails_only_its_start_and_the_rest_match_in_process(faulty: Any) -> None:
    problem = _problem(faulty)
    outcomes = solve_isolated(problem, STARTS, 0, key="faulty", time_limit=0.5,
                              memory_limit=2**31)
    assert [o.start for o in outcomes] == list(range(len(STARTS)))
    for i, (status, text) in EXPECTED.items():
        assert outcomes[i].status == status, (i, outcomes[i].message)
        assert text in outcomes[i].message, (i, outcomes[i].message)
        assert not outcomes[i].success
    # the hung start was killed at the hard limit, not left to sleep its 120 s
    assert outcomes[3].seconds < 0.5 + hard_limit_grace(0.5) + 5.0
    for i in GOOD:  # bit for bit what an in-process run gives
        alone = run_start(problem, STARTS[i], i, time_limit=0.5)
        got = outcomes[i]
        assert got.status == "converged"
        np.testing.assert_array_equal(got.x, alone.x)
        assert (got.fun, got.nit, got.nfev, got.message) == (alone.fun, alone.nit, alone.nfev,
                                                             alone.message)
        assert got.trace is not None and alone.trace is not None
        np.testing.assert_array_equal(got.trace.f, alone.trace.f)


def test_base_exceptions_fail_their_start_in_process(faulty: Any) -> None:
    problem = _problem(faulty)
    for i in (4, 5):
        outcome = run_start(problem, STARTS[i], i)
        assert outcome.status == EXPECTED[i][0] and EXPECTED[i][1] in outcome.message


def test_a_batch_whose_process_dies_reruns_its_starts_alone(faulty: Any) -> None:
    problem = _problem(faulty, batch=True)
    starts = STARTS[[0, 1, 7]]  # start 1 kills the batch (os._exit in the vectorised call)
    outcomes = solve_isolated(problem, starts, 10, key="faulty-batch", batch=True)
    assert [o.start for o in outcomes] == [10, 11, 12]
    assert outcomes[1].status == "failed" and "exit code 7" in outcomes[1].message
    for i in (0, 2):  # per-start reruns: run_start's results
        alone = run_start(problem, starts[i], 10 + i)
        assert outcomes[i].status == "converged"
        np.testing.assert_array_equal(outcomes[i].x, alone.x)


def test_a_batch_raising_a_base_exception_falls_back_per_start(faulty: Any) -> None:
    problem = _problem(faulty, batch=True)

    def interrupting(P: np.ndarray, data: np.ndarray) -> np.ndarray:
        if np.any(P[:, 0] > 7):
            raise SystemExit(3)
        return np.asarray(faulty.sse_batch(P, data))

    problem = Problem(objective=problem.objective, parameters=problem.parameters,
                      dataset=problem.dataset, trace=True, objective_batch=interrupting)
    outcomes = run_batch(problem, STARTS[[0, 4, 7]], 0)
    assert [o.status for o in outcomes] == ["converged", "failed", "converged"]
    assert "SystemExit: 3" in outcomes[1].message


def test_a_sweep_with_faulty_starts_finishes_with_a_reason_for_each(
        tmp_path: Path, dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the user module is shipped from the working directory
    write_module(tmp_path, "faulty_sweep", FAULTY)
    x = np.linspace(0.0, 1.0, 30)
    write_csv(tmp_path / "line.csv", ["x", "y"], np.column_stack([x, 3.0 * x - 2.0]))
    spec = parse_spec({
        "sweep": {"name": "faulty"}, "model": {"objective": "faulty_sweep:sse"},
        "parameters": {"a": {"lower": -10.0, "upper": 10.0}, "b": {"lower": -10.0, "upper": 10.0}},
        "data": {"files": ["line.csv"], "columns": ["x", "y"]},
        # row 6 (the 16 GiB allocation) replaced: this cluster's memory limit is the machine's
        "starts": {"points": [[0.5, 0.5] if i == 6 else row for i, row in
                              enumerate(STARTS.tolist())]},
        "solver": {"method": "L-BFGS-B"},
        "run": {"starts_per_task": 4, "time_limit_per_start": 0.5},
    }, tmp_path)
    try:
        report = run_sweep(spec, str(tmp_path / "faulty.zarr"), dask_client)
    finally:
        sys.modules.pop("faulty_sweep", None)
    store = Store.open(tmp_path / "faulty.zarr")
    assert store.done_chunks().all()
    arrays = store.read_dataset(0)
    for i, (status, text) in EXPECTED.items():
        if i != 6:
            assert arrays.status_of(i) == status and text in str(arrays.message[i]), i
    good = [*GOOD, 6]
    assert [arrays.status_of(i) for i in good] == ["converged"] * 3
    np.testing.assert_allclose(arrays.x[good], [[3.0, -2.0]] * 3, atol=1e-4)
    assert report.starts_failed == len(EXPECTED) - 1
