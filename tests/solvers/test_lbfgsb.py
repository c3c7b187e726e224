"""L-BFGS-B against scipy's (the oracle) and unit checks of its building blocks."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.optimize

import solvers
from solvers.methods.lbfgsb.cauchy_point import generalized_cauchy_point
from solvers.methods.lbfgsb.hess_inv import LbfgsInvHessProduct
from solvers.methods.lbfgsb.memory import LbfgsMemory
from solvers.methods.lbfgsb.subspace import subspace_minimum

from ..oracle import assert_matches_scipy, run_both
from ..problems import PROBLEMS, rosen, rosen_der

METHOD = "L-BFGS-B"
# With finite differences the Rosenbrock runs stop on the default ftol (2.2e-9 relative in f)
# where x is only known to ~1e-5, so rounding-level differences in the finite-difference path
# decide the last digits of x; both solvers get a tighter ftol there (see test docstring).
TIGHT_FD = {"rosen2", "rosen5", "rosen10"}


def _run(fun, x0, **kwargs):
    """Ours and scipy's on the same inputs."""
    ref = scipy.optimize.minimize(fun, np.array(x0, dtype=float), method=METHOD, **kwargs)
    ours = solvers.minimize(fun, np.array(x0, dtype=float), method=METHOD, **kwargs)
    return ours, ref


# -- the scipy oracle on the catalogue ---------------------------------------------------------
@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_catalogue_matches_scipy(name: str, analytic_jac: bool) -> None:
    """Same minimiser, success flag, status and message as scipy; nfev within 1.5x."""
    options = {"ftol": 1e-13} if name in TIGHT_FD and not analytic_jac else None
    cmp = run_both(METHOD, name, analytic_jac=analytic_jac, options=options)
    assert_matches_scipy(cmp)
    assert cmp.ours.status == cmp.ref.status
    assert cmp.ours.message.startswith("CONVERGENCE: ")
    assert cmp.ours.njev <= 1.5 * cmp.ref.njev


@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
@pytest.mark.parametrize("name", ["box_on_bound", "normal_mle"])
def test_bounded_problems_without_bounds(name: str, analytic_jac: bool) -> None:
    problem = dataclasses.replace(PROBLEMS[name], bounds=None)
    cmp = run_both(METHOD, problem, analytic_jac=analytic_jac)
    assert_matches_scipy(cmp)


def test_exact_iterates_and_counts_on_rosen10() -> None:
    """The algorithm is scipy's: same nit, nfev, njev, message and hess_inv."""
    cmp = run_both(METHOD, "rosen10")
    ours, ref = cmp.ours, cmp.ref
    assert (ours.nit, ours.nfev, ours.njev) == (ref.nit, ref.nfev, ref.njev)
    assert ours.message == ref.message == "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    # the last pairs are differences of nearly equal iterates: agreement to rounding noise
    np.testing.assert_allclose(ours.hess_inv.todense(), ref.hess_inv.todense(), rtol=1e-2,
                               atol=1e-3)


# -- bounds --------------------------------------------------------------------------------
@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
def test_several_variables_pinned_at_bounds(analytic_jac: bool) -> None:
    x0 = np.linspace(-0.5, 1.5, 10)
    bounds = [(-1.0, 0.8)] * 5 + [(0.2, 0.6)] * 5
    jac = rosen_der if analytic_jac else None
    ours, ref = _run(rosen, np.clip(x0, -1.0, 0.8), jac=jac, bounds=bounds)
    assert ours.success and ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    on_bound = np.isclose(ours.x, 0.8) | np.isclose(ours.x, 0.6) | np.isclose(ours.x, 0.2)
    assert on_bound.sum() >= 3
    assert ours.nfev <= 1.5 * ref.nfev


def test_fixed_variables_with_finite_differences() -> None:
    bounds = [(-2, 2), (0.7, 0.7), (-2, 2), (1.9, 1.9), (-2, 2)]
    ours, ref = _run(rosen, PROBLEMS["rosen5"].x0, bounds=bounds)
    assert ours.success == ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert ours.x[1] == 0.7 and ours.x[3] == 1.9
    assert np.isnan(ours.jac[[1, 3]]).all()
    assert ours.nfev == ref.nfev


def test_fixed_variables_with_analytic_gradient_stay_fixed() -> None:
    bounds = [(-2, 2), (0.7, 0.7), (-2, 2), (1.9, 1.9), (-2, 2)]
    ours, ref = _run(rosen, PROBLEMS["rosen5"].x0, jac=rosen_der, bounds=bounds)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert ours.x[1] == 0.7 and ours.x[3] == 1.9


def test_x0_outside_bounds_is_clipped() -> None:
    seen: list[np.ndarray] = []

    def fun(x: np.ndarray) -> float:
        seen.append(x.copy())
        return rosen(x)

    bounds = [(0.0, 0.5), (0.0, 2.0), (-1.0, 0.3)]
    ours, ref = _run(fun, [3.0, -1.0, 0.0], jac=rosen_der, bounds=bounds)
    np.testing.assert_array_equal(seen[0], [0.5, 0.0, 0.0])
    assert all(np.all((x >= [0.0, 0.0, -1.0]) & (x <= [0.5, 2.0, 0.3])) for x in seen)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5, atol=1e-7)
    assert ours.nfev == ref.nfev


# -- limits, statuses, messages -----------------------------------------------------------
@pytest.mark.parametrize(("options", "message"), [
    ({"maxiter": 5}, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"),
    ({"maxiter": 1}, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"),
    ({"maxfun": 5}, "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"),
    ({"maxfun": 30}, "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"),
])
def test_limits_as_scipy(options: dict, message: str) -> None:
    cmp = run_both(METHOD, "rosen10", options=options)
    ours, ref = cmp.ours, cmp.ref
    assert ours.message == ref.message == message
    assert ours.status == ref.status == 1 and not ours.success
    assert (ours.nit, ours.nfev, ours.njev) == (ref.nit, ref.nfev, ref.njev)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)
    if "maxiter" in options:
        assert ours.nit == options["maxiter"]


def test_abnormal_line_search_as_scipy() -> None:
    """A wrong gradient makes every line search fail: memory is empty, so ABNORMAL."""
    def fun(x: np.ndarray) -> float:
        return float(x @ x)

    ours, ref = _run(fun, np.ones(3), jac=lambda x: -2.0 * x)
    assert ours.message == ref.message == "ABNORMAL: "
    assert ours.status == ref.status == 2 and not ours.success
    np.testing.assert_array_equal(ours.x, np.ones(3))   # the last accepted iterate
    assert ours.fun == 3.0 and ours.nit == ref.nit == 0


def test_maxls_one_is_abnormal_like_scipy() -> None:
    cmp = run_both(METHOD, "rosen10", options={"maxls": 1})
    assert cmp.ours.message == cmp.ref.message == "ABNORMAL: "
    assert (cmp.ours.status, cmp.ours.nfev) == (cmp.ref.status, cmp.ref.nfev)


def test_maxls_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxls must be positive"):
        solvers.minimize(rosen, np.zeros(2), method=METHOD, options={"maxls": 0})


def test_iprint_is_deprecated_and_ignored() -> None:
    with pytest.warns(DeprecationWarning, match="iprint"):
        res = solvers.minimize(rosen, np.zeros(2), jac=rosen_der, method=METHOD,
                               options={"iprint": 5})
    assert res.success


def test_maxcor_one_still_converges_and_keeps_one_pair() -> None:
    cmp = run_both(METHOD, "rosen10", options={"maxcor": 1})
    assert cmp.ours.success and cmp.ref.success
    np.testing.assert_allclose(cmp.ours.x, np.ones(10), atol=2e-3)
    assert cmp.ours.hess_inv.sk.shape == (1, 10)
    default = run_both(METHOD, "rosen10").ours
    assert cmp.ours.nit > default.nit         # less memory, more iterations
    assert cmp.ours.nfev <= 1.5 * cmp.ref.nfev


def test_tol_maps_to_ftol_and_gtol() -> None:
    problem = PROBLEMS["rosen5"]
    x0 = np.array(problem.x0)
    via_tol = solvers.minimize(rosen, x0, jac=rosen_der, method=METHOD, tol=1e-3)
    via_options = solvers.minimize(rosen, x0, jac=rosen_der, method=METHOD,
                                   options={"ftol": 1e-3, "gtol": 1e-3})
    ref = scipy.optimize.minimize(rosen, x0, jac=rosen_der, method=METHOD, tol=1e-3)
    default = solvers.minimize(rosen, x0, jac=rosen_der, method=METHOD)
    np.testing.assert_array_equal(via_tol.x, via_options.x)
    assert via_tol.nit == via_options.nit == ref.nit < default.nit
    np.testing.assert_allclose(via_tol.x, ref.x, rtol=1e-10)


# -- result fields, hess_inv, trace, callback, non-finite values ----------------------------
def test_hess_inv_operator_is_consistent_symmetric_positive_definite() -> None:
    res = run_both(METHOD, "rosen10", options={"maxcor": 4, "maxiter": 12}).ours
    op = res.hess_inv
    dense = op.todense()
    assert op.shape == (10, 10) and dense.shape == (10, 10)
    rng = np.random.default_rng(3)
    v = rng.normal(size=10)
    np.testing.assert_allclose(op.matvec(v), dense @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op @ v, dense @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.dot(v[:, None]), (dense @ v)[:, None], rtol=1e-12)
    np.testing.assert_allclose(dense, dense.T, rtol=1e-12, atol=1e-12)
    assert np.linalg.eigvalsh(dense).min() > 0
    assert op.sk.shape == (4, 10)


def test_hess_inv_pairs_in_scipy_storage_order() -> None:
    """After the memory wraps, pairs are listed by storage slot, as scipy lists them."""
    cmp = run_both(METHOD, "rosen10", options={"maxcor": 3, "maxiter": 6})
    np.testing.assert_allclose(cmp.ours.hess_inv.sk, cmp.ref.hess_inv.sk, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(cmp.ours.hess_inv.todense(), cmp.ref.hess_inv.todense(),
                               rtol=1e-8, atol=1e-12)


def test_inv_hess_product_against_explicit_bfgs_updates() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=(3, 4))
    y = s + 0.2 * rng.normal(size=(3, 4))
    h = np.eye(4)
    for si, yi in zip(s, y):
        rho = 1.0 / (si @ yi)
        left = np.eye(4) - rho * np.outer(si, yi)
        h = left @ h @ left.T + rho * np.outer(si, si)
    np.testing.assert_allclose(LbfgsInvHessProduct(s, y).todense(), h, rtol=1e-12)


def test_trace_records_gradient_norms() -> None:
    res = solvers.minimize(rosen, np.array([-1.2, 1.0]), jac=rosen_der, method=METHOD,
                           options={"trace": True})
    arrays = res.trace.to_arrays()
    assert len(res.trace) == res.nit + 1
    np.testing.assert_array_equal(arrays.x[-1], res.x)
    assert math.isclose(arrays.grad_norm[0], np.linalg.norm(rosen_der(np.array([-1.2, 1.0]))))
    assert math.isclose(arrays.grad_norm[-1], np.linalg.norm(res.jac))
    assert arrays.nfev[-1] == res.nfev and np.all(np.diff(arrays.nfev) >= 1)


def test_callback_stop_iteration_gives_status_99() -> None:
    def stop(xk: np.ndarray) -> None:
        raise StopIteration

    ours, ref = _run(rosen, PROBLEMS["rosen10"].x0, jac=rosen_der, callback=stop)
    assert ours.status == ref.status == 99 and not ours.success
    assert ours.nit == ref.nit == 1
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12)


def test_callback_sees_each_iterate() -> None:
    xs: list[np.ndarray] = []
    res = solvers.minimize(rosen, np.array([-1.2, 1.0]), jac=rosen_der, method=METHOD,
                           callback=lambda xk: xs.append(xk.copy()))
    assert len(xs) == res.nit
    np.testing.assert_array_equal(xs[-1], res.x)


def test_nan_mid_run_is_not_success() -> None:
    calls = {"n": 0}

    def fun(x: np.ndarray) -> float:
        calls["n"] += 1
        return np.nan if calls["n"] > 5 else rosen(x)

    res = solvers.minimize(fun, np.array([-1.2, 1.0]), jac=rosen_der, method=METHOD)
    assert not res.success and res.status == 2
    assert np.isfinite(res.fun) and res.nfev == 6


def test_result_fields() -> None:
    res = run_both(METHOD, "normal_mle").ours
    for key in ("x", "fun", "jac", "nfev", "njev", "nit", "status", "success", "message",
                "hess_inv"):
        assert key in res
    np.testing.assert_allclose(res.jac, PROBLEMS["normal_mle"].jac(res.x, *PROBLEMS[
        "normal_mle"].args), rtol=1e-12)


# -- building blocks -----------------------------------------------------------------------
def _memory(n: int, pairs: int, m: int, seed: int = 0) -> LbfgsMemory:
    rng = np.random.default_rng(seed)
    memory = LbfgsMemory(n, m)
    a = rng.normal(size=(n, n))
    hess = a @ a.T + n * np.eye(n)
    for _ in range(pairs):
        s = rng.normal(size=n)
        y = hess @ s
        assert memory.add(s, y, float(s @ y), float(s @ s), float(y @ y))
    return memory


def test_compact_matrix_equals_explicit_bfgs_updates() -> None:
    memory = _memory(6, 7, 4)
    s, y = memory._s[:4], memory._y[:4]
    b = memory.theta * np.eye(6)
    for si, yi in zip(s, y):
        bs = b @ si
        b = b - np.outer(bs, bs) / (si @ bs) + np.outer(yi, yi) / (yi @ si)
    np.testing.assert_allclose(memory.dense(), b, rtol=1e-9, atol=1e-9)


def _model_along_path(x, g, lb, ub, b, t):
    step = np.clip(x - t * g, lb, ub) - x
    return g @ step + 0.5 * step @ b @ step


def test_cauchy_point_is_first_local_minimiser_on_path() -> None:
    rng = np.random.default_rng(5)
    for trial in range(20):
        n = 7
        memory = _memory(n, 3 + trial % 3, 5, seed=trial)
        lb, ub = -rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, n)
        lb[0] = -np.inf
        x = rng.uniform(lb.clip(-1), ub)
        x[1] = ub[1]
        g = 3.0 * rng.normal(size=n)
        cp = generalized_cauchy_point(x, g, lb, ub, np.zeros(n, bool), memory.theta,
                                      memory.wt, memory.m_mat)
        b = memory.dense()
        ts = np.linspace(0.0, 5.0, 20001)
        values = np.array([_model_along_path(x, g, lb, ub, b, t) for t in ts])
        first_min = np.flatnonzero(np.diff(values) >= 0)
        t_star = ts[first_min[0]] if first_min.size else ts[-1]
        expected = np.clip(x - t_star * g, lb, ub)
        np.testing.assert_allclose(cp.x, expected, atol=2e-3)
        assert np.all((cp.x >= lb) & (cp.x <= ub))
        np.testing.assert_allclose(cp.c, memory.wt @ (cp.x - x), rtol=1e-8, atol=1e-10)


def test_subspace_step_is_reduced_newton_step() -> None:
    n = 6
    memory = _memory(n, 4, 4, seed=2)
    b = memory.dense()
    rng = np.random.default_rng(8)
    x = rng.uniform(-0.5, 0.5, n)
    g = rng.normal(size=n)
    big = np.full(n, 1e6)
    z = subspace_minimum(x, g, None, -big, big, memory)
    np.testing.assert_allclose(z - x, np.linalg.solve(b, -g), rtol=1e-8)
