"""Powell against scipy's: same iterates, counts, statuses, direction sets and callbacks.

Powell's method is deterministic (Brent / bounded line searches), so a faithful implementation
gives identical iterates: the results are compared far more tightly than the oracle's 1e-5.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
from solvers import Bounds, OptimizeWarning
from solvers._search.line_minimize import feasible_step_range
from solvers.methods.powell import iteration_limits

from ..oracle import assert_matches_scipy, run_both
from ..problems import PROBLEMS, box_quadratic, himmelblau, rosen

METHOD = "Powell"


def _both(fun: Any, x0: Any, **kwargs: Any) -> tuple[Any, Any, list[Any], list[Any]]:
    """Run scipy's and our Powell with the same arguments; also record the callbacks."""
    ref_calls: list[Any] = []
    our_calls: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = scipy.optimize.minimize(fun, np.array(x0, dtype=float), method=METHOD,
                                      callback=ref_calls.append, **kwargs)
        ours = solvers.minimize(fun, np.array(x0, dtype=float), method=METHOD,
                                callback=our_calls.append, **kwargs)
    return ours, ref, our_calls, ref_calls


def _assert_identical_runs(ours: Any, ref: Any) -> None:
    assert (ours.nfev, ours.nit, ours.status, ours.success) == (
        ref.nfev, ref.nit, ref.status, ref.success)
    assert ours.message == ref.message
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours.fun, ref.fun, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours.direc, ref.direc, rtol=1e-12, atol=0)


# -- the oracle on the catalogue --------------------------------------------------------------
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_matches_scipy_on_catalogue(problem: str) -> None:
    cmp = run_both(METHOD, problem)
    assert_matches_scipy(cmp)
    _assert_identical_runs(cmp.ours, cmp.ref)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_tight_tolerances_match_scipy(problem: str) -> None:
    cmp = run_both(METHOD, problem, options={"xtol": 1e-8, "ftol": 1e-10})
    if cmp.ref.status == 0:
        _assert_identical_runs(cmp.ours, cmp.ref)
    else:  # scipy ran out of evaluations inside a line search: the budget is what matters
        assert (cmp.ours.status, cmp.ours.nfev) == (cmp.ref.status, cmp.ref.nfev)


@pytest.mark.parametrize("problem", ["rosen2", "himmelblau", "quadratic"])
def test_callbacks_see_the_same_iterates(problem: str) -> None:
    prob = PROBLEMS[problem]
    ours, ref, our_calls, ref_calls = _both(prob.fun, prob.x0, args=prob.args)
    assert len(our_calls) == len(ref_calls) == ours.nit
    np.testing.assert_allclose(our_calls, ref_calls, rtol=1e-12, atol=0)


def test_tol_sets_xtol_and_ftol() -> None:
    ours, ref, _, _ = _both(rosen, (-1.2, 1.0), tol=1e-9)
    _assert_identical_runs(ours, ref)
    explicit, _, _, _ = _both(rosen, (-1.2, 1.0), options={"xtol": 1e-9, "ftol": 1e-9})
    assert explicit.nfev == ours.nfev


def test_unbounded_bounds_behave_like_no_bounds() -> None:
    free, _, _, _ = _both(himmelblau, (1.0, 1.0))
    boxed, ref, _, _ = _both(himmelblau, (1.0, 1.0), bounds=[(None, None)] * 2)
    _assert_identical_runs(boxed, ref)
    assert (boxed.nfev, boxed.x.tolist()) == (free.nfev, free.x.tolist())
    as_object = solvers.minimize(himmelblau, [1.0, 1.0], method=METHOD,
                                 bounds=Bounds(-np.inf, np.inf))
    assert (as_object.nfev, as_object.x.tolist()) == (free.nfev, free.x.tolist())


def test_half_bounded_and_fully_bounded_line_searches_match_scipy() -> None:
    bounds = [(None, 1.8), (0.5, None), (-1.0, 0.2)]
    ours, ref, _, _ = _both(box_quadratic, (0.0, 1.0, 0.0), bounds=bounds)
    _assert_identical_runs(ours, ref)
    assert ours.x[0] <= 1.8 and ours.x[1] >= 0.5 and -1.0 <= ours.x[2] <= 0.2


def test_every_evaluation_stays_inside_the_bounds() -> None:
    prob = PROBLEMS["box_on_bound"]
    seen: list[np.ndarray] = []

    def recorded(x: np.ndarray) -> float:
        seen.append(x.copy())
        return box_quadratic(x)

    res = solvers.minimize(recorded, prob.x0, method=METHOD, bounds=prob.bounds)
    points = np.array(seen)
    assert res.status == 0 and len(seen) == res.nfev
    assert points.min() >= 0.0 and points.max() <= 1.0


# -- direc -------------------------------------------------------------------------------------
def test_custom_direc_matches_scipy_and_is_returned_updated() -> None:
    start = [[1.0, 1.0], [1.0, -1.0]]
    ref = scipy.optimize.minimize(rosen, [-1.2, 1.0], method=METHOD,
                                  options={"direc": np.array(start)})
    direc = np.array(start)
    ours = solvers.minimize(rosen, [-1.2, 1.0], method=METHOD, options={"direc": direc})
    _assert_identical_runs(ours, ref)
    assert not np.array_equal(ours.direc, start)  # directions were replaced
    assert direc.tolist() == start  # but not in the caller's array (scipy writes into it)


def test_default_direc_is_the_identity_and_comes_back() -> None:
    res = solvers.minimize(lambda x: float(x @ x), [1.0, 2.0, 3.0], method=METHOD)
    assert res.direc.shape == (3, 3) and res.status == 0


def test_rank_deficient_direc_warns_like_scipy() -> None:
    direc = [[1.0, 0.0], [2.0, 0.0]]
    with pytest.warns(OptimizeWarning, match="direc input is not full rank"):
        ours = solvers.minimize(himmelblau, [1.0, 1.0], method=METHOD,
                                options={"direc": direc})
    with pytest.warns(scipy.optimize.OptimizeWarning, match="direc input is not full rank"):
        ref = scipy.optimize.minimize(himmelblau, [1.0, 1.0], method=METHOD,
                                      options={"direc": direc})
    _assert_identical_runs(ours, ref)
    assert ours.x[1] == 1.0  # the second variable was never moved


@pytest.mark.parametrize("direc,match", [
    (np.eye(3), r"'direc' must have shape \(2, 2\)"),
    ([1.0, 0.0], r"'direc' must have shape \(2, 2\).*got shape \(2,\)"),
    ([[1.0, np.nan], [0.0, 1.0]], "finite"),
])
def test_bad_direc_is_a_value_error(direc: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        solvers.minimize(himmelblau, [1.0, 1.0], method=METHOD, options={"direc": direc})


# -- limits --------------------------------------------------------------------------------------
@pytest.mark.parametrize("maxiter", [1, 2, 5])
def test_maxiter_is_honoured_exactly(maxiter: int) -> None:
    ours, ref, _, _ = _both(rosen, (-1.2, 1.0), options={"maxiter": maxiter})
    _assert_identical_runs(ours, ref)
    assert ours.nit == maxiter and ours.status == 2
    assert ours.message == "Maximum number of iterations has been exceeded."


def test_maxiter_zero_evaluates_only_the_start() -> None:
    res = solvers.minimize(rosen, [-1.2, 1.0], method=METHOD, options={"maxiter": 0})
    assert (res.nit, res.nfev, res.status) == (0, 1, 2)
    assert res.x.tolist() == [-1.2, 1.0]


@pytest.mark.parametrize("maxfev", [1, 10, 57, 100, 250])
def test_maxfev_is_honoured_exactly(maxfev: int) -> None:
    ours, ref, _, _ = _both(rosen, (-1.2, 1.0), options={"maxfev": maxfev})
    assert ours.nfev == ref.nfev == maxfev
    assert (ours.status, ours.success, ours.nit) == (1, False, ref.nit)
    assert ours.message == "Maximum number of function evaluations has been exceeded."
    # stopped inside a line search: the best point seen, never worse than scipy's
    assert ours.fun <= ref.fun and ours.fun == rosen(ours.x)


def test_maxfev_below_one_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'maxfev' must be at least 1"):
        solvers.minimize(rosen, [-1.2, 1.0], method=METHOD, options={"maxfev": 0})


def test_iteration_limit_defaults() -> None:
    assert iteration_limits(3, None, None) == (3000, 3000)
    assert iteration_limits(3, 10, None) == (10, np.inf)
    assert iteration_limits(3, None, 10) == (np.inf, 10)
    assert iteration_limits(3, np.inf, None) == (np.inf, 3000)
    assert iteration_limits(3, None, np.inf) == (3000, np.inf)


# -- start, records, callbacks -------------------------------------------------------------------
def test_x0_outside_the_bounds_warns_and_is_clipped() -> None:
    first: list[np.ndarray] = []

    def recorded(x: np.ndarray) -> float:
        if not first:
            first.append(x.copy())
        return box_quadratic(x)

    bounds = [(0.0, 1.0)] * 3
    with pytest.warns(OptimizeWarning, match="Initial guess is not within the specified bounds"):
        res = solvers.minimize(recorded, [2.0, -1.0, 0.5], method=METHOD, bounds=bounds)
    assert first[0].tolist() == [1.0, 0.0, 0.5]
    assert res.status == 0 and np.all((res.x >= 0.0) & (res.x <= 1.0))


def test_return_all_matches_scipys_allvecs() -> None:
    ours, ref, _, _ = _both(himmelblau, (1.0, 1.0), options={"return_all": True})
    assert len(ours.allvecs) == len(ref.allvecs) == ours.nit + 1
    np.testing.assert_allclose(ours.allvecs, ref.allvecs, rtol=1e-12, atol=0)
    assert ours.allvecs[0].tolist() == [1.0, 1.0] and ours.allvecs[-1].tolist() == ours.x.tolist()


def test_trace_has_the_start_and_every_iteration() -> None:
    res = solvers.minimize(rosen, [-1.2, 1.0], method=METHOD, options={"trace": True})
    arrays = res.trace.to_arrays()
    assert arrays.x.shape == (res.nit + 1, 2)
    assert arrays.x[0].tolist() == [-1.2, 1.0] and arrays.x[-1].tolist() == res.x.tolist()
    assert arrays.nfev[0] == 1 and arrays.nfev[-1] <= res.nfev
    assert np.all(np.diff(arrays.f) <= 0) and np.all(np.isnan(arrays.grad_norm))


def test_stop_iteration_in_the_callback_ends_with_status_99() -> None:
    calls: list[np.ndarray] = []

    def stop_after_two(x: np.ndarray) -> None:
        calls.append(x)
        if len(calls) == 2:
            raise StopIteration

    res = solvers.minimize(rosen, [-1.2, 1.0], method=METHOD, callback=stop_after_two)
    assert (res.status, res.success, res.nit) == (99, False, 2)
    assert res.x.tolist() == calls[-1].tolist()
    ref = scipy.optimize.minimize(rosen, [-1.2, 1.0], method=METHOD,
                                  callback=lambda x: None, options={"maxiter": 2})
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-12)


def test_nan_objective_stops_with_status_3() -> None:
    def nan_right_of_half(x: np.ndarray) -> float:
        return float("nan") if x[0] > 0.5 else float((x[0] - 2.0) ** 2 + x[1] ** 2)

    res = solvers.minimize(nan_right_of_half, [0.0, 1.0], method=METHOD)
    assert res.status == 3 and not res.success and np.isfinite(res.fun)


def test_jac_is_ignored_with_scipys_warning() -> None:
    prob = PROBLEMS["rosen2"]
    with pytest.warns(RuntimeWarning, match="Method Powell does not use gradient information"):
        res = solvers.minimize(prob.fun, prob.x0, method=METHOD, jac=prob.jac)
    assert res.status == 0


# -- the feasible segment of a line ----------------------------------------------------------------
def test_feasible_step_range() -> None:
    lower, upper = np.array([0.0, -1.0, -np.inf]), np.array([1.0, 1.0, np.inf])
    x = np.array([0.5, 0.0, 3.0])
    assert feasible_step_range(x, np.array([1.0, 0.0, 0.0]), lower, upper) == (-0.5, 0.5)
    assert feasible_step_range(x, np.array([1.0, -2.0, 0.0]), lower, upper) == (-0.5, 0.5)
    assert feasible_step_range(x, np.array([0.0, 0.0, 1.0]), lower, upper) == (-np.inf, np.inf)
    assert feasible_step_range(x, np.zeros(3), lower, upper) == (-np.inf, np.inf)
    outside = np.array([2.0, 0.9, 0.0])  # x[0] needs l in [-2, -1], x[1] needs l >= -0.1
    assert feasible_step_range(outside, np.array([1.0, -1.0, 0.0]), lower, upper) == (0.0, 0.0)
    assert feasible_step_range(outside, np.array([1.0, 0.0, 0.0]), lower, upper) == (-2.0, -1.0)
