"""Tests of `calib.run_start`: every way a start can end becomes a `StartOutcome`."""

from __future__ import annotations

import math
import pickle
import time
import warnings

import numpy as np
import pytest

import calib.run
from calib.datasets import Dataset
from calib.errors import ProblemError
from calib.parameters import Parameter
from calib.problem import Problem
from calib.run import STATUSES, run_start
from solvers._registry import METHODS, available_methods
from solvers._result import MESSAGES

TRUTH = np.array([1.5, 0.2])          # natural units; the second parameter is log-scaled
PARAMS = (Parameter("a", -5.0, 5.0), Parameter("b", 1e-3, 10.0, log=True))
X0 = np.array([-3.0, 5.0])
DATASET = Dataset(name="sim-000", values=TRUTH[None, :], columns=("a", "b"))


def quadratic(params: np.ndarray, data: np.ndarray) -> float:
    """Minimum 0 at the data row, in log space for the second parameter."""
    return float((params[0] - data[0, 0]) ** 2 + np.log(params[1] / data[0, 1]) ** 2)


def raises_for_negative_a(params: np.ndarray, data: np.ndarray) -> float:
    if params[0] < 0.0:
        raise ValueError(f"a must be >= 0, got {params[0]:.3g}")
    return quadratic(params, data)


def raises_above_one(params: np.ndarray, data: np.ndarray) -> float:
    if params[0] > 1.0:
        raise ZeroDivisionError(f"a > 1 at a = {params[0]:.6f}")
    return quadratic(params, data)


def nan_beyond_one(params: np.ndarray, data: np.ndarray) -> float:
    """NaN once a exceeds 1, so a solver heading for a = 1.5 runs into it."""
    return float("nan") if params[0] > 1.0 else quadratic(params, data)


def slow_quadratic(params: np.ndarray, data: np.ndarray) -> float:
    time.sleep(0.005)
    return quadratic(params, data)


def warning_quadratic(params: np.ndarray, data: np.ndarray) -> float:
    warnings.warn("model is approximate here", RuntimeWarning, stacklevel=2)
    return quadratic(params, data)


class RecordingQuadratic:
    """Records every point it is evaluated at; its minimum a = 20 lies outside the box."""

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []

    def __call__(self, params: np.ndarray, data: np.ndarray) -> float:
        self.points.append(np.array(params))
        return float((params[0] - 20.0) ** 2 + np.log(params[1] / data[0, 1]) ** 2)


#: every method of the solver core
WORKING = available_methods()
METHOD = "L-BFGS-B"


def _problem(objective: object = quadratic, **kwargs: object) -> Problem:
    kwargs.setdefault("method", METHOD)
    return Problem(objective, PARAMS, DATASET, **kwargs)  # type: ignore[arg-type]


TIGHT = {"L-BFGS-B": {"gtol": 1e-10}, "BFGS": {"gtol": 1e-10}, "CG": {"gtol": 1e-10},
         "Nelder-Mead": {"xatol": 1e-10, "fatol": 1e-14}, "Powell": {"xtol": 1e-10},
         "TNC": {"ftol": 1e-14, "xtol": 1e-10, "gtol": 1e-10}, "SLSQP": {"ftol": 1e-14},
         "COBYLA": {"tol": 1e-10}, "COBYQA": {"final_tr_radius": 1e-10},
         "Newton-CG": {"xtol": 1e-10}, "dogleg": {"gtol": 1e-10}, "trust-ncg": {"gtol": 1e-10},
         "trust-exact": {"gtol": 1e-10}, "trust-krylov": {"gtol": 1e-10},
         "trust-constr": {"gtol": 1e-10, "xtol": 1e-12}}


@pytest.mark.parametrize("method", WORKING)
def test_quadratic_converges_to_the_truth_in_natural_units(method: str) -> None:
    problem = _problem(method=method, options=TIGHT.get(method, {}))
    outcome = run_start(problem, X0, 4)
    assert outcome.status == "converged" and outcome.success
    assert (outcome.dataset, outcome.start) == ("sim-000", 4)
    np.testing.assert_array_equal(outcome.x0, X0)
    np.testing.assert_allclose(outcome.x, TRUTH, rtol=1e-5)
    assert outcome.fun == pytest.approx(0.0, abs=1e-9)
    assert outcome.nfev > 0 and outcome.nit > 0 and outcome.seconds >= 0.0
    assert outcome.message  # the solver's own success message (wording differs per method)
    assert outcome.trace is None


def test_trace_is_reported_in_natural_units() -> None:
    outcome = run_start(_problem(trace=True), X0, 0)
    assert outcome.trace is not None
    trace = outcome.trace
    assert trace.x.shape == (trace.f.size, 2) and trace.f.size == outcome.nit + 1
    np.testing.assert_allclose(trace.x[0], X0)
    np.testing.assert_allclose(trace.x[-1], outcome.x)
    assert np.all(trace.x[:, 1] > 0.0)
    np.testing.assert_allclose(trace.f, [quadratic(x, DATASET.values) for x in trace.x],
                               rtol=1e-9, atol=1e-12)


def test_objective_that_raises_gives_a_failed_outcome_with_its_message() -> None:
    outcome = run_start(_problem(raises_for_negative_a), X0, 2)
    assert outcome.status == "failed" and not outcome.success
    assert outcome.message == "ValueError: a must be >= 0, got -3"
    assert outcome.nfev == 1 and outcome.nit == 0 and math.isnan(outcome.fun)
    np.testing.assert_array_equal(outcome.x, X0)


def test_objective_that_raises_later_reports_the_best_point_seen() -> None:
    outcome = run_start(_problem(raises_above_one), np.array([-4.0, 5.0]), 0)
    assert outcome.status == "failed"
    assert outcome.message.startswith("ZeroDivisionError: a > 1 at a = ")
    assert outcome.nfev > 1 and outcome.x[0] <= 1.0
    assert outcome.fun == pytest.approx(quadratic(outcome.x, DATASET.values), rel=1e-12)
    assert outcome.fun <= quadratic(np.array([-4.0, 5.0]), DATASET.values)


def test_nan_objective_gives_a_failed_outcome_with_the_solver_message() -> None:
    outcome = run_start(_problem(nan_beyond_one), np.array([-4.0, 5.0]), 1)
    assert outcome.status == "failed" and not outcome.success
    assert outcome.message.startswith(MESSAGES["non_finite"].split("{")[0])
    assert outcome.x[0] <= 1.0 and math.isfinite(outcome.fun)


def test_slow_objective_past_the_time_limit_times_out() -> None:
    problem = _problem(slow_quadratic, method="Nelder-Mead",
                       options={"xatol": 1e-14, "fatol": 0.0, "maxiter": 100_000})
    outcome = run_start(problem, X0, 0, time_limit=0.05)
    assert outcome.status == "timeout" and not outcome.success
    assert outcome.message == "time limit of 0.05 s per start reached"
    assert outcome.seconds >= 0.05 and outcome.nfev >= 1
    assert math.isfinite(outcome.fun) and outcome.trace is None


def test_a_generous_time_limit_changes_nothing() -> None:
    with_limit = run_start(_problem(), X0, 0, time_limit=600.0)
    without = run_start(_problem(), X0, 0)
    assert with_limit.status == "converged"
    np.testing.assert_array_equal(with_limit.x, without.x)
    assert with_limit.nfev == without.nfev


def test_iteration_limit_gives_not_converged() -> None:
    outcome = run_start(_problem(options={"maxiter": 1}), X0, 0)
    assert outcome.status == "not_converged" and not outcome.success
    assert outcome.nit == 1 and outcome.fun < quadratic(X0, DATASET.values)


def test_warnings_are_captured_into_the_message() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = run_start(_problem(warning_quadratic, options={"frobnicate": 1}), X0, 0)
    assert outcome.status == "converged"
    assert "RuntimeWarning: model is approximate here" in outcome.message
    assert "OptimizeWarning: Unknown solver options: frobnicate" in outcome.message


@pytest.mark.parametrize("method", [m for m in WORKING
                                    if not METHODS[m.lower()].supports_bounds])
def test_methods_without_bounds_never_evaluate_outside_the_box(method: str) -> None:
    objective = RecordingQuadratic()
    outcome = run_start(_problem(objective, method=method), X0, 0)
    evaluated = np.array(objective.points)
    assert np.all(evaluated[:, 0] <= 5.0) and np.all(evaluated[:, 0] >= -5.0)
    assert np.all(evaluated[:, 1] <= 10.0 * (1 + 1e-12))
    assert outcome.x[0] == 5.0 and np.all(outcome.x <= [5.0, 10.0])


def test_solver_crash_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_minimize(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(calib.run, "minimize", broken_minimize)
    outcome = run_start(_problem(), X0, 0)
    assert outcome.status == "failed"
    assert outcome.message == "solver error: RuntimeError: boom"


def test_unpickled_problem_gives_the_same_outcome() -> None:
    problem = _problem(method="BFGS")
    first = run_start(problem, X0, 0)
    second = run_start(pickle.loads(pickle.dumps(problem)), X0, 0)
    np.testing.assert_array_equal(first.x, second.x)
    assert (first.fun, first.nfev, first.status) == (second.fun, second.nfev, second.status)
    assert first.status in STATUSES


@pytest.mark.parametrize(("x0", "limit", "needle"), [
    ([0.0], None, "x0 must have shape (2,)"),
    ([0.0, 20.0], None, "x0['b'] = 20.0 is outside its bounds"),
    ([np.nan, 1.0], None, "x0['a'] = nan"),
    ([0.0, 1.0], 0.0, "time_limit must be a positive number"),
])
def test_invalid_arguments_raise(x0: list[float], limit: float | None, needle: str) -> None:
    with pytest.raises(ProblemError) as info:
        run_start(_problem(), np.array(x0), 5, time_limit=limit)
    assert needle in str(info.value)
