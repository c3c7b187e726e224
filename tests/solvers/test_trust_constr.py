"""trust-constr against scipy 1.17: constrained problems, unconstrained and bound-only runs,
Hessian options, result fields, callbacks, options, and the numerical pieces on their own."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
from solvers.methods.trust_constr.projections import projections
from solvers.methods.trust_constr.qp import box_intersections, projected_cg, sphere_intersections
from tests.solvers.constrained_problems import CONSTRAINED_PROBLEMS, ConstrainedProblem

METHOD = "trust-constr"
#: our evaluation count may exceed scipy's by this factor: iterates agree to rounding, but a
#: quasi-Newton update over a rounding-size step (a second-order correction landing next to the
#: trial point) can send the two runs along different (equally valid) paths (GARCH: 37 vs 24)
NFEV_RATIO_LIMIT = 2.0
SCIPY_FIELDS = {"barrier_parameter", "barrier_tolerance", "cg_niter", "cg_stop_cond", "constr",
                "constr_nfev", "constr_nhev", "constr_njev", "constr_penalty",
                "constr_violation", "execution_time", "fun", "grad", "jac", "lagrangian_grad",
                "message", "method", "nfev", "nhev", "nit", "niter", "njev", "optimality",
                "status", "success", "tr_radius", "v", "x"}
X5 = np.array([-1.2, 1.0, 0.8, -0.5, 1.1])


def _quiet(lib: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.minimize(*args, method=METHOD, **kwargs)


def _both(problem: ConstrainedProblem, **kwargs: Any) -> tuple[Any, Any]:
    out = []
    for lib in (solvers, scipy.optimize):
        cons = problem.new_constraints(lib.LinearConstraint, lib.NonlinearConstraint)
        out.append(_quiet(lib, problem.fun, np.array(problem.x0), constraints=cons,
                          bounds=problem.bounds, **kwargs))
    return out[0], out[1]


def _rosen_both(**kwargs: Any) -> tuple[Any, Any]:
    return (_quiet(solvers, scipy.optimize.rosen, X5.copy(), **kwargs),
            _quiet(scipy.optimize, scipy.optimize.rosen, X5.copy(), **kwargs))


# -- the issue-5 problems ---------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, p in CONSTRAINED_PROBLEMS.items() if p.feasible])
def test_matches_scipy_on_the_constrained_problems(name: str) -> None:
    problem = CONSTRAINED_PROBLEMS[name]
    ours, ref = _both(problem, jac=problem.jac)
    assert (ours.success, ours.status, ours.method) == (ref.success, ref.status, ref.method)
    same_x = np.allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    better = ours.fun <= ref.fun and ours.constr_violation <= max(ref.constr_violation, 1e-8)
    assert same_x or better, f"{name}: {ours.x} (f={ours.fun}) vs scipy {ref.x} (f={ref.fun})"
    assert ours.nfev <= NFEV_RATIO_LIMIT * ref.nfev
    if problem.solution is not None:  # the barrier leaves hs21's x1 at 2.0008, as scipy's does
        np.testing.assert_allclose(ours.x, problem.solution, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", ["docstring", "hs71", "hs100", "eq_only"])
def test_matches_scipy_with_finite_difference_gradients(name: str) -> None:
    ours, ref = _both(CONSTRAINED_PROBLEMS[name])
    # difference noise on eq_only's linear objective feeds BFGS updates that differ from scipy's
    # at rounding level (scipy updates one triangle with BLAS): both succeed, by gtol or xtol
    assert ours.success == ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    # gtol=1e-8 is at the level of 2-point difference noise: the end can take longer (eq_only:
    # 100 evaluations against scipy's 44, ending by xtol instead of gtol)
    assert ours.nfev <= 2.5 * ref.nfev


def test_the_docstring_example_iterates_exactly_as_scipy() -> None:
    ours, ref = _both(CONSTRAINED_PROBLEMS["docstring"], jac=CONSTRAINED_PROBLEMS["docstring"].jac)
    np.testing.assert_allclose(ours.x, [1.4, 1.7], atol=1e-4)
    assert (ours.nit, ours.nfev, ours.njev, ours.cg_niter) == \
        (ref.nit, ref.nfev, ref.njev, ref.cg_niter)
    for mine, theirs in zip(ours.v, ref.v):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9)


def test_an_infeasible_problem_ends_unsuccessful_at_the_least_violating_point() -> None:
    problem = CONSTRAINED_PROBLEMS["infeasible"]
    ours, ref = _both(problem, jac=problem.jac)
    assert not ours.success and ours.status == ref.status == 4
    assert ours.message.startswith("Constraint violation exceeds 'gtol'")
    assert "could not be satisfied" in ours.message
    assert ours.nit <= 1000
    # x1 + x2 = 2 halves the violation of x1 + x2 >= 3 and x1 + x2 <= 1; the objective picks (1, 1)
    np.testing.assert_allclose(ours.x, [1.0, 1.0], atol=1e-4)
    assert ours.constr_violation == pytest.approx(ref.constr_violation, abs=1e-6)
    assert ours.constr_violation == pytest.approx(1.0, abs=1e-6)


def test_keep_feasible_constraints_and_bounds_match_scipy() -> None:
    problem = CONSTRAINED_PROBLEMS["docstring"]
    A, b = np.array([[1.0, -2.0], [-1.0, -2.0], [-1.0, 2.0]]), np.array([2.0, 6.0, 2.0])
    out = []
    for lib in (solvers, scipy.optimize):
        seen: list[Any] = []
        out.append((_quiet(lib, problem.fun, np.array([1.0, 0.5]), jac=problem.jac,
                           callback=lambda x, state, seen=seen: seen.append(x),
                           constraints=[lib.LinearConstraint(A, -b, np.inf, keep_feasible=True)],
                           bounds=lib.Bounds([0, 0], [np.inf, np.inf], keep_feasible=True)),
                    seen))
    (ours, path), (ref, _) = out
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)
    assert (ours.nit, ours.nfev) == (ref.nit, ref.nfev)
    assert all(np.all(A @ x + b >= 0) and np.all(x >= 0) for x in path)


def test_dict_constraints_are_converted() -> None:
    cons = [{"type": "ineq", "fun": lambda x: x[0] - 1}]
    ours = _quiet(solvers, lambda x: float(x @ x), [1.0, 2.0, 3.0], constraints=cons)
    ref = _quiet(scipy.optimize, lambda x: float(x @ x), [1.0, 2.0, 3.0], constraints=cons)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6, atol=1e-8)
    assert ours.nit == ref.nit and ours.method == "tr_interior_point"


# -- no constraints, bounds only, Hessian options ---------------------------------------------
@pytest.mark.parametrize("jac", [scipy.optimize.rosen_der, None, "3-point"],
                         ids=["analytic", "2-point", "3-point"])
def test_unconstrained_rosen_matches_scipy(jac: Any) -> None:
    ours, ref = _rosen_both(jac=jac)
    assert ours.method == "equality_constrained_sqp"
    assert (ours.success, ours.status) == (ref.success, ref.status)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert ours.nfev <= NFEV_RATIO_LIMIT * ref.nfev


@pytest.mark.parametrize("jac", [scipy.optimize.rosen_der, None], ids=["analytic", "2-point"])
def test_bounds_only_use_the_interior_point_method(jac: Any) -> None:
    bounds = [(-2.0, 0.5)] * 5
    ours, ref = _rosen_both(jac=jac, bounds=bounds)
    assert ours.method == ref.method == "tr_interior_point"
    assert ours.success and ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert np.all(ours.x <= 0.5 + 1e-8)
    assert len(ours.v) == 1 and ours.v[0].shape == (5,)


@pytest.mark.parametrize("hess", ["BFGS", "SR1", "2-point", "3-point", "callable", "hessp"])
def test_hessian_options_match_scipy(hess: str) -> None:
    def kwargs(lib: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"jac": scipy.optimize.rosen_der}
        if hess in ("BFGS", "SR1"):
            out["hess"] = getattr(lib, hess)()
        elif hess == "callable":
            out["hess"] = scipy.optimize.rosen_hess
        elif hess == "hessp":
            out["hessp"] = scipy.optimize.rosen_hess_prod
        else:
            out["hess"] = hess
        return out
    ours = _quiet(solvers, scipy.optimize.rosen, X5.copy(), **kwargs(solvers))
    ref = _quiet(scipy.optimize, scipy.optimize.rosen, X5.copy(), **kwargs(scipy.optimize))
    assert (ours.success, ours.status) == (ref.success, ref.status)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert ours.nhev == pytest.approx(ref.nhev, rel=0.1)
    assert ours.nfev <= NFEV_RATIO_LIMIT * ref.nfev


def test_finite_difference_hessian_needs_an_analytic_gradient() -> None:
    with pytest.raises(ValueError, match="quasi-Newton"):
        solvers.minimize(scipy.optimize.rosen, X5, method=METHOD, hess="2-point")


@pytest.mark.parametrize("con_hess", ["callable", "SR1", "2-point"])
def test_nonlinear_constraint_hessians_and_counts_match_scipy(con_hess: str) -> None:
    def constraint(lib: Any) -> Any:
        hess: Any = {"callable": lambda x, v: 2 * v[0] * np.eye(5), "SR1": lib.SR1(),
                     "2-point": "2-point"}[con_hess]
        return lib.NonlinearConstraint(lambda x: np.array([x @ x]), -np.inf, 3.0,
                                       jac=lambda x: 2 * x[None, :], hess=hess)
    ours = _quiet(solvers, scipy.optimize.rosen, X5.copy(), jac=scipy.optimize.rosen_der,
                  constraints=[constraint(solvers)])
    ref = _quiet(scipy.optimize, scipy.optimize.rosen, X5.copy(), jac=scipy.optimize.rosen_der,
                 constraints=[constraint(scipy.optimize)])
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert ours.success == ref.success
    for key in ("constr_nfev", "constr_njev", "constr_nhev"):
        assert ours[key][0] == pytest.approx(ref[key][0], rel=0.1, abs=2), key


# -- the result and the callback protocol -----------------------------------------------------
def test_the_result_has_scipys_fields() -> None:
    ours, ref = _both(CONSTRAINED_PROBLEMS["hs71"], jac=CONSTRAINED_PROBLEMS["hs71"].jac)
    assert SCIPY_FIELDS <= set(ours) and set(ref) <= set(ours)
    assert ours.niter == ours.nit and ours.execution_time >= 0
    assert [c.shape for c in ours.constr] == [c.shape for c in ref.constr]
    assert [np.shape(j) for j in ours.jac] == [np.shape(j) for j in ref.jac]
    assert ours.optimality == pytest.approx(np.max(np.abs(ours.lagrangian_grad)))
    assert ours.optimality < 1e-8 and ours.constr_violation < 1e-8
    # the multipliers: the bounds' lower side is active for x1 (negative multiplier)
    assert ours.v[2][0] < 0 and ours.v[2][0] == pytest.approx(ref.v[2][0], rel=1e-4)


def test_equality_only_results_have_no_barrier_fields() -> None:
    ours, _ = _both(CONSTRAINED_PROBLEMS["hs7"], jac=CONSTRAINED_PROBLEMS["hs7"].jac)
    assert ours.method == "equality_constrained_sqp"
    assert "barrier_parameter" not in ours and ours.message.startswith("`gtol`")


def test_callback_gets_x_and_the_state_every_iteration() -> None:
    seen: list[tuple[Any, int, float]] = []

    def callback(xk: Any, state: Any) -> None:
        seen.append((xk, state.nit, state.optimality))

    problem = CONSTRAINED_PROBLEMS["hs21"]
    res = solvers.minimize(problem.fun, problem.x0, method=METHOD, jac=problem.jac,
                           bounds=problem.bounds, callback=callback,
                           constraints=problem.new_constraints(solvers.LinearConstraint,
                                                               solvers.NonlinearConstraint))
    assert [nit for _, nit, _ in seen] == list(range(1, res.nit + 1))
    np.testing.assert_array_equal(seen[-1][0], res.x)


@pytest.mark.parametrize("how", ["return True", "StopIteration", "intermediate_result"])
def test_a_callback_can_stop_the_run_with_status_3(how: str) -> None:
    def stop(xk: Any, state: Any) -> bool:
        if how == "StopIteration" and state.nit == 3:
            raise StopIteration
        return state.nit >= 3

    def stop_ir(intermediate_result: Any) -> bool:
        return intermediate_result.nit >= 3

    callback = stop_ir if how == "intermediate_result" else stop
    res = solvers.minimize(scipy.optimize.rosen, X5, method=METHOD, callback=callback)
    assert (res.status, res.nit, res.success) == (3, 3, False)
    assert res.message == "`callback` raised `StopIteration`."


def test_maxiter_ends_with_status_0() -> None:
    ours, ref = _rosen_both(jac=scipy.optimize.rosen_der, options={"maxiter": 7})
    assert (ours.status, ours.nit, ours.message) == (ref.status, ref.nit, ref.message)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)


@pytest.mark.parametrize("verbose", [1, 2, 3])
def test_verbose_prints_the_report(verbose: int, capsys: pytest.CaptureFixture[str]) -> None:
    problem = CONSTRAINED_PROBLEMS["hs35"]
    solvers.minimize(problem.fun, problem.x0, method=METHOD, jac=problem.jac,
                     bounds=problem.bounds, options={"verbose": verbose},
                     constraints=problem.new_constraints(solvers.LinearConstraint,
                                                         solvers.NonlinearConstraint))
    out = capsys.readouterr().out
    assert "`gtol` termination condition is satisfied." in out
    assert ("| niter |" in out) == (verbose >= 2)
    assert ("barrier param" in out) == (verbose == 3)


# -- options and bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("factorization", ["QRFactorization", "SVDFactorization",
                                           "AugmentedSystem", "NormalEquation"])
def test_every_factorization_gives_the_solution(factorization: str) -> None:
    problem = CONSTRAINED_PROBLEMS["hs71"]
    res = _quiet(solvers, problem.fun, np.array(problem.x0), jac=problem.jac,
                 bounds=problem.bounds, options={"factorization_method": factorization},
                 constraints=problem.new_constraints(solvers.LinearConstraint,
                                                     solvers.NonlinearConstraint))
    assert res.success
    np.testing.assert_allclose(res.x, problem.solution, rtol=1e-5)


def test_unknown_factorization_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="factorization_method"):
        solvers.minimize(scipy.optimize.rosen, X5, method=METHOD,
                         options={"factorization_method": "LU"})


def test_dependent_equalities_fall_back_to_the_svd_with_scipys_warning() -> None:
    cons = [solvers.LinearConstraint([[1, 1, 0], [2, 2, 0]], [1, 2], [1, 2])]
    with pytest.warns(UserWarning, match="Singular Jacobian matrix"):
        res = solvers.minimize(lambda x: float(x @ x), [1.0, 2.0, 3.0], jac=lambda x: 2 * x,
                               method=METHOD, constraints=cons)
    np.testing.assert_allclose(res.x, [0.5, 0.5, 0.0], atol=1e-8)


def test_more_equalities_than_variables_is_a_value_error() -> None:
    cons = [solvers.LinearConstraint(np.eye(3)[:, :2], [1, 2, 3], [1, 2, 3])]
    with pytest.raises(ValueError, match="more equality constraints than independent"):
        solvers.minimize(lambda x: float(x @ x), [1.0, 2.0], method=METHOD, constraints=cons)


def test_keep_feasible_constraint_infeasible_at_x0_is_a_value_error() -> None:
    cons = [solvers.LinearConstraint([[1.0, 1.0]], 3.0, np.inf, keep_feasible=True)]
    with pytest.raises(ValueError, match="keep_feasible"):
        solvers.minimize(lambda x: float(x @ x), [0.0, 0.0], method=METHOD, constraints=cons)


def test_tol_sets_the_three_tolerances() -> None:
    loose = solvers.minimize(scipy.optimize.rosen, X5, method=METHOD, tol=1e-3)
    tight = solvers.minimize(scipy.optimize.rosen, X5, method=METHOD)
    assert loose.nit < tight.nit


# -- the numerical pieces ------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["QRFactorization", "SVDFactorization", "AugmentedSystem",
                                    "NormalEquation"])
def test_projections_are_the_null_space_and_minimum_norm_maps(method: str) -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 7))
    proj = projections(A, method)
    x, b = rng.normal(size=7), rng.normal(size=3)
    z = proj.null_space(x)
    np.testing.assert_allclose(A @ z, 0, atol=1e-12)
    np.testing.assert_allclose(z, x - A.T @ np.linalg.solve(A @ A.T, A @ x), atol=1e-12)
    np.testing.assert_allclose(proj.least_squares(x), np.linalg.lstsq(A.T, x, rcond=None)[0],
                               atol=1e-12)
    np.testing.assert_allclose(proj.row_space(b), np.linalg.pinv(A) @ b, atol=1e-12)


def test_projected_cg_matches_scipys_on_a_trust_region_qp() -> None:
    from scipy.optimize._trustregion_constr import projections as sp_proj
    from scipy.optimize._trustregion_constr import qp_subproblem as sp_qp
    rng = np.random.default_rng(1)
    M = rng.normal(size=(6, 6))
    H, c = M @ M.T + 6 * np.eye(6), 5 * rng.normal(size=6)
    A, b = rng.normal(size=(2, 6)), 0.1 * rng.normal(size=2)
    proj = projections(A)
    Z, _, Y = sp_proj.projections(A)
    conds = set()
    # interior solution (tolerance), sphere boundary, box boundary, both
    for radius, half_width in ((np.inf, np.inf), (0.3, np.inf), (1.0, 0.3), (0.3, 0.3)):
        lb, ub = np.full(6, -half_width), np.full(6, half_width)
        x, info = projected_cg(H, c, proj.null_space, proj.row_space, b, radius, lb, ub)
        x_ref, info_ref = sp_qp.projected_cg(H, c, Z, Y, b, radius, lb, ub)
        np.testing.assert_allclose(x, x_ref, rtol=1e-10, atol=1e-12)
        assert info == info_ref
        conds.add((info["stop_cond"], info["hits_boundary"]))
    assert conds == {(4, False), (2, True), (4, True)}
    exact = np.linalg.solve(np.block([[H, A.T], [A, np.zeros((2, 2))]]),
                            np.concatenate((-c, -b)))[:6]
    x, _ = projected_cg(H, c, proj.null_space, proj.row_space, b)
    np.testing.assert_allclose(A @ x, -b, atol=1e-12)
    assert np.linalg.norm(x - exact) < 0.05 * np.linalg.norm(exact)


def test_intersections_of_a_segment_with_ball_and_box() -> None:
    z, d = np.array([0.0, 0.0]), np.array([2.0, 0.0])
    assert sphere_intersections(z, d, 1.0) == pytest.approx((0.0, 0.5, True))
    ta, tb, hit = box_intersections(z, d, np.array([-1.0, -1.0]), np.array([0.5, 1.0]))
    assert hit and (ta, tb) == pytest.approx((0.0, 0.25))
    assert not sphere_intersections(np.array([2.0, 0.0]), np.array([1.0, 0.0]), 1.0)[2]
