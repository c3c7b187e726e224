"""Fixed parameters, user gradients and the no-convergence exit, through `calib run` on the
session's LocalCluster (`--scheduler`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import minimize as scipy_minimize

from jobs.cli import main
from jobs.store import Store
from tests.jobs.conftest import forget_module, write_csv, write_module, write_spec

DECAY_MODULE = '''
import numpy as np

def sse(params, data):
    a, b, c = params
    r = a * np.exp(-b * data[:, 0]) + c - data[:, 1]
    return float(r @ r)

def sse_batch(params, data):
    a, b, c = params[:, 0:1], params[:, 1:2], params[:, 2:3]
    r = a * np.exp(-b * data[:, 0]) + c - data[:, 1]
    return np.einsum("ij,ij->i", r, r)

def grad(params, data):
    a, b, c = params
    e = np.exp(-b * data[:, 0])
    r = a * e + c - data[:, 1]
    return np.array([2 * r @ e, 2 * r @ (-a * data[:, 0] * e), 2 * r.sum()])

def grad_batch(params, data):
    return np.array([grad(p, data) for p in params])

def short_grad(params, data):
    return np.zeros(2)
'''

X = np.linspace(0.0, 4.0, 60)
Y = 2.5 * np.exp(-1.3 * X) + 0.4 + 0.02 * np.sin(5.0 * X)
DATA = np.column_stack([X, Y])


def _sse(params: np.ndarray) -> float:
    a, b, c = params
    r = a * np.exp(-b * X) + c - Y
    return float(r @ r)


def _tables(module: str, name: str, *, fixed: bool = False, gradient: bool = False,
            method: str = "L-BFGS-B", batch: bool = True,
            options: dict[str, Any] | None = None) -> dict[str, Any]:
    model: dict[str, Any] = {"objective": f"{module}:sse", "vectorized": f"{module}:sse_batch",
                             "kind": "sse"}
    if gradient:
        model.update(gradient=f"{module}:grad", gradient_vectorized=f"{module}:grad_batch")
    c = {"lower": -2.0, "upper": 2.0, **({"fixed": 0.5} if fixed else {})}
    return {
        "sweep": {"name": name, "seed": 4},
        "model": model,
        "parameters": {"a": {"lower": 0.1, "upper": 10.0},
                       "b": {"lower": 0.05, "upper": 10.0, "log": True}, "c": c},
        "data": {"files": "decay.csv", "columns": ["x", "y"]},
        "starts": {"n": 6, "sampler": "sobol"},
        "solver": {"method": method, "options": options or {}},
        "run": {"starts_per_task": 3, "batch": batch},
    }


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
            ) -> Any:
    """A working directory with the decay data and a user module named after the test."""
    module = "h12_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    write_module(tmp_path, module, DECAY_MODULE)
    write_csv(tmp_path / "decay.csv", ["x", "y"], DATA)
    monkeypatch.chdir(tmp_path)
    yield tmp_path, module
    forget_module(module)


def _cli(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _run(root: Path, tables: dict[str, Any], address: str, name: str) -> Any:
    spec = write_spec(root, tables, f"{name}.toml")
    return _cli(["run", str(spec), "--scheduler", address, "--store", f"{name}.zarr"])


def _address(client: Any) -> str:
    return str(client.scheduler.address)


def test_fixed_parameter_is_held_recorded_and_reported(workdir: Any, dask_client: Any) -> None:
    root, module = workdir
    result = _run(root, _tables(module, "fixed", fixed=True), _address(dask_client), "fixed")
    assert result.exit_code == 0, result.output
    store = Store.open(root / "fixed.zarr")
    # the store's parameter axis holds the free parameters; the spec it keeps holds the value
    assert store.layout.parameters == ("a", "b")
    assert store.read_final_points()[0].shape == (1, 6, 2)
    assert store.sweep_spec.fixed_values == {"c": 0.5}
    oracle = scipy_minimize(lambda ab: _sse(np.array([ab[0], ab[1], 0.5])), [2.0, 1.0],
                            method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    row = json.loads(_cli(["best", "fixed.zarr", "--json", "--errors"]).stdout)[0]
    assert list(row["params"]) == ["a", "b", "c"] and row["params"]["c"] == 0.5
    assert row["fixed"] == ["c"]
    np.testing.assert_allclose([row["params"]["a"], row["params"]["b"]], oracle.x, rtol=1e-4)
    assert row["fun"] == pytest.approx(oracle.fun, rel=1e-6)
    assert row["std_errors"]["c"] is None and row["std_errors"]["a"] > 0
    assert np.array(row["correlation"]).shape == (2, 2)
    table = _cli(["best", "fixed.zarr"]).stdout
    assert "c (fixed)" in table.splitlines()[0] and "0.5" in table.splitlines()[2]
    csv_lines = _cli(["best", "fixed.zarr", "--csv"]).stdout.splitlines()
    assert csv_lines[0].split(",")[2:5] == ["a", "b", "c"] and csv_lines[0].endswith(",fixed")
    assert csv_lines[1].endswith(",c")
    # the free fit moves c away from 0.5 and reaches a lower value
    free = _run(root, _tables(module, "free"), _address(dask_client), "free")
    assert free.exit_code == 0, free.output
    free_row = json.loads(_cli(["best", "free.zarr", "--json"]).stdout)[0]
    assert "fixed" not in free_row and abs(free_row["params"]["c"] - 0.5) > 0.05
    assert free_row["fun"] < row["fun"]


@pytest.mark.parametrize("batch", [True, False], ids=["batched", "per_start"])
def test_analytic_gradient_gives_the_same_minimum_with_fewer_evaluations(
        workdir: Any, dask_client: Any, batch: bool) -> None:
    root, module = workdir
    results = {}
    for gradient in (False, True):
        name = f"grad{int(gradient)}"
        run = _run(root, _tables(module, name, gradient=gradient, batch=batch),
                   _address(dask_client), name)
        assert run.exit_code == 0, run.output
        store = Store.open(root / f"{name}.zarr")
        results[gradient] = (json.loads(_cli(["best", f"{name}.zarr", "--json"]).stdout)[0],
                             store.read_dataset(0).nfev)
    (fd_row, fd_nfev), (an_row, an_nfev) = results[False], results[True]
    assert an_row["fun"] == pytest.approx(fd_row["fun"], rel=1e-7)
    np.testing.assert_allclose(list(an_row["params"].values()), list(fd_row["params"].values()),
                               rtol=1e-4)
    # finite differences cost 1 + p evaluations per gradient; the analytic gradient none
    assert an_nfev.sum() * 2 < fd_nfev.sum()


def test_gradient_drives_a_method_that_requires_jac(workdir: Any, dask_client: Any) -> None:
    root, module = workdir
    tables = _tables(module, "ncg", gradient=True, fixed=True, method="trust-ncg")
    run = _run(root, tables, _address(dask_client), "ncg")
    assert run.exit_code == 0, run.output
    reference = _run(root, _tables(module, "ref", fixed=True), _address(dask_client), "ref")
    assert reference.exit_code == 0, reference.output
    row = json.loads(_cli(["best", "ncg.zarr", "--json"]).stdout)[0]
    ref = json.loads(_cli(["best", "ref.zarr", "--json"]).stdout)[0]
    assert row["fun"] == pytest.approx(ref["fun"], rel=1e-7) and row["params"]["c"] == 0.5
    assert Store.open(root / "ncg.zarr").read_status().size == 6


def test_a_gradient_of_the_wrong_shape_is_refused_before_the_sweep(workdir: Any,
                                                                   dask_client: Any) -> None:
    root, module = workdir
    tables = _tables(module, "short")
    tables["model"]["gradient"] = f"{module}:short_grad"
    result = _run(root, tables, _address(dask_client), "short")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "calib: error: [model].gradient must return shape (3,) (one derivative per "
        "parameter), got (2,)"]
    assert not (root / "short.zarr").exists()


def test_a_fixed_value_outside_its_bounds_exits_2_with_one_line(workdir: Any,
                                                                dask_client: Any) -> None:
    root, module = workdir
    tables = _tables(module, "outside")
    tables["parameters"]["c"]["fixed"] = 3.0
    result = _run(root, tables, _address(dask_client), "outside")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "calib: error: [parameters].c.fixed must lie within the bounds [-2.0, 2.0], got 3.0"]


def test_no_start_converged_exits_1_and_best_says_what_happened(workdir: Any,
                                                                dask_client: Any) -> None:
    root, module = workdir
    tables = _tables(module, "stuck", options={"maxiter": 1})
    result = _run(root, tables, _address(dask_client), "stuck")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "no start converged in any dataset: 6 not converged, 0 failed "
        "(see `calib best stuck.zarr`)")
    best = _cli(["best", "stuck.zarr", "--json"])
    row = json.loads(best.stdout)[0]
    assert row["params"] is None and row["n_minima"] == 0
    assert row["warnings"] == ["no start converged: 6 not converged (most: STOP: TOTAL NO. OF "
                               "ITERATIONS REACHED LIMIT), 0 failed"]
    assert "check the failures" not in best.stderr
    assert "warning: decay: no start converged: 6 not converged" in best.stderr
