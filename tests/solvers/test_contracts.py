"""Behaviour every `minimize` method must have, whoever wrote it.

Parametrized over every method `solvers._registry.available_methods()` lists
(`methods_under_test.TESTED`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
from solvers import OptimizeResult, OptimizeWarning
from solvers._options import known_options

from ..problems import PROBLEMS, himmelblau, rosen
from .methods_under_test import BOUNDED, TESTED, derivatives_for, spec_of

#: scipy calls Nelder-Mead's callback once per simplex move but numbers the evaluation of the
#: initial simplex as iteration 1, so its callback count is nit - 1; every other method: nit.
CALLBACK_NIT_OFFSET = {"Nelder-Mead": 1}
#: methods whose callback scipy calls once per function evaluation, not per iteration
CALLBACK_PER_EVALUATION = {"COBYQA"}


def _expected_callback_calls(method: str, res: Any) -> int:
    if method in CALLBACK_PER_EVALUATION:
        return int(res.nfev)
    return int(res.nit) - CALLBACK_NIT_OFFSET.get(method, 0)

ROSEN5 = PROBLEMS["rosen5"]


def test_every_scipy_method_is_tested() -> None:
    assert sorted(TESTED) == sorted([
        "Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "COBYLA", "COBYQA",
        "SLSQP", "trust-constr", "dogleg", "trust-ncg", "trust-exact", "trust-krylov"])


#: starts where every method applies: the Hessian is positive definite there (dogleg needs it)
HIMMELBLAU_X0 = [4.0, 4.0]
ROSEN2_X0 = [-1.2, 1.0]


def _minimize(fun: Any, x0: Any, method: str, **kwargs: Any) -> OptimizeResult:
    derivatives = derivatives_for(method, fun, kwargs.get("args", ()))
    return solvers.minimize(fun, x0, method=method, **{**derivatives, **kwargs})


# -- progress and feasibility -----------------------------------------------------------------
@pytest.mark.parametrize("method", TESTED)
@pytest.mark.parametrize("problem", ["rosen2", "himmelblau", "sinusoid_fit"])
def test_never_ends_above_the_start(method: str, problem: str) -> None:
    prob = PROBLEMS[problem]
    res = _minimize(prob.fun, prob.x0, method, args=prob.args)
    f0 = prob.fun(np.array(prob.x0), *prob.args)
    assert res.fun <= f0
    assert prob.fun(res.x, *prob.args) == pytest.approx(res.fun, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("method", BOUNDED)
@pytest.mark.parametrize("problem", ["box_on_bound", "normal_mle"])
@pytest.mark.filterwarnings("ignore:delta_grad == 0.0:UserWarning")  # trust-constr's BFGS, as scipy's
def test_bounded_methods_end_inside_the_bounds(method: str, problem: str) -> None:
    prob = PROBLEMS[problem]
    res = _minimize(prob.fun, prob.x0, method, args=prob.args, bounds=prob.bounds)
    lb = np.array([-np.inf if lo is None else lo for lo, _ in prob.bounds])
    ub = np.array([np.inf if hi is None else hi for _, hi in prob.bounds])
    assert np.all(res.x >= lb) and np.all(res.x <= ub)
    assert res.fun <= prob.fun(np.array(prob.x0), *prob.args)


# -- budgets ----------------------------------------------------------------------------------
#: methods that, as in scipy, have no ``maxiter`` option (TNC: its budget is ``maxfun``)
WITHOUT_MAXITER = [m for m in TESTED
                   if "maxiter" not in known_options(spec_of(m).runner)]


@pytest.mark.parametrize("method", [m for m in TESTED if m not in WITHOUT_MAXITER])
def test_maxiter_is_honoured_with_the_methods_status(method: str) -> None:
    res = _minimize(rosen, ROSEN5.x0, method, options={"maxiter": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = scipy.optimize.minimize(rosen, ROSEN5.x0, method=method, options={"maxiter": 3},
                                      **derivatives_for(method, rosen))
    assert res.nit <= 3
    assert not res.success
    assert (res.status, res.message) == (ref.status, ref.message)


@pytest.mark.parametrize("method", WITHOUT_MAXITER)
def test_maxiter_is_an_unknown_option_where_scipy_has_none(method: str) -> None:
    with pytest.warns(OptimizeWarning, match="Unknown solver options: maxiter"):
        res = _minimize(rosen, ROSEN5.x0, method, options={"maxiter": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = scipy.optimize.minimize(rosen, ROSEN5.x0, method=method, options={"maxiter": 3},
                                      **derivatives_for(method, rosen))
    assert res.nit > 3 and res.nit == ref.nit
    assert (res.status, res.message) == (ref.status, ref.message)


# -- failing objectives -----------------------------------------------------------------------
@pytest.mark.parametrize("method", TESTED)
def test_nan_outside_a_region_stops_with_a_clear_message(method: str) -> None:
    calls = [0]

    def nan_far_away(x: Any) -> float:
        calls[0] += 1
        return np.nan if np.any(np.abs(x - np.array([-1.2, 1.0])) > 0.3) else rosen(x)

    res = _minimize(nan_far_away, [-1.2, 1.0], method)
    assert not res.success
    assert "non-finite" in res.message and "nan" in res.message
    assert np.isfinite(res.fun) and res.fun <= rosen(np.array([-1.2, 1.0]))
    assert calls[0] < 10_000


class _ObjectiveFailure(Exception):
    pass


@pytest.mark.parametrize("method", TESTED)
def test_an_exception_in_the_objective_propagates_unchanged(method: str) -> None:
    failure = _ObjectiveFailure("model crashed")
    calls = [0]

    def crashing(x: Any) -> float:
        calls[0] += 1
        if calls[0] > 5:
            raise failure
        return rosen(x)

    with pytest.raises(_ObjectiveFailure) as info:
        _minimize(crashing, [-1.2, 1.0], method)
    assert info.value is failure


@pytest.mark.parametrize("method", TESTED)
@pytest.mark.parametrize(("value", "named"), [
    (np.ones(3), r"shape \(3,\)"),
    ("1.5", "str"),
])
def test_a_non_scalar_objective_is_a_value_error(method: str, value: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        _minimize(lambda x: value, [1.0, 2.0], method)


# -- trace ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", TESTED)
def test_trace_has_one_row_per_iteration_plus_the_start(method: str) -> None:
    res = _minimize(himmelblau, HIMMELBLAU_X0, method, options={"trace": True})
    arrays = res.trace.to_arrays()
    assert len(res.trace) == res.nit + 1
    assert arrays.x.shape == (res.nit + 1, 2)
    assert arrays.f.shape == arrays.grad_norm.shape == arrays.nfev.shape == (res.nit + 1,)
    np.testing.assert_array_equal(arrays.x[0], HIMMELBLAU_X0)
    assert np.all(np.diff(arrays.nfev) >= 0)
    assert arrays.nfev[-1] <= res.nfev
    assert arrays.f[-1] == pytest.approx(res.fun)


@pytest.mark.parametrize("method", TESTED)
def test_no_trace_key_without_trace(method: str) -> None:
    res = _minimize(himmelblau, HIMMELBLAU_X0, method)
    assert "trace" not in res


# -- callbacks --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", TESTED)
def test_callback_with_x_is_called_once_per_iteration(method: str) -> None:
    seen: list[Any] = []
    res = _minimize(himmelblau, HIMMELBLAU_X0, method, callback=seen.append)
    assert len(seen) == _expected_callback_calls(method, res)
    assert all(isinstance(x, np.ndarray) and x.shape == (2,) for x in seen)
    np.testing.assert_allclose(seen[-1], res.x)


@pytest.mark.parametrize("method", TESTED)
def test_callback_with_intermediate_result(method: str) -> None:
    seen: list[Any] = []

    def callback(intermediate_result: OptimizeResult) -> None:
        seen.append(intermediate_result)

    res = _minimize(himmelblau, HIMMELBLAU_X0, method, callback=callback)
    assert len(seen) == _expected_callback_calls(method, res)
    last = seen[-1]
    assert isinstance(last, OptimizeResult)
    assert last.x.shape == (2,)
    assert last.fun == pytest.approx(himmelblau(last.x))


@pytest.mark.parametrize("method", TESTED)
def test_stop_iteration_in_the_callback_ends_with_the_callback_status(method: str) -> None:
    """Status 99 (scipy's ``minimize``), except where scipy's method has its own (trust-constr: 3)."""
    calls = [0]

    def stop_on_third(xk: Any) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise StopIteration

    res = _minimize(rosen, ROSEN2_X0, method, callback=stop_on_third)
    assert calls[0] == 3
    assert res.status == spec_of(method).stop_status["callback"] and not res.success
    assert res.message == spec_of(method).stop_messages.get(
        "callback", "`callback` raised `StopIteration`.")
    if method == "SLSQP":  # scipy calls back at a line search's first trial point, maybe uphill
        assert res.fun == pytest.approx(rosen(res.x))
    else:
        assert res.fun <= rosen(np.array(ROSEN2_X0))


# -- options ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", TESTED)
def test_unknown_option_warns_naming_it(method: str) -> None:
    with pytest.warns(OptimizeWarning, match="Unknown solver options: bogus_knob"):
        res = _minimize(himmelblau, HIMMELBLAU_X0, method, options={"bogus_knob": 3})
    assert res.fun < himmelblau(np.array(HIMMELBLAU_X0))


@pytest.mark.parametrize("method", TESTED)
def test_tol_reaches_the_methods_tolerance_options(method: str) -> None:
    keys = spec_of(method).tol_keys
    via_tol = _minimize(rosen, [-1.2, 1.0], method, tol=1e-10)
    explicit = _minimize(rosen, [-1.2, 1.0], method, options=dict.fromkeys(keys, 1e-10))
    loose = _minimize(rosen, [-1.2, 1.0], method, tol=1e-1)
    assert via_tol.nfev == explicit.nfev
    np.testing.assert_array_equal(via_tol.x, explicit.x)
    assert loose.nfev < via_tol.nfev


# -- input validation -------------------------------------------------------------------------
@pytest.mark.parametrize("method", TESTED)
def test_integer_x0_is_accepted_as_float(method: str) -> None:
    res = _minimize(himmelblau, [4, 4], method)
    ref = _minimize(himmelblau, HIMMELBLAU_X0, method)
    assert res.x.dtype == np.float64
    np.testing.assert_array_equal(res.x, ref.x)


@pytest.mark.parametrize("method", TESTED)
@pytest.mark.parametrize(("x0", "match"), [
    (np.ones((2, 2)), "one dimension"),
    ([1.0, np.nan], "finite"),
    ([np.inf, 1.0], "finite"),
], ids=["2-d", "nan", "inf"])
def test_bad_x0_is_a_value_error(method: str, x0: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _minimize(lambda x: float(np.sum(x**2)), x0, method)


@pytest.mark.parametrize("method", BOUNDED)
@pytest.mark.parametrize(("bounds", "match"), [
    ([(1.0, 0.0), (0.0, 1.0)], "upper bound is less than"),
    ([(np.nan, 1.0), (0.0, 1.0)], "NaN"),
    ([(0.0, 1.0)], "number of bounds"),
    (solvers.Bounds([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]), "number of bounds"),
], ids=["lb>ub", "nan", "too-few-pairs", "wrong-shape-Bounds"])
def test_bad_bounds_are_a_value_error(method: str, bounds: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _minimize(lambda x: float(np.sum(x**2)), [0.5, 0.5], method, bounds=bounds)
