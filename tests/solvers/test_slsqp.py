"""SLSQP against scipy's on the shared constrained problems, plus its contract details."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize as so

import solvers
from solvers._core.nnls import nnls
from solvers.methods.slsqp import EXIT_MODES

from ..oracle import assert_matches_scipy, run_both
from ..problems import PROBLEMS
from .constrained_problems import (CONSTRAINED_PROBLEMS, DOCSTRING, GARCH, HS71, HS100,
                                   INFEASIBLE, ConstrainedProblem, without_jac)

FORMS = ("dict_jac", "dict_fd", "new_jac")


def _inputs(problem: ConstrainedProblem, form: str, module: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"method": "SLSQP", "bounds": problem.bounds}
    if form == "dict_jac":
        kwargs.update(jac=problem.jac, constraints=list(problem.constraints))
    elif form == "dict_fd":
        kwargs.update(constraints=without_jac(problem.constraints))
    else:
        kwargs.update(jac=problem.jac, constraints=problem.new_constraints(
            module.LinearConstraint, module.NonlinearConstraint))
    return kwargs


def _run_both(problem: ConstrainedProblem, form: str, **extra: Any) -> tuple[Any, Any]:
    x0 = np.array(problem.x0)
    with warnings.catch_warnings():  # new-style constraints mixing eq and ineq warn in both
        warnings.simplefilter("ignore", so.OptimizeWarning)
        warnings.simplefilter("ignore", solvers.OptimizeWarning)
        ours = solvers.minimize(problem.fun, x0, **_inputs(problem, form, solvers), **extra)
        ref = so.minimize(problem.fun, x0, **_inputs(problem, form, so), **extra)
    return ours, ref


def _violation(problem: ConstrainedProblem, x: np.ndarray) -> float:
    """Total (L1) constraint violation, the measure SLSQP's merit function penalises."""
    total = 0.0
    for con in problem.constraints:
        value = np.atleast_1d(con["fun"](x))
        bad = np.abs(value) if con["type"] == "eq" else np.maximum(-value, 0.0)
        total += float(np.sum(bad))
    return total


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", list(CONSTRAINED_PROBLEMS))
def test_matches_scipy(name: str, form: str) -> None:
    problem = CONSTRAINED_PROBLEMS[name]
    ours, ref = _run_both(problem, form)
    assert ours.success == ref.success and ours.status == ref.status
    assert ours.message.startswith(ref.message)
    close = np.allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    better = (ours.fun <= ref.fun and _violation(problem, ours.x)
              <= _violation(problem, ref.x) + 1e-8)
    assert close or better, (ours.x, ref.x)
    assert ours.nfev <= 1.5 * ref.nfev and ours.njev <= 1.5 * ref.njev
    assert ours.nit <= max(1.5 * ref.nit, ref.nit + 2)
    assert ours.multipliers.shape == ref.multipliers.shape
    if problem.feasible:
        np.testing.assert_allclose(ours.multipliers, ref.multipliers, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", [n for n, p in CONSTRAINED_PROBLEMS.items() if p.solution])
def test_reaches_the_published_solution(name: str) -> None:
    problem = CONSTRAINED_PROBLEMS[name]
    res = solvers.minimize(problem.fun, np.array(problem.x0), jac=problem.jac,
                           bounds=problem.bounds, constraints=list(problem.constraints))
    assert res.success
    np.testing.assert_allclose(res.x, problem.solution, rtol=2e-5, atol=2e-5)
    assert res.fun == pytest.approx(problem.fun_star, rel=1e-6, abs=1e-6)
    assert _violation(problem, res.x) < 1e-6


def test_default_method_with_constraints_is_slsqp_and_counts_are_scipys() -> None:
    x0 = np.array(DOCSTRING.x0)
    ours = solvers.minimize(DOCSTRING.fun, x0, bounds=DOCSTRING.bounds,
                            constraints=DOCSTRING.constraints)
    ref = so.minimize(DOCSTRING.fun, x0, bounds=DOCSTRING.bounds,
                      constraints=DOCSTRING.constraints)
    np.testing.assert_allclose(ours.x, [1.4, 1.7], rtol=1e-7)
    assert (ours.nit, ours.nfev, ours.njev) == (ref.nit, ref.nfev, ref.njev)
    np.testing.assert_allclose(ours.multipliers, [0.8, 0.0, 0.0], atol=1e-8)
    assert sorted(ours) == sorted(ref)  # the same result fields


def test_garch_stationarity_constraint_binds() -> None:
    res = solvers.minimize(GARCH.fun, np.array(GARCH.x0), jac=GARCH.jac, bounds=GARCH.bounds,
                           constraints=GARCH.constraints)
    unconstrained = solvers.minimize(GARCH.fun, np.array(GARCH.x0), jac=GARCH.jac,
                                     bounds=GARCH.bounds, method="L-BFGS-B")
    assert res.success
    assert unconstrained.x[1] + unconstrained.x[2] > 1.0  # so the constraint matters
    assert res.x[1] + res.x[2] == pytest.approx(0.999, abs=1e-8)
    assert res.multipliers[0] > 0.0


@pytest.mark.parametrize("form", FORMS)
def test_infeasible_problem_ends_unsuccessfully_at_the_least_violating_point(form: str) -> None:
    res, ref = _run_both(INFEASIBLE, form)
    assert not res.success and res.status == ref.status == 8
    assert res.message.startswith("Positive directional derivative for linesearch")
    # every point with 1 <= x1 + x2 <= 3 violates the two constraints by 2 in total
    assert 1.0 - 1e-6 <= res.x.sum() <= 3.0 + 1e-6
    np.testing.assert_allclose(res.x, [0.5, 0.5], atol=1e-4)


def test_incompatible_equalities_end_with_status_4_like_scipy() -> None:
    cons = [{"type": "eq", "fun": lambda x: x[0] + x[1] - 1.0},
            {"type": "eq", "fun": lambda x: x[0] + x[1] - 2.0}]
    ours = solvers.minimize(lambda x: x @ x, np.zeros(2), method="SLSQP", constraints=cons)
    ref = so.minimize(lambda x: x @ x, np.zeros(2), method="SLSQP", constraints=cons)
    assert (ours.status, ours.success) == (ref.status, ref.success)
    assert ours.message.startswith(EXIT_MODES[ours.status])


def test_more_equalities_than_variables_is_status_2() -> None:
    cons = [{"type": "eq", "fun": lambda x: np.array([x[0], x[1], x[0] + x[1]])}]
    ours = solvers.minimize(lambda x: x @ x, np.ones(2), method="SLSQP", constraints=cons)
    ref = so.minimize(lambda x: x @ x, np.ones(2), method="SLSQP", constraints=cons)
    assert ours.status == ref.status == 2
    assert ref.message == "More equality constraints than independent variables"
    assert ours.message.startswith(ref.message)


def test_maxiter_is_honoured_with_scipys_status() -> None:
    ours, ref = _run_both(HS100, "dict_jac", options={"maxiter": 3})
    assert ours.nit == ref.nit == 3
    assert ours.status == ref.status == 9 and not ours.success
    assert ours.message.startswith("Iteration limit reached")
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)


def test_ftol_tightens_the_solution() -> None:
    loose, ref_loose = _run_both(HS71, "dict_jac", options={"ftol": 1e-2})
    tight, _ = _run_both(HS71, "dict_jac", options={"ftol": 1e-12})
    assert loose.nit == ref_loose.nit and loose.nit < tight.nit
    assert abs(tight.fun - HS71.fun_star) < abs(loose.fun - HS71.fun_star) + 1e-12


def test_eps_and_finite_difference_schemes_match_scipy() -> None:
    for extra in ({"options": {"eps": 1e-6}}, {"jac": "3-point"},
                  {"jac": "2-point", "options": {"finite_diff_rel_step": 1e-7}}):
        kwargs = {"bounds": HS71.bounds, "constraints": without_jac(HS71.constraints),
                  "method": "SLSQP", **extra}
        ours = solvers.minimize(HS71.fun, np.array(HS71.x0), **kwargs)
        ref = so.minimize(HS71.fun, np.array(HS71.x0), **kwargs)
        assert ours.nfev == ref.nfev and ours.nit == ref.nit
        np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)


def test_iterates_stay_within_the_bounds() -> None:
    lb, ub = np.array([b[0] for b in HS71.bounds]), np.array([b[1] for b in HS71.bounds])
    seen: list[np.ndarray] = []

    def fun(x: np.ndarray) -> float:
        seen.append(x.copy())
        return HS71.fun(x)

    res = solvers.minimize(fun, np.array([0.0, 6.0, 5.0, 1.0]), method="SLSQP",
                           bounds=HS71.bounds, constraints=without_jac(HS71.constraints))
    assert res.success
    assert all(np.all(x >= lb) and np.all(x <= ub) for x in seen)


def test_value_and_gradient_together() -> None:
    both = lambda x: (HS71.fun(x), HS71.jac(x))  # noqa: E731
    ours = solvers.minimize(both, np.array(HS71.x0), jac=True, method="SLSQP",
                            bounds=HS71.bounds, constraints=HS71.constraints)
    ref = so.minimize(both, np.array(HS71.x0), jac=True, method="SLSQP", bounds=HS71.bounds,
                      constraints=HS71.constraints)
    assert (ours.nfev, ours.njev) == (ref.nfev, ref.njev)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)


def test_callback_sees_each_iteration_as_scipy_calls_it() -> None:
    ours_x: list[np.ndarray] = []
    ref_x: list[np.ndarray] = []
    res = solvers.minimize(HS100.fun, np.array(HS100.x0), jac=HS100.jac, method="SLSQP",
                           constraints=HS100.constraints, callback=lambda x: ours_x.append(x))
    so.minimize(HS100.fun, np.array(HS100.x0), jac=HS100.jac, method="SLSQP",
                constraints=HS100.constraints, callback=lambda x: ref_x.append(x.copy()))
    assert len(ours_x) == len(ref_x) == res.nit
    np.testing.assert_allclose(np.array(ours_x), np.array(ref_x), rtol=1e-6, atol=1e-9)


def test_fixed_variable_with_finite_difference_constraints_matches_scipy() -> None:
    bounds = [(1, 5), (1, 5), (3.5, 3.5), (1, 5)]
    x0 = np.array([1.0, 5.0, 3.5, 1.0])
    kwargs = {"method": "SLSQP", "bounds": bounds, "constraints": without_jac(HS71.constraints)}
    ours = solvers.minimize(HS71.fun, x0, **kwargs)
    ref = so.minimize(HS71.fun, x0, **kwargs)
    assert ours.x[2] == 3.5 and ours.status == ref.status
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)
    assert ours.nfev == ref.nfev


def test_all_variables_fixed_reports_the_constraint_violation() -> None:
    cons = [{"type": "ineq", "fun": lambda x: x[0] - 2.0}]
    res = solvers.minimize(lambda x: x @ x, np.ones(2), method="SLSQP",
                           bounds=[(1, 1), (1, 1)], constraints=cons)
    ref = so.minimize(lambda x: x @ x, np.ones(2), method="SLSQP", bounds=[(1, 1), (1, 1)],
                      constraints=cons)
    assert res.success is ref.success is False
    assert res.message.startswith(ref.message)


def test_methods_without_constraint_support_warn_as_scipy() -> None:
    con = solvers.LinearConstraint([[1.0, 1.0]], -np.inf, 1.0)
    with pytest.warns(RuntimeWarning, match="Method BFGS cannot handle constraints."):
        res = solvers.minimize(lambda x: (x - 2) @ (x - 2), np.zeros(2), method="BFGS",
                               constraints=[con])
    np.testing.assert_allclose(res.x, [2.0, 2.0], atol=1e-5)  # ignored, as scipy ignores it
    with pytest.warns(RuntimeWarning, match="Method BFGS cannot handle constraints."):
        so.minimize(lambda x: (x - 2) @ (x - 2), np.zeros(2), method="BFGS",
                    constraints=[so.LinearConstraint([[1.0, 1.0]], -np.inf, 1.0)])


def test_unknown_option_warns() -> None:
    with pytest.warns(solvers.OptimizeWarning, match="Unknown solver options: bogus"):
        solvers.minimize(DOCSTRING.fun, np.array(DOCSTRING.x0), method="SLSQP",
                         constraints=DOCSTRING.constraints, options={"bogus": 1})


def test_exit_mode_texts_are_scipys() -> None:
    assert EXIT_MODES[0] == "Optimization terminated successfully"
    assert EXIT_MODES[3] == "More than 3*n iterations in LSQ subproblem"
    assert EXIT_MODES[8] == "Positive directional derivative for linesearch"
    assert EXIT_MODES[9] == "Iteration limit reached"


# -- the shared unconstrained / bounded catalogue (no constraints: bounds and plain LSQ) --------
@pytest.mark.parametrize("analytic_jac", [True, False])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_catalogue_matches_scipy(name: str, analytic_jac: bool) -> None:
    # ftol=1e-6 stops rosen10 (92 iterations) where the minimiser is only known to ~3e-4 and
    # rounding has drifted both runs apart within that; a tight ftol makes 1e-5 meaningful.
    options = {"ftol": 1e-10} if name == "rosen10" else None
    cmp = run_both("SLSQP", name, analytic_jac=analytic_jac, options=options)
    assert cmp.ours.status == cmp.ref.status
    assert_matches_scipy(cmp, rtol=1e-5, atol=1e-6)


# -- GARCH(1,1) in (ln omega, alpha, beta), starts next to the omega bound -----------------------
# Each of these starts once ended in exit mode 3 ("More than 3*n iterations in LSQ subproblem",
# at iteration 1, 2, 16 or 17) where scipy's SLSQP converges: NNLS, solving LDP's dual, admitted
# a column (for the first start: the lower-bound row of ln omega, nearly opposite the upper-bound
# row already in) whose dual value was a rounding-level positive but whose coefficient came out
# negative; it left again at once and came straight back, until the iteration limit.
GARCH_STARTS = [
    (math.log(1.22469422e-06), 0.379152577, 0.217960417),   # the sweep's Sobol start 0
    (-13.43, 0.499, 0.601),
    (-13.729, 0.148, 0.928),
    (-11.827, 0.275, 0.138),
    (-13.695, 0.067, 0.404),
]


@pytest.fixture(scope="module")
def garch_log_omega() -> dict[str, Any]:
    """`minimize` arguments for the GARCH likelihood of calib's simulated dataset sim-000
    (seed 1, 800 points) in the coordinates a sweep uses: ln omega, alpha, beta."""
    from calib.datasets import simulate_datasets
    from calib.models import get_model

    model = get_model("garch11")
    truth = {"omega": 0.01, "alpha": 0.15, "beta": 0.86}
    data = simulate_datasets(model, truth, 1, 800, 1)[0].values

    def nll(z: np.ndarray) -> float:
        return model.objective(np.array([math.exp(z[0]), z[1], z[2]]), data)

    stationary = {"type": "ineq", "fun": lambda z: np.array([0.999 - z[1] - z[2]]),
                  "jac": lambda z: np.array([[0.0, -1.0, -1.0]])}
    return {"fun": nll, "method": "SLSQP", "constraints": [stationary],
            "bounds": [(math.log(1e-6), 0.0), (0.0, 1.0), (0.0, 1.0)]}


@pytest.mark.parametrize("z0", GARCH_STARTS, ids=[f"start{i}" for i in range(len(GARCH_STARTS))])
def test_garch_starts_next_to_a_bound_converge_like_scipy(garch_log_omega: dict[str, Any],
                                                          z0: tuple[float, ...]) -> None:
    kwargs = dict(garch_log_omega)
    fun = kwargs.pop("fun")
    ours = solvers.minimize(fun, np.array(z0), **kwargs)
    ref = so.minimize(fun, np.array(z0), **kwargs)
    assert ref.success
    assert (ours.success, ours.status) == (ref.success, ref.status), ours.message
    assert ours.x[1] + ours.x[2] <= 0.999 + 1e-8
    # the minimum lies on a flat ridge along ln omega: both stop once f changes by less than
    # ftol = 1e-6, so they agree in f to that, and in x only loosely
    assert ours.fun <= ref.fun + 1e-6
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-3)
    assert ours.nfev <= 1.5 * ref.nfev and ours.nit <= max(1.5 * ref.nit, ref.nit + 2)


def test_garch_sweep_start_reaches_scipys_minimiser_with_a_tight_ftol(
        garch_log_omega: dict[str, Any]) -> None:
    # ftol 1e-8 pins the minimiser along the ridge well enough for a 1e-5 comparison
    kwargs = dict(garch_log_omega, options={"ftol": 1e-8})
    fun = kwargs.pop("fun")
    ours = solvers.minimize(fun, np.array(GARCH_STARTS[0]), **kwargs)
    ref = so.minimize(fun, np.array(GARCH_STARTS[0]), **kwargs)
    assert ours.success and ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5)


# -- NNLS on the duals of badly scaled LDPs (``[G^T; h^T] u = e_last``, bound rows in G) -----------
# the dual of the first start's second QP: the one that cycled
CYCLING_DUAL = np.array([
    [-6.9578056961406505e-17, 0.97979836231387474, 6.9578056961406505e-17, -0.0,
     -0.97979836231387474, -6.9578056961406505e-17, -0.0],
    [-0.13194094388025571, 0.21726861915726889, 0.13194094388025571, 0.0,
     -0.21726861915726889, -0.13194094388025571, 0.0],
    [-10.007649403822965, 1.8962751228316772, -7.289267791085841, 17.296917194908808,
     -1.8962751228316772, 7.289267791085841, -17.296917194908808],
    [16862003.789421894, -3201572.5634706104, 12274042.336083166, -29136047.124505058,
     3201558.7479600525, -12274043.336083166, 29136046.124505058],
])
# duals where the solution fills every row (LDP: inconsistent constraints); computing the
# residual as f - E_P z, or projecting f off the passive columns only once, left dual values
# of the wrong sign and stopped NNLS a column short, with a residual of ~1e-4
FULL_ROW_DUALS = [
    np.array([
        [-0.022026143968105316, -0.013214841485023499, -0.008085295557975769,
         0.004476860165596008, 1.0, 0.0, -1.0, 0.0],
        [1367.8460617437959, 166.36726121604443, -691.9680606201291, -1061.7268039435148,
         0.0, 1.0, 0.0, -1.0],
        [-16501167.277627954, -2006990.9744026286, 8347635.593933586, 12808261.545904074,
         0.011865854263305664, -12063.615681096895, -79.69581941436083, 12063.614581346512],
    ]),
    np.array([
        [-9.09559017701728e-05, -1.8875031806352092e-05, 8.851102205154766e-06,
         0.004712577565876973, 2.534578212554803e-20, -0.0, -0.004712577565876973,
         -2.534578212554803e-20, -0.0],
        [-0.01879773981152554, -0.0040484317582133505, 0.0019281813415183626,
         0.9820669201273712, 0.1901913158909091, 0.0, -0.9820669201273712,
         -0.1901913158909091, 0.0],
        [572.1426659545613, 688.386681424752, 1184.7559903327694, -0.00017725437446172018,
         0.0010263003631054567, 0.9999998007797511, 0.00017725437446172018,
         -0.0010263003631054567, -0.9999998007797511],
        [-751736.9798606471, -904470.2152513626, -1556648.9439286077, -17.88391644314732,
         -415.9617267976165, -1313.900885047984, -138.12159700561583, -1685.303720156444,
         1313.8993582661305],
    ]),
]


def _unit_last(m: int) -> np.ndarray:
    f = np.zeros(m)
    f[-1] = 1.0
    return f


def test_nnls_rejects_a_column_whose_coefficient_would_be_negative() -> None:
    e, f = CYCLING_DUAL, _unit_last(4)
    u, rnorm, code = nnls(e, f, 3 * e.shape[1])      # LDP's limit: 3 * (number of rows of G)
    ref, ref_norm = so.nnls(e, f, maxiter=3 * e.shape[1])
    assert code == 1                                  # was 3: the iteration limit
    np.testing.assert_array_equal(u > 0.0, ref > 0.0)
    np.testing.assert_allclose(u, ref, rtol=1e-6, atol=1e-20)
    assert rnorm == pytest.approx(ref_norm, rel=1e-9)


@pytest.mark.parametrize("e", FULL_ROW_DUALS, ids=["3x8", "4x9"])
def test_nnls_fills_the_rows_of_a_badly_scaled_dual_like_scipy(e: np.ndarray) -> None:
    f = _unit_last(e.shape[0])
    u, rnorm, code = nnls(e, f, 3 * e.shape[1])
    ref, ref_norm = so.nnls(e, f, maxiter=3 * e.shape[1])
    assert code == 1 and rnorm == ref_norm == 0.0
    np.testing.assert_array_equal(u > 0.0, ref > 0.0)
    assert np.linalg.norm(e @ u - f) < 1e-7
