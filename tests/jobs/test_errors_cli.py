"""`calib best STORE --errors`: standard errors from the Hessian at each dataset's best point.

Small sweeps (normal and linear models, simulated data) run once through `run_sweep` on the
session cluster; the CLI rebuilds each dataset's problem from the stored spec and reports the
standard errors, checked against the normal model's Fisher information and the OLS covariance.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from jobs.cli import main
from jobs.plan import load_sweep_datasets
from jobs.runner import run_sweep
from jobs.spec import load_spec
from tests.jobs.conftest import forget_module, write_csv, write_module, write_spec

N_POINTS = 400


def _tables(model: str, truth: dict[str, float]) -> dict[str, dict[str, Any]]:
    return {
        "sweep": {"name": f"se-{model}", "seed": 11},
        "model": {"builtin": model},
        "data": {"simulate": {"datasets": 2, "points": N_POINTS, "truth": truth}},
        "starts": {"n": 4, "sampler": "sobol"},
        "solver": {"method": "L-BFGS-B", "options": {"ftol": 1e-13, "gtol": 1e-9}},
        "run": {"starts_per_task": 2},
    }


def _sweep(root: Path, client: Any, model: str, truth: dict[str, float]) -> dict[str, Any]:
    spec = load_spec(write_spec(root, _tables(model, truth), filename=f"{model}.toml"))
    store = root / f"{model}.zarr"
    run_sweep(spec, str(store), client)
    return {"spec": spec, "store": store, "datasets": load_sweep_datasets(spec)}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("se-cli")
    return {"normal": _sweep(root, dask_client, "normal", {"mu": 2.0, "sigma": 0.5}),
            "linear": _sweep(root, dask_client, "linear", {"a": 1.5, "b": -0.5})}


def _best(store: Path, *flags: str) -> str:
    result = CliRunner().invoke(main, ["best", str(store), *flags], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _best_stderr(store: Path, *flags: str) -> str:
    result = CliRunner().invoke(main, ["best", str(store), *flags], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stderr


def test_json_errors_match_the_fisher_information(sweeps: dict[str, Any]) -> None:
    sweep = sweeps["normal"]
    rows = json.loads(_best(sweep["store"], "--errors", "--json"))
    assert [r["dataset"] for r in rows] == [d.name for d in sweep["datasets"]]
    for row in rows:
        assert set(row) == {"dataset", "fun", "params", "start", "n_minima", "hits", "success",
                            "n_premature", "n_converged", "at_bound", "warnings", "minima",
                            "std_errors", "hessian_pd", "hessian_message", "kind",
                            "correlation", "aic", "bic", "one_sided"}
        assert row["kind"] == "nll" and row["correlation"][0][0] == 1.0
        assert row["hessian_pd"] is True and set(row["std_errors"]) == {"mu", "sigma"}
        sigma_hat = row["params"]["sigma"]
        np.testing.assert_allclose([row["std_errors"]["mu"], row["std_errors"]["sigma"]],
                                   [sigma_hat / np.sqrt(N_POINTS),
                                    sigma_hat / np.sqrt(2.0 * N_POINTS)], rtol=1e-2)


def test_json_without_errors_is_unchanged(sweeps: dict[str, Any]) -> None:
    rows = json.loads(_best(sweeps["normal"]["store"], "--json"))
    assert all("std_errors" not in r and "hessian_pd" not in r for r in rows)


def test_least_squares_models_get_the_ols_covariance(sweeps: dict[str, Any]) -> None:
    sweep = sweeps["linear"]
    rows = json.loads(_best(sweep["store"], "--errors", "--json"))
    for row, dataset in zip(rows, sweep["datasets"]):
        x, y = dataset.values.T
        design = np.column_stack([x, np.ones_like(x)])
        beta = np.array([row["params"]["a"], row["params"]["b"]])
        residual_var = np.sum((y - design @ beta) ** 2) / (y.size - 2)
        ols = np.sqrt(np.diag(residual_var * np.linalg.inv(design.T @ design)))
        np.testing.assert_allclose([row["std_errors"]["a"], row["std_errors"]["b"]], ols,
                                   rtol=1e-2)


def test_table_and_csv_carry_error_columns(sweeps: dict[str, Any]) -> None:
    store = sweeps["normal"]["store"]
    table = _best(store, "--errors").splitlines()
    assert table[0].split() == ["dataset", "fun", "mu", "sigma", "se(mu)", "se(sigma)", "aic",
                                "bic", "start", "n_minima", "hits", "premature"]
    assert not any("Hessian" in line for line in table)  # positive definite: no warning
    rows = list(csv.DictReader(io.StringIO(_best(store, "--errors", "--csv"))))
    as_json = json.loads(_best(store, "--errors", "--json"))
    for row, reference in zip(rows, as_json):
        assert row["hessian_pd"] == "True"
        assert float(row["se_mu"]) == reference["std_errors"]["mu"]
        assert float(row["se_sigma"]) == reference["std_errors"]["sigma"]


FLAT_MODULE = '''
def flat_in_b(params, data):
    """A negative log-likelihood that ignores its second parameter."""
    a, b = params
    return float(((data[:, 0] - a) ** 2).sum() / 2.0)
'''


def test_flat_direction_is_reported_not_positive_definite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dask_client: Any) -> None:
    module = "se_cli_flat"
    write_module(tmp_path, module, FLAT_MODULE)
    write_csv(tmp_path / "data" / "one.csv", ["y"],
              np.random.default_rng(3).normal(1.0, 1.0, (30, 1)))
    spec_path = write_spec(tmp_path, {
        "sweep": {"name": "se-flat", "seed": 1},
        "model": {"objective": f"{module}:flat_in_b", "kind": "nll"},
        "parameters": {"a": {"lower": -5.0, "upper": 5.0}, "b": {"lower": -5.0, "upper": 5.0}},
        "data": {"files": "data/*.csv", "columns": ["y"]},
        "starts": {"n": 2, "sampler": "sobol"},
        "solver": {"method": "L-BFGS-B"},
        "run": {"starts_per_task": 2},
    })
    monkeypatch.chdir(tmp_path)
    try:
        run_sweep(load_spec(spec_path), "flat.zarr", dask_client)
        (row,) = json.loads(_best(tmp_path / "flat.zarr", "--errors", "--json"))
        table = _best_stderr(tmp_path / "flat.zarr", "--errors")
    finally:
        forget_module(module)
    assert row["success"] is True
    assert row["hessian_pd"] is False and row["std_errors"] == {"a": None, "b": None}
    assert "warning: one: Hessian is singular: the objective is flat in 'b'" in table
