"""Each built-in model recovers its true parameters from simulated data through a sweep
(issue 3, "Done when" 1): `run_sweep` on the session `LocalCluster` for every model, and the
real ``calib run`` + ``calib best --json`` processes for one of them.

Truths, series lengths and tolerances are those of ``tests/calib/test_models.py`` (about 4
standard deviations of each estimator, measured with scipy over 30-100 simulated datasets), so a
failure means the sweep machinery lost or mixed up results, not bad luck.  Starts are drawn over
the models' default (wide) bounds with L-BFGS-B; the selection must also reach an objective no
worse than the objective at the truth, which checks the optimisation itself, independent of the
statistical tolerance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calib.models import get_model
from jobs.plan import plan_sweep
from jobs.runner import run_sweep, selection_rows
from jobs.spec import SweepSpec, parse_spec
from jobs.store import STATUS_CODES, Store

from .conftest import calib_cli, write_spec

METHOD = "L-BFGS-B"
N_STARTS = 8


@dataclass(frozen=True)
class Case:
    """A model, its true parameters, series length and absolute tolerance per parameter."""

    model: str
    truth: dict[str, float]
    points: int
    tolerance: dict[str, float]


CASES = {c.model: c for c in (
    Case("linear", {"a": 2.0, "b": 1.0}, 200, {"a": 0.1, "b": 0.6}),
    Case("normal", {"mu": 1.0, "sigma": 2.0}, 1000, {"mu": 0.25, "sigma": 0.2}),
    Case("sinusoid", {"a": 2.0, "b": 0.5, "c": 1.0}, 200, {"a": 0.22, "b": 0.045, "c": 0.3}),
    Case("ou", {"theta": 1.0, "mu": 0.5, "sigma": 0.3}, 5000,
         {"theta": 0.3, "mu": 0.06, "sigma": 0.015}),
    Case("garch11", {"omega": 0.05, "alpha": 0.1, "beta": 0.85}, 5000,
         {"omega": 0.04, "alpha": 0.045, "beta": 0.07}),
)}


def tables(case: Case) -> dict[str, dict[str, Any]]:
    return {
        "sweep": {"name": f"recover-{case.model}", "seed": 2024},
        "model": {"builtin": case.model},
        "data": {"simulate": {"datasets": 1, "points": case.points, "truth": case.truth}},
        "starts": {"n": N_STARTS, "sampler": "sobol"},
        "solver": {"method": METHOD},
        "run": {"starts_per_task": 4},
    }


def objective_at_truth(spec: SweepSpec, case: Case) -> float:
    """The model's objective at the true parameters on the sweep's (simulated) dataset."""
    data = plan_sweep(spec).datasets[0].values
    truth = np.array([case.truth[p] for p in spec.parameter_names])
    return float(get_model(case.model).objective(truth, data))


def assert_recovered(case: Case, row: dict[str, Any], truth_fun: float) -> None:
    assert row["success"] is True and row["start"] is not None, row
    params = row["params"]
    assert list(params) == list(case.truth)
    errors = {name: abs(params[name] - value) for name, value in case.truth.items()}
    assert all(errors[n] <= case.tolerance[n] for n in errors), (params, case.truth, errors)
    # the sweep found the minimum: no worse than the truth itself (up to rounding)
    assert row["fun"] <= truth_fun + 1e-9 * max(1.0, abs(truth_fun)), (row["fun"], truth_fun)
    assert row["hits"] >= 1 and row["n_minima"] == 1  # one optimum: premature stops are no minima


@pytest.mark.parametrize("name", list(CASES))
def test_sweep_recovers_truth(name: str, tmp_path: Path, dask_client: Any) -> None:
    case = CASES[name]
    spec = parse_spec(tables(case), tmp_path)
    assert spec.solver.method == METHOD
    report = run_sweep(spec, str(tmp_path / "s.zarr"), dask_client)
    assert (report.tasks_run, report.tasks_skipped) == (2, 0)
    assert report.starts_total == N_STARTS
    store = Store.open(tmp_path / "s.zarr")
    assert store.done_chunks().all()
    status = store.read_dataset(0).status
    assert not np.any(status == STATUS_CODES["pending"])
    assert np.sum(status == STATUS_CODES["converged"]) >= N_STARTS // 2, status
    rows = selection_rows(store)
    assert len(rows) == 1 and rows[0]["dataset"] == "sim-000"
    assert_recovered(case, rows[0], objective_at_truth(spec, case))
    # the selection the runner stored when the sweep finished is the same one
    stored = store.group.attrs["selection"][0]
    assert stored["start"] == rows[0]["start"] and stored["params"] == rows[0]["params"]


def test_calib_run_recovers_truth(tmp_path: Path) -> None:
    """The real command line: ``calib run`` on a spec file, then ``calib best --json``."""
    case = CASES["garch11"]
    spec_path = write_spec(tmp_path, tables(case))
    ran = calib_cli(["run", spec_path.name, "--workers", "1"], tmp_path, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "store: recover-garch11.zarr (2 tasks run, 0 already done)" in ran.stdout
    best = calib_cli(["best", "recover-garch11.zarr", "--json"], tmp_path)
    assert best.returncode == 0, best.stderr
    rows = json.loads(best.stdout)
    assert [r["dataset"] for r in rows] == ["sim-000"]
    assert set(rows[0]) == {"dataset", "fun", "params", "start", "n_minima", "hits", "success",
                            "n_premature", "n_converged", "at_bound", "warnings", "minima"}
    assert rows[0]["n_minima"] == 1 and rows[0]["n_premature"] + rows[0]["hits"] <= \
        rows[0]["n_converged"]
    spec = parse_spec(tables(case), tmp_path)
    assert_recovered(case, rows[0], objective_at_truth(spec, case))
