"""Bounds that do not lie: default bounds that miss the data are refused, a best on a bound is flagged.

Data: a Nile-like series of annual flows (mean about 919, sd about 168, 100 years), for which the
`normal` model's default bounds (mu in [-100, 100], sigma in [1e-3, 100]) would return
mu = 100, sigma = 100 with every start agreeing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calib.models import get_model
from calib.models.pilot import default_bounds_problem, pilot_estimates
from jobs.plan import plan_sweep
from jobs.spec import load_spec

from .conftest import calib_cli, write_csv, write_spec

NILE_LIKE = np.random.default_rng(1871).normal(919.0, 168.0, (100, 1))


def _tables(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    tables: dict[str, Any] = {
        "sweep": {"name": "nile", "seed": 3},
        "model": {"builtin": "normal"},
        "data": {"files": "data/*.csv", "columns": ["y"]},
        "starts": {"n": 6, "sampler": "sobol"},
        "solver": {"method": "L-BFGS-B"},
        "run": {"starts_per_task": 6},
    }
    if parameters is not None:
        tables["parameters"] = parameters
    return tables


def test_pilots_are_the_closed_form_estimates() -> None:
    y = NILE_LIKE
    assert pilot_estimates(get_model("normal"), y) == pytest.approx(
        {"mu": float(y.mean()), "sigma": float(y.std())})
    x = np.linspace(0.0, 3.0, 40)
    line = np.column_stack([x, 2.5 * x - 4.0])
    assert pilot_estimates(get_model("linear"), line) == pytest.approx({"a": 2.5, "b": -4.0})
    wave = np.column_stack([x, 1.5 * np.sin(x) + 0.3 * x - 0.5])
    assert pilot_estimates(get_model("sinusoid"), wave) == pytest.approx(
        {"a": 1.5, "b": 0.3, "c": -0.5})


def test_default_bounds_that_fit_pass_and_user_bounds_are_not_second_guessed() -> None:
    model = get_model("normal")
    moderate = np.random.default_rng(0).normal(3.0, 2.0, (50, 1))
    assert default_bounds_problem(model, model.parameters, [("ok", moderate)]) is None
    name, message = default_bounds_problem(model, model.parameters, [("nile", NILE_LIKE)])
    assert name == "mu" and "does not fit dataset 'nile': the data put mu near 9" in message
    assert "default bounds [-100, 100]" in message and "lower = " in message
    from calib.parameters import Parameter
    chosen = (Parameter("mu", 0.0, 500.0), model.parameters[1])  # the user's own mu bounds
    name, _ = default_bounds_problem(model, chosen, [("nile", NILE_LIKE)])
    assert name == "sigma"  # mu is the user's choice; sigma still has its default


def test_calib_run_refuses_default_bounds_that_miss_the_data(tmp_path: Path) -> None:
    write_csv(tmp_path / "data" / "nile.csv", ["y"], NILE_LIKE)
    spec_path = write_spec(tmp_path, _tables())
    ran = calib_cli(["run", spec_path.name, "--workers", "1"], tmp_path)
    assert ran.returncode == 2, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and "[parameters].mu does not fit dataset 'nile'" in lines[0]
    assert not (tmp_path / "nile.zarr").exists()  # nothing written


def test_a_best_on_a_bound_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      dask_client: Any) -> None:
    from click.testing import CliRunner

    from jobs.cli import main
    from jobs.runner import run_sweep

    write_csv(tmp_path / "data" / "nile.csv", ["y"], NILE_LIKE)
    spec_path = write_spec(tmp_path, _tables({
        "mu": {"lower": 0.0, "upper": 800.0},  # too narrow: the fit stops at 800
        "sigma": {"lower": 1.0, "upper": 1000.0, "log": True}}))
    monkeypatch.chdir(tmp_path)
    spec = load_spec(spec_path)
    plan_sweep(spec)  # the user's bounds are the user's: planning accepts them
    run_sweep(spec, "nile.zarr", dask_client)
    result = CliRunner().invoke(main, ["best", "nile.zarr", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["at_bound"] == ["mu"] and row["params"]["mu"] == pytest.approx(800.0)
    assert "warning: nile: the best point lies on a bound for 'mu'" in result.stderr
    errors = CliRunner().invoke(main, ["best", "nile.zarr", "--errors", "--json"],
                                catch_exceptions=False)
    assert errors.exit_code == 0, errors.output  # never aborts on the sweep's own best point
    (with_errors,) = json.loads(errors.stdout)
    assert with_errors["one_sided"] == ["mu"]
