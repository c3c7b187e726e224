"""CG and BFGS against scipy, their options and stops, and the strong-Wolfe line searches."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.optimize
from scipy.optimize._dcsrch import DCSRCH
from scipy.optimize._linesearch import scalar_search_wolfe2

import solvers
from solvers._search.wolfe import LineSearchFailed, _ZoomSearch, initial_step, wolfe_line_search
from solvers._search.more_thuente import more_thuente
from solvers._core.objective import ScalarObjective
from solvers._result import MESSAGES

from ..oracle import assert_matches_scipy, run_both
from ..problems import PROBLEMS, QUAD_A, QUAD_B, quadratic, quadratic_der, rosen, rosen_der

METHODS = ("CG", "BFGS")
# box_on_bound needs its bounds.  normal_mle is excluded too: unbounded from its x0 the first
# steps put sigma below 0, where the objective is NaN; scipy then fails (BFGS status 2, CG
# status 1 after 11144 evaluations) and we stop at once with status 3 (see test_nan_*).
UNBOUNDED = tuple(name for name in PROBLEMS if name not in ("box_on_bound", "normal_mle"))


def _both(method: str, fun, x0, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = scipy.optimize.minimize(fun, np.array(x0, dtype=float), method=method, **kwargs)
    ours = solvers.minimize(fun, np.array(x0, dtype=float), method=method, **kwargs)
    return ours, ref


# -- the scipy oracle on the catalogue -----------------------------------------------------------
@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
@pytest.mark.parametrize("problem", UNBOUNDED)
@pytest.mark.parametrize("method", METHODS)
def test_matches_scipy_on_catalogue(method: str, problem: str, analytic_jac: bool) -> None:
    cmp = run_both(method, problem, analytic_jac=analytic_jac)
    assert_matches_scipy(cmp)
    # the same algorithm with the same arithmetic: the same path and the same counts
    assert (cmp.ours.status, cmp.ours.nit) == (cmp.ref.status, cmp.ref.nit)
    assert (cmp.ours.nfev, cmp.ours.njev) == (cmp.ref.nfev, cmp.ref.njev)
    assert cmp.ours.message == cmp.ref.message
    np.testing.assert_allclose(cmp.ours.jac, cmp.ref.jac, rtol=1e-6, atol=1e-9)


def test_precision_loss_is_status_2() -> None:
    ours, ref = _both("BFGS", PROBLEMS["linear_fit"].fun, PROBLEMS["linear_fit"].x0,
                      args=PROBLEMS["linear_fit"].args)
    assert ref.status == 2
    assert (ours.status, ours.success, ours.message) == (2, False, MESSAGES["pr_loss"])


# -- options ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_maxiter_is_honoured_exactly(method: str) -> None:
    ours, ref = _both(method, rosen, PROBLEMS["rosen10"].x0, jac=rosen_der,
                      options={"maxiter": 5})
    assert (ours.nit, ours.status, ours.success) == (5, 1, False)
    assert ours.message == MESSAGES["maxiter"]
    np.testing.assert_array_equal(ours.x, ref.x)


@pytest.mark.parametrize("options", [{"gtol": 1e-2}, {"gtol": 1e-2, "norm": 2},
                                     {"gtol": 1e-3, "norm": 1}, {"gtol": 1e-8}])
@pytest.mark.parametrize("method", METHODS)
def test_gtol_and_norm(method: str, options: dict) -> None:
    ours, ref = _both(method, rosen, PROBLEMS["rosen5"].x0, jac=rosen_der, options=options)
    assert ours.success
    assert np.linalg.norm(ours.jac, ord=options.get("norm", np.inf)) <= options["gtol"]
    assert ours.nit == ref.nit
    np.testing.assert_array_equal(ours.x, ref.x)


def test_looser_gtol_stops_earlier() -> None:
    loose = solvers.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="BFGS",
                             options={"gtol": 1e-1})
    tight = solvers.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="BFGS")
    assert loose.success and tight.success and loose.nit < tight.nit
    assert 1e-5 < np.max(np.abs(loose.jac)) <= 1e-1
    assert np.max(np.abs(tight.jac)) <= 1e-5


@pytest.mark.parametrize("method", METHODS)
def test_jac_true_equals_separate_jac(method: str) -> None:
    def fun_and_grad(x):
        return rosen(x), rosen_der(x)

    both = solvers.minimize(fun_and_grad, [-1.2, 1.0], jac=True, method=method)
    separate = solvers.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=method)
    np.testing.assert_array_equal(both.x, separate.x)
    assert (both.nfev, both.njev, both.nit) == (separate.nfev, separate.njev, separate.nit)
    assert both.success


@pytest.mark.parametrize("method", METHODS)
def test_three_point_jac(method: str) -> None:
    ours, ref = _both(method, rosen, PROBLEMS["rosen5"].x0, jac="3-point")
    assert ours.success == ref.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)
    assert (ours.nfev, ours.njev) == (ref.nfev, ref.njev)
    # 3-point costs 2n evaluations per gradient on top of the value
    assert ours.nfev >= ours.njev * 2 * 5


def test_forward_difference_step_eps() -> None:
    ours, ref = _both("BFGS", quadratic, PROBLEMS["quadratic"].x0, options={"eps": 1e-4})
    default = solvers.minimize(quadratic, PROBLEMS["quadratic"].x0, method="BFGS")
    np.testing.assert_array_equal(ours.x, ref.x)
    assert not np.array_equal(ours.x, default.x)


def test_invalid_wolfe_constants_raise() -> None:
    with pytest.raises(ValueError, match="c1"):
        solvers.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="BFGS",
                         options={"c1": 0.5, "c2": 0.4})


# -- BFGS's inverse Hessian --------------------------------------------------------------------
def test_hess_inv_is_symmetric_positive_definite() -> None:
    ours, ref = _both("BFGS", quadratic, PROBLEMS["quadratic"].x0, jac=quadratic_der)
    h = ours.hess_inv
    assert isinstance(h, np.ndarray) and h.shape == (4, 4) and h.dtype == float
    np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(h) > 0)
    np.testing.assert_array_equal(h, ref.hess_inv)
    # after n steps on a quadratic BFGS has learnt the inverse Hessian along the steps
    np.testing.assert_allclose(h, np.linalg.inv(QUAD_A), rtol=0.05, atol=0.02)


def test_hess_inv_at_optimum_start_is_identity() -> None:
    x_opt = np.linalg.solve(QUAD_A, QUAD_B)
    res = solvers.minimize(quadratic, x_opt, jac=quadratic_der, method="BFGS")
    assert res.nit == 0 and res.success
    np.testing.assert_array_equal(res.hess_inv, np.eye(4))


def test_hess_inv0() -> None:
    h0 = np.linalg.inv(QUAD_A)
    h0 = (h0 + h0.T) / 2  # exactly symmetric, as scipy requires
    ours, ref = _both("BFGS", quadratic, PROBLEMS["quadratic"].x0, jac=quadratic_der,
                      options={"hess_inv0": h0})
    np.testing.assert_array_equal(ours.x, ref.x)
    assert ours.nit == ref.nit <= 2  # the exact inverse Hessian gives Newton steps
    with pytest.raises(ValueError, match="positive definite"):
        solvers.minimize(quadratic, PROBLEMS["quadratic"].x0, method="BFGS",
                         options={"hess_inv0": -np.eye(4)})
    with pytest.raises(ValueError, match="shape"):
        solvers.minimize(quadratic, PROBLEMS["quadratic"].x0, method="BFGS",
                         options={"hess_inv0": np.eye(3)})


# -- monitoring: callback, allvecs, trace ------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_callback_stop_iteration(method: str) -> None:
    seen = []

    def callback(xk):
        seen.append(xk.copy())
        if len(seen) == 3:
            raise StopIteration

    res = solvers.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=method, callback=callback)
    assert (res.status, res.success, res.nit) == (99, False, 3)
    np.testing.assert_array_equal(res.x, seen[-1])
    assert res.fun == pytest.approx(rosen(seen[-1]))


@pytest.mark.parametrize("method", METHODS)
def test_return_all(method: str) -> None:
    ours, ref = _both(method, rosen, [-1.2, 1.0], jac=rosen_der, options={"return_all": True})
    assert len(ours.allvecs) == ours.nit + 1
    np.testing.assert_array_equal(ours.allvecs[0], [-1.2, 1.0])
    np.testing.assert_array_equal(ours.allvecs[-1], ours.x)
    np.testing.assert_array_equal(np.array(ours.allvecs), np.array(ref.allvecs))


@pytest.mark.parametrize("method", METHODS)
def test_trace_has_gradient_norms(method: str) -> None:
    res = solvers.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=method,
                           options={"trace": True})
    arrays = res.trace.to_arrays()
    assert len(res.trace) == res.nit + 1
    expected = [np.linalg.norm(rosen_der(x)) for x in arrays.x]
    np.testing.assert_allclose(arrays.grad_norm, expected, rtol=1e-12)
    assert arrays.grad_norm[-1] < 1e-4 < arrays.grad_norm[0]
    assert np.all(np.diff(arrays.f) <= 0)  # Wolfe steps decrease f
    assert arrays.nfev[-1] == res.nfev


@pytest.mark.parametrize("method", METHODS)
def test_nan_region_stops_unsuccessfully(method: str) -> None:
    def fun(x):
        return math.nan if x[0] > 2.0 else float(np.sum((x - 3.0) ** 2))

    def jac(x):
        return 2.0 * (x - 3.0)

    res = solvers.minimize(fun, [0.0, 0.0], jac=jac, method=method)
    assert not res.success
    assert res.status == 3
    assert np.all(np.isfinite(res.x)) and res.x[0] <= 2.0
    assert res.fun == pytest.approx(fun(res.x)) and res.fun < fun(np.zeros(2))


# -- the Moré–Thuente search -------------------------------------------------------------------
def _quartic(a: float) -> tuple[float, float]:
    """phi(a) = (a - 2)^4 / 4 - a: minimum at a = 3, phi'(0) = -9."""
    return (a - 2.0) ** 4 / 4.0 - a, (a - 2.0) ** 3 - 1.0


@pytest.mark.parametrize("stp0", [1e-3, 0.5, 1.0, 5.0, 40.0])
@pytest.mark.parametrize("gtol", [0.9, 0.1, 0.01])
def test_more_thuente_satisfies_strong_wolfe(stp0: float, gtol: float) -> None:
    f0, g0 = _quartic(0.0)
    calls = []

    def phi(a):
        calls.append(a)
        return _quartic(a)

    ftol = 1e-4
    stp, f, g, status = more_thuente(phi, f0, g0, stp0, ftol=ftol, gtol=gtol, xtol=1e-14)
    assert status == "converged"
    assert (f, g) == _quartic(stp)
    assert f <= f0 + ftol * stp * g0
    assert abs(g) <= gtol * abs(g0)
    assert 0.0 not in calls and calls[-1] == stp and len(calls) <= 20


def test_more_thuente_warnings_and_errors() -> None:
    f0, g0 = _quartic(0.0)
    # decreasing all the way to stpmax: stops there with a warning
    stp, f, g, status = more_thuente(_quartic, f0, g0, 0.5, gtol=0.01, stpmax=1.0)
    assert (stp, status) == (1.0, "stpmax") and (f, g) == _quartic(1.0)
    # an ascent direction is an input error; phi is not called
    assert more_thuente(lambda a: pytest.fail("called"), 0.0, 1.0, 1.0)[3] == "error"
    assert more_thuente(_quartic, f0, g0, 2.0, stpmax=1.0)[3] == "error"
    # one evaluation that does not satisfy the conditions
    stp, f, g, status = more_thuente(_quartic, f0, g0, 1e-3, ftol=1e-4, gtol=0.01, maxiter=1)
    assert (stp, status) == (1e-3, "maxiter") and (f, g) == _quartic(1e-3)


def test_more_thuente_follows_minpack_exactly() -> None:
    """The same trial steps and outcome as scipy's port of MINPACK-2's dcsrch."""
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 200:
        c = rng.normal(size=5)

        def value(a, c=c):
            return float(c[0] * a + c[1] * a * a + abs(c[2]) * a**4 + 0.5 * math.sin(9 * c[3] * a))

        def slope(a, c=c):
            return float(c[0] + 2 * c[1] * a + 4 * abs(c[2]) * a**3
                         + 4.5 * c[3] * math.cos(9 * c[3] * a))

        if slope(0.0) >= 0:
            continue
        checked += 1
        stp0 = 10 ** rng.uniform(-3, 1)
        gtol = float(rng.choice([0.9, 0.1, 0.01]))
        theirs: list[float] = []
        ours: list[float] = []
        search = DCSRCH(lambda a: theirs.append(a) or value(a), slope, 1e-3, gtol, 0.1,
                        0.0, 5.0)
        ref_stp, _, _, task = search(stp0, phi0=value(0.0), derphi0=slope(0.0), maxiter=50)
        stp, _, _, status = more_thuente(lambda a: ours.append(a) or (value(a), slope(a)),
                                         value(0.0), slope(0.0), stp0, ftol=1e-3, gtol=gtol,
                                         xtol=0.1, stpmin=0.0, stpmax=5.0, maxiter=49)
        assert ours == theirs
        assert (status == "converged") == task.startswith(b"CONV")
        if ref_stp is not None:
            assert stp == ref_stp


# -- the zoom fallback ---------------------------------------------------------------------------
def _line_objective():
    obj = ScalarObjective(lambda x: _quartic(float(x[0]))[0], (),
                          lambda x: np.array([_quartic(float(x[0]))[1]]))
    obj.fun_and_grad(np.zeros(1))
    return obj


def test_zoom_search_matches_scipy_line_search_wolfe2() -> None:
    f0, g0 = _quartic(0.0)
    for old_f0 in (None, f0 + 0.01, f0 + 3.0, f0 + 100.0):
        alpha1 = initial_step(f0, old_f0, g0)
        search = _ZoomSearch(_line_objective(), np.zeros(1), np.ones(1), f0, g0, 1e-4, 0.1,
                             None)
        alpha, f, grad = search.run(alpha1, 1e100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref_alpha, ref_f, _, ref_slope = scalar_search_wolfe2(
                lambda a: _quartic(a)[0], lambda a: _quartic(a)[1], f0, old_f0, g0, 1e-4,
                0.1, amax=1e100)
        assert (alpha, f) == (ref_alpha, ref_f)
        if ref_slope is None:  # ten doublings from a tiny step: returned unchecked
            assert grad is None and alpha < 3.0
        else:
            assert grad[0] == ref_slope
            assert f <= f0 + 1e-4 * alpha * g0 and abs(grad[0]) <= 0.1 * abs(g0)


def test_fallback_used_when_extra_condition_refuses() -> None:
    obj = _line_objective()
    f0, g0 = _quartic(0.0)
    refused = []

    def extra(alpha, x, f, g):
        if not refused:
            refused.append(alpha)
            return False
        return True

    alpha, f, old, grad = wolfe_line_search(obj, np.zeros(1), np.ones(1), np.array([g0]), f0,
                                            None, c1=1e-4, c2=0.4, extra_condition=extra)
    assert refused and old == f0
    assert f <= f0 + 1e-4 * alpha * g0 and abs(grad[0]) <= 0.4 * abs(g0)
    with pytest.raises(LineSearchFailed):
        wolfe_line_search(_line_objective(), np.zeros(1), np.ones(1), np.array([g0]), f0,
                          None, extra_condition=lambda *a: False)
