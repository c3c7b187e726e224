"""COBYLA against scipy 1.17's (PRIMA) COBYLA, on the shared constrained problems and more.

Tolerances.  With the default ``tol = rhoend = 1e-4`` the final trust region has radius 1e-4, so
two faithful implementations whose rounding differs end a few ``rhoend`` apart: at the default
we compare each result (ours *and* scipy's, which shows the tolerance is COBYLA's, not ours)
with the known optimum to ``20 rhoend`` in x and 1e-6 relative in f.  With a tight ``tol=1e-8``
on both we ask for scipy's solution to 1e-5 relative, or an objective at least as good at no
worse feasibility (on a curved equality constraint x is only determined to about the square
root of the f accuracy).  Success flags must agree, except that ours may succeed where scipy's
run ends just outside ``catol`` and ours is strictly more feasible.  Evaluation counts are
recorded in `EVAL_COUNTS` and must stay within 1.5x scipy's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
from solvers import OptimizeResult
from solvers.methods.cobyla.filter import PointFilter
from solvers.methods.cobyla.iterate import reduced_rho
from solvers.methods.cobyla.lp import trust_region_lp_step

from ..problems import PROBLEMS, himmelblau, rosen
from .constrained_problems import (CONSTRAINED_PROBLEMS, GARCH, HS6, HS71, INFEASIBLE,
                                   ConstrainedProblem, without_jac)

RHOEND = 1e-4
CTOL = float(np.sqrt(np.finfo(float).eps))
EVAL_RATIO_LIMIT = 1.5
#: (problem, tol) -> (our nfev, scipy's nfev), filled as the comparisons run
EVAL_COUNTS: dict[tuple[str, str], tuple[int, int]] = {}


def _both(problem: ConstrainedProblem, **kwargs: Any) -> tuple[OptimizeResult, Any]:
    args = dict(constraints=without_jac(problem.constraints), bounds=problem.bounds, **kwargs)
    ours = solvers.minimize(problem.fun, problem.x0, method="COBYLA", **args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = scipy.optimize.minimize(problem.fun, problem.x0, method="COBYLA", **args)
    return ours, ref


def _assert_flags_agree(ours: OptimizeResult, ref: Any, case: str) -> None:
    if ours.success == ref.success:
        return
    assert ours.success and ref.maxcv > CTOL and ours.maxcv < ref.maxcv, (
        f"{case}: success {ours.success} ({ours.message}) vs scipy {ref.success} ({ref.message})")


def _record(problem: str, tol: str, ours: OptimizeResult, ref: Any) -> None:
    EVAL_COUNTS[(problem, tol)] = (ours.nfev, ref.nfev)
    assert ours.nfev <= EVAL_RATIO_LIMIT * ref.nfev, (
        f"{problem} ({tol}): nfev {ours.nfev} vs scipy {ref.nfev}")


KNOWN = [name for name, p in CONSTRAINED_PROBLEMS.items() if p.solution is not None]


@pytest.mark.parametrize("name", KNOWN)
def test_default_tol_reaches_the_known_optimum_like_scipy(name: str) -> None:
    problem = CONSTRAINED_PROBLEMS[name]
    ours, ref = _both(problem)
    star = np.array(problem.solution)
    for res in (ours, ref):
        np.testing.assert_allclose(res.x, star, atol=20 * RHOEND, err_msg=name)
        assert res.fun == pytest.approx(problem.fun_star, rel=1e-6, abs=1e-6)
        assert res.maxcv <= 1e-7
    _assert_flags_agree(ours, ref, name)
    assert ours.status == ref.status == 0
    _record(name, "default", ours, ref)


@pytest.mark.parametrize("name", list(CONSTRAINED_PROBLEMS))
def test_tight_tol_matches_scipy_or_does_better(name: str) -> None:
    problem = CONSTRAINED_PROBLEMS[name]
    ours, ref = _both(problem, tol=1e-8)
    same_x = np.allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    no_less_feasible = ours.maxcv <= max(ref.maxcv * (1 + 1e-9), CTOL)
    no_worse_f = ours.fun <= ref.fun + 1e-9 * max(1.0, abs(ref.fun))
    assert no_less_feasible, (ours.maxcv, ref.maxcv)
    assert same_x or no_worse_f, (ours.x, ref.x, ours.fun, ref.fun)
    assert ours.success == ref.success
    assert ours.status == ref.status
    _record(name, "1e-8", ours, ref)


def test_garch_with_stationarity_constraint_default_tol() -> None:
    ours, ref = _both(GARCH)
    tight = scipy.optimize.minimize(GARCH.fun, GARCH.x0, method="COBYLA", bounds=GARCH.bounds,
                                    constraints=without_jac(GARCH.constraints), tol=1e-10)
    assert ours.success and ref.success
    np.testing.assert_allclose(ours.x, tight.x, atol=20 * RHOEND)
    assert ours.fun == pytest.approx(tight.fun, rel=1e-6)
    assert ours.x[1] + ours.x[2] <= 0.999 + CTOL
    _record("garch11", "default", ours, ref)


def test_infeasible_problem_returns_the_least_violating_point() -> None:
    ours, ref = _both(INFEASIBLE)
    assert not ours.success and not ref.success
    assert ours.message.startswith(ref.message)
    assert "could not" in ours.message or "Did not converge" in ours.message
    assert "constraints" in ours.message
    assert ours.maxcv == pytest.approx(1.0, abs=1e-6)  # x1 + x2 = 2 violates both by 1
    np.testing.assert_allclose(ours.x, [1.0, 1.0], atol=1e-3)  # least f on that line
    assert ours.nfev < 1000


def test_constraint_objects_give_the_same_run_as_dicts() -> None:
    problem = HS71
    as_dicts = solvers.minimize(problem.fun, problem.x0, method="COBYLA", bounds=problem.bounds,
                                constraints=without_jac(problem.constraints))
    as_objects = solvers.minimize(
        problem.fun, problem.x0, method="COBYLA", bounds=problem.bounds,
        constraints=problem.new_constraints(solvers.LinearConstraint,
                                            solvers.NonlinearConstraint))
    np.testing.assert_allclose(as_objects.x, as_dicts.x, rtol=1e-6)
    assert as_objects.success


# -- bounds -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["docstring", "hs21", "hs35", "hs71", "garch11"])
def test_no_point_outside_the_bounds_is_ever_evaluated(name: str) -> None:
    problem = CONSTRAINED_PROBLEMS[name]
    lb = np.array([-np.inf if lo is None else lo for lo, _ in problem.bounds])
    ub = np.array([np.inf if hi is None else hi for _, hi in problem.bounds])
    seen: list[np.ndarray] = []

    def recording(x: np.ndarray) -> float:
        seen.append(np.array(x))
        return problem.fun(x)

    res = solvers.minimize(recording, problem.x0, method="COBYLA", bounds=problem.bounds,
                           constraints=without_jac(problem.constraints))
    points = np.array(seen)
    assert len(seen) == res.nfev
    assert np.all(points >= lb) and np.all(points <= ub)
    assert res.success


def test_objective_undefined_outside_its_bounds_is_never_called_there() -> None:
    def log_barrier(x: np.ndarray) -> float:  # NaN (a stopped run) for x <= 0
        return float(np.sum(x - np.log(x)))

    res = solvers.minimize(log_barrier, [0.05, 3.0], method="COBYLA",
                           bounds=[(1e-3, 10.0), (1e-3, 10.0)])
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)


def test_box_on_bound_ends_inside_the_box_where_scipy_does_not() -> None:
    prob = PROBLEMS["box_on_bound"]
    ours = solvers.minimize(prob.fun, prob.x0, method="COBYLA", bounds=prob.bounds)
    ref = scipy.optimize.minimize(prob.fun, prob.x0, method="COBYLA", bounds=prob.bounds)
    lb = np.array([lo for lo, _ in prob.bounds])
    ub = np.array([hi for _, hi in prob.bounds])
    assert np.all(ours.x >= lb) and np.all(ours.x <= ub)
    assert ours.fun == pytest.approx(ref.fun, rel=1e-8)
    assert ours.success and ref.success


def test_x0_outside_the_bounds_is_clipped() -> None:
    res = solvers.minimize(lambda x: float(np.sum((x - 2.0) ** 2)), [5.0, -3.0],
                           method="COBYLA", bounds=[(0, 1), (0, 1)])
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-12)
    assert res.success


def test_a_fixed_variable_is_removed_as_scipy_removes_it() -> None:
    bounds = [(None, None), (0.5, 0.5)]
    ours = solvers.minimize(rosen, [-1.2, 1.0], method="COBYLA", bounds=bounds)
    ref = scipy.optimize.minimize(rosen, [-1.2, 1.0], method="COBYLA", bounds=bounds)
    assert ours.x[1] == 0.5
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-3)
    assert ours.success == ref.success


def test_all_variables_fixed() -> None:
    ok = solvers.minimize(rosen, [0.0, 0.0], method="COBYLA", bounds=[(1, 1), (2, 2)])
    assert ok.success and ok.nfev == 1 and ok.fun == rosen(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(ok.x, [1.0, 2.0])
    bad = solvers.minimize(rosen, [0.0, 0.0], method="COBYLA", bounds=[(1, 1), (2, 2)],
                           constraints={"type": "ineq", "fun": lambda x: x[0] - 3})
    assert not bad.success and bad.maxcv == pytest.approx(2.0)


# -- budgets, targets, tolerances ------------------------------------------------------------
@pytest.mark.parametrize("maxiter", [1, 3, 7, 25, 200])
def test_maxiter_is_an_exact_evaluation_budget(maxiter: int) -> None:
    res = solvers.minimize(rosen, PROBLEMS["rosen5"].x0, method="COBYLA",
                           options={"maxiter": maxiter})
    assert res.nfev == maxiter
    assert res.status == 3 and not res.success
    assert res.message == ("Return from COBYLA because the objective function has been "
                           "evaluated MAXFUN times.")
    assert res.fun == pytest.approx(rosen(res.x))


def test_budget_matches_scipy_when_it_covers_the_initial_simplex() -> None:
    x0 = PROBLEMS["rosen5"].x0
    ours = solvers.minimize(rosen, x0, method="COBYLA", options={"maxiter": 40})
    ref = scipy.optimize.minimize(rosen, x0, method="COBYLA", options={"maxiter": 40})
    assert (ours.nfev, ours.status, ours.message) == (ref.nfev, ref.status, ref.message)


def test_f_target_stops_at_a_feasible_point_below_it() -> None:
    problem = CONSTRAINED_PROBLEMS["docstring"]
    res = solvers.minimize(problem.fun, problem.x0, method="COBYLA", bounds=problem.bounds,
                           constraints=without_jac(problem.constraints),
                           options={"f_target": 1.0})
    assert res.status == 1 and res.success
    assert res.message.startswith("Return from COBYLA because the target function value is achieved.")
    assert res.fun <= 1.0 and res.maxcv <= CTOL


def test_catol_decides_feasibility() -> None:
    strict, _ = _both(HS6)  # ends 3e-8 off the equality: above the default sqrt(eps)
    loose = solvers.minimize(HS6.fun, HS6.x0, method="COBYLA", constraints=HS6.constraints,
                             options={"catol": 1e-6})
    assert not strict.success and strict.maxcv > CTOL
    assert strict.message.startswith("Did not converge to a solution satisfying the constraints")
    assert loose.success and loose.status == 0


def test_tol_is_the_final_radius() -> None:
    loose = solvers.minimize(himmelblau, [1.0, 1.0], method="COBYLA", tol=1e-2)
    tight = solvers.minimize(himmelblau, [1.0, 1.0], method="COBYLA", tol=1e-8)
    assert loose.nfev < tight.nfev
    assert np.max(np.abs(tight.x - [3.0, 2.0])) < 1e-6 < np.max(np.abs(loose.x - [3.0, 2.0]))


@pytest.mark.parametrize(("options", "match"), [
    ({"rhobeg": 0.0}, "invalid rhobeg"),
    ({"rhobeg": 1e-6}, "invalid tol"),
    ({"tol": -1.0}, "invalid tol"),
])
def test_invalid_radii_are_repaired_with_a_warning(options: dict[str, Any], match: str) -> None:
    with pytest.warns(solvers.OptimizeWarning, match=match):
        res = solvers.minimize(himmelblau, [1.0, 1.0], method="COBYLA", options=options)
    assert res.fun < himmelblau(np.array([1.0, 1.0]))


def test_zero_budget_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="maxiter"):
        solvers.minimize(himmelblau, [1.0, 1.0], method="COBYLA", options={"maxiter": 0})


def test_nan_objective_stops_with_status_minus_2() -> None:
    def nan_right(x: np.ndarray) -> float:
        return np.nan if x[0] > 1.5 else himmelblau(x)

    res = solvers.minimize(nan_right, [1.0, 1.0], method="COBYLA")
    assert res.status == -2 and not res.success
    assert "non-finite" in res.message
    assert res.fun <= himmelblau(np.array([1.0, 1.0]))


def test_nan_constraint_counts_as_violation() -> None:
    cons = {"type": "ineq", "fun": lambda x: np.nan if x[0] > 2.5 else 2.5 - x[0]}
    res = solvers.minimize(himmelblau, [1.0, 1.0], method="COBYLA", constraints=cons)
    assert res.success and res.x[0] <= 2.5 + 1e-9


# -- callback and trace ---------------------------------------------------------------------
def test_callback_sees_each_iteration_and_the_result_last() -> None:
    problem = CONSTRAINED_PROBLEMS["docstring"]
    seen: list[OptimizeResult] = []

    def callback(intermediate_result: OptimizeResult) -> None:
        seen.append(intermediate_result)

    res = solvers.minimize(problem.fun, problem.x0, method="COBYLA", bounds=problem.bounds,
                           constraints=without_jac(problem.constraints), callback=callback)
    assert len(seen) == res.nit > 5
    np.testing.assert_array_equal(seen[-1].x, res.x)
    assert all({"x", "fun", "nfev", "nit", "maxcv"} <= set(r) for r in seen)
    assert [r.nit for r in seen] == list(range(1, res.nit + 1))
    assert all(a.nfev <= b.nfev for a, b in zip(seen, seen[1:]))


def test_callback_count_is_comparable_to_scipys() -> None:
    ours_calls: list[np.ndarray] = []
    ref_calls: list[np.ndarray] = []
    x0 = PROBLEMS["quadratic"].x0
    fun = PROBLEMS["quadratic"].fun
    ours = solvers.minimize(fun, x0, method="COBYLA", callback=ours_calls.append)
    scipy.optimize.minimize(fun, x0, method="COBYLA", callback=ref_calls.append)
    # one call per trust-region iteration in both (trajectories differ by rounding)
    assert abs(len(ours_calls) - len(ref_calls)) <= 0.25 * len(ref_calls)
    assert len(ours_calls) == ours.nit
    np.testing.assert_allclose(ours_calls[-1], ours.x)


def test_stop_iteration_in_callback() -> None:
    def stop(xk: np.ndarray) -> None:
        raise StopIteration

    res = solvers.minimize(rosen, [-1.2, 1.0], method="COBYLA", callback=stop)
    assert res.status == 30 and not res.success and res.nit == 1  # scipy 1.17's status
    assert res.message == "Return from COBYLA because the callback function requested termination"


def test_trace_records_the_start_and_every_iteration() -> None:
    problem = CONSTRAINED_PROBLEMS["hs35"]
    res = solvers.minimize(problem.fun, problem.x0, method="COBYLA", bounds=problem.bounds,
                           constraints=without_jac(problem.constraints),
                           options={"trace": True})
    arrays = res.trace.to_arrays()
    assert arrays.x.shape == (res.nit + 1, 3)
    np.testing.assert_array_equal(arrays.x[0], problem.x0)
    assert arrays.f[-1] == res.fun and arrays.nfev[-1] <= res.nfev
    assert np.all(np.isnan(arrays.grad_norm))  # derivative-free: no gradient


# -- unconstrained and bounded catalogue problems -----------------------------------------------
@pytest.mark.parametrize("name", ["quadratic", "himmelblau", "box_on_bound", "normal_mle",
                                  "linear_fit", "beale"])
def test_catalogue_problem_tight_tol_matches_scipy(name: str) -> None:
    prob = PROBLEMS[name]
    opts = {"tol": 1e-8, "maxiter": 5000}
    ours = solvers.minimize(prob.fun, prob.x0, args=prob.args, method="COBYLA",
                            bounds=prob.bounds, options=opts)
    ref = scipy.optimize.minimize(prob.fun, prob.x0, args=prob.args, method="COBYLA",
                                  bounds=prob.bounds, options=opts)
    assert ours.success and ref.success
    assert (np.allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
            or ours.fun <= ref.fun + 1e-10 * max(1.0, abs(ref.fun)))
    _record(name, "1e-8", ours, ref)


# -- the pieces -------------------------------------------------------------------------------
def test_lp_step_stays_in_the_ball_and_feasible_when_the_origin_is() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, m = int(rng.integers(1, 6)), int(rng.integers(0, 8))
        A = rng.standard_normal((n, m))
        b = np.abs(rng.standard_normal(m))  # d = 0 is feasible
        g = rng.standard_normal(n)
        delta = float(rng.uniform(0.1, 2.0))
        d = trust_region_lp_step(A, b, delta, g)
        assert np.linalg.norm(d) <= delta * (1 + 1e-10)
        assert np.all(A.T @ d <= b + 1e-10)
        assert g @ d <= 1e-12


def test_lp_step_solves_known_cases() -> None:
    # no constraints: steepest descent to the boundary
    d = trust_region_lp_step(np.zeros((2, 0)), np.zeros(0), 2.0, np.array([3.0, 4.0]))
    np.testing.assert_allclose(d, [-1.2, -1.6])
    # x1 >= 1 violated at 0 (constraint -x1 <= -1): stage 1 reaches it, stage 2 descends in x2
    d = trust_region_lp_step(np.array([[-1.0], [0.0]]), np.array([-1.0]), 2.0,
                             np.array([0.0, 1.0]))
    np.testing.assert_allclose(d, [1.0, -np.sqrt(3.0)], atol=1e-12)
    # unreachable constraint: the least violation inside the ball
    d = trust_region_lp_step(np.array([[-1.0], [0.0]]), np.array([-5.0]), 1.0,
                             np.array([1.0, 0.0]))
    np.testing.assert_allclose(d, [1.0, 0.0], atol=1e-12)


def test_lp_step_agrees_with_prima_on_random_problems() -> None:
    import sys

    import scipy._lib.pyprima  # noqa: F401  (registers the submodules)
    trstlp = sys.modules["scipy._lib.pyprima.cobyla.trustregion"].trstlp
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(300):
        n, m = int(rng.integers(1, 6)), int(rng.integers(0, 8))
        A, b = rng.standard_normal((n, m)), rng.standard_normal(m)
        g, delta = rng.standard_normal(n), float(rng.uniform(0.1, 2.0))
        worst = max(worst, float(np.max(np.abs(
            trust_region_lp_step(A.copy(), b.copy(), delta, g.copy())
            - trstlp(A.copy(), b.copy(), delta, g.copy())))))
    assert worst < 1e-6


def test_filter_keeps_non_dominated_points_and_selects_the_best_feasible() -> None:
    filt = PointFilter(capacity=10, ctol=1e-8, cweight=1e8)
    filt.offer(np.array([0.0]), 1.0, 0.5)
    filt.offer(np.array([1.0]), 2.0, 0.3)   # less violation: both kept
    assert sorted(filt.f) == [1.0, 2.0]
    x, f, c = filt.select(1e8)
    assert (x[0], f, c) == (1.0, 2.0, 0.3)  # the least violating
    filt.offer(np.array([2.0]), 5.0, 0.0)   # a feasible point beats every infeasible one
    filt.offer(np.array([3.0]), 6.0, 0.0)   # dominated: not kept
    filt.offer(np.array([4.0]), 4.0, 0.0)   # dominates the first feasible point
    assert filt.f == [4.0]
    x, f, c = filt.select(1e8)
    assert (x[0], f, c) == (4.0, 4.0, 0.0)


def test_filter_capacity_is_respected() -> None:
    filt = PointFilter(capacity=3, ctol=0.0, cweight=1.0)
    for k in range(6):  # a Pareto front: every point is non-dominated
        filt.offer(np.array([float(k)]), float(k), float(6 - k))
    assert len(filt.f) == 3


def test_rho_schedule() -> None:
    assert reduced_rho(1.0, 1e-4) == pytest.approx(0.1)
    assert reduced_rho(1e-2, 1e-4) == pytest.approx(1e-3)
    assert reduced_rho(1e-3, 1e-4) == 1e-4
