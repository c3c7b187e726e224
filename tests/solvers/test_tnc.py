"""TNC against scipy's (the oracle), its options and status codes, and its building blocks.

Our TNC reproduces the arithmetic of scipy's C code (dot products summed left to right, the
reference ``dnrm2``), so on this platform the iterates are scipy's to the last bit: the oracle
tests below ask for the same counts (nit, nfev), status and message, and the same minimiser to
1e-12 relative, which is far tighter than the issue's 1e-5 and so also covers it.  (TNC takes
Hessian-vector products by differencing gradients ~1e-8 apart, so one rounding difference in an
iterate shows in the eighth digit of the next direction: a faithful port that summed in another
order would still converge, but to within TNC's ``ftol``/``xtol`` of the solution, not to 1e-5
of scipy's answer; see `test_catalogue_is_solved_to_tncs_own_accuracy`.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import solvers
from solvers.methods.tnc.blas import ddot, dnrm2
from solvers.methods.tnc.direction import Preconditioner, truncated_newton_direction
from solvers.methods.tnc.linesearch import StepCode, StepFinder, ieee_div
from solvers.methods.tnc import RCSTRINGS

from ..oracle import assert_matches_scipy, run_both
from ..problems import PROBLEMS, rosen, rosen_der

METHOD = "TNC"
X3 = np.array([-1.2, 1.0, 0.5])


def _both(fun: Any, x0: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Ours and scipy's on the same inputs."""
    ref = scipy.optimize.minimize(fun, np.array(x0, dtype=float), method=METHOD, **kwargs)
    ours = solvers.minimize(fun, np.array(x0, dtype=float), method=METHOD, **kwargs)
    return ours, ref


def _assert_same_run(ours: Any, ref: Any, *, nfev_offset: int = 0) -> None:
    assert (ours.status, ours.message, ours.success) == (ref.status, ref.message, ref.success)
    assert ours.nit == ref.nit
    assert ours.nfev == ref.nfev + nfev_offset
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.fun, ref.fun, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ours.jac, ref.jac, rtol=1e-10, atol=1e-12)


# -- the scipy oracle on the catalogue ---------------------------------------------------------
@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_catalogue_matches_scipy(name: str, analytic_jac: bool) -> None:
    """The issue's contract (assert_matches_scipy) and scipy's very run: counts, status, x."""
    cmp = run_both(METHOD, name, analytic_jac=analytic_jac)
    assert_matches_scipy(cmp)
    _assert_same_run(cmp.ours, cmp.ref)
    assert RCSTRINGS[cmp.ours.status] == cmp.ours.message
    assert set(cmp.ours) == set(cmp.ref)  # scipy's fields for TNC (no njev)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_catalogue_is_solved_to_tncs_own_accuracy(name: str) -> None:
    """Where TNC converges (status 0-2) it is near the known solution, with a budget to get
    there: defaults stop on |f_k - f_k-1| <= sqrt(eps) in rescaled f, so x is good to ~1e-3."""
    prob = PROBLEMS[name]
    kwargs: dict[str, Any] = {"jac": prob.jac, "args": prob.args, "bounds": prob.bounds,
                              "options": {"maxfun": 2000, "ftol": 1e-14, "xtol": 1e-14}}
    ours, ref = _both(prob.fun, prob.x0, **kwargs)
    _assert_same_run(ours, ref)
    assert ours.success
    if prob.solution is not None:
        np.testing.assert_allclose(ours.x, prob.solution, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
def test_rosen50_matches_scipy(analytic_jac: bool) -> None:
    x0 = np.linspace(-1.2, 1.2, 50)
    ours, ref = _both(rosen, x0, jac=rosen_der if analytic_jac else None)
    _assert_same_run(ours, ref)
    assert ours.nfev == (401 if analytic_jac else 25551)


@pytest.mark.parametrize("jac", ["2-point", "3-point", True], ids=["2-point", "3-point", "pair"])
def test_other_gradient_sources(jac: Any) -> None:
    fun = (lambda x: (rosen(x), rosen_der(x))) if jac is True else rosen
    options = {"finite_diff_rel_step": 1e-6} if isinstance(jac, str) else {}
    ours, ref = _both(fun, X3, jac=jac, options=options)
    _assert_same_run(ours, ref)


# -- options ---------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    {"maxCGit": 0},
    {"maxCGit": 1},
    {"maxCGit": 3, "maxfun": 400},
    {"eta": 0.9, "stepmx": 0.5, "accuracy": 1e-6, "rescale": 0, "minfev": -1},
    {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-9, "maxfun": 1000},
    {"gtol": 1e-2},
    {"scale": [1.0, 2.0, 0.5], "offset": [0.5, 0.1, 0.0]},
], ids=["steepest-descent", "one-product", "three-products", "line-search", "tight", "gtol",
        "scale-offset"])
def test_options_match_scipy(options: dict[str, Any]) -> None:
    scipy_options = {k: np.asarray(v, float) if isinstance(v, list) else v
                     for k, v in options.items()}  # scipy's TNC takes only float arrays
    ref = scipy.optimize.minimize(rosen, X3, jac=rosen_der, method=METHOD,
                                  options=scipy_options)
    ours = solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, options=options)
    _assert_same_run(ours, ref)


def test_tol_sets_xtol_ftol_and_gtol() -> None:
    ours, ref = _both(rosen, X3, jac=rosen_der, tol=1e-10, options={"maxfun": 1000})
    _assert_same_run(ours, ref)
    explicit = solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD,
                                options={"maxfun": 1000, "xtol": 1e-10, "ftol": 1e-10,
                                         "gtol": 1e-10})
    assert explicit.nfev == ours.nfev


def test_zero_scale_holds_a_variable_constant() -> None:
    options = {"scale": np.array([1.0, 0.0, 2.0]), "offset": np.zeros(3)}
    ours, ref = _both(rosen, X3, jac=rosen_der, options=options)
    _assert_same_run(ours, ref)
    assert ours.x[1] == X3[1]


def test_all_zero_scales_is_status_5_after_one_evaluation() -> None:
    ours, ref = _both(rosen, X3, jac=rosen_der, options={"scale": np.zeros(3)})
    _assert_same_run(ours, ref)
    assert (ours.status, ours.nit, ours.nfev) == (5, 0, 1)


def test_scale_of_the_wrong_length_is_scipys_value_error() -> None:
    with pytest.raises(ValueError, match="tnc: vector sizes must be equal"):
        solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD,
                         options={"scale": [1.0, 2.0]})


def test_maxiter_is_not_a_tnc_option() -> None:
    with pytest.warns(solvers.OptimizeWarning, match="Unknown solver options: maxiter"):
        solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, options={"maxiter": 2})


def test_exit_and_iteration_messages(capsys: pytest.CaptureFixture[str]) -> None:
    res = solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, options={"mesg_num": 5})
    err = capsys.readouterr().err
    assert err.startswith("  NIT   NF   F                       GTG\n    0    1 ")
    assert err.rstrip().endswith(f"tnc: {res.message}")
    assert len(err.splitlines()) >= res.nit + 2
    solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, options={"mesg_num": 0})
    assert capsys.readouterr().err == ""


# -- budgets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
@pytest.mark.parametrize("maxfun", [0, 1, 5, 17])
def test_maxfun_is_honoured_as_scipy_counts_it(maxfun: int, analytic_jac: bool) -> None:
    """``maxfun`` limits objective-and-gradient calls; nfev counts function values."""
    ours, ref = _both(rosen, X3, jac=rosen_der if analytic_jac else None,
                      options={"maxfun": maxfun})
    _assert_same_run(ours, ref)
    assert ours.status == 3 and not ours.success
    # scipy re-evaluates at the final point when it was not the last one evaluated: + 1 call
    calls = max(maxfun, 1) + 1
    assert ours.nfev <= calls * (1 if analytic_jac else X3.size + 1)


# -- bounds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
def test_variables_held_at_bounds(analytic_jac: bool) -> None:
    x0 = np.linspace(-0.5, 1.5, 10)
    bounds = [(-1.0, 0.8)] * 5 + [(0.2, 0.6)] * 5
    lb, ub = np.array(bounds).T
    ours, ref = _both(rosen, np.clip(x0, lb, ub), jac=rosen_der if analytic_jac else None,
                      bounds=bounds, options={"maxfun": 5000})
    _assert_same_run(ours, ref)
    assert np.all((ours.x >= lb) & (ours.x <= ub))
    assert np.sum(np.isclose(ours.x, lb) | np.isclose(ours.x, ub)) >= 3


def test_x0_outside_the_bounds_is_clipped_silently() -> None:
    """scipy's TNC also starts from the clipped point, but first evaluates the given x0 (one
    more nfev); with finite differences scipy raises instead.  We clip before any evaluation."""
    bounds = [(-1.0, 1.0), (0.5, 0.8), (0.0, 2.0)]
    seen: list[np.ndarray] = []

    def recording(x: np.ndarray) -> float:
        seen.append(x.copy())
        return rosen(x)

    ours, ref = _both(recording, X3, jac=rosen_der, bounds=bounds)
    _assert_same_run(ours, ref, nfev_offset=-1)
    np.testing.assert_array_equal(seen[ref.nfev], [-1.0, 0.8, 0.5])  # our first point
    fd = solvers.minimize(rosen, X3, method=METHOD, bounds=bounds)
    assert fd.success
    np.testing.assert_allclose(fd.x, ours.x, rtol=1e-4)
    with pytest.raises(ValueError, match="violates bound constraints"):
        scipy.optimize.minimize(rosen, X3, method=METHOD, bounds=bounds)


@pytest.mark.parametrize("analytic_jac", [True, False], ids=["analytic", "2-point"])
def test_fixed_variables_are_removed(analytic_jac: bool) -> None:
    bounds = [(-1.0, 1.0), (0.5, 0.5), (0.0, 2.0)]
    x0 = np.array([-1.0, 0.5, 0.5])
    ours, ref = _both(rosen, x0, jac=rosen_der if analytic_jac else None, bounds=bounds)
    assert (ours.status, ours.nit, ours.nfev) == (ref.status, ref.nit, ref.nfev)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12)
    assert ours.x[1] == 0.5 and np.isnan(ours.jac[1]) and np.isnan(ref.jac[1])


def test_all_variables_fixed() -> None:
    ours, ref = _both(rosen, X3, jac=rosen_der, bounds=[(1.0, 1.0)] * 3)
    assert ours.success and ref.success
    assert ours.message == ref.message and ours.fun == ref.fun and ours.nfev == 1


# -- callback and trace ----------------------------------------------------------------------
def test_callback_sees_scipys_iterates() -> None:
    ours_seen: list[np.ndarray] = []
    ref_seen: list[np.ndarray] = []
    ours = solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, callback=ours_seen.append)
    scipy.optimize.minimize(rosen, X3, jac=rosen_der, method=METHOD, callback=ref_seen.append)
    assert len(ours_seen) == len(ref_seen) == ours.nit
    np.testing.assert_allclose(np.array(ours_seen), np.array(ref_seen), rtol=1e-12)


def test_stop_iteration_ends_the_run_with_status_99() -> None:
    """scipy's TNC lets the StopIteration escape from minimize; here it ends the run as every
    other method's does (status 99, the last iterate)."""
    calls: list[np.ndarray] = []

    def stop_on_second(xk: np.ndarray) -> None:
        calls.append(xk.copy())
        if len(calls) == 2:
            raise StopIteration

    res = solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, callback=stop_on_second)
    assert (res.status, res.success, res.nit) == (99, False, 2)
    np.testing.assert_array_equal(res.x, calls[-1])
    calls.clear()
    with pytest.raises(StopIteration):
        scipy.optimize.minimize(rosen, X3, jac=rosen_der, method=METHOD,
                                callback=stop_on_second)


def test_trace_records_the_start_and_every_iteration() -> None:
    res = solvers.minimize(rosen, X3, jac=rosen_der, method=METHOD, options={"trace": True})
    arrays = res.trace.to_arrays()
    assert arrays.x.shape == (res.nit + 1, 3)
    np.testing.assert_array_equal(arrays.x[0], X3)
    assert arrays.f[-1] == pytest.approx(res.fun, rel=1e-12)
    assert np.all(np.diff(arrays.f) <= 0)


# -- building blocks -------------------------------------------------------------------------
def test_dot_and_norm_are_the_reference_arithmetic() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=37), rng.normal(size=37)
    total = 0.0
    for x, y in zip(a.tolist(), b.tolist()):
        total += x * y
    assert ddot(a, b) == total
    assert dnrm2(a) == pytest.approx(float(np.linalg.norm(a)), rel=1e-15)
    assert dnrm2(np.array([1e300, 1e300])) == pytest.approx(math.sqrt(2) * 1e300)
    assert dnrm2(np.zeros(3)) == 0.0 and ddot(np.zeros(0), np.zeros(0)) == 0.0


def test_ieee_division() -> None:
    assert ieee_div(1.0, 0.0) == math.inf and ieee_div(-1.0, 0.0) == -math.inf
    assert math.isnan(ieee_div(0.0, 0.0)) and ieee_div(3.0, 2.0) == 1.5


def test_step_finder_brackets_a_parabola_minimum() -> None:
    """phi(t) = (t - 0.3)^2: the finder needs no more than a few trials to meet eta."""
    def phi(t: float) -> tuple[float, float]:
        return (t - 0.3) ** 2, 2.0 * (t - 0.3)

    f0, g0 = phi(0.0)
    finder = StepFinder(f0, g0, 1.0, 10.0, reltol=1e-8, abstol=1e-12, tnytol=1e-15, eta=0.25,
                        fpresn=1e-12)
    code, trials = finder.code, 0
    while code == StepCode.EVAL:
        trials += 1
        code = finder.update(*phi(finder.xmin + finder.u))
    assert code == StepCode.OK and trials <= 4
    assert abs(phi(finder.xmin)[1]) <= 0.25 * abs(g0)
    bad = StepFinder(f0, -g0, 1.0, 10.0, reltol=1e-8, abstol=1e-12, tnytol=1e-15, eta=0.25,
                     fpresn=1e-12)
    assert bad.code == StepCode.EINVAL  # not a descent direction


def test_direction_is_the_newton_step_on_a_quadratic() -> None:
    """With n CG products on an SPD quadratic, the truncated direction solves H p = -g."""
    rng = np.random.default_rng(3)
    m = rng.normal(size=(4, 4))
    hess = m @ m.T + 4.0 * np.eye(4)
    g = rng.normal(size=4)
    free = np.ones(4, dtype=bool)
    p = truncated_newton_direction(g, dnrm2(g), free, Preconditioner(4), hess.__matmul__,
                                   max_cg=4, can_evaluate=lambda: True)
    assert ddot(p, g) < 0.0
    newton = np.linalg.solve(hess, -g)
    assert np.linalg.norm(p - newton) <= 0.5 * np.linalg.norm(newton)
    held = np.array([True, False, True, True])
    q = truncated_newton_direction(g, dnrm2(g), held, Preconditioner(4), hess.__matmul__,
                                   max_cg=0, can_evaluate=lambda: True)
    np.testing.assert_array_equal(q, np.where(held, -g, 0.0))
