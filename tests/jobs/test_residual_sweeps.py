"""Residual objectives through `calib run` on the session's LocalCluster: the least-squares
methods, the stored sum of squares, and `calib best --errors` against scipy's curve_fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import curve_fit

from calib.status import StartStatus
from jobs.cli import main
from jobs.errors import SpecError
from jobs.spec import parse_spec
from jobs.store import Store
from tests.jobs.conftest import forget_module, write_csv, write_module, write_spec

MODULE = '''
import numpy as np

def decay(params, data):
    a, b, c = params
    return a * np.exp(-b * data[:, 0]) + c - data[:, 1]

def decay_batch(params, data):
    return params[:, 0:1] * np.exp(-params[:, 1:2] * data[:, 0]) + params[:, 2:3] - data[:, 1]

def decay_jacobian(params, data):
    a, b, c = params
    e = np.exp(-b * data[:, 0])
    return np.column_stack([e, -a * data[:, 0] * e, np.ones_like(e)])

def peak(params, data):
    h, mu, w = params
    return h * np.exp(-0.5 * ((data[:, 0] - mu) / w) ** 2) - data[:, 1]
'''

RNG = np.random.default_rng(12)
X = np.linspace(0.0, 4.0, 50)
DECAY_Y = 2.5 * np.exp(-1.3 * X) + 0.4 + 0.03 * RNG.standard_normal(X.size)
PEAK_X = np.linspace(-3.0, 3.0, 61)
PEAK_Y = 1.7 * np.exp(-0.5 * ((PEAK_X - 0.3) / 0.8) ** 2) + 0.02 * RNG.standard_normal(61)
LINE_Y = 1.5 * X - 0.7 + 0.1 * RNG.standard_normal(X.size)


def _decay_curve(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.exp(-b * x) + c


def _peak_curve(x: np.ndarray, h: float, mu: float, w: float) -> np.ndarray:
    return h * np.exp(-0.5 * ((x - mu) / w) ** 2)


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
            ) -> Any:
    """A working directory with the data files and a residual module named after the test."""
    module = "h14_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    write_module(tmp_path, module, MODULE)
    write_csv(tmp_path / "decay.csv", ["x", "y"], np.column_stack([X, DECAY_Y]))
    write_csv(tmp_path / "peak.csv", ["x", "y"], np.column_stack([PEAK_X, PEAK_Y]))
    write_csv(tmp_path / "line.csv", ["x", "y"], np.column_stack([X, LINE_Y]))
    monkeypatch.chdir(tmp_path)
    yield tmp_path, module
    forget_module(module)


def _decay_tables(module: str, name: str, method: str, **model: str) -> dict[str, Any]:
    return {
        "sweep": {"name": name, "seed": 3},
        "model": {"residuals": f"{module}:decay", **model},
        "parameters": {"a": {"lower": 0.1, "upper": 10.0},
                       "b": {"lower": 0.05, "upper": 10.0, "log": True},
                       "c": {"lower": -2.0, "upper": 2.0}},
        "data": {"files": "decay.csv", "columns": ["x", "y"]},
        "starts": {"n": 6, "sampler": "sobol"},
        "solver": {"method": method, "trace": True},
        "run": {"starts_per_task": 3},
    }


def _cli(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _run(root: Path, tables: dict[str, Any], client: Any, name: str) -> Any:
    spec = write_spec(root, tables, f"{name}.toml")
    return _cli(["run", str(spec), "--scheduler", str(client.scheduler.address),
                 "--store", f"{name}.zarr"])


def _best(name: str) -> dict[str, Any]:
    result = _cli(["best", f"{name}.zarr", "--json", "--errors"])
    assert result.exit_code == 0, result.output
    row: dict[str, Any] = json.loads(result.stdout)[0]
    return row


@pytest.mark.parametrize("method", ["trf", "lm", "L-BFGS-B"])
def test_decay_sweep_gives_curve_fits_estimates_and_standard_errors(
        workdir: Any, dask_client: Any, method: str) -> None:
    root, module = workdir
    run = _run(root, _decay_tables(module, f"decay-{method}", method), dask_client,
               f"decay-{method}")
    assert run.exit_code == 0, run.output
    popt, pcov = curve_fit(_decay_curve, X, DECAY_Y, p0=[1.0, 1.0, 0.0])
    row = _best(f"decay-{method}")
    np.testing.assert_allclose(list(row["params"].values()), popt, rtol=1e-5)
    residual = _decay_curve(X, *popt) - DECAY_Y
    assert row["fun"] == pytest.approx(float(residual @ residual), rel=1e-8)
    assert row["kind"] == "sse"
    np.testing.assert_allclose(list(row["std_errors"].values()), np.sqrt(np.diag(pcov)),
                               rtol=1e-3)
    store = Store.open(root / f"decay-{method}.zarr")
    data = store.read_dataset(0)
    assert {StartStatus.from_code(int(c)) for c in data.status} == {StartStatus.CONVERGED}
    # the stored fun is the sum of squares of each start's final point
    module_fn = __import__(module).decay
    finals = store.read_final_points()[0][0]
    for fun, point in zip(data.fun, finals):
        r = module_fn(point, np.column_stack([X, DECAY_Y]))
        assert fun == pytest.approx(float(r @ r), rel=1e-9)
    trace = store.read_trace(0, 0)
    assert trace is not None
    assert trace.f[-1] == pytest.approx(data.fun[0], rel=1e-9)
    assert trace.f[0] >= trace.f[-1]


def test_user_jacobian_and_vectorized_twin_give_the_same_fit_with_fewer_residual_calls(
        workdir: Any, dask_client: Any) -> None:
    root, module = workdir
    plain = _run(root, _decay_tables(module, "plain", "trf"), dask_client, "plain")
    with_jac = _run(root, _decay_tables(module, "jac", "trf",
                                        residuals_jacobian=f"{module}:decay_jacobian",
                                        residuals_vectorized=f"{module}:decay_batch"),
                    dask_client, "jac")
    assert plain.exit_code == 0 and with_jac.exit_code == 0, with_jac.output
    rows = _best("plain"), _best("jac")
    assert rows[1]["fun"] == pytest.approx(rows[0]["fun"], rel=1e-9)
    np.testing.assert_allclose(list(rows[1]["std_errors"].values()),
                               list(rows[0]["std_errors"].values()), rtol=1e-5)
    nfev = [Store.open(root / f"{n}.zarr").read_dataset(0).nfev.sum() for n in ("plain", "jac")]
    assert nfev[1] * 2 < nfev[0]  # differencing costs p residual calls per Jacobian


def test_gaussian_peak_standard_errors_match_curve_fit(workdir: Any, dask_client: Any) -> None:
    root, module = workdir
    tables = {
        "sweep": {"name": "peak"},
        "model": {"residuals": f"{module}:peak"},
        "parameters": {"h": {"lower": 0.1, "upper": 10.0}, "mu": {"lower": -2.0, "upper": 2.0},
                       "w": {"lower": 0.1, "upper": 3.0}},
        "data": {"files": "peak.csv", "columns": ["x", "y"]},
        "starts": {"n": 8},
        "solver": {"method": "dogbox"},
    }
    assert _run(root, tables, dask_client, "peak").exit_code == 0
    popt, pcov = curve_fit(_peak_curve, PEAK_X, PEAK_Y, p0=[1.0, 0.0, 1.0])
    row = _best("peak")
    np.testing.assert_allclose(list(row["params"].values()), popt, rtol=1e-5)
    np.testing.assert_allclose(list(row["std_errors"].values()), np.sqrt(np.diag(pcov)),
                               rtol=1e-3)
    assert row["hessian_pd"] is True


def test_builtin_linear_model_runs_trf_and_matches_ordinary_least_squares(
        workdir: Any, dask_client: Any) -> None:
    root, _ = workdir
    tables = {
        "sweep": {"name": "line"},
        "model": {"builtin": "linear"},
        "parameters": {"a": {"lower": -10.0, "upper": 10.0}, "b": {"lower": -10.0, "upper": 10.0}},
        "data": {"files": "line.csv"},
        "starts": {"n": 4},
        "solver": {"method": "trf"},
    }
    assert _run(root, tables, dask_client, "line").exit_code == 0
    design = np.column_stack([X, np.ones_like(X)])
    beta, sse = np.linalg.lstsq(design, LINE_Y, rcond=None)[:2]
    cov = float(sse[0]) / (X.size - 2) * np.linalg.inv(design.T @ design)
    row = _best("line")
    np.testing.assert_allclose([row["params"]["a"], row["params"]["b"]], beta, rtol=1e-7)
    np.testing.assert_allclose([row["std_errors"]["a"], row["std_errors"]["b"]],
                               np.sqrt(np.diag(cov)), rtol=1e-6)


def test_fixed_parameter_is_held_in_a_residual_sweep(workdir: Any, dask_client: Any) -> None:
    root, module = workdir
    tables = _decay_tables(module, "fixed", "trf",
                           residuals_jacobian=f"{module}:decay_jacobian")
    tables["parameters"]["c"] = {"lower": -2.0, "upper": 2.0, "fixed": 0.4}
    assert _run(root, tables, dask_client, "fixed").exit_code == 0
    popt, pcov = curve_fit(lambda x, a, b: _decay_curve(x, a, b, 0.4), X, DECAY_Y, p0=[1, 1])
    row = _best("fixed")
    assert row["params"]["c"] == 0.4 and row["std_errors"]["c"] is None
    np.testing.assert_allclose([row["params"]["a"], row["params"]["b"]], popt, rtol=1e-5)
    np.testing.assert_allclose([row["std_errors"]["a"], row["std_errors"]["b"]],
                               np.sqrt(np.diag(pcov)), rtol=1e-3)


@pytest.mark.parametrize(("model", "solver", "field"), [
    ({"residuals": "m:r", "kind": "nll"}, {}, "[model].kind"),
    ({"residuals": "m:r", "objective": "m:f"}, {}, "[model]"),
    ({"residuals": "m:r", "gradient": "m:g"}, {}, "[model].gradient"),
    ({"objective": "m:f", "residuals_jacobian": "m:j"}, {}, "[model].residuals_jacobian"),
    ({"objective": "m:f", "kind": "sse"}, {"method": "trf"}, "[solver].method"),
    ({"residuals": "m:r"}, {"method": "trf", "options": {"maxiter": 3}},
     "[solver].options.maxiter"),
    ({"residuals": "m:r"}, {"method": "lm", "options": {"loss": "bad"}},
     "[solver].options.loss"),
])
def test_inconsistent_residual_specs_are_refused_naming_the_field(
        tmp_path: Path, model: dict[str, str], solver: dict[str, Any], field: str) -> None:
    tables = {"sweep": {"name": "bad"}, "model": model,
              "parameters": {"a": {"lower": 0.0, "upper": 1.0}},
              "data": {"files": "x.csv", "columns": ["x"]}, "starts": {"n": 2},
              "solver": solver}
    with pytest.raises(SpecError) as caught:
        parse_spec(tables, tmp_path)
    assert str(caught.value).startswith(field + " ")


def test_a_builtin_nll_model_with_trf_is_refused(tmp_path: Path) -> None:
    tables = {"sweep": {"name": "bad"}, "model": {"builtin": "normal"},
              "data": {"simulate": {"points": 20, "truth": {"mu": 0.0, "sigma": 1.0}}},
              "starts": {"n": 2}, "solver": {"method": "trf"}}
    with pytest.raises(SpecError, match=r"^\[solver\]\.method .*'normal' is not a least-squares"):
        parse_spec(tables, tmp_path)


def test_a_residual_spec_round_trips_and_declares_sse(tmp_path: Path) -> None:
    tables = {"sweep": {"name": "ok"}, "model": {"residuals": "m:r", "residuals_jacobian": "m:j"},
              "parameters": {"a": {"lower": 0.0, "upper": 1.0}},
              "data": {"files": "x.csv", "columns": ["x"]}, "starts": {"n": 2},
              "solver": {"method": "TRF", "options": {"loss": "soft_l1", "f_scale": 0.5}}}
    spec = parse_spec(tables, tmp_path)
    assert spec.solver.method == "trf" and spec.model.objective_kind == "sse"
    assert type(spec).from_dict(spec.to_dict()) == spec
